"""Benchmark of language identification (issues 5 and 20).

Every backend is measured through the pipeline's own code path (``annotate`` on an Article whose
one paragraph segment is the item), on: the sentence set (one sentence per record of
../shared/datasets/wmt_crosslingual_dev and semeval_stories_dev, beside bare single detectors),
lingua_words, synthetic mixed documents, the seeds and real pages; ``--only`` picks parts.

Prints, for each backend with this project's script/context logic (``ingest.language.detect``) and for
bare langdetect (``detect_langs(text)[0]``, seed 0) on the same items:

1. accuracy on ../shared/datasets/lingua_words (single words and word pairs, per language and
   overall), restricted to the languages both backends support; lingua alone on all 75;
2. segments per second (CPU time of this process, so other load on the machine matters less);
3. on a synthetic set of documents built from lingua_words items and the sentences in
   bench/language_samples.py (0, 1 or 2 foreign segments of various scripts and lengths, plus
   names, numbers and URLs that are not foreign): segment accuracy, document language accuracy
   and document-level mixed precision / recall (overall and by kind of foreign segment);
4. backend load time and memory, and annotate() speed on the seed documents.

lingua_words lines are split: even lines are "dev" (used while tuning the constants in
ingest/language.py), odd lines are "test" (reported by default).

    python bench/language_bench.py --quick        # ~1-3 minutes on 2 shared cores
    python bench/language_bench.py                # 500 items per language and file, 1000 documents
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.language_samples import NAMES, NOISE, SENTENCES  # noqa: E402
from ingest.language import detect as language  # noqa: E402
from ingest.language import scripts  # noqa: E402
from ingest.records import Article, Segment  # noqa: E402
from ingest.settings import Settings  # noqa: E402

WORDS = ROOT.parent / "shared" / "datasets" / "lingua_words"
SEEDS = ROOT.parent / "shared" / "seeds"
ALIASES = {"zh-cn": "zh", "zh-tw": "zh", "no": "nb"}


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_words(split: str, limit: int) -> dict[str, dict[str, list[str]]]:
    """{kind: {language: items}} with kind in single-words / word-pairs."""
    data: dict[str, dict[str, list[str]]] = {}
    for kind in ("single-words", "word-pairs"):
        data[kind] = {}
        for path in sorted((WORDS / kind).glob("*.txt")):
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            if split == "dev":
                lines = lines[0::2]
            elif split == "test":
                lines = lines[1::2]
            data[kind][path.stem] = [line for line in lines if line][:limit]
    return data


# ------------------------------------------------------------------------------------- labellers
def bare_langdetect():
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def label(text: str) -> str:
        try:
            code = detect_langs(text)[0].lang
        except LangDetectException:
            return "und"
        return ALIASES.get(code, code)

    return label


MAX_CHARS = Settings().language_max_chars


def settings_for(method: str) -> Settings:
    """'lingua', 'lingua-low' (low-accuracy mode) or 'langdetect'."""
    return Settings(language_backend=method.split("-")[0], language_low_accuracy=method.endswith("-low"),
                    language_max_chars=MAX_CHARS)


def backend_for(method: str):
    s = settings_for(method)
    return language.get_backend(s.language_backend, s.language_low_accuracy)


def system(backend: str):
    """The pipeline's own code path: ``annotate`` on an Article whose one paragraph segment is the
    item (what ``extract`` builds from a one-line text record); the document's language."""
    settings = settings_for(backend)

    def label(text: str) -> str:
        article = Article(source_uri="bench", text=text, segments=[Segment(0, text, kind="paragraph")])
        return language.annotate(article, settings).language

    return label


# ------------------------------------------------------------------------------------- sentences
DATASETS = ROOT.parent / "shared" / "datasets"
_LETTER = None


def _long_enough(sentence: str, lang: str) -> bool:
    import re

    global _LETTER
    _LETTER = _LETTER or re.compile(r"[^\W\d_]")
    letters = len(_LETTER.findall(sentence))
    return letters >= 15 if lang in ("zh", "ja") else letters >= 20 and len(sentence.split()) >= 5


def load_sentences() -> list[tuple[str, str, str]]:
    """(source, gold language, sentence): one sentence per record.  wmt_crosslingual_dev: a line of
    the document's text (the organisers' sentence split) with 20+ letters and 5+ words (15+ letters
    for Chinese), chosen by a hash of pair/docid/lang; semeval_stories_dev (ar, de, es, fr, tr): the
    first sentence of the text that long (``ingest.text.sentence_spans`` per paragraph).  Both
    golds are the datasets' ``lang``; nothing is copied out of ../shared."""
    import hashlib
    import json

    from ingest.text import sentence_spans

    out = []
    wmt = DATASETS / "wmt_crosslingual_dev" / "docs.jsonl"
    semeval = DATASETS / "semeval_stories_dev" / "articles.jsonl"
    if wmt.is_file():
        for line in wmt.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            lines = [t.strip() for t in rec["text"].split("\n") if _long_enough(t.strip(), rec["lang"])]
            if lines:
                key = f"{rec['pair']}|{rec['docid']}|{rec['lang']}".encode()
                out.append(("wmt", rec["lang"], lines[int(hashlib.sha256(key).hexdigest(), 16) % len(lines)]))
    if semeval.is_file():
        for line in semeval.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec["lang"] not in ("ar", "de", "es", "fr", "tr"):
                continue
            first = next((para[a:b].strip() for para in (rec.get("text") or "").split("\n")
                          for a, b in sentence_spans(para) if _long_enough(para[a:b].strip(), rec["lang"])), None)
            if first:
                out.append(("semeval", rec["lang"], first))
    return out


def single_backends(names: list[str]):
    """Bare detectors (argmax of their own distribution, no script logic): the comparison."""
    from ingest.language import backends

    out = {}
    for name in names:
        if name == "lingua-high":
            impl = backends.LinguaBackend(preload=True)
        elif name == "lingua-low":
            impl = backends.LinguaBackend(low_accuracy=True, preload=True)
        elif name == "fasttext":
            impl = backends.FastTextBackend()
        elif name == "py3langid":
            impl = backends.Py3langidBackend()
        else:
            impl = backends.get_backend(name)
        out[name] = _argmax_of(impl)
    return out


def _argmax_of(impl):
    def label(text: str) -> str:
        dist = impl._scores(text)
        return max(dist, key=dist.get) if dist else "und"

    return label


def evaluate_sentences(sentences, labellers) -> None:
    langs = sorted({lang for _, lang, _ in sentences})
    print(f"\n## sentence set: {len(sentences)} sentences, one per record (wmt_crosslingual_dev, "
          f"semeval_stories_dev); accuracy (und counts as wrong) and ms per sentence (CPU)")
    print(f"{'method':18}{'all':>8}" + "".join(f"{lang:>7}" for lang in langs) + f"{'ms':>7}")
    for name, label in labellers.items():
        ok, n = defaultdict(int), defaultdict(int)
        wrong = []
        started = time.process_time()
        for _, lang, text in sentences:
            got = label(text)
            n[lang] += 1
            ok[lang] += got == lang
            if got != lang:
                wrong.append(f"{lang}->{got}")
        cpu = time.process_time() - started
        total = sum(ok.values())
        print(f"{name:18}{total / len(sentences):8.4f}" + "".join(f"{ok[lang] / n[lang]:7.3f}" for lang in langs)
              + f"{1000 * cpu / len(sentences):7.2f}   ({total}/{len(sentences)}; wrong: {' '.join(wrong[:12])})")


def pss_mb() -> float:
    import psutil

    return psutil.Process().memory_full_info().pss / 2**20


def evaluate_words(words, labellers, languages, report_languages: bool) -> None:
    for kind, by_lang in words.items():
        print(f"\n## lingua_words {kind}: accuracy (und counts as wrong), und rate, segments/s")
        header = f"{'lang':6}" + "".join(f"{name:>22}" for name in labellers)
        rows, totals, unds, cpu, count = [], defaultdict(int), defaultdict(int), defaultdict(float), 0
        for lang in languages:
            items = by_lang.get(lang, [])
            if not items:
                continue
            count += len(items)
            row = f"{lang:6}"
            for name, label in labellers.items():
                started = time.process_time()
                got = [label(item) for item in items]
                cpu[name] += time.process_time() - started
                ok = sum(1 for g in got if g == lang)
                totals[name] += ok
                unds[name] += sum(1 for g in got if g == "und")
                row += f"{100 * ok / len(items):21.1f}%"
            rows.append(row)
        print(header)
        if report_languages:
            print("\n".join(rows))
        print(f"{'ALL':6}" + "".join(f"{100 * totals[n] / count:21.1f}%" for n in labellers)
              + f"   ({count} items)")
        print(f"{'und':6}" + "".join(f"{100 * unds[n] / count:21.1f}%" for n in labellers))
        answered = "".join(f"{100 * totals[n] / max(count - unds[n], 1):21.1f}%" for n in labellers)
        print(f"{'answd':6}{answered}   (accuracy on the items not labelled und)")
        print(f"{'seg/s':6}" + "".join(f"{count / max(cpu[n], 1e-9):22.0f}" for n in labellers))


# ----------------------------------------------------------------------------- synthetic documents
def script_of_language(code: str, words) -> str:
    sample = SENTENCES[code][0] if code in SENTENCES else " ".join(words["word-pairs"][code][:5])
    return scripts.analyse(sample).script


FOREIGN_KINDS = ("word-cross-script", "pair", "sentence", "paragraph", "inline-sentence")


def build_documents(words, n_docs: int, seed: int, languages: list[str]):
    """Documents as (Article, parts, n_foreign, kinds): parts[i] lists (text, gold) of segment i."""
    rng = random.Random(seed)
    bases = sorted(SENTENCES)
    script = {code: script_of_language(code, words) for code in set(languages) | set(bases)}
    docs = []
    for n in range(n_docs):
        base = bases[n % len(bases)]
        blocks: list[tuple[str, list[tuple[str, str | None]]]] = []  # (kind, parts)

        def sentences(code: str, k: int) -> str:
            return " ".join(rng.sample(SENTENCES[code], k))

        title_text = sentences(base, 1) if rng.random() < 0.5 else rng.choice(words["word-pairs"][base])
        title = [(title_text, base)]
        for _ in range(rng.randint(3, 6)):
            text = sentences(base, rng.randint(1, 3))
            if script[base] != "Latn" and rng.random() < 0.4:  # a Latin name inside non-Latin text
                text = f"{text} {rng.choice(NAMES)} {rng.randint(2, 2030)}"
            blocks.append(("paragraph", [(text, base)]))
        for _ in range(rng.randint(0, 2)):  # short headings in the document's own language
            kind = "single-words" if rng.random() < 0.3 else "word-pairs"
            blocks.insert(rng.randint(0, len(blocks)), ("heading", [(rng.choice(words[kind][base]), base)]))
        for _ in range(rng.randint(0, 2)):  # numbers, URLs: no language
            blocks.insert(rng.randint(0, len(blocks)), ("paragraph", [(rng.choice(NOISE), "und")]))
        if script[base] != "Latn":
            for _ in range(rng.randint(0, 2)):  # names and credits: no language, not foreign
                blocks.insert(rng.randint(0, len(blocks)), ("paragraph", [(rng.choice(NAMES), None)]))
        n_foreign = rng.choice((0, 1, 2))
        kinds = []
        for _ in range(n_foreign):
            kind = rng.choice(FOREIGN_KINDS)
            kinds.append(kind)
            if kind == "word-cross-script":
                other = rng.choice([c for c in languages if script[c] != script[base]])
                word = rng.choice(words["single-words"][other])
                blocks.insert(rng.randint(0, len(blocks)), ("heading", [(word, other)]))
            elif kind == "pair":
                other = rng.choice([c for c in languages if c != base])
                pair = rng.choice(words["word-pairs"][other])
                blocks.insert(rng.randint(0, len(blocks)), ("heading", [(pair, other)]))
            else:
                other = rng.choice([c for c in bases if c != base])
                if kind == "inline-sentence":
                    i = rng.randrange(len(blocks))
                    blocks.insert(i, ("paragraph", [(sentences(base, 1), base), (sentences(other, 1), other),
                                                    (sentences(base, 1), base)]))
                else:
                    text = sentences(other, 1 if kind == "sentence" else rng.randint(2, 3))
                    blocks.insert(rng.randint(0, len(blocks)), ("quote", [(text, other)]))
        segments = [Segment(0, " ".join(t for t, _ in title), kind="title")]
        parts = [title]
        for kind, block in blocks:
            segments.append(Segment(len(segments), " ".join(t for t, _ in block), kind=kind))
            parts.append(block)
        article = Article(source_uri=f"synthetic:{n}", title=segments[0].text, segments=segments,
                          text="\n".join(s.text for s in segments[1:]))
        docs.append((article, parts, n_foreign, kinds, base))
    return docs


def gold_of(text: str, parts_all) -> str | None:
    """Gold language of an output segment: the language of most characters among the parts it contains."""
    chars: dict[str | None, int] = defaultdict(int)
    for parts in parts_all:
        for part, code in parts:
            if part in text:
                chars[code] += len(part)
    if not chars:
        return None
    return max(chars, key=chars.get)


def evaluate_documents(docs, backends: list[str], bare, verbose: bool = False) -> None:
    import copy

    print(f"\n## synthetic documents: {len(docs)} documents, "
          f"{sum(1 for d in docs if d[2])} mixed; foreign kinds {', '.join(FOREIGN_KINDS)}")
    methods = [*backends, "bare-langdetect"] if bare else list(backends)
    print(f"{'method':18}{'seg acc':>9}{'doc lang':>10}{'mixed P':>9}{'mixed R':>9}{'seg/s':>8}{'ms/doc':>8}")
    for method in methods:
        language.clear_caches()
        tp = fp = fn = 0
        seg_ok = seg_n = doc_ok = n_segments = 0
        recall_by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        fp_examples, missed, wrong_docs = [], defaultdict(list), []
        cpu = 0.0
        for article, parts, n_foreign, kinds, base in docs:
            art = copy.deepcopy(article)
            started = time.process_time()
            if method == "bare-langdetect":
                doc_lang, mixed = _bare_annotate(art, bare)
            else:
                language.annotate(art, settings_for(method))
                doc_lang, mixed = art.language, art.is_mixed_language
            cpu += time.process_time() - started
            n_segments += len(art.segments)
            for segment in art.segments:
                gold = gold_of(segment.text, parts)
                if gold is None:
                    continue
                seg_n += 1
                seg_ok += segment.language == gold
            doc_ok += doc_lang == base
            if doc_lang != base and len(wrong_docs) < 5:
                wrong_docs.append(f"{base}->{doc_lang}")
            if n_foreign:
                tp += mixed
                fn += not mixed
                if not mixed and len(missed[kinds[0]]) < 3:
                    missed[kinds[0]].append(art)
                for kind in set(kinds):
                    recall_by_kind[kind][0] += mixed
                    recall_by_kind[kind][1] += 1
            else:
                fp += mixed
                if mixed and len(fp_examples) < 3:
                    fp_examples.append(art)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{method:18}{100 * seg_ok / seg_n:8.1f}%{100 * doc_ok / len(docs):9.1f}%"
              f"{precision:9.3f}{recall:9.3f}{n_segments / cpu:8.0f}{1000 * cpu / len(docs):8.2f}")
        print("    recall by foreign kind: " + ", ".join(
            f"{k} {v[0] / v[1]:.2f} ({v[1]})" for k, v in sorted(recall_by_kind.items())))
        if method == "bare-langdetect" or not verbose:
            continue
        print(f"    document language errors: {' '.join(wrong_docs)}")
        for art in fp_examples[:3]:
            odd = [(s.language, round(s.confidence, 2), s.text[:40])
                   for s in art.segments if s.language != art.language]
            print(f"    false alarm ({art.language}): {odd[:3]}")
        for kind, arts in sorted(missed.items()):
            for art in arts:
                odd = [(s.language, round(s.confidence, 2), s.script, s.text[:30]) for s in art.segments
                       if s.language != art.language]
                print(f"    missed {kind} ({art.language}): {odd[:3]}")


def _bare_annotate(article: Article, bare) -> tuple[str, bool]:
    votes: dict[str, int] = defaultdict(int)
    for segment in article.segments:
        segment.language = bare(segment.text)
        if segment.language != "und":
            votes[segment.language] += len(segment.text)
    doc = max(votes, key=votes.get) if votes else "und"
    return doc, any(s.language not in ("und", doc) for s in article.segments)


# ------------------------------------------------------------------------------------------ speed
def load_and_memory(backends: list[str], words) -> None:
    print("\n## backend load (first use in this process): seconds and resident memory")
    warm = [items[0] for items in words["word-pairs"].values() if items]
    for name in backends:
        before, pss_before, started = rss_mb(), pss_mb(), time.perf_counter()
        impl = backend_for(name)
        built = time.perf_counter() - started
        for text in warm:  # lingua loads the models of each script lazily on first sight
            impl.scores(text)
            impl.scores(text * 8)
        total = time.perf_counter() - started
        print(f"{name:12} build {built:5.2f}s, build + models of all scripts {total:5.2f}s,"
              f" RSS +{rss_mb() - before:6.0f} MB, PSS +{pss_mb() - pss_before:6.0f} MB")


def seed_speed(backends: list[str]) -> None:
    if not SEEDS.is_dir():
        return
    import copy

    from ingest.extract.extractor import extract
    from ingest.sources.loaders import WorkItem, load

    settings = settings_for("langdetect")
    articles = []
    for path in sorted(SEEDS.glob("*.txt")):
        article = next(load(WorkItem("text", str(path)), settings))
        articles.append(extract(article, settings))
    print("\n## annotate() on the seed documents (CPU time, 5 rounds)")
    for name in backends:
        s = settings_for(name)
        started, segments = time.process_time(), 0
        for _ in range(5):
            language.clear_caches()  # time cold work, not memoised headings
            for article in articles:
                done = language.annotate(copy.deepcopy(article), s)
                segments += len(done.segments)
        cpu = time.process_time() - started
        results = [language.annotate(copy.deepcopy(a), s) for a in articles]
        summary = ", ".join(f"{a.language}{'+mixed' if a.is_mixed_language else ''}" for a in results)
        per_doc = 1000 * cpu / (5 * len(articles))
        print(f"{name:12} {segments / cpu:6.0f} segments/s, {per_doc:6.1f} ms/doc  [{summary}]")


def real_pages(backends: list[str], n_pages: int) -> None:
    """Extraction vs language identification on real pages, and agreement with <html lang>."""
    import copy
    import gzip
    import json
    import re

    from ingest.extract.extractor import ExtractionError, extract
    from ingest.sources.encoding import decode_html

    root = ROOT.parent / "shared" / "datasets" / "trafilatura_eval"
    if not root.is_dir():
        return
    settings = settings_for("langdetect")
    evaldata = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    articles, declared, extract_cpu = [], [], 0.0
    lang_attr = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2})", re.I)
    for url, record in sorted(evaldata.items())[:n_pages]:
        data = gzip.open(root / "html" / f"{record['file']}.gz").read()
        match = lang_attr.search(data[:5000])
        article = Article(source_uri=url, url=url, html=decode_html(data), content_type="html")
        started = time.process_time()
        try:
            extract(article, settings)
        except ExtractionError:
            continue
        finally:
            extract_cpu += time.process_time() - started
        articles.append(article)
        declared.append(match.group(1).decode().lower() if match else None)
    n_segments = sum(len(a.segments) for a in articles)
    print(f"\n## real pages (trafilatura_eval, first {n_pages} by URL): {len(articles)} extracted, "
          f"{n_segments} segments; extraction {1000 * extract_cpu / max(len(articles), 1):.1f} ms/doc CPU")
    for name in backends:
        language.clear_caches()
        started = time.process_time()
        done = [language.annotate(copy.deepcopy(a), settings_for(name)) for a in articles]
        cpu = time.process_time() - started
        pairs = [(d.language, lang) for d, lang in zip(done, declared) if lang]
        agree = sum(1 for got, lang in pairs if got == lang)
        mixed = sum(1 for d in done if d.is_mixed_language)
        print(f"{name:12} {n_segments / cpu:6.0f} segments/s, {1000 * cpu / len(done):6.1f} ms/doc; "
              f"agrees with <html lang> on {agree}/{len(pairs)}; {mixed} flagged mixed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 items per language and file, 300 documents")
    parser.add_argument("--limit", type=int, help="lingua_words items per language and file (default 500)")
    parser.add_argument("--docs", type=int, help="synthetic documents (default 1000)")
    parser.add_argument("--split", choices=("test", "dev", "all"), default="test")
    parser.add_argument("--backends", default="ensemble,lingua,langdetect",
                        help="comma-separated: ensemble, lingua, langdetect, lingua-low (lingua's low-accuracy mode)")
    parser.add_argument("--singles", default="langdetect,fasttext,py3langid,lingua-low,lingua-high",
                        help="bare detectors compared on the sentence set ('' for none)")
    parser.add_argument("--only", default="", help="comma-separated parts to run: memory, sentences, "
                        "words, documents, seeds, pages (default: all)")
    parser.add_argument("--summary", action="store_true", help="leave out the per-language tables")
    parser.add_argument("--no-bare", action="store_true", help="leave out bare langdetect (the slowest)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print false alarms and missed documents")
    parser.add_argument("--skip-words", action="store_true", help="only the synthetic documents and speed")
    parser.add_argument("--max-chars", type=int, help="Settings.language_max_chars (default: its default)")
    args = parser.parse_args(argv)
    global MAX_CHARS
    MAX_CHARS = args.max_chars or MAX_CHARS
    if not WORDS.is_dir():
        print(f"{WORDS} is absent: nothing to benchmark")
        return 0
    limit = args.limit or (100 if args.quick else 500)
    n_docs = args.docs or (300 if args.quick else 1000)
    parts = set(args.only.split(",")) if args.only else {"memory", "sentences", "words", "documents", "seeds", "pages"}
    if args.skip_words:
        parts.discard("words")
    # low-accuracy lingua first: its models are a subset of the high-accuracy ones, so its memory
    # can only be measured before those are loaded; the ensemble before langdetect (it holds it)
    order = {"lingua-low": 0, "ensemble": 1}
    backends = sorted((b for b in args.backends.split(",") if b), key=lambda b: order.get(b, 2))
    words = load_words(args.split, limit)
    if "memory" in parts:
        load_and_memory(backends, words)

    from ingest.language.backends import LINGUA_LANGUAGES

    language.clear_caches()
    ld_codes = language.get_backend("langdetect").supported
    available = set(words["single-words"])
    common = sorted(available & ld_codes & LINGUA_LANGUAGES)
    bare = bare_langdetect()
    labellers = {f"{b}+logic": system(b) for b in backends}
    if "sentences" in parts:
        sentences = load_sentences()
        singles = single_backends([n for n in args.singles.split(",") if n])
        evaluate_sentences(sentences, {**labellers, **{f"bare {n}": f for n, f in singles.items()}})
    print(f"\nlingua_words split={args.split}, {limit} items per language and file")
    print(f"common languages ({len(common)}; lingua and langdetect both support them; langdetect 'no' "
          f"scored as 'nb'): {' '.join(common)}")
    print(f"left out for langdetect: {' '.join(sorted(available - set(common)))}")
    if not args.no_bare:
        labellers["bare-langdetect"] = bare  # langdetect's own detect_langs: slow (~250 items/s)
    if "words" in parts:
        evaluate_words(words, labellers, common, not args.summary)
        rest = sorted(available - set(common))
        print(f"\n## the {len(rest)} languages langdetect lacks")
        evaluate_words(words, {k: v for k, v in labellers.items() if k != "bare-langdetect"}, rest,
                       not args.summary)
    if "documents" in parts:
        docs = build_documents(words, n_docs, args.seed, common)
        language.clear_caches()
        evaluate_documents(docs, backends, None if args.no_bare else bare, args.verbose)
    if "seeds" in parts:
        seed_speed(backends)
    if "pages" in parts:
        real_pages(backends, 40 if args.quick else 150)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
