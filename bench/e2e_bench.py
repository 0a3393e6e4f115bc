"""End to end, as a user sees it: ``news-ingest run`` against the loop a user would write.

Builds three input shapes from the real pages in ``../shared/datasets`` (the 990 trafilatura_eval
pages, then the newspaper4k pages, repeated with distinct URLs up to ``--docs``):

* ``jsonl``: one ``pages.jsonl`` of ``{url, html}`` lines;
* ``files``: ``--docs`` small ``.html`` files;
* ``warc``:  one ``pages.warc.gz`` (CC-NEWS layout: warcinfo, then one response record a page).

For each shape it times, wall clock from process start to exit, both sides in fresh processes:

* the bare loop: one process, its imports inside the timing, per page ``trafilatura.extract(html)``
  then ``langdetect.detect(text)`` (reading the shape the plain way: json per line, a file per
  page, warcio's ArchiveIterator);
* ``python -m flows run SHAPE --out NEW --offline --no-translate`` (the default settings: the ensemble language backend,
  full extraction with metadata, stories), with the peak PSS of its whole process tree (the CLI,
  Prefect's temporary API server, the workers' fork server and the workers) sampled every 0.2 s.

and prints the ratio bare / pipeline per shape.  ``--repeat N`` runs everything N times
(interleaved, so that a change of the machine's load hits both sides) and prints each ratio and
the spread.

    python bench/e2e_bench.py                      # 1,000 pages, three shapes, once
    python bench/e2e_bench.py --repeat 3 --shapes jsonl warc
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
SHAPES = ("jsonl", "files", "warc")

BARE = {
    "jsonl": """
import json, sys
import trafilatura, langdetect
n = 0
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        text = trafilatura.extract(json.loads(line)["html"])
        if text:
            try:
                langdetect.detect(text)
            except langdetect.LangDetectException:
                pass
            n += 1
print(n)
""",
    "files": """
import sys
from pathlib import Path
import trafilatura, langdetect
n = 0
for path in sorted(Path(sys.argv[1]).rglob("*.html")):
    text = trafilatura.extract(path.read_text(encoding="utf-8", errors="replace"))
    if text:
        try:
            langdetect.detect(text)
        except langdetect.LangDetectException:
            pass
        n += 1
print(n)
""",
    "warc": """
import sys
import trafilatura, langdetect
from warcio.archiveiterator import ArchiveIterator
n = 0
with open(sys.argv[1], "rb") as fh:
    for record in ArchiveIterator(fh):
        if record.rec_type != "response":
            continue
        text = trafilatura.extract(record.content_stream().read().decode("utf-8", "replace"))
        if text:
            try:
                langdetect.detect(text)
            except langdetect.LangDetectException:
                pass
            n += 1
print(n)
""",
}


def pages(docs: int) -> list[tuple[str, str]]:
    sources = sorted((SHARED / "trafilatura_eval" / "html").glob("*.html.gz"))
    sources += sorted((SHARED / "newspaper4k_testdata" / "html").glob("*.html*"))
    if not sources:
        sys.exit(f"no pages found under {SHARED}: this benchmark needs ../shared/datasets")
    out = []
    for i in range(docs):
        src = sources[i % len(sources)]
        data = src.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        out.append((f"https://bench.example/{i // len(sources)}/{src.name.split('.')[0]}",
                    data.decode("utf-8", "replace")))
    return out


def build(shape: str, target: Path, docs: list[tuple[str, str]]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    if shape == "jsonl":
        path = target / "pages.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for url, html in docs:
                fh.write(json.dumps({"url": url, "html": html}, ensure_ascii=False) + "\n")
        return path
    if shape == "files":
        for i, (_, html) in enumerate(docs):
            sub = target / "pages" / f"{i // 250:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"page{i:06d}.html").write_text(html, encoding="utf-8")
        return target / "pages"
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = target / "pages.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "e2e_bench"}))
        for url, html in docs:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html.encode("utf-8")),
                                                          http_headers=headers))
    return path


# --- memory of a process tree ---------------------------------------------------------------------

def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    """The process and all its descendants (psutil)."""
    import psutil

    try:
        return [root] + [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return [root]


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Wall seconds from start to exit, the peak PSS (MB) of the process tree, stdout."""
    peak = [0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(proc.pid)))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak[0] // 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000, help="pages per shape (default 1000)")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=1, help="runs of both sides per shape")
    parser.add_argument("--workers", type=int, default=None, help="pipeline workers (default: cores)")
    parser.add_argument("--keep", metavar="DIR", help="build the inputs in DIR and keep them")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="news-ingest-e2e-"))
    python = sys.executable
    env = {"PREFECT_HOME": str(work / "prefect-home"), "PYTHONPATH": str(ROOT)}
    try:
        docs = pages(args.docs)
        inputs = {shape: build(shape, work / shape, docs) for shape in args.shapes}
        print(f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; load average "
              f"{os.getloadavg()[0]:.1f}; {len(docs)} pages per shape", flush=True)
        ratios: dict[str, list[float]] = {shape: [] for shape in args.shapes}
        pss: dict[str, list[int]] = {shape: [] for shape in args.shapes}
        # one throw-away pipeline run: bytecode compiled, as on a user's second run
        timed([python, "-m", "flows", "run", str(ROOT / "examples"), "--out", str(work / "warm"), "--offline",
               "--no-translate", "-q", "--json"], env)
        for rep in range(args.repeat):
            for shape in args.shapes:
                src = inputs[shape]
                bare_s, _, bare_out = timed([python, "-c", BARE[shape], str(src)], env)
                out = work / f"out-{shape}-{rep}"
                cmd = [python, "-m", "flows", "run", str(src), "--out", str(out), "--offline", "--no-translate",
                       "--json", "-q"]
                if args.workers:
                    cmd += ["--workers", str(args.workers)]
                run_s, peak, run_out = timed(cmd, env)
                summary = json.loads(run_out)
                ratios[shape].append(bare_s / run_s)
                pss[shape].append(peak)
                print(f"run {rep + 1} {shape:<5}: bare loop {bare_s:6.1f}s ({bare_out.strip()} texts); "
                      f"news-ingest {run_s:6.1f}s ({summary['articles']} articles, {summary['rejects']} rejects, "
                      f"{summary['seconds']:.1f}s in the flow), peak PSS {peak} MB: ratio {bare_s / run_s:.2f}x",
                      flush=True)
                shutil.rmtree(out, ignore_errors=True)
        print("\nshape   ratio (bare loop wall / news-ingest wall)      peak PSS")
        for shape in args.shapes:
            r = ratios[shape]
            spread = f"median {statistics.median(r):.2f}x, range {min(r):.2f}-{max(r):.2f}x" if len(r) > 1 else \
                f"{r[0]:.2f}x"
            print(f"{shape:<6}  {spread:<45} {max(pss[shape])} MB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
