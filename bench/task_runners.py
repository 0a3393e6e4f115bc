"""Wall time of the ingest flow on each task runner (threads, local process pool, Dask).

    python bench/task_runners.py [--copies 20] [--batch-size 16] [--workers 2] [--runners threads,local,dask]

Builds a corpus of ``--copies`` copies of examples/ (each copy is a separate input; copies of a
page share its article id, so only the first is written, but every copy is processed), runs the
flow in-process once per runner into a fresh output and prints wall time, the pipeline's own
time and the overhead over the fastest runner.  A warm-up run first starts the Prefect API (set
PREFECT_API_URL to use a running server) and loads the models in this process.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runners", default="threads,local,dask")
    args = ap.parse_args()

    import logging

    from flows.ingest_flow import run_ingest
    from ingest.runtime.pipeline import RunPlan
    from ingest.settings import Settings
    from ingest.sources.loaders import plan

    def _plan(sources, settings):  # the runner as asked (plan_run would pick threads for one batch)
        return RunPlan(list(plan(sources, settings)), settings)

    logging.getLogger("ingest").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-runners-") as tmp:
        corpus = Path(tmp) / "corpus"
        for i in range(args.copies):
            shutil.copytree(ROOT / "examples", corpus / f"copy-{i:03d}")
        base = Settings(out=str(Path(tmp) / "warm"), workers=args.workers, batch_size=args.batch_size,
                        task_runner="threads", progress=False)
        t0 = time.perf_counter()
        run_ingest(_plan([str(ROOT / "examples")], base), [str(ROOT / "examples")])
        print(f"warm-up (API start, models in this process): {time.perf_counter() - t0:.1f} s")

        results = {}
        for runner in args.runners.split(","):
            settings = base.replace(out=str(Path(tmp) / f"out-{runner}"), task_runner=runner)
            t0 = time.perf_counter()
            summary = run_ingest(_plan([str(corpus)], settings), [str(corpus)])
            wall = time.perf_counter() - t0
            results[runner] = wall
            print(f"{runner:8s} wall {wall:6.1f} s   pipeline {summary['seconds']:6.1f} s   "
                  f"inputs {summary['inputs']}   batches {-(-summary['inputs'] // args.batch_size)}")
        best = min(results.values())
        for runner, wall in results.items():
            print(f"{runner:8s} overhead over fastest: {wall - best:+.1f} s")


if __name__ == "__main__":
    main()
