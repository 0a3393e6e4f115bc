"""Quality of deduplication: pairwise precision, recall and F1 for near copies and same stories.

The evaluation set is built at run time from ../shared (nothing from it is stored in the repo):

* real articles: the 990 trafilatura_eval pages extracted with ``ingest.extract.extractor`` (German,
  English, Spanish, French, Polish, Portuguese, ...), the newspaper4k test texts, the five seeds;
  every pair of them counts as a negative unless labelled below;
* natural near copies: each newspaper4k page extracted by trafilatura (HTML) versus newspaper's
  expected text for it (other extractor, other boilerplate); pages of trafilatura_eval whose
  text is identical; one press release republished with edits (hand-labelled);
* synthetic near copies of randomly chosen real articles: boilerplate added, paragraphs
  reordered, small word edits, truncation, and all of them mixed;
* same-story pairs: seeds 002/003/004, seven pairs of trafilatura_eval pages that report the
  same event, found by reading the most similar pairs and labelled by hand (URLs below), and
  newspaper4k's CNN article with its summary; two more pairs were judged ambiguous and are left
  out of the counts.

Near-copy level: the index runs with the story level switched off (thresholds 1.0), so a
cluster is a set of exact/near copies.  Story level: default settings; gold clusters are the
near-copy pairs plus the same-story pairs.  Story ids are resolved through the index's merges,
as a consumer does.  Cross-language grouping: ``bench/stories_bench.py`` (real WMT pairs).

Run: ``python bench/dedup_quality.py [--copies 500] [--sweep]``
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.extract.extractor import extract
from ingest.records import Article, stable_id  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.sources.encoding import decode_html  # noqa: E402
from ingest.sources.loaders import WorkItem, load  # noqa: E402
from ingest.stories.index import StoryIndex, content_hash  # noqa: E402

SHARED = ROOT.parent / "shared"
TEV = SHARED / "datasets" / "trafilatura_eval"
N4K = SHARED / "datasets" / "newspaper4k_testdata"

# Same-story pairs in trafilatura_eval (labelled by reading both articles).
SAME_STORY = [
    ("https://djz.de/amoklauf-in-heidelberg-rufe-nach-schneller-aufklaerung/",
     "https://www.jagdverband.de/wir-sind-tief-erschuettert"),  # also a near copy (press release)
    ("https://www.cooperativa.cl/noticias/pais/presidente-boric/presidente-boric-vuelve-a-su-casa-magallanes-"
     "este-miercoles-realiza-su/2022-05-04/074527.html",
     "https://www.24horas.cl/politica/presidente-boric-inicia-gira-por-magallanes-este-miercoles-5287894"),
    ("hard::stluciatimes.com-dea.html", "hard::thestkittsnevisobserver.com-bvi.html"),
    ("https://www.correiobraziliense.com.br/politica/2022/05/5005250-de-novo-em-busca-da-tregua-institucional.html",
     "https://www.gazetadopovo.com.br/republica/o-que-pacheco-pretende-acenos-ao-stf-e-propor-limites-ao-"
     "indulto-presidencial/"),
    ("https://www.stern.de/politik/ausland/niederlage-fuer-johnson--parlament-vertagt-votum-ueber-brexit-deal-"
     "8961728.html?utm_campaign=alle&utm_medium=rss-feed&utm_source=standard",
     "https://www.nzz.ch/international/der-nervenkrieg-um-den-brexit-geht-in-die-naechste-runde-ld.1516516"),
    ("https://www.zdh.de/presse/veroeffentlichungen/pressemitteilungen/kfw-foerderungsstopp-ist-klimapolitisch-"
     "fatales-signal/",
     "https://www.bmwi.de/Redaktion/DE/Meldung/2022/20220124-foerderung-fur-energieeffiziente-gebaude-durch-kfw.html"),
    # found later by the numbers-and-names score, not by the word score (stolen cars scandal, Bolivia):
    ("https://eldeber.com.bo/santa-cruz/investigador-chileno-asegura-que-no-publico-todo-su-material-el-90-de-los-"
     "autos-robados-estan-en-pos_276757",
     "https://www.paginasiete.bo/seguridad/2022/5/3/policia-anuncia-coordinacion-con-carabineros-para-investigar-"
     "otros-casos-de-robo-de-vehiculos-330199.html"),
    ("n4k-txt:cnn_article", "n4k-txt:cnn_summary"),  # newspaper's 5-sentence summary of the article
]
# Also near copies: a press release republished with edits, and a wire (EFE) text republished
# with a new introduction (relabelled after inspection: 2/3 of the shorter text's 5-shingles are verbatim).
NATURAL_NEAR = [SAME_STORY[0], SAME_STORY[1]]
AMBIGUOUS_PREFIXES = [  # related reports where "same story" is a matter of taste: not counted
    ("https://www.automobilwoche.de/article/20211103/", "https://auto.oe24.at/thema/vw-chef-diess"),
    ("https://www.rhein-neckar-loewen.de/kleiner-vorverkauf", "https://www.hvw-online.org/aktuell/detail/news/"
     "zuschauerrueckkehr"),
]

BOILERPLATE = [
    "Sign up for our daily newsletter and get the top stories delivered to your inbox every morning.",
    "Share this article on Facebook, Twitter, LinkedIn or by e-mail.",
    "We use cookies to give you the best experience on our website. By continuing to browse you agree to our "
    "use of cookies. Read our privacy policy to learn more.",
    "Advertisement",
    "Related stories: more news from our reporters around the region and around the world.",
    "Copyright 2024 Example Media Group. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Follow us on social media for the latest updates, photos and videos.",
    "Support independent journalism: subscribe now for unlimited access to all our articles.",
    "Melden Sie sich für unseren Newsletter an und erhalten Sie die wichtigsten Nachrichten des Tages.",
    "Dieser Artikel wurde automatisch aus einer Agenturmeldung übernommen. Alle Rechte vorbehalten.",
    "Suscríbete a nuestro boletín y recibe las noticias más importantes del día.",
    "Photo: staff photographer. Click to enlarge the image gallery.",
    "Comments are closed for this article. Read our community guidelines before posting.",
]


# ---------------------------------------------------------------------------------------------
# the pool of real articles


def _detect(text: str) -> str:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return {"zh-cn": "zh", "zh-tw": "zh"}.get(detect(text[:2000]), detect(text[:2000]))
    except LangDetectException:
        return "und"


def _extract_html(uri: str, data: bytes, settings: Settings) -> Article | None:
    article = Article(source_uri=uri, url=uri if "://" in uri else None, html=decode_html(data), content_type="html")
    try:
        return extract(article, settings)
    except Exception:
        return None


def load_pool(settings: Settings, cache_dir: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """Real articles as dicts (uri, title, text, language, published_at) and natural near pairs."""
    cache = cache_dir / "dedup_quality_pool_v1.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["docs"], [tuple(p) for p in data["near"]]
    docs, near = [], []
    evaldata = json.loads((TEV / "evaldata.json").read_text())
    for url, rec in evaldata.items():
        art = _extract_html(url, gzip.open(TEV / "html" / (rec["file"] + ".gz")).read(), settings)
        if art is not None:
            docs.append(_as_dict(url, art))
    for txt in sorted((N4K / "txt").glob("*.txt")):
        name = txt.stem
        text = txt.read_text(encoding="utf-8", errors="replace")
        docs.append({"uri": f"n4k-txt:{name}", "title": None, "text": text, "published_at": None})
        html = N4K / "html" / f"{name}.html.gz"
        if html.exists():
            art = _extract_html(f"n4k-html:{name}", gzip.open(html).read(), settings)
            if art is not None:
                docs.append(_as_dict(f"n4k-html:{name}", art))
                near.append((f"n4k-txt:{name}", f"n4k-html:{name}"))
    for d in docs:
        d["language"] = _detect(d["text"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"docs": docs, "near": near}))
    return docs, near


def _as_dict(uri: str, art: Article) -> dict:
    return {"uri": uri, "title": art.title, "text": art.text,
            "published_at": art.published_at.isoformat() if art.published_at else None}


def seed_docs(settings: Settings) -> list[dict]:
    out = []
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        art = next(load(WorkItem("text", str(path)), settings))
        extract(art, settings)
        out.append({"uri": f"seed:{path.name[:3]}", "title": art.title, "text": art.text, "language": "en",
                    "published_at": None})
    return out


# ---------------------------------------------------------------------------------------------
# synthetic near copies


def _words_edit(text: str, rng: random.Random, rate: float) -> str:
    vocab = text.split()
    out = []
    for w in text.split(" "):
        r = rng.random()
        if r < rate / 3:
            continue  # deleted
        if r < 2 * rate / 3:
            out.append(rng.choice(vocab))  # substituted
        elif r < rate and len(w) > 3:
            i = rng.randrange(len(w) - 1)
            out.append(w[:i] + w[i + 1] + w[i] + w[i + 2:])  # typo
        else:
            out.append(w)
    return " ".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n") if p.strip()]


def make_copy(doc: dict, kind: str, rng: random.Random) -> dict:
    paras = _paragraphs(doc["text"])
    title = doc["title"]
    if kind in ("reorder",):
        if len(paras) < 3:  # one long paragraph: reorder its sentences in blocks
            sents = doc["text"].replace(". ", ".\n").split("\n")
            paras = [" ".join(sents[i:i + 3]) for i in range(0, len(sents), 3)]
        while True:
            perm = paras[:]
            rng.shuffle(perm)
            if perm != paras or len(paras) < 2:
                paras = perm
                break
    if kind in ("edits", "mixed"):
        paras = [_words_edit(p, rng, 0.04 if kind == "edits" else 0.02) for p in paras]
        title = (title or "") + rng.choice([" | Update", " (updated)", " - live", ""])
    if kind in ("truncation", "mixed"):
        words = "\n".join(paras).split(" ")
        keep = int(len(words) * rng.uniform(0.5 if kind == "truncation" else 0.6, 0.9))
        paras = _paragraphs(" ".join(words[:keep]) + " …")
    if kind in ("boilerplate", "mixed"):
        head = rng.sample(BOILERPLATE, rng.randint(1, 2))
        tail = rng.sample(BOILERPLATE, rng.randint(2, 4))
        paras = head + paras + tail
    return {"uri": f"{doc['uri']}#copy-{kind}", "title": title, "text": "\n".join(paras),
            "language": doc["language"], "published_at": doc["published_at"]}


KINDS = ("boilerplate", "reorder", "edits", "truncation", "mixed")


# ---------------------------------------------------------------------------------------------
# evaluation


def to_article(d: dict, language: str | None = None) -> Article:
    from ingest.records import parse_datetime

    a = Article(source_uri=d["uri"], url=d["uri"], title=d["title"], text=d["text"],
                language=language or d["language"], published_at=parse_datetime(d["published_at"]))
    a.article_id = stable_id(d["uri"])
    return a


def run_index(docs: list[dict], settings: Settings, own_language: bool = False, keep: bool = False):
    articles = [to_article(d, f"x{i}" if own_language else None) for i, d in enumerate(docs)]
    t0 = time.perf_counter()
    index = StoryIndex(None, settings)
    for i in range(0, len(articles), 200):  # batches, as the pipeline does
        index.assign(articles[i:i + 200])
    index.commit()
    # an article assigned in an earlier batch keeps the story id it was written with; stories
    # that merged later resolve through story_merges, as a consumer of the Parquet does
    resolve = {old: new for old, new, _ in index.story_merges()}
    labels = {a.source_uri: resolve.get(a.story_id, a.story_id) for a in articles}
    secs = time.perf_counter() - t0
    if keep:
        return labels, secs, index, articles
    index.close()
    return labels, secs


def story_score_matrix(index: StoryIndex, articles: list[Article]):
    """All-pairs lexical cosine of the stored story vectors (words, names, numbers, title words;
    not the pipeline's full score, which adds the embeddings), pairs outside the time window set
    to 0.  Rows follow ``articles``."""
    import numpy as np
    from scipy import sparse

    rows = {r.article_id: r for r in index.store.docs(list(range(1, len(articles) + 1)))}
    vecs = [rows[a.article_id].vec for a in articles]
    cols = {t: i for i, t in enumerate(sorted({int(t) for v in vecs for t in v.ids}))}

    def matrix(select):
        r, c, w = [], [], []
        for i, v in enumerate(vecs):
            m = select(v.ids)
            r += [i] * int(m.sum())
            c += [cols[int(t)] for t in v.ids[m]]
            w += v.weights[m].astype(float).tolist()
        x = sparse.csr_matrix((w, (r, c)), shape=(len(vecs), len(cols)))
        norm = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(norm, 1e-12)) @ x

    full = matrix(lambda ids: np.ones(len(ids), bool))
    score = np.minimum(1.0, (full @ full.T).toarray())
    ts = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in articles])
    far = np.abs(ts[:, None] - ts[None, :]) > index.window_s
    score[far] = 0.0
    np.fill_diagonal(score, 0.0)
    return score


def clusters_to_pairs(labels: dict[str, str]) -> set[tuple[str, str]]:
    groups = defaultdict(list)
    for uri, sid in labels.items():
        groups[sid].append(uri)
    return {tuple(sorted(p)) for g in groups.values() if len(g) > 1 for p in itertools.combinations(g, 2)}


def closure(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    return clusters_to_pairs({x: find(x) for x in parent})


def prf(pred: set, gold: set, ignore: set) -> tuple[float, float, float, int, int, int]:
    pred, gold = pred - ignore, gold - ignore
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold) if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, tp, len(pred) - tp, len(gold) - tp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=500, help="synthetic near copies (spread over the 5 kinds)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sweep", action="store_true", help="also print P/R/F1 for a range of thresholds")
    ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "news-ingest-bench"))
    args = ap.parse_args()
    if not (TEV / "evaldata.json").exists():
        sys.exit(f"needs {TEV} (../shared/datasets); not found")
    settings = Settings()
    rng = random.Random(args.seed)
    pool, natural = load_pool(settings, Path(args.cache_dir))
    pool = [d for d in pool if len(d["text"].split()) >= 20 or d["uri"].startswith("n4k")]
    seeds = seed_docs(settings)
    uris = {d["uri"] for d in pool}
    natural = [p for p in natural if p[0] in uris and p[1] in uris] + NATURAL_NEAR
    # identical texts inside trafilatura_eval are natural exact copies
    by_hash = defaultdict(list)
    for d in pool:
        by_hash[content_hash(d["text"])].append(d["uri"])
    natural += [tuple(g[:2]) for g in by_hash.values() if len(g) > 1]

    sources = [d for d in pool if len(d["text"].split()) >= 80 and d["uri"].startswith(("http", "hard"))]
    sources = rng.sample(sources, min(args.copies, len(sources)))
    copies, copy_pairs = [], defaultdict(set)
    for i, src in enumerate(sources):
        kind = KINDS[i % len(KINDS)]
        c = make_copy(src, kind, rng)
        copies.append(c)
        copy_pairs[kind].add(tuple(sorted((src["uri"], c["uri"]))))
    docs = pool + seeds + copies
    gold_near = closure({tuple(sorted(p)) for p in natural} | set().union(*copy_pairs.values()))
    story_pairs = {tuple(sorted(p)) for p in SAME_STORY} | {
        tuple(sorted(p)) for p in itertools.combinations(["seed:002", "seed:003", "seed:004"], 2)}
    gold_story = closure(gold_near | story_pairs)
    all_uris = [d["uri"] for d in docs]
    ignore = set()
    for x, y in AMBIGUOUS_PREFIXES:
        xs = [u for u in all_uris if u.startswith(x)]
        ys = [u for u in all_uris if u.startswith(y)]
        ignore |= {tuple(sorted((a, b))) for a in xs for b in ys}
    langs = Counter(d["language"] for d in docs)
    print(f"set: {len(docs)} articles ({len(pool)} real, {len(seeds)} seeds, {len(copies)} synthetic copies); "
          f"languages {dict(langs.most_common(8))}")
    print(f"gold: {len(gold_near)} near-copy pairs ({len(natural)} natural), {len(story_pairs)} same-story "
          f"pairs, {len(gold_story)} story pairs after closure; {len(all_uris) * (len(all_uris) - 1) // 2:,} pairs")

    off = settings.replace(story_threshold=1.0, story_weak_threshold=1.0, story_bridge_threshold=1.0,
                           story_bridge_weak_threshold=1.0, story_crosslingual_threshold=1.0,
                           story_crosslingual_cjk_threshold=1.0, story_crosslingual_e5_threshold=1.0,
                           story_names_numbers_threshold=1.0)  # the story level off: near copies alone
    labels, secs = run_index(docs, off)
    pred = clusters_to_pairs(labels)
    p, r, f, tp, fp, fn = prf(pred, gold_near, ignore)
    print(f"\nLEVEL 1 near copies (threshold {settings.near_duplicate_threshold}): precision {p:.3f} recall {r:.3f} "
          f"F1 {f:.3f}  (tp {tp}, fp {fp}, fn {fn}; {secs:.1f}s)")
    for kind, pairs in copy_pairs.items():
        print(f"  recall on {kind:<12} {len(pairs & pred) / len(pairs):.3f} ({len(pairs)} pairs)")
    nat = closure({tuple(sorted(x)) for x in natural})
    print(f"  recall on natural      {len(nat & pred) / max(1, len(nat)):.3f} ({len(nat)} pairs)")
    for a, b in sorted(pred - gold_near - ignore)[:10]:
        print(f"  false positive: {a} ~ {b}")

    labels, secs, index, articles = run_index(docs, settings, keep=True)
    pred = clusters_to_pairs(labels)
    p, r, f, tp, fp, fn = prf(pred, gold_story, ignore)
    print(f"\nLEVEL 2 stories (thresholds {settings.story_threshold} / bridge {settings.story_bridge_threshold}, window {settings.story_window_days} days): "
          f"precision {p:.3f} recall {r:.3f} F1 {f:.3f}  (tp {tp}, fp {fp}, fn {fn}; {secs:.1f}s)")
    only = story_pairs - gold_near
    sp, sr, sf, stp, sfp, sfn = prf(pred - gold_near, gold_story - gold_near, ignore)
    print(f"  story pairs beyond near copies: precision {sp:.3f} recall {sr:.3f} F1 {sf:.3f} (tp {stp}, fp {sfp}, "
          f"fn {sfn}); labelled same-story pairs found: {len(only & pred)}/{len(only)}")
    for a, b in sorted(only - pred):
        print(f"  missed: {a[:70]} ~ {b[:70]}")
    for a, b in sorted(pred - gold_story - ignore)[:15]:
        print(f"  false positive: {a[:70]} ~ {b[:70]}")
    seeds_ok = len({labels[f"seed:00{i}"] for i in (2, 3, 4)}) == 1 and len(
        {labels["seed:000"], labels["seed:001"], labels["seed:002"]}) == 3
    print(f"  seeds: 002/003/004 one story, 000 and 001 apart: {seeds_ok}")
    score = story_score_matrix(index, articles)
    pos = {u: i for i, u in enumerate(a.source_uri for a in articles)}
    print("  lexical cosine of the labelled same-story pairs: " + ", ".join(
        f"{score[pos[a], pos[b]]:.2f}" for a, b in sorted(story_pairs, key=lambda p: -score[pos[p[0]], pos[p[1]]])))
    neg = score.copy()
    for a, b in gold_story | ignore:
        neg[pos[a], pos[b]] = neg[pos[b], pos[a]] = 0.0
    iu = np.triu_indices(len(articles), 1)
    top = np.argsort(-neg[iu])[:8]
    print("  highest-scoring pairs that are not the same story (same language, in window):")
    for k in top:
        i, j = iu[0][k], iu[1][k]
        print(f"    {neg[i, j]:.2f}  {articles[i].source_uri[:55]} ~ {articles[j].source_uri[:55]}")
    index.close()

    # cross-language grouping is measured on real translation pairs: bench/stories_bench.py (WMT);
    # the old proxy here (every article given a language of its own) now meets the multilingual
    # embeddings, which link same-language articles it pretends are foreign: it measured nothing

    if args.sweep:
        print("\nsweep near_duplicate_threshold:")
        for t in (0.5, 0.6, 0.7, 0.8, 0.9):
            labels, _ = run_index(docs, off.replace(near_duplicate_threshold=t))
            p, r, f, *_ = prf(clusters_to_pairs(labels), gold_near, ignore)
            print(f"  {t:.2f}: precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
        print("sweep story_threshold:")
        for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
            labels, _ = run_index(docs, settings.replace(story_threshold=t))
            pred = clusters_to_pairs(labels)
            p, r, f, *_ = prf(pred, gold_story, ignore)
            sp, sr, sf, *_ = prf(pred - gold_near, gold_story - gold_near, ignore)
            print(f"  {t:.2f}: precision {p:.3f} recall {r:.3f} F1 {f:.3f} | beyond near copies: precision "
                  f"{sp:.3f} recall {sr:.3f} F1 {sf:.3f}")
            for a, b in sorted(pred - gold_story - ignore)[:5]:
                print(f"      false positive: {a[:60]} ~ {b[:60]}")


if __name__ == "__main__":
    main()
