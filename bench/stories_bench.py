"""Story grouping on the development sets, through the real pipeline, old method beside new.

    python bench/stories_bench.py [--old-ref REF] [--workers N] [--skip-old] [--sets semeval,wmt]
                                  [--set story_threshold=0.5 ...] [--no-cost]

For each dev set in ``../shared/datasets`` (read their SOURCE.md): write its articles as one JSONL
file (url, title, text, published_at; never copied into the project), ingest it in ONE run with
``run_pipeline`` (offline, no translation: the project's argos models here are toys), read
``story_id`` back from the Parquet output (resolved through ``story_merges``) and score pairwise:

* ``semeval_stories_dev``: precision / recall / F1 over the labelled pairs (same story:
  Overall <= 1.5; hard negatives: Overall >= 3.0), overall and per language pair;
* ``wmt_crosslingual_dev``: recall of the cross-language pairs (the two versions of one document)
  per language pair, and the share of predicted pairs (any two articles in one story) that are
  not such a pair.  Some are the same event reported by two outlets (SOURCE.md): they are listed.

The old method is the pipeline at ``--old-ref`` (default: the commit this branch started from),
checked out into a temporary directory and run in a subprocess with the same inputs.  Also
prints the CPU time of the story features (signatures, lexical terms, embeddings) per article,
measured in one process over both sets.
"""
from __future__ import annotations

import argparse
import collections
import csv
import itertools
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT))

RUNNER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
try:
    from ingest.runtime.pipeline import run_pipeline
except ImportError:
    from ingest.pipeline import run_pipeline
from ingest.settings import Settings
import pyarrow.dataset as ds, pyarrow.parquet as pq, os
out = sys.argv[3]
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
run_pipeline([sys.argv[2]], Settings(out=out, workers=int(sys.argv[4]), translate=False, offline=True, **extra))
rows = ds.dataset(os.path.join(out, "articles"), partitioning="hive").to_table(columns=["url", "story_id"]).to_pylist()
merges = {}
path = os.path.join(out, "story_merges", "story_merges.parquet")
if os.path.exists(path):
    merges = {r["story_id"]: r["current_story_id"] for r in pq.read_table(path).to_pylist()}
print("RESULT " + json.dumps({r["url"]: merges.get(r["story_id"], r["story_id"]) for r in rows}))
"""


def load_semeval():
    d = DATA / "semeval_stories_dev"
    arts = [json.loads(line) for line in open(d / "articles.jsonl", encoding="utf-8")]
    by_id = {a["id"]: a for a in arts}
    rows = [{"url": f"https://semeval.invalid/{a['id']}", "title": a.get("title") or "", "text": a.get("text") or "",
             "published_at": a.get("publish_date")} for a in arts]
    pairs = []
    for r in csv.DictReader(open(d / "pairs.csv", encoding="utf-8")):
        x, y = r["pair_id"].split("_")
        if x not in by_id or y not in by_id:
            continue
        overall = float(r["Overall"])
        label = 1 if overall <= 1.5 else 0 if overall >= 3.0 else None
        if label is None:
            continue
        la, lb = r["url1_lang"], r["url2_lang"]
        lp = f"{la}-{lb}" if la == lb else "-".join(sorted((la, lb)))
        pairs.append((f"https://semeval.invalid/{x}", f"https://semeval.invalid/{y}", label, lp))
    langs = {f"https://semeval.invalid/{a['id']}": a["lang"] for a in arts}
    return rows, pairs, langs


def load_wmt():
    docs = [json.loads(line) for line in open(DATA / "wmt_crosslingual_dev" / "docs.jsonl", encoding="utf-8")]
    rows, groups, langs = [], collections.defaultdict(list), {}
    for d in docs:
        url = f"https://wmt.invalid/{d['pair']}/{d['docid']}/{d['lang']}"
        rows.append({"url": url, "title": "", "text": d["text"]})
        groups[(d["pair"], d["docid"])].append(url)
        langs[url] = d["lang"]
    return rows, groups, langs, {u: d for u, d in zip([r["url"] for r in rows], docs)}


def run(tree: pathlib.Path, rows: list[dict], workers: int, extra: dict | None = None) -> tuple[dict, float]:
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "input.jsonl"
        with open(src, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(tree), str(src), str(pathlib.Path(tmp) / "out"),
                               str(workers), json.dumps(extra or {})], capture_output=True, text=True, cwd=str(tree),
                              env={**os.environ, "PYTHONPATH": str(tree)})
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
        return json.loads(line[7:]), time.perf_counter() - started


def score_semeval(story: dict, pairs) -> dict:
    per = collections.defaultdict(lambda: [0, 0, 0])
    for a, b, label, lp in pairs:
        same = a in story and story.get(a) == story.get(b)
        for key in (lp, "all"):
            if same and label:
                per[key][0] += 1
            elif same:
                per[key][1] += 1
            elif label:
                per[key][2] += 1
    out = {}
    for key, (tp, fp, fn) in per.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        out[key] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, tp, fp, fn)
    return out


# Pairs of documents (docids) that are not translations of each other but report the same event,
# found by reading the merges this benchmark lists (SOURCE.md: "look at such merges before counting
# them as errors"); checked by hand on 2026-12-02, each from both outlets' headlines and first lines.
SAME_EVENT = {
    frozenset(("679-idnes.cz", "11958-augsburger-allgemeine.de")),  # shooting at Los Angeles airport
    frozenset(("243-novinky.cz", "446-aktualne.cz")),  # HIV cases in Prague pass one thousand
    frozenset(("1524-lesechos", "19-bbc-french-africa")),  # Congolese army against the M23 rebels
}


def score_wmt(story: dict, groups) -> tuple[dict, int, list]:
    recall = collections.defaultdict(list)
    gold = set()
    for (pair, _), urls in groups.items():
        a, b = urls
        recall[pair].append(story.get(a) is not None and story.get(a) == story.get(b))
        gold.add(frozenset(urls))
    members = collections.defaultdict(list)
    for url, sid in story.items():
        members[sid].append(url)
    predicted = [frozenset(p) for m in members.values() for p in itertools.combinations(sorted(m), 2)]
    false = [p for p in predicted if p not in gold]
    return {k: sum(v) / len(v) for k, v in sorted(recall.items())}, len(predicted), false


def old_tree(ref: str, tmp: str) -> pathlib.Path:
    dest = pathlib.Path(tmp) / "old"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "ingest", "schemas", "flows"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def feature_cost(rows_by_set: dict) -> dict:
    """CPU ms per article of the story features (what the workers compute), one process."""
    from ingest.records import Article
    from ingest.settings import Settings
    from ingest.stories import embed
    from ingest.stories.index import features_json_many

    settings = Settings(translate=False)
    embed.use_model(), embed.e5_model()  # loading is once per process, not per article
    out = {}
    for name, (rows, langs) in rows_by_set.items():
        arts = []
        for r in rows:
            a = Article(r["url"], url=r["url"], title=r["title"] or None, text=r["text"], language=langs[r["url"]])
            a.assign_id()
            arts.append(a)
        t0 = time.process_time()
        for i in range(0, len(arts), 64):
            features_json_many(arts[i:i + 64], settings)
        out[name] = (time.process_time() - t0) * 1000 / len(arts), len(arts)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-ref", default="5dcd93f", help="git ref of the old method (default: %(default)s)")
    ap.add_argument("--skip-old", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sets", default="semeval,wmt")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting of the new method's run, e.g. --set story_threshold=0.5 (repeatable)")
    ap.add_argument("--no-cost", action="store_true", help="skip the feature-cost measurement")
    args = ap.parse_args()
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    if not DATA.exists():
        sys.exit(f"{DATA} not found")
    sets = args.sets.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"new": ROOT}
        if not args.skip_old:
            trees["old"] = old_tree(args.old_ref, tmp)
        cost_input = {}
        if "semeval" in sets:
            rows, pairs, langs = load_semeval()
            cost_input["semeval"] = (rows, langs)
            results = {}
            for name, tree in trees.items():
                story, secs = run(tree, rows, args.workers, extra if name == "new" else None)
                results[name] = score_semeval(story, pairs)
                print(f"semeval_stories_dev [{name}]: {len(story)} articles in one run, {secs:.0f} s")
            print(f"{'pair':8} " + "  ".join(f"{n:>28}" for n in results))
            keys = sorted(results["new"], key=lambda k: (k == "all", k))
            for key in keys:
                cells = []
                for name in results:
                    p, r, f, tp, fp, fn = results[name].get(key, (0, 0, 0, 0, 0, 0))
                    cells.append(f"P {p:.3f} R {r:.3f} F1 {f:.3f} ({tp}/{fp}/{fn})")
                print(f"{key:8} " + "  ".join(f"{c:>28}" for c in cells))
            print("(tp/fp/fn over labelled pairs; precision per pair is how well that pair's hard negatives are kept apart)")
        if "wmt" in sets:
            rows, groups, langs, docs = load_wmt()
            cost_input["wmt"] = (rows, langs)
            for name, tree in trees.items():
                story, secs = run(tree, rows, args.workers, extra if name == "new" else None)
                recall, n_pred, false = score_wmt(story, groups)
                print(f"wmt_crosslingual_dev [{name}]: {len(story)} articles in one run, {secs:.0f} s")
                print("  cross-language recall: " + ", ".join(f"{k} {v:.3f}" for k, v in recall.items()))
                same_event = [p for p in false if frozenset(docs[u]["docid"] for u in p) in SAME_EVENT]
                wrong = len(false) - len(same_event)
                print(f"  predicted pairs {n_pred}, not a translation pair {len(false)} "
                      f"({len(false) / max(n_pred, 1):.3f}); of those the same event reported by two outlets "
                      f"(SAME_EVENT, read by hand) {len(same_event)}; false {wrong} ({wrong / max(n_pred, 1):.3f})")
                if name == "new":
                    for p in false[:40]:
                        a, b = sorted(p)
                        print(f"    {docs[a]['docid']}/{docs[a]['lang']} ~ {docs[b]['docid']}/{docs[b]['lang']}: "
                              f"{docs[a]['title'][:60]!r} ~ {docs[b]['title'][:60]!r}")
        if args.no_cost:
            return
        cost = feature_cost(cost_input)
        total = sum(ms * n for ms, n in cost.values()) / sum(n for _, n in cost.values())
        print("story features, CPU per article (one process): " +
              ", ".join(f"{k} {ms:.1f} ms" for k, (ms, _) in cost.items()) + f"; both sets {total:.1f} ms")


if __name__ == "__main__":
    main()
