"""The library's worker pool (``ingest.runtime.workers``): same rows as one process, logs come back, a
dead worker becomes a retryable OSError, and workers share the fork server's models."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from ingest.runtime import pipeline, workers
from ingest.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FORKSERVER = sys.platform.startswith("linux")


def _rows(out: Path) -> list[dict]:
    table = ds.dataset(str(out / "articles"), format="parquet", partitioning="hive").to_table()
    drop = {"run_id", "ingested_at", "ingest_date"}
    rows = table.select([c for c in table.column_names if c not in drop]).to_pylist()
    return sorted(rows, key=lambda r: r["article_id"])


@pytest.fixture(autouse=True)
def _fresh_pool():
    yield
    workers.shutdown()


def test_pool_writes_the_same_rows_as_one_process_and_replays_worker_logs(tmp_path, caplog):
    base = dict(translate=False, batch_size=3, language_backend="langdetect")
    one = pipeline.run_pipeline([str(EXAMPLES)], Settings(out=str(tmp_path / "one"), workers=1, **base))
    with caplog.at_level(logging.INFO, logger="ingest"):
        caplog.clear()  # the one-process run's own lines are caught too when "ingest" logs at INFO already
        two = pipeline.run_pipeline([str(EXAMPLES)], Settings(out=str(tmp_path / "two"), workers=2, **base))
    assert one.articles_new == two.articles_new > 0
    assert _rows(tmp_path / "one") == _rows(tmp_path / "two")
    batch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch ")]
    # by batch number: a handler another test left on the "ingest" logger may show a record twice,
    # and a pool another test left busy may replay its own batches' lines meanwhile (seen in CI)
    assert {line.split(":")[0] for line in batch_lines} == {f"batch {n}" for n in range(1, two.batches + 1)}
    assert two.batches > 1
    assert all(f"(process {os.getpid()})" not in line for line in batch_lines)  # they ran elsewhere


def test_a_dead_worker_is_a_retryable_os_error_and_the_pool_recovers(tmp_path):
    settings = Settings(out=str(tmp_path / "out"), workers=2, translate=False, language_backend="langdetect")
    batch = pipeline.Batch(1, list(pipeline.plan([str(EXAMPLES / "text")], settings)))
    workers.pool(settings).submit(os._exit, 1)  # a worker dies (killed, out of memory)
    with pytest.raises(OSError, match="worker process died"):
        for _ in range(20):  # the pool notices the death on the next submit or result
            workers.run_batch(batch, settings, "r1")
    result = workers.run_batch(batch, settings, "r2")  # a fresh pool
    assert result.counts["inputs"] == len(batch.items) > 0


@pytest.mark.timeout(120)
def test_a_pool_with_a_dead_worker_is_ended_without_waiting_for_it(tmp_path):
    """``shutdown()`` (also run at exit) and a settings change end a pool whose worker died by
    killing it: a broken pool's own shutdown can join a worker that is never told to stop."""
    import threading
    import time

    settings = Settings(out=str(tmp_path / "out"), workers=2, translate=False, language_backend="langdetect")
    for end in (workers.shutdown, lambda: workers.pool(settings.replace(workers=1))):
        executor = workers.pool(settings)
        assert executor.submit(os.getpid).result(timeout=60) > 0
        victim = next(p for p in workers.pool_processes(executor) if p.is_alive())
        victim.kill()
        victim.join(10)
        done = threading.Event()
        threading.Thread(target=lambda: (end(), done.set()), daemon=True).start()
        started = time.monotonic()
        assert done.wait(60), "ending a pool with a dead worker hung"
        assert time.monotonic() - started < 30
        assert all(not p.is_alive() for p in workers.pool_processes(executor))
        workers.shutdown()


@pytest.mark.skipif(not FORKSERVER, reason="models are shared through the fork server on Linux")
def test_workers_share_the_fork_servers_lingua_models(tmp_path):
    settings = Settings(out=str(tmp_path / "out"), workers=2, translate=False,
                        language_backend="lingua")  # high accuracy: the biggest models to share
    batch = pipeline.Batch(1, list(pipeline.plan([str(EXAMPLES / "text")], settings)))
    workers.run_batch(batch, settings, "r1")  # lingua used in a worker
    for pid in list(workers.pool(settings)._processes):
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split()[:2]
            fields[name.rstrip(":")] = int(value) // 1024
        private = fields["Private_Clean"] + fields["Private_Dirty"]
        # each worker maps lingua's ~1.3 GB of models, but they are the fork server's pages
        assert fields["Rss"] > 1000 and private < 400, fields


def test_dedup_features_are_computed_with_the_batch_and_never_written(tmp_path):
    import json

    import pyarrow.parquet as pq

    from schemas import ARTICLE_SCHEMA

    settings = Settings(out=str(tmp_path / "out"), workers=1, translate=False, language_backend="langdetect")
    run = pipeline.Pipeline(settings)
    run.start()
    try:
        batch = pipeline.Batch(1, list(pipeline.plan([str(EXAMPLES / "text")], run.settings)))
        result = pipeline.process_batch(batch, run.settings, run.run_id)
        staged = run.storage.read_table(result.articles_paths[0])
        features = staged.column(pipeline.DEDUP_FEATURES).to_pylist()
        assert features and all(json.loads(f)["h"] for f in features)  # computed here, per row
        run.commit(result)
        run.finish()
    finally:
        run.close()
    for part in (tmp_path / "out" / "articles").rglob("*.parquet"):
        schema = pq.read_schema(part)
        assert pipeline.DEDUP_FEATURES not in schema.names
        assert schema.names == ARTICLE_SCHEMA.names
        assert schema.metadata[b"news_ingest.schema_version"] == ARTICLE_SCHEMA.metadata[b"news_ingest.schema_version"]


def test_fork_server_preload_compiles_the_date_parser_for_all_locales():
    # without it each worker compiles ~200 locales' patterns (~2 s) on its first pages
    import subprocess

    code = ("from dateparser.languages.dictionary import Dictionary as D\n"
            "before = sum(len(v) for v in D._split_regex_cache.values())\n"
            "import ingest.runtime.preload\n"
            "print(before, sum(len(v) for v in D._split_regex_cache.values()))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(int, done.stdout.split())
    assert before == 0 and after >= 100
