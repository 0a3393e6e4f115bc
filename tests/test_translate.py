"""Translation: real argos-format toy packages (../shared/argos_toy_models) through the real
loading and CTranslate2 path, statuses, pivots, caching, model management and its CLI.

The toys memorised ten sentence pairs (PAIRS in build_toy.py); the sentences are read from there
at test time, never copied here.  Their output is a test fixture, not a translation.

Without ../shared (a fresh clone, or ``NEWS_INGEST_NO_SHARED=1``) every test here still runs: the
fixtures build tiny random packages in seconds (``tests/tiny_argos.py``), and ``pairs`` maps each
source sentence to what argostranslate itself makes of it with that package (its reference path,
``bench.translation_bench.argos_offline``).  The tests then check statuses, segment alignment,
caching and model management against that reference, not words.
"""
from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from bench.translation_bench import argos_offline, toy_pairs
from flows import cli_models
from ingest.extract.extractor import extract
from ingest.records import Article, Segment
from ingest.settings import Settings
from ingest.sources.loaders import WorkItem, load
from ingest.text import split_sentences
from ingest.translate import cache as translation_cache
from ingest.translate import models as argos_models
from ingest.translate.models import ModelsError
from ingest.translate.translator import Translator
from tests import tiny_argos
from tests.conftest import SHARED, shared_available

pytestmark = pytest.mark.timeout(120)


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory) -> Path:
    """The shared toys when ../shared is there, else tiny packages built here in seconds."""
    toys = SHARED / "argos_toy_models"
    if shared_available() and (toys / "translate-hi_en-toy.argosmodel").is_file():
        return toys
    return tiny_argos.build_packages(tmp_path_factory.mktemp("tiny-argos"))


@pytest.fixture(scope="session")
def packages(toy_dir: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("argos-packages")
    for lang in ("hi", "de", "es"):
        argos_models.install_from_path(toy_dir / f"translate-{lang}_en-toy.argosmodel", root)
    return root


@pytest.fixture(scope="session")
def pairs(toy_dir: Path, packages: Path) -> dict[str, dict[str, str]]:
    """source sentence -> expected target, per source language: the toys' memorised pairs (read
    from build_toy.py), or for tiny packages what argostranslate's own path makes of each line."""
    if (toy_dir / "build_toy.py").is_file():
        return {lang: dict(items) for lang, items in toy_pairs(toy_dir).items()}
    translate = argos_offline(packages, "float32")
    by_lang = {"hi": [s for s in tiny_argos.LINES if "ऀ" <= s[0] <= "ॿ"],
               "de": tiny_argos.LINES[:2] + tiny_argos.LINES[9:], "es": tiny_argos.LINES[2:4]}
    return {lang: {src: translate(src, lang, "en") for src in lines} for lang, lines in by_lang.items()}


def settings_for(packages_dir: Path, **changes) -> Settings:
    return Settings(argos_packages_dir=str(packages_dir), compute_type="float32", **changes)


def article_from_lines(tmp_path: Path, lines: list[str], languages: list[str]) -> Article:
    """An article built the way the pipeline builds it (loader + extractor), languages set by hand."""
    path = tmp_path / f"doc{len(list(tmp_path.iterdir()))}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    article = next(load(WorkItem("text", str(path)), Settings()))
    extract(article, Settings())
    assert len(article.segments) == len(languages)
    for segment, language in zip(article.segments, languages):
        segment.language = language
    return article


def exact(pairs_of_lang: dict[str, str], n: int) -> list[tuple[str, str]]:
    """The first n memorised pairs whose target ends with its full stop (beam search may drop the
    final full stop of the shortest targets, as argostranslate itself would); for tiny packages
    (whose pairs are argostranslate's own output) the first n with a non-empty target."""
    tiny = not (SHARED / "argos_toy_models").is_dir() or not shared_available()
    chosen = [(s, t) for s, t in pairs_of_lang.items() if (t.strip() if tiny else t.endswith("."))][:n]
    assert len(chosen) == n, "not enough usable sentence pairs"
    return chosen


@pytest.fixture(autouse=True)
def fresh_memory_cache():
    translation_cache.memory_clear()
    yield


# --- the "done when" ---------------------------------------------------------------------

@pytest.fixture
def seed_000(tmp_path: Path, pairs) -> Article:
    """Seed 000 (an English article under a Hindi heading) from ../shared/seeds, or, without
    ../shared, an article of the same shape written here (a Hindi heading the packages know)."""
    seeds = SHARED / "seeds"
    path = next(iter(sorted(seeds.glob("000_*.txt"))), None) if shared_available() else None
    if path is None:
        path = tmp_path / "000_hindi_heading.txt"
        path.write_text(next(iter(pairs["hi"])) + "\n" + "The harbour opened again today after repairs.\n"
                        "Ships are expected to return within the week, the port authority said.\n",
                        encoding="utf-8")
    article = next(load(WorkItem("text", str(path)), Settings()))
    assert isinstance(article, Article)
    extract(article, Settings())
    for i, segment in enumerate(article.segments):
        segment.language = "hi" if i == 0 else "en"
    return article


def test_seed_000_hindi_heading_translated_english_left_alone(seed_000, packages, pairs):
    heading = seed_000.segments[0]
    assert heading.kind == "title" and heading.text in pairs["hi"]
    translator = Translator(settings_for(packages))
    translator.translate([seed_000])

    assert seed_000.translation_status == "translated"
    assert heading.translated_text == pairs["hi"][heading.text]
    assert seed_000.title_translated == pairs["hi"][heading.text]
    for segment in seed_000.segments[1:]:
        assert segment.translated_text == segment.text
    assert seed_000.text_translated == seed_000.text
    assert seed_000.translation_model == "translate-hi_en@0.0.1"
    assert not translator.missing_pairs
    assert translator.summary()["statuses"] == {"translated": 1}


def test_seed_000_without_packages_is_no_model_and_names_the_package(seed_000, tmp_path):
    translator = Translator(settings_for(tmp_path / "empty"))
    translator.translate([seed_000])

    assert seed_000.translation_status == "no_model"
    assert seed_000.title_translated is None and seed_000.text_translated is None
    assert seed_000.segments[0].translated_text is None
    assert all(s.translated_text == s.text for s in seed_000.segments[1:])
    assert seed_000.translation_model is None
    assert translator.missing_pairs == Counter({("hi", "en"): 1})
    hint = translator.install_hint(("hi", "en"))
    assert "translate-hi_en" in hint and hint.startswith("news-ingest models install hi en")
    missing = translator.summary()["missing_pairs"]
    assert missing[0]["package"] == "translate-hi_en" and missing[0]["segments"] == 1
    assert "translate-hi_en" in translator.summary_lines()[0]


def test_german_article_translated_segment_by_segment(tmp_path, packages, pairs):
    (s1, t1), (s2, t2) = exact(pairs["de"], 2)
    article = article_from_lines(tmp_path, [s1, s2, f"{s1} {s2}"], ["de", "de", "de"])
    Translator(settings_for(packages)).translate([article])

    assert article.translation_status == "translated"
    assert [s.translated_text for s in article.segments] == [t1, t2, f"{t1} {t2}"]
    assert article.title_translated == t1
    assert article.text_translated == f"{t2}\n{t1} {t2}"
    assert article.translation_model == "translate-de_en@0.0.1"
    assert article.text == f"{s2}\n{s1} {s2}"  # the original stays intact


def test_mixed_article_translated_per_segment(tmp_path, packages, pairs):
    (hi_src, hi_tgt), = exact(pairs["hi"], 1)
    (es_src, es_tgt), = exact(pairs["es"], 1)
    english = "An English paragraph that stays as it is."
    article = article_from_lines(tmp_path, ["An English title", hi_src, english, es_src],
                                 ["en", "hi", "en", "es"])
    Translator(settings_for(packages)).translate([article])

    assert article.translation_status == "translated"
    assert [s.translated_text for s in article.segments] == ["An English title", hi_tgt, english, es_tgt]
    assert article.title_translated == "An English title"
    assert article.text_translated == f"{hi_tgt}\n{english}\n{es_tgt}"
    assert article.translation_model == "translate-es_en@0.0.1,translate-hi_en@0.0.1"


def test_partial_when_one_pair_is_missing(tmp_path, packages, pairs):
    (de_src, de_tgt), = exact(pairs["de"], 1)
    french = "Le gouvernement a annoncé de nouvelles mesures."
    article = article_from_lines(tmp_path, ["Title", de_src, french], ["en", "de", "fr"])
    translator = Translator(settings_for(packages))
    translator.translate([article])

    assert article.translation_status == "partial"
    assert article.segments[1].translated_text == de_tgt
    assert article.segments[2].translated_text is None
    assert article.text_translated == f"{de_tgt}\n{french}"  # untranslated segment kept as is
    assert translator.missing_pairs == Counter({("fr", "en"): 1})
    assert "translate-fr_en" in translator.install_hint(("fr", "en"))


# --- statuses and behaviour -----------------------------------------------------------------------

def test_not_needed_und_and_disabled(tmp_path, packages, pairs):
    hi_src = next(iter(pairs["hi"]))
    article = article_from_lines(tmp_path, ["Title", "English body.", "12345"], ["en", "en", "und"])
    Translator(settings_for(packages)).translate([article])
    assert article.translation_status == "not_needed"
    assert [s.translated_text for s in article.segments] == ["Title", "English body.", "12345"]
    assert (article.title_translated, article.text_translated) == ("Title", article.text)
    assert article.translation_model is None

    foreign = article_from_lines(tmp_path, ["Title", hi_src], ["en", "hi"])
    Translator(settings_for(packages, translate=False)).translate([foreign])
    assert foreign.translation_status == "disabled"
    assert foreign.title_translated is None and foreign.text_translated is None
    assert all(s.translated_text is None for s in foreign.segments)


def test_batched_across_articles_deduplicated_and_cached_on_disk(tmp_path, packages, pairs):
    (s1, t1), (s2, t2) = exact(pairs["de"], 2)
    state = tmp_path / "state"
    settings = settings_for(packages, state_dir=str(state))

    def articles():
        return [Article(source_uri=f"a{i}", title=None, text=text,
                        segments=[Segment(index=0, text=text, language="de")])
                for i, text in enumerate([s1, s2, f"{s1} {s2}", s1])]

    first = Translator(settings)
    batch = articles()
    first.translate(batch)
    assert [a.text_translated for a in batch] == [t1, t2, f"{t1} {t2}", t1]
    assert first.stats["sentences_translated"] == 2  # 5 sentences, 2 distinct
    assert (state / translation_cache.CACHE_FILE).is_file()

    translation_cache.memory_clear()  # a new process: only the SQLite cache remains
    second = Translator(settings)
    again = articles()
    second.translate(again)
    assert [a.text_translated for a in again] == [t1, t2, f"{t1} {t2}", t1]
    assert second.stats["sentences_translated"] == 0
    assert second.stats["sentences_disk_cache"] == 2


def test_pivot_through_english(tmp_path, packages, pairs, toy_dir):
    """de -> fr with only de->en and en->fr installed: two packages chained, both recorded."""
    root = tmp_path / "pk"
    argos_models.install_from_path(toy_dir / "translate-de_en-toy.argosmodel", root)
    en_fr = root / "translate-en_fr-fake"
    shutil.copytree(root / "translate-de_en-toy", en_fr)
    meta = json.loads((en_fr / "metadata.json").read_text())
    meta.update(from_code="en", to_code="fr", package_version="0.0.2")
    (en_fr / "metadata.json").write_text(json.dumps(meta))
    (de_src, de_tgt), = exact(pairs["de"], 1)

    pivoted = Article(source_uri="p", segments=[Segment(index=0, text=de_src, language="de")], text=de_src)
    Translator(settings_for(root, target_language="fr")).translate([pivoted])
    direct = Article(source_uri="d", segments=[Segment(index=0, text=de_tgt, language="en")], text=de_tgt)
    Translator(settings_for(root, target_language="fr")).translate([direct])

    assert pivoted.translation_status == "translated"
    assert pivoted.translation_model == "translate-de_en@0.0.1+translate-en_fr@0.0.2"
    assert pivoted.segments[0].translated_text == direct.segments[0].translated_text


def test_engine_failure_marks_failed_and_run_goes_on(tmp_path, packages, pairs, toy_dir):
    root = tmp_path / "pk"
    argos_models.install_from_path(toy_dir / "translate-hi_en-toy.argosmodel", root)
    broken = root / "translate-fr_en-broken"
    shutil.copytree(root / "translate-hi_en-toy", broken)
    meta = json.loads((broken / "metadata.json").read_text())
    meta.update(from_code="fr")
    (broken / "metadata.json").write_text(json.dumps(meta))
    (broken / "model" / "model.bin").write_bytes(b"not a model")
    (hi_src, hi_tgt), = exact(pairs["hi"], 1)

    bad = Article(source_uri="bad", segments=[Segment(index=0, text="Bonjour.", language="fr")], text="Bonjour.")
    good = Article(source_uri="good", segments=[Segment(index=0, text=hi_src, language="hi")], text=hi_src)
    translator = Translator(settings_for(root))
    translator.translate([bad, good])

    assert bad.translation_status == "failed"
    assert bad.text_translated is None and bad.segments[0].translated_text is None
    assert good.translation_status == "translated" and good.text_translated == hi_tgt
    assert translator.summary()["statuses"] == {"failed": 1, "translated": 1}


def test_output_equals_argostranslate(tmp_path, packages, pairs, monkeypatch):
    """Same package, same sentences: our batched decoding gives argos' exact strings."""
    translate = argos_offline(packages, "float32")
    texts = [(lang, src) for lang in ("hi", "de", "es") for src in pairs[lang]]
    (s1, _), (s2, _) = exact(pairs["de"], 2)
    texts.append(("de", f"{s1} {s2}"))
    articles = [Article(source_uri=str(i), text=src, segments=[Segment(index=0, text=src, language=lang)])
                for i, (lang, src) in enumerate(texts)]
    Translator(settings_for(packages, translation_cache=False)).translate(articles)
    ours = [a.segments[0].translated_text for a in articles]
    theirs = [translate(src, lang, "en") for lang, src in texts]
    assert ours == theirs


# --- sentence splitting ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("One here. Two there! Three? Four", ["One here.", "Two there!", "Three?", "Four"]),
    ("Dr. Smith met U.S. officials on Jan. 5. They agreed.", ["Dr. Smith met U.S. officials on Jan. 5.", "They agreed."]),
    ("Pi is 3.14 today. See example.com now.", ["Pi is 3.14 today.", "See example.com now."]),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ("पहला वाक्य। दूसरा वाक्य॥ तीसरा", ["पहला वाक्य।", "दूसरा वाक्य॥", "तीसरा"]),
    ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
    ("  ", []),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_split_sentences_knows_each_languages_abbreviations():
    assert split_sentences("Am 3. Oktober kam er. Die Firma zahlte z. B. 3 Mio. Euro.", "de") == [
        "Am 3. Oktober kam er.", "Die Firma zahlte z. B. 3 Mio. Euro."]
    assert split_sentences("Он пришёл в 5 ч. утра. Было рано.", "ru") == ["Он пришёл в 5 ч. утра.", "Было рано."]


def test_split_sentences_cuts_overlong_text():
    text = "word " * 1000
    pieces = split_sentences(text, max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == text.split()


# --- package management ---------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return path


META = json.dumps({"from_code": "xx", "to_code": "en", "package_version": "1.0", "type": "translate"}).encode()


@pytest.mark.parametrize("members, symlink, message", [
    ({"../evil/metadata.json": META}, None, "unsafe path"),
    ({"/abs/metadata.json": META}, None, "unsafe path"),
    ({"pkg/metadata.json": META, "pkg/model/x": b""}, "pkg/link", "links are not allowed"),
    ({"pkg/model/model.bin": b""}, None, "no metadata.json"),
    ({"a/metadata.json": META, "b/metadata.json": META}, None, "one package directory"),
    ({"pkg/metadata.json": b"{not json", "pkg/model/x": b""}, None, "unreadable metadata.json"),
])
def test_install_refuses_unsafe_or_broken_archives(tmp_path, members, symlink, message):
    archive = _zip(tmp_path / "bad.argosmodel", members, symlink)
    root = tmp_path / "packages"
    with pytest.raises(ModelsError, match=message):
        argos_models.install_from_path(archive, root)
    assert not (tmp_path / "evil").exists()
    assert not root.exists() or not any(root.iterdir())


def test_install_rejects_non_zip_and_replaces_existing(tmp_path, toy_dir):
    not_zip = tmp_path / "x.argosmodel"
    not_zip.write_text("hello")
    with pytest.raises(ModelsError, match="zip"):
        argos_models.install_from_path(not_zip, tmp_path / "p")
    root = tmp_path / "p"
    first = argos_models.install_from_path(toy_dir / "translate-es_en-toy.argosmodel", root)
    (first.path / "stale-file").write_text("old")
    second = argos_models.install_from_path(toy_dir / "translate-es_en-toy.argosmodel", root)
    assert second.path == first.path and not (second.path / "stale-file").exists()
    assert [p.name for p in root.iterdir()] == [first.path.name]  # no staging leftovers
    (root / "junk").mkdir()
    found, problems = argos_models.scan(root)
    assert [p.label for p in found] == ["translate-es_en@0.0.1"]
    assert len(problems) == 1 and "no metadata.json" in problems[0]


def test_resolve_packages_dir_precedence(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert cli_models.resolve_packages_dir(None, env) == tmp_path / "data" / "argos-translate" / "packages"
    (tmp_path / "cfg" / "argos-translate").mkdir(parents=True)
    (tmp_path / "cfg" / "argos-translate" / "settings.json").write_text(json.dumps({"ARGOS_PACKAGES_DIR": "/from/json"}))
    assert cli_models.resolve_packages_dir(None, env) == Path("/from/json")
    env["ARGOS_PACKAGES_DIR"] = "/from/env"
    assert cli_models.resolve_packages_dir(None, env) == Path("/from/env")
    assert cli_models.resolve_packages_dir("/from/flag", env) == Path("/from/flag")


# --- the models CLI -------------------------------------------------------------------------------

def test_cli_list_and_install_from_path(tmp_path, toy_dir, capsys):
    root = tmp_path / "pk"
    assert cli_models.run(["models", "list", "--packages-dir", str(root)]) == 0
    assert "no argos packages" in capsys.readouterr().out
    archive = toy_dir / "translate-hi_en-toy.argosmodel"
    assert cli_models.run(["models", "install", str(archive), "--packages-dir", str(root)]) == 0
    assert "installed translate-hi_en@0.0.1" in capsys.readouterr().out
    assert cli_models.run(["models", "list", "--packages-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "translate-hi_en" in out and "0.0.1" in out and "Hindi -> English" in out
    assert cli_models.run(["models", "list", "--json", "--packages-dir", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["package"] == "translate-hi_en"


def test_cli_install_by_pair_offline_is_a_clear_error(tmp_path, capsys):
    with socket.socket() as s:  # a port with nobody listening: what "offline" looks like
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = cli_models.run(["models", "install", "hi", "en", "--packages-dir", str(tmp_path),
                         "--index-url", f"http://127.0.0.1:{port}/index.json", "--timeout", "2"])
    err = capsys.readouterr().err
    assert rc == 1
    assert len(err.strip().splitlines()) == 1 and "cannot reach" in err and "offline" in err
    rc = cli_models.run(["models", "install", "hi", "en", "--offline", "--packages-dir", str(tmp_path)])
    assert rc == 1 and "translate-hi_en" in capsys.readouterr().err
    assert cli_models.run(["models", "install", "a", "b", "c", "--packages-dir", str(tmp_path)]) == 2
    assert cli_models.run(["models", "install", str(tmp_path / "missing.argosmodel"),
                           "--packages-dir", str(tmp_path)]) == 1
    assert "no such file" in capsys.readouterr().err


@pytest.fixture
def index_server(toy_dir):
    """argos' index format served from 127.0.0.1, linking the hi->en toy package."""
    files: dict[str, bytes] = {"/translate-hi_en.argosmodel": (toy_dir / "translate-hi_en-toy.argosmodel").read_bytes()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    files["/index.json"] = json.dumps([
        {"type": "translate", "from_code": "hi", "to_code": "en", "package_version": "0.0.1",
         "argos_version": "1.0", "links": [f"{base}/translate-hi_en.argosmodel"]},
    ]).encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{base}/index.json"
    server.shutdown()
    server.server_close()


def test_cli_install_by_pair_and_name_from_an_index(tmp_path, index_server, capsys):
    root = tmp_path / "pk"
    assert cli_models.run(["models", "install", "hi", "en", "--packages-dir", str(root),
                           "--index-url", index_server]) == 0
    assert "installed translate-hi_en@0.0.1" in capsys.readouterr().out
    assert [p.label for p in argos_models.scan(root)[0]] == ["translate-hi_en@0.0.1"]
    assert cli_models.run(["models", "install", "translate-hi_en", "--packages-dir", str(root),
                           "--index-url", index_server]) == 0
    assert cli_models.run(["models", "install", "de", "en", "--packages-dir", str(root),
                           "--index-url", index_server]) == 1
    assert "no package translate-de_en" in capsys.readouterr().err


def test_a_failing_batch_is_retried_sentence_by_sentence(packages, pairs, monkeypatch):
    """The engine raising for one sentence fails only the record holding it."""
    from ingest.translate import translator as translate_module

    settings = settings_for(packages, translation_cache=False)
    (s1, t1), (s2, _) = exact(pairs["de"], 2)
    pkg = argos_models.translation_packages(packages)[("de", "en")]
    model = translate_module.load_model(pkg, "float32")
    poison = model.tokenizer.encode(s2)
    calls = []

    class Flaky:
        def __init__(self, inner):
            self.inner = inner

        def translate_batch(self, batch, **kwargs):
            calls.append(len(batch))
            if poison in batch:
                raise RuntimeError("engine error")
            return self.inner.translate_batch(batch, **kwargs)

    monkeypatch.setattr(model, "translator", Flaky(model.translator))
    ok = Article(source_uri="ok", text=s1, segments=[Segment(index=0, text=s1, language="de")])
    bad = Article(source_uri="bad", text=s2, segments=[Segment(index=0, text=s2, language="de")])
    Translator(settings).translate([ok, bad])
    assert calls == [2, 1, 1]  # one batch, then one by one
    assert ok.translation_status == "translated" and ok.text_translated == t1
    assert bad.translation_status == "failed" and bad.text_translated is None


def test_newest_package_version_wins(tmp_path, toy_dir):
    root = tmp_path / "pk"
    argos_models.install_from_path(toy_dir / "translate-es_en-toy.argosmodel", root)
    for version in ("1.9", "1.10", "1.9.1"):
        copy = root / f"translate-es_en-{version}"
        shutil.copytree(root / "translate-es_en-toy", copy)
        meta = json.loads((copy / "metadata.json").read_text())
        meta["package_version"] = version
        (copy / "metadata.json").write_text(json.dumps(meta))
    assert argos_models.translation_packages(root)[("es", "en")].label == "translate-es_en@1.10"
    index = [{"from_code": "es", "to_code": "en", "package_version": v} for v in ("1.9.1", "1.10", "1.2")]
    assert argos_models.find_in_index(index, from_code="es", to_code="en")["package_version"] == "1.10"


def test_article_without_segments_uses_its_own_language(packages, pairs):
    (s1, t1), (s2, t2) = exact(pairs["de"], 2)
    article = Article(source_uri="x", title=s1, text=f"{s1}\n{s2}", language="de")
    Translator(settings_for(packages)).translate([article])
    assert article.translation_status == "translated"
    assert (article.title_translated, article.text_translated) == (t1, f"{t1}\n{t2}")
    assert article.segments == []  # nothing invented on the record itself
