"""Fetch + extract throughput against a local HTTP server, at several concurrency levels.

    python bench/fetch_bench.py                      # 200 pages, 20 ms server latency, 1/2/4/8/16 threads
    python bench/fetch_bench.py --pages 400 --latency 0.05 --levels 1,4,16 --gzip

The server (tests/httpserver.py, on 127.0.0.1) answers each article URL after ``--latency``
seconds, standing in for network round trips; every page is distinct (no caching).  Each level
runs a ThreadPoolExecutor over the article URLs doing what the pipeline does per entry: fetch
(robots.txt, limits, streaming, decoding) -> Article -> extract (trafilatura).  Per-host limits are
set to the thread count and the rate limit is off, so the figures show the client's own cost.
The server runs in the same process: CPU/wall counts its threads too.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.extract.extractor import extract  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.sources.http import Fetcher  # noqa: E402
from ingest.sources.web import page_article  # noqa: E402
from tests.httpserver import LocalServer, Reply  # noqa: E402

WORDS = ("harbour pier market ferry council repairs morning traders island summer timetable weather boats "
         "fishermen stone lights visitors season report mayor budget storm road bridge school library").split()


def make_page(n: int, rng: random.Random, paragraphs: int) -> bytes:
    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."

    body = "".join(f"<p>{' '.join(sentence() for _ in range(4))}</p>" for _ in range(paragraphs))
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(120))
    script = "<script>var config = {" + ",".join(f'"k{i}": {i}' for i in range(1500)) + "};</script>"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story {n}</title>{script}</head><body>"
            f"<header><ul>{nav}</ul></header><main><article><h1>Story {n}</h1>{body}</article></main>"
            f"<aside>{'<p>Related: ' + sentence() + '</p>' * 5}</aside><footer>(c) Bench Times</footer></body></html>"
            ).encode()


def run_level(server: LocalServer, urls: list[str], threads: int, do_extract: bool = True) -> dict:
    settings = Settings(allow_private_addresses=True, per_host_concurrency=threads, per_host_rate=0,
                        connect_timeout_s=5, read_timeout_s=10, max_retries=1, backoff_s=0.05)
    fetcher = Fetcher(settings)
    fetch_times, extract_times, sizes, failures = [], [], [], 0

    def one(url: str):
        t0 = time.perf_counter()
        result = fetcher.fetch(url)
        t1 = time.perf_counter()
        article = page_article(result, url)
        if do_extract:
            extract(article, settings)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, len(result.content), len(article.text)

    started = time.perf_counter()
    cpu_started = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        for outcome in pool.map(lambda u: _safe(one, u), urls):
            if outcome is None:
                failures += 1
                continue
            fetch_times.append(outcome[0])
            extract_times.append(outcome[1])
            sizes.append(outcome[2])
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    fetcher.close()
    return {"threads": threads, "pages": len(fetch_times), "failures": failures, "wall": wall, "cpu": cpu,
            "pages_s": len(fetch_times) / wall, "mb_s": sum(sizes) / wall / 1e6,
            "fetch_p50": _pct(fetch_times, 50), "fetch_p95": _pct(fetch_times, 95),
            "extract_p50": _pct(extract_times, 50), "extract_mean": statistics.fmean(extract_times or [0])}


def _safe(fn, url):
    try:
        return fn(url)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports failures, it does not stop
        print(f"  failed {url}: {exc}", file=sys.stderr)
        return None


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="article pages per level")
    parser.add_argument("--latency", type=float, default=0.02, help="server delay per page, seconds")
    parser.add_argument("--paragraphs", type=int, default=15, help="paragraphs per page")
    parser.add_argument("--levels", default="1,2,4,8,16", help="thread counts")
    parser.add_argument("--gzip", action="store_true", help="serve pages gzip-compressed")
    parser.add_argument("--fetch-only", action="store_true", help="skip extraction (the client's cost alone)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    rng = random.Random(7)
    with LocalServer() as server:
        total = args.pages * len(levels) + args.pages
        for i in range(total):
            server.route(f"/a/{i}", Reply(body=make_page(i, rng, args.paragraphs), delay=args.latency, gzip=args.gzip))
        size = len(make_page(0, random.Random(1), args.paragraphs))
        print(f"fetch+extract benchmark: {args.pages} pages/level, ~{size / 1000:.1f} kB each"
              f"{' (gzip on the wire)' if args.gzip else ''}, server latency {args.latency * 1000:.0f} ms, "
              f"{'extraction skipped, ' if args.fetch_only else ''}"
              f"{os.cpu_count()} CPUs (shared: figures are noisy)")
        # warm-up: trafilatura import and first-call costs stay out of the figures
        run_level(server, [server.url(f"/a/{i}") for i in range(total - args.pages, total)][:20], 2)
        print(f"{'threads':>7} {'pages/s':>8} {'MB/s':>6} {'fetch p50':>10} {'fetch p95':>10} "
              f"{'extract p50':>12} {'CPU/wall':>8} {'failed':>6}")
        for n, threads in enumerate(levels):
            urls = [server.url(f"/a/{i}") for i in range(n * args.pages, (n + 1) * args.pages)]
            r = run_level(server, urls, threads, do_extract=not args.fetch_only)
            print(f"{r['threads']:>7} {r['pages_s']:>8.1f} {r['mb_s']:>6.2f} {r['fetch_p50'] * 1000:>8.1f}ms "
                  f"{r['fetch_p95'] * 1000:>8.1f}ms {r['extract_p50'] * 1000:>10.1f}ms {r['cpu'] / r['wall']:>8.2f} "
                  f"{r['failures']:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
