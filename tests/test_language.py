"""Language identification: scripts, sentence pieces, per-segment labels, document language and
the mixed-language flag.  Fixtures are written here; the seeds come from ../shared (skipped when
absent)."""
from __future__ import annotations

import copy

import pytest

from ingest.extract.extractor import extract
from ingest.language import detect as language
from ingest.language import scripts
from ingest.language.segment import group_spans, sentence_spans
from ingest.records import Article, Segment
from ingest.settings import Settings
from ingest.sources.loaders import WorkItem, load

BACKENDS = ("ensemble", "lingua", "langdetect")


def make_article(blocks, title=None, hint=None) -> Article:
    """An extracted-looking Article from (kind, text) blocks."""
    segments = []
    if title:
        segments.append(Segment(0, title, kind="title"))
    for kind, text in blocks:
        segments.append(Segment(len(segments), text, kind=kind))
    return Article(source_uri="test:doc", title=title, segments=segments, language_hint=hint,
                   text="\n".join(text for _, text in blocks))


def run(article: Article, backend: str = "lingua", **changes) -> Article:
    return language.annotate(article, Settings(language_backend=backend, **changes))


# ------------------------------------------------------------------------------------ scripts
@pytest.mark.parametrize("char,script", [
    ("a", "Latn"), ("é", "Latn"), ("ß", "Latn"), ("Ж", "Cyrl"), ("λ", "Grek"), ("א", "Hebr"),
    ("ب", "Arab"), ("क", "Deva"), ("ा", "Deva"), ("ক", "Beng"), ("த", "Taml"), ("ก", "Thai"),
    ("ა", "Geor"), ("Ա", "Armn"), ("ሀ", "Ethi"), ("中", "Hani"), ("あ", "Hira"), ("カ", "Kana"),
    ("한", "Hang"), ("7", "Zyyy"), ("٣", "Zyyy"), ("।", "Zyyy"), (" ", "Zyyy"), ("😀", "Zyyy"),
    ("$", "Zyyy"), ("𠀀", "Hani"),
])
def test_script_of_characters(char, script):
    assert scripts.script_of(char) == script


def test_dominant_script_merges_japanese_and_korean():
    assert scripts.analyse("東京で会議が開かれた").script == "Jpan"
    assert scripts.analyse("北京举行会议").script == "Hani"
    assert scripts.analyse("서울에서 회의가 열렸다").script == "Hang"
    info = scripts.analyse("12 345 — 2026!")
    assert (info.script, info.letters, info.weight) == ("Zyyy", 0, 0)
    hindi = scripts.analyse("प्रधानमंत्री Narendra Modi ने 2024 में कहा")
    assert hindi.script == "Deva" and 0.5 < hindi.share < 1.0 and hindi.languages[0] == "hi"


def test_script_runs_cover_the_text():
    text = "चाबी छीनना: NVIDIA and OpenAI"
    runs = scripts.script_runs(text)
    assert [r[2] for r in runs] == ["Deva", "Latn"]
    assert runs[0][0] == 0 and runs[-1][1] == len(text) and runs[0][1] == runs[1][0]


# ------------------------------------------------------------------------------------ pieces
def test_sentence_spans_and_quotes():
    text = 'Der Minister sagte: „We will never give up on this project.“ Danach ging er. Ende.'
    pieces = [text[a:b].strip() for a, b in sentence_spans(text, min_chars=6)]
    assert pieces == ["Der Minister sagte:", "„We will never give up on this project.“", "Danach ging er. Ende."]
    cjk = "市议会通过了预算。暴雨导致洪水。"
    assert [cjk[a:b] for a, b in sentence_spans(cjk)] == ["市议会通过了预算。", "暴雨导致洪水。"]
    assert sentence_spans("no cut here") == [(0, 11)]


def test_group_spans_joins_undecided_pieces():
    spans = [(0, 5), (5, 9), (9, 20), (20, 30), (30, 31)]
    assert group_spans(spans, [None, "de", "de", "en", None]) == [(0, 20, "de"), (20, 31, "en")]
    assert group_spans(spans[:2], [None, None]) == [(0, 9, None)]


# ---------------------------------------------------------------------------- single texts
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text", ["", "   ", "\n\t", "2026", "12.5 % — 3/4", "https://example.org/a/b", "AI", "…"])
def test_nothing_to_say_is_und(backend, text):
    assert language.detect(text, backend=backend) == ("und", 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text,code", [
    ("चाबी छीनना", "hi"),
    ("東京で新しい美術館が来月開館する予定だ。", "ja"),
    ("北京市政府周二宣布了新的交通计划。", "zh"),
    ("أعلنت الحكومة عن خطة جديدة لدعم المزارعين هذا العام.", "ar"),
    ("Правительство объявило о новых мерах поддержки фермеров.", "ru"),
    ("Η κυβέρνηση ανακοίνωσε νέα μέτρα στήριξης για τους αγρότες.", "el"),
    ("รัฐบาลประกาศมาตรการใหม่เพื่อช่วยเหลือเกษตรกร", "th"),
    ("정부는 농민을 지원하기 위한 새로운 대책을 발표했다.", "ko"),
    ("Die Regierung hat neue Hilfen für die Landwirte angekündigt.", "de"),
    ("The government announced new support measures for farmers.", "en"),
])
def test_detect_known_languages(backend, text, code):
    got, confidence = language.detect(text, backend=backend)
    assert got == code
    assert 0.3 < confidence <= 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_characters_do_not_break_detection(backend):
    assert language.detect("Die Regierung \ud800 hat am Mittwoch beschlossen", backend=backend)[0] == "de"
    assert language.detect("\x00\x01 Die Regierung hat am Mittwoch beschlossen", backend=backend)[0] == "de"


def test_confidence_grows_with_length():
    short = language.detect("Regierung", backend="lingua")[1]
    long = language.detect("Die Regierung hat am Mittwoch neue Hilfen für die Landwirte angekündigt.")[1]
    assert short < long


def test_max_chars_caps_what_the_detector_sees(monkeypatch):
    seen = []
    backend = language.get_backend("langdetect")
    real = backend.scores
    monkeypatch.setattr(backend, "scores", lambda text: seen.append(len(text)) or real(text))
    language.detect("The government announced new measures. " * 100, max_chars=200, backend="langdetect")
    assert seen and max(seen) <= 200


# ------------------------------------------------------------------------------- documents
GERMAN = [
    ("paragraph", "Die Bundesregierung hat am Mittwoch ein neues Förderprogramm für kleine Betriebe beschlossen."),
    ("paragraph", "Nach Angaben des Ministeriums sollen die Mittel noch vor dem Sommer ausgezahlt werden."),
    ("quote", "We are very pleased with the decision and expect it to create thousands of new jobs."),
    ("paragraph", "Kritiker bemängeln dagegen, dass das Programm zu spät komme und zu wenig Geld vorsehe."),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_german_article_with_english_quote_is_mixed(backend):
    art = run(make_article(GERMAN, title="Neues Förderprogramm für kleine Betriebe"), backend)
    assert art.language == "de" and art.is_mixed_language
    assert [s.language for s in art.segments] == ["de", "de", "de", "en", "de"]
    assert all(s.script == "Latn" for s in art.segments)
    assert 0.5 < art.language_confidence <= 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_inline_english_quote_splits_the_paragraph(backend):
    paragraph = ("Der Vorstandschef äußerte sich am Abend vor Journalisten in Berlin zu den Plänen. "
                 "Er sagte: „We will keep every factory open and we will not cut a single job this year.“ "
                 "Die Gewerkschaften reagierten zurückhaltend auf die Ankündigung des Unternehmens.")
    art = run(make_article([GERMAN[0], ("paragraph", paragraph), GERMAN[3]], title="Werke bleiben offen"), backend)
    assert art.language == "de" and art.is_mixed_language
    assert [s.index for s in art.segments] == list(range(len(art.segments)))
    assert len(art.segments) > 4
    english = [s for s in art.segments if s.language == "en"]
    assert len(english) == 1 and "not cut a single job" in english[0].text and "Gewerkschaften" not in english[0].text
    assert all(s.kind == "paragraph" for s in art.segments[1:])
    assert art.text == "\n".join(s.text for s in art.segments if s.kind != "title")


def test_splitting_can_be_switched_off():
    paragraph = ("Der Vorstandschef äußerte sich am Abend vor Journalisten in Berlin zu den Plänen. "
                 "Er sagte: „We will keep every factory open and we will not cut a single job this year.“")
    assert len(run(make_article([("paragraph", paragraph)])).segments) == 2
    assert len(run(make_article([("paragraph", paragraph)]), language_split=False).segments) == 1


HINDI = [
    ("paragraph", "प्रधानमंत्री Narendra Modi ने मंगलवार को 2024 के बजट पर संसद में विस्तार से बात की।"),
    ("paragraph", "उन्होंने कहा कि सरकार किसानों की आय बढ़ाने के लिए 12 नई योजनाएं शुरू करेगी।"),
    ("paragraph", "Narendra Modi"),
    ("paragraph", "https://pib.gov.in/PressReleasePage.aspx?PRID=2001234"),
    ("paragraph", "विपक्ष ने इस घोषणा को चुनावी वादा बताया और Reuters से बातचीत में आलोचना की।"),
    ("list_item", "GDP 7.2%"),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_devanagari_with_latin_names_and_numbers_is_not_mixed(backend):
    art = run(make_article(HINDI, title="बजट पर प्रधानमंत्री का भाषण"), backend)
    assert art.language == "hi" and not art.is_mixed_language
    by_text = {s.text: s for s in art.segments}
    assert by_text[HINDI[0][1]].language == "hi" and by_text[HINDI[0][1]].script == "Deva"
    assert by_text[HINDI[3][1]].language == "und"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("code,blocks", [
    ("ja", ["政府は火曜日、新しい経済対策を発表した。", "対策には中小企業への支援が含まれている。", "東京"]),
    ("zh", ["政府周二公布了新的经济刺激计划。", "该计划包括对中小企业的支持措施。", "北京"]),
    ("ar", ["أعلنت الحكومة يوم الثلاثاء عن خطة اقتصادية جديدة.", "وتشمل الخطة دعما للشركات الصغيرة والمتوسطة."]),
    ("ru", ["Правительство во вторник объявило о новом экономическом плане.", "План включает поддержку малого бизнеса."]),
])
def test_non_latin_documents(backend, code, blocks):
    art = run(make_article([("paragraph", b) for b in blocks] + [("paragraph", "OpenAI"), ("paragraph", "2026")]),
              backend)
    assert art.language == code and not art.is_mixed_language
    assert art.segments[0].language == code


@pytest.mark.parametrize("backend", BACKENDS)
def test_foreign_script_heading_makes_an_english_document_mixed(backend):
    blocks = [("heading", "Москва"), ("paragraph", "The talks in the Russian capital ended without an agreement on Friday."),
              ("paragraph", "Both delegations said they would meet again next month in Geneva.")]
    art = run(make_article(blocks), backend)
    assert art.language == "en" and art.is_mixed_language
    assert art.segments[0].language == "ru" and art.segments[0].script == "Cyrl"


THAI = ["รัฐบาลประกาศแผนเศรษฐกิจใหม่เมื่อวันอังคารที่ผ่านมาเพื่อช่วยเหลือธุรกิจขนาดเล็ก",
        "แผนดังกล่าวรวมถึงการสนับสนุนผู้ประกอบการในต่างจังหวัดและการลดภาษีสำหรับครัวเรือน"]


@pytest.mark.parametrize("backend", ("ensemble", "langdetect"))
@pytest.mark.parametrize("code,paragraph", [
    # no sentence mark between Thai text and the quoted sentence
    ("th", THAI[0] + " The minister said the plan would help every small business in the country. " + THAI[1]),
    # Urdu's own full stop (U+06D4) ends a sentence
    ("ur", "حکومت نے منگل کو نئے معاشی منصوبے کا اعلان کیا۔ Der Minister sagte, der Plan werde allen kleinen "
           "Betrieben im Land helfen. منصوبے میں چھوٹے کاروباروں کے لیے مدد شامل ہے۔"),
])
def test_a_sentence_in_another_script_inside_a_paragraph_is_split_out(backend, code, paragraph):
    other = {"th": "en", "ur": "de"}[code]
    blocks = [("paragraph", paragraph)] + [("paragraph", t) for t in (THAI if code == "th" else [
        "منصوبے میں چھوٹے کاروباروں کے لیے مدد اور دیہی علاقوں میں سرمایہ کاری شامل ہے۔",
        "وزیر خزانہ نے کہا کہ اس سے لاکھوں خاندانوں کو فائدہ ہوگا۔"])]
    art = run(make_article(blocks), backend)
    assert art.language == code and art.is_mixed_language
    foreign = [s for s in art.segments if s.language == other]
    assert len(foreign) == 1 and foreign[0].text.startswith(("The minister", "Der Minister"))


@pytest.mark.parametrize("backend", ("ensemble", "langdetect"))
def test_a_lower_case_latin_word_in_a_cyrillic_document_is_foreign_a_quantity_is_not(backend):
    body = [("paragraph", "Правительство во вторник объявило о новом экономическом плане для регионов."),
            ("paragraph", "План включает поддержку малого бизнеса и снижение налогов для семей.")]
    assert run(make_article([("heading", "hundratusentals")] + body), backend).is_mixed_language
    assert not run(make_article([("paragraph", "$38 billion")] + body), backend).is_mixed_language
    assert not run(make_article([("paragraph", "Jensen Huang")] + body), backend).is_mixed_language


@pytest.mark.parametrize("backend", BACKENDS)
def test_short_headings_in_the_documents_language_do_not_make_it_mixed(backend):
    blocks = [("heading", "Photos"), ("paragraph", GERMAN[0][1]), ("heading", "Hintergrund"),
              ("paragraph", GERMAN[1][1]), ("heading", "Ausblick"), ("paragraph", GERMAN[3][1]),
              ("heading", "Kommentar"), ("list_item", "Jensen Huang")]
    art = run(make_article(blocks), backend)
    assert art.language == "de" and not art.is_mixed_language


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_and_digit_segments_are_und(backend):
    blocks = [("paragraph", "2026"), ("paragraph", " "), ("paragraph", "$38 billion"), ("paragraph", "— 12 —"),
              ("paragraph", "The company said its profits rose sharply in the third quarter thanks to demand.")]
    art = run(make_article(blocks), backend)
    assert [s.language for s in art.segments[:4]] in (["und"] * 4, ["und", "und", "en", "und"])
    assert art.segments[0].script == "Zyyy" and art.segments[0].confidence == 0.0
    assert art.language == "en" and not art.is_mixed_language


BASQUE = [
    ("paragraph", "Udalak aurrekontu berria onartu zuen astearte arratsaldean eztabaida luze baten ondoren."),
    ("paragraph", "Euri zaparradek uholdeak eragin zituzten ibaiaren ondoko hainbat herritan, eta errepideak itxi ziren."),
    ("paragraph", "Enpresak adierazi zuenez, hirugarren hiruhilekoan irabaziak nabarmen hazi ziren eskaerari esker."),
]


def test_lingua_second_look_catches_a_language_langdetect_lacks():
    # langdetect has no Basque: its fast first look is wrong, lingua's check of the document redoes it
    art = run(make_article(BASQUE, title="Aurrekontu berria onartu da"), "lingua")
    assert art.language == "eu" and not art.is_mixed_language
    assert {s.language for s in art.segments} == {"eu"}
    assert run(make_article(BASQUE), "langdetect").language != "eu"


def test_lingua_is_asked_only_about_what_langdetect_cannot_settle(monkeypatch):
    from bench.language_samples import SENTENCES

    english = [("paragraph", s) for s in SENTENCES["en"][:8]] + [("heading", "Москва")]
    lingua = language.get_backend("lingua")
    calls = []
    real = lingua._scores
    monkeypatch.setattr(lingua, "_scores", lambda text: calls.append(text) or real(text))
    lingua._cache.clear()
    art = run(make_article(english), "lingua")
    assert art.language == "en" and art.is_mixed_language
    # lingua checks the document's language on its heaviest segments and looks at the Cyrillic
    # heading; the eight English paragraphs are settled by langdetect's first look
    assert len(calls) <= language.TUNING.doc_checks + 1


def test_document_without_letters_is_und():
    art = run(make_article([("paragraph", "2026"), ("paragraph", "12:45")]))
    assert (art.language, art.language_confidence, art.is_mixed_language) == ("und", 0.0, False)


def test_document_without_segments_uses_title_and_text():
    art = Article(source_uri="x", title="Regierung beschließt Förderprogramm", text=GERMAN[1][1])
    run(art)
    assert art.language == "de" and art.segments == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_hint_is_a_prior_for_short_text(backend):
    # "vláda" (government) is Czech and Slovak alike: the hint decides between the plausible ones
    assert language.detect("vláda", backend=backend, hint="cs")[0] == "cs"
    assert language.detect("vláda", backend=backend, hint="sk")[0] == "sk"
    assert language.detect("vláda", backend=backend, hint="de")[0] in ("cs", "sk")


def test_annotate_is_deterministic_and_idempotent():
    first = run(make_article(GERMAN, title="Neues Förderprogramm"), "langdetect")
    again = run(copy.deepcopy(first), "langdetect")
    assert [(s.text, s.language, s.confidence) for s in first.segments] == \
           [(s.text, s.language, s.confidence) for s in again.segments]


# ------------------------------------------------------------------------------------- seeds
def _seed(seeds_dir, prefix: str) -> Article:
    path = next(seeds_dir.glob(f"{prefix}_*.txt"))
    settings = Settings()
    article = next(load(WorkItem("text", str(path)), settings))
    return extract(article, settings)


@pytest.mark.shared
@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_000_english_with_hindi_heading(seeds_dir, backend):
    art = run(_seed(seeds_dir, "000"), backend)
    assert art.language == "en" and art.is_mixed_language
    hindi = [s for s in art.segments if s.language == "hi"]
    assert [s.text for s in hindi] == ["चाबी छीनना"] and hindi[0].script == "Deva"
    assert art.text == "\n".join(s.text for s in art.segments if s.kind != "title")


@pytest.mark.shared
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_seeds_001_to_004_are_english_and_not_mixed(seeds_dir, backend, prefix):
    art = run(_seed(seeds_dir, prefix), backend)
    assert art.language == "en" and not art.is_mixed_language
    assert art.language_confidence > 0.8


def test_language_settings_are_validated():
    from ingest.settings import SettingsError

    with pytest.raises(SettingsError):
        Settings(language_max_chars=0)
    with pytest.raises(SettingsError):
        Settings(language_backend="cld3")


def test_language_candidates_are_validated_and_normalised():
    from ingest.settings import SettingsError

    assert Settings(language_candidates=["fr", "de", "de"]).language_candidates == ("de", "fr")
    for bad in (("en",), ("EN", "de"), ("eng", "de"), "en,de"):
        with pytest.raises(SettingsError):
            Settings(language_candidates=bad)


def test_ensemble_with_candidates_loads_and_labels_only_those():
    backend = language.get_backend("ensemble", languages=frozenset({"en", "de", "fr"}))
    assert backend.supported == {"en", "de", "fr"}
    assert backend._lingua.supported == {"en", "de", "fr"}  # lingua built for these languages only
    art = run(make_article(GERMAN, title="Neues Förderprogramm"), "ensemble", language_candidates=("de", "en", "fr"))
    assert art.language == "de"
    assert {s.language for s in art.segments} <= {"de", "en", "fr", "und"}


# Words chosen here (parliaments, hospitals, elections): common in their language's word list.
OWN_WORDS = {"stortinget": "nb", "folketinget": "da", "riksdagen": "sv", "sykehuset": "nb", "sjukhuset": "sv",
             "eleccions": "ca", "richiesta": "it", "obrigado": "pt", "nemocnice": "cs", "kebijakan": "id"}


def test_word_lists_score_short_texts_only_and_stay_silent_on_unknown_words():
    from ingest.language.backends import LexiconBackend

    lexicon = LexiconBackend(frozenset({"nb", "da", "sv", "hr", "bs", "sr", "en", "de"}))
    assert lexicon.supported == {"nb", "da", "sv", "hr", "bs", "sr", "en", "de"}  # only what was asked
    nb = lexicon.scores("Stortinget")  # case does not matter
    assert max(nb, key=nb.get) == "nb" and nb["nb"] > 0.9
    hr = lexicon.scores("sveučilište")  # Serbo-Croatian's one list stands for all three languages
    assert hr["hr"] == hr["bs"] == hr["sr"] > 0.9
    assert lexicon.scores("xqzvkw plorbt") == {}  # in no list: no evidence either way
    assert lexicon.scores("the hospital of the town") == {}  # longer than max_words: not asked
    assert lexicon.scores("mit dem Zug") and lexicon.words("l'hôpital d’été") == ["l'hôpital", "d’été"]
    # its table holds this process's string hashes: a copy sent to another process is rebuilt there
    import pickle
    import subprocess
    import sys

    code = ("import pickle, sys; lexicon = pickle.loads(sys.stdin.buffer.read()); "
            "print(max(lexicon.scores('Stortinget').items(), key=lambda kv: kv[1])[0])")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(lexicon), capture_output=True, check=True)
    assert out.stdout.decode().strip() == "nb"


def test_word_lists_make_the_ensemble_surer_of_single_words():
    backend = language.get_backend("ensemble")
    lexicon = backend._lexicon
    assert lexicon is not None
    with_lists = {word: language.detect(word, backend="ensemble") for word in OWN_WORDS}
    try:
        backend._lexicon = None
        language.clear_caches()
        without = {word: language.detect(word, backend="ensemble") for word in OWN_WORDS}
    finally:
        backend._lexicon = lexicon
        language.clear_caches()
    assert {word: code for word, (code, _) in with_lists.items()} == OWN_WORDS
    assert all(with_lists[word][1] >= 0.5 for word in OWN_WORDS)
    assert sum(with_lists[w][1] for w in OWN_WORDS) > sum(without[w][1] for w in OWN_WORDS) + 1.0


def test_ensemble_asks_the_slow_members_only_when_the_fast_ones_disagree(monkeypatch):
    from bench.language_samples import SENTENCES

    backend = language.get_backend("ensemble")
    calls = []
    real = backend._lingua._scores
    monkeypatch.setattr(backend._lingua, "_scores", lambda text: calls.append(text) or real(text))
    language.clear_caches()
    assert backend.scores(SENTENCES["de"][0]).get("de", 0) > 0.9  # langdetect and fastText agree
    assert calls == []
    assert max(backend.scores("Aurrekontu berria"), key=backend.scores("Aurrekontu berria").get) == "eu"
    assert calls  # a short text the fast members do not settle: lingua (low accuracy) is asked
