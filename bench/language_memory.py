"""Memory (PSS, psutil) of the language models in a 2-worker run (issue 20).

For each backend: the library's own worker pool (``ingest.runtime.workers``: a fork server that
preloads the pipeline and the backend's models, two workers forked from it) annotates the sentence
set of ``bench/language_bench.py`` and the seeds in both workers; then the PSS of the fork server
and the two workers is summed.  The ``langdetect`` pool is the baseline: its preload is the
pipeline plus langdetect alone, so "models" = total - baseline total + langdetect's own PSS
(measured in a fresh process).  Run one backend per process, niced:

    python bench/language_memory.py ensemble lingua langdetect
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def annotate_all(backend: str) -> int:
    """Runs in a worker: annotate every sentence and seed line with ``backend``."""
    from bench.language_bench import load_sentences
    from ingest.language.detect import annotate
    from ingest.records import Article, Segment
    from ingest.settings import Settings

    settings = Settings(language_backend=backend, workers=2, translate=False)
    texts = [t for _, _, t in load_sentences()]
    for path in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for text in texts:
        annotate(Article("m", text=text, segments=[Segment(0, text)]), settings)
    return len(texts)


def pool_pss(backend: str) -> dict:
    import psutil

    from ingest.runtime import workers
    from ingest.settings import Settings

    settings = Settings(language_backend=backend, workers=2, translate=False)
    pool = workers.pool(settings)
    futures = [pool.submit(annotate_all, backend) for _ in range(4)]
    done = sum(f.result() for f in futures)
    pids = list(pool._processes)
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    procs = {"worker": pids, "server": [server] if server else []}
    pss = {kind: sum(psutil.Process(p).memory_full_info().pss for p in ps) / 2**20 for kind, ps in procs.items()}
    workers.shutdown()
    return {"backend": backend, "texts": done, **pss, "total": sum(pss.values())}


def own_pss(backend: str) -> float:
    import psutil

    from ingest.language.backends import get_backend

    before = psutil.Process().memory_full_info().pss
    get_backend(backend, preload=True).scores("warm up")
    return (psutil.Process().memory_full_info().pss - before) / 2**20


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        print(pool_pss(argv[1]))
        return 0
    if argv[:1] == ["--own"]:
        print(f"{argv[1]} own PSS +{own_pss(argv[1]):.0f} MB")
        return 0
    for backend in argv or ["ensemble", "lingua", "langdetect"]:
        subprocess.run([sys.executable, __file__, "--one", backend], check=True)
    subprocess.run([sys.executable, __file__, "--own", "langdetect"], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
