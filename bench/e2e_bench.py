"""End-to-end and per-stage throughput on real pages from ../shared/datasets.

Builds a corpus from the 990 trafilatura_eval pages and the newspaper4k pages, repeated (as
distinct files) to --docs documents, then prints, with the machine's core count:

* per-stage throughput (documents/s, single process) for load, extract, language, translate
  (segments/s, only with --packages-dir holding argos packages), dedup and write;
* end-to-end throughput of ``news-ingest run --offline --no-translate`` (the run's own time,
  i.e. excluding Prefect's one-off start-up) against a bare single-process loop of the same
  library calls (trafilatura extraction + langdetect + the dedup signature), as a ratio, for the
  default settings and for the fast profile (``--fast-extraction --language-backend langdetect``);
* the ceiling of that ratio: the default pipeline's per-document work (sum of the stages, which
  do more than the bare loop: metadata, structure, per-segment language) spread over the cores.

    python bench/e2e_bench.py --docs 3000
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"


def build_corpus(target: Path, docs: int) -> list[Path]:
    sources = sorted((SHARED / "trafilatura_eval" / "html").glob("*.html.gz"))
    sources += sorted((SHARED / "newspaper4k_testdata" / "html").glob("*.html*"))
    if not sources:
        sys.exit(f"no pages found under {SHARED}: this benchmark needs ../shared/datasets")
    target.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(docs):
        src = sources[i % len(sources)]
        suffix = ".html.gz" if src.name.endswith(".gz") else ".html"
        dst = target / f"{i // 500:03d}" / f"doc{i:06d}{suffix}"
        dst.parent.mkdir(exist_ok=True)
        shutil.copyfile(src, dst)
        files.append(dst)
    return files


def bare_loop(files: list[Path]) -> tuple[float, int]:
    """The same library calls, one process, no pipeline machinery."""
    import trafilatura
    from datasketch import MinHash
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    started = time.perf_counter()
    n = 0
    for path in files:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = trafilatura.extract(data.decode("utf-8", "replace"))
        if not text:
            continue
        try:
            detect(text[:4000])
        except LangDetectException:
            pass
        words = text.lower().split()
        mh = MinHash(num_perm=128)
        for j in range(max(1, len(words) - 4)):
            mh.update(" ".join(words[j:j + 5]).encode())
        n += 1
    return time.perf_counter() - started, n


def pipeline_run(corpus: Path, out: Path, workers: int | None, extra: list[str] = ()) -> dict:
    cmd = [sys.executable, "-m", "flows", "run", str(corpus), "--out", str(out), "--offline", "--no-translate",
           "--json", "-q", *extra]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PREFECT_HOME": str(out.parent / "prefect-home")}
    wall = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - wall
    if proc.returncode != 0:
        sys.exit(f"news-ingest failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout)
    result["wall_seconds"] = wall
    return result


def stages(files: list[Path], packages_dir: str | None) -> list[tuple[str, float, str]]:
    from datetime import datetime, timezone

    from ingest.extract import extractor as extract_mod
    from ingest.language import detect as language_mod
    from ingest.output.storage import Storage
    from ingest.output.writer import articles_to_table
    from ingest.records import Article
    from ingest.settings import Settings
    from ingest.sources.loaders import WorkItem, classify_path, load
    from ingest.stories.index import StoryIndex

    settings = Settings(out=tempfile.mkdtemp(prefix="bench-stage-"), workers=1, translate=False)
    rows = []

    t = time.perf_counter()
    raw = [r for f in files for r in load(WorkItem(classify_path(f), str(f)), settings) if isinstance(r, Article)]
    rows.append(("load", len(files) / (time.perf_counter() - t), "docs/s"))

    t = time.perf_counter()
    articles = []
    for a in raw:
        try:
            articles.append(extract_mod.extract(a, settings))
        except extract_mod.ExtractionError:
            pass
    rows.append(("extract", len(raw) / (time.perf_counter() - t), "docs/s"))

    t = time.perf_counter()
    for a in articles:
        language_mod.annotate(a, settings)
        a.assign_id()
    dt = time.perf_counter() - t
    rows.append(("language", len(articles) / dt, "docs/s"))
    rows.append(("  segments", sum(len(a.segments) for a in articles) / dt, "segments/s"))

    if packages_dir:
        from ingest.translate.translator import Translator

        tr_settings = settings.replace(translate=True, argos_packages_dir=packages_dir, compute_type="float32")
        translator = Translator(tr_settings)
        t = time.perf_counter()
        translator.translate(articles)
        foreign = sum(1 for a in articles for s in a.segments if s.language not in ("en", "und"))
        rows.append(("translate", foreign / (time.perf_counter() - t), "segments/s (toy models)"))

    index = StoryIndex(None, settings)
    t = time.perf_counter()
    index.assign(articles)
    rows.append(("dedup", len(articles) / (time.perf_counter() - t), "docs/s"))

    storage = Storage(settings.out)
    t = time.perf_counter()
    table = articles_to_table(articles, run_id="bench", ingested_at=datetime.now(timezone.utc), target_language="en")
    storage.write_table(table, "articles/part.parquet")
    rows.append(("write", len(articles) / (time.perf_counter() - t), "docs/s"))
    shutil.rmtree(settings.out, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=3000, help="documents in the corpus")
    parser.add_argument("--stage-docs", type=int, default=500, help="documents for the per-stage figures")
    parser.add_argument("--workers", type=int, default=None, help="pipeline workers (default: cores)")
    parser.add_argument("--packages-dir", help="argos packages dir for the translation figure")
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--default-only", action="store_true", help="only the default profile, not the fast one")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="news-ingest-bench-"))
    try:
        files = build_corpus(work / "corpus", args.docs)
        print(f"machine: {os.cpu_count()} cores; corpus: {len(files)} documents "
              f"({sum(f.stat().st_size for f in files) / 1e6:.0f} MB gzipped/raw HTML)")
        stage_rows = []
        if not args.skip_stages:
            print(f"\nper-stage throughput, single process, {min(args.stage_docs, len(files))} documents:")
            from ingest.extract.extractor import warm_up_date_parser
            from ingest.language.backends import get_backend

            get_backend("lingua", preload=True)  # all models loaded, as in the pipeline's workers
            warm_up_date_parser()  # all locales' date patterns compiled, as in the workers
            stages(files[:20], None)  # warm-up: imports, caches
            stage_rows = stages(files[: args.stage_docs], args.packages_dir)
            for name, value, unit in stage_rows:
                print(f"  {name:<12} {value:10.1f} {unit}  ({1000 / value:.2f} ms each)")

        bare_s, bare_n = bare_loop(files)
        print(f"\nbare single-process loop: {bare_n} docs in {bare_s:.1f}s = {len(files) / bare_s:.1f} docs/s")
        profiles = [("default", [])]
        if not args.default_only:
            profiles.append(("fast profile", ["--fast-extraction", "--language-backend", "langdetect"]))
        for name, extra in profiles:
            result = pipeline_run(work / "corpus", work / f"out-{len(extra)}", args.workers, extra)
            run_s = result["seconds"]
            print(f"news-ingest run --offline --no-translate {' '.join(extra)}".rstrip() + f" ({name}): "
                  f"{result['inputs']} inputs, {result['articles']} articles, {result['rejects']} rejects in "
                  f"{run_s:.1f}s (wall {result['wall_seconds']:.1f}s incl. Prefect start-up) = "
                  f"{len(files) / run_s:.1f} docs/s")
            print(f"  ratio pipeline / bare loop: {bare_s / run_s:.2f}x  (target >= 1.5x on 2 cores)")
        if stage_rows:
            per_doc = sum(1.0 / value for stage, value, unit in stage_rows if unit == "docs/s")
            print(f"\nthe default pipeline's own work in one process (sum of the stages above): "
                  f"{1.0 / per_doc:.1f} docs/s ({1000 * per_doc:.1f} ms/doc) = {(1.0 / per_doc) / (bare_n / bare_s):.2f}x "
                  f"the bare loop's rate: the ceiling of the ratio on {os.cpu_count()} cores is "
                  f"{os.cpu_count() * (1.0 / per_doc) / (bare_n / bare_s):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
