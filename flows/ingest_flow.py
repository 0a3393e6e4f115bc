"""The ingest flow: thin Prefect wiring around ``ingest.runtime.pipeline``.

Tasks are one-line wrappers around library functions and work on batches, never on single
articles (a task run costs ~11 ms of orchestration here).

- ``process-batch`` loads, extracts, identifies languages and translates one batch, then stages
  its rows as Parquet under ``<out>/_staging/``.  Where it runs follows ``Settings.task_runner``,
  chosen *inside* the flow so the setting works the same from the CLI, ``news-ingest serve`` and
  ``prefect deploy``: ``local`` (default) runs the task in a thread that hands the batch to the
  library's worker processes (``ingest.runtime.workers``: forked from a server holding the models, no
  Prefect import: ~5 s to start instead of Prefect's process pool's
  15-24 s); ``threads`` runs it in the thread; ``dask`` on a Dask cluster.
- ``commit-batch`` runs in the flow's process, in batch order: stories, idempotency, final write.

Retries: only for I/O failures (``OSError``: the output store, the network), never for a
deterministic error that would fail again.  ``process-batch`` is safe to retry: its staging file
has a fixed name and is written atomically.  ``commit-batch`` is retried too: ``Pipeline.commit``
updates its bookkeeping only after each write succeeded, so a retry writes what is missing.

Nothing large goes through Prefect: results are not persisted (``persist_result=False``), no
cache keys are computed (``NO_CACHE``: no hashing of inputs), and only paths and counts travel
between tasks.  The ``Pipeline`` object handed to ``commit-batch`` stays in the flow's process.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish_run_artifacts
from ingest.output.summary import Summary
from ingest.runtime import pipeline, workers
from ingest.settings import Settings

LIBRARY_LOGGER = "ingest"
COMMIT_RETRIES = 2  # Pipeline.commit is retry-safe: bookkeeping only after the write succeeded

_progress_hook: Callable[[Summary], None] | None = None  # the CLI's progress display (in-process runs)
_prepared: pipeline.RunPlan | None = None  # the CLI's plan of this run (in-process runs): planned once


def retry_on_io_error(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry transient I/O failures only."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError)


def route_library_logs() -> None:
    """Send the library's log records (logger ``ingest``) to the Prefect run logs.

    ``flows/__init__`` sets ``PREFECT_LOGGING_EXTRA_LOGGERS=ingest`` for processes that import it
    before Prefect configures logging; a worker or runner may have configured logging first, so
    the flow and its tasks also attach the API handler themselves (once per process)."""
    from prefect.logging.handlers import APILogHandler

    lib = logging.getLogger(LIBRARY_LOGGER)
    if lib.level == logging.NOTSET:
        lib.setLevel(logging.INFO)
    if not any(isinstance(h, APILogHandler) for h in lib.handlers):
        lib.addHandler(APILogHandler())


@task(name="process-batch", cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io_error)
def process_batch(batch: pipeline.Batch, settings: Settings, run_id: str) -> pipeline.BatchResult:
    route_library_logs()
    return workers.run_batch(batch, settings, run_id)


@task(name="commit-batch", cache_policy=NO_CACHE, persist_result=False,
      retries=COMMIT_RETRIES, retry_delay_seconds=1, retry_condition_fn=retry_on_io_error)
def commit_batch(run: pipeline.Pipeline, result: pipeline.BatchResult) -> None:
    run.commit(result)


@flow(name="news-ingest", log_prints=False, validate_parameters=True)
def ingest_flow(sources: list[str], out: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest ``sources`` (paths, URLs) into the Parquet dataset at ``out``.

    ``settings`` holds any ``ingest.settings.Settings`` fields (``task_runner``, ``workers``,
    ``batch_size``, ``target_language``, ...); unknown names fail the run at once."""
    route_library_logs()
    global _prepared
    prepared, _prepared = _prepared, None
    run_plan = prepared or pipeline.plan_run(sources, Settings.from_mapping({**(settings or {}), "out": out}))
    resolved = run_plan.settings
    if workers.uses_pool(resolved):
        workers.start(resolved)  # no-op when the CLI (or a previous scheduled run) started it
    with task_runner_for(resolved) as runner:
        def submit(batch: pipeline.Batch, s: Settings, run_id: str):
            return runner.submit(process_batch, {"batch": batch, "settings": s, "run_id": run_id})

        summary = pipeline.run_pipeline(
            run_plan, resolved, submit=submit,
            commit=lambda run, result: commit_batch(run, result),
            progress=_progress_hook,
        )
    publish_run_artifacts(summary)
    return summary.to_dict()


def task_runner_for(settings: Settings):
    """A fresh Prefect task runner for ``Settings.task_runner`` (use it as a context manager):
    threads for ``local`` (their tasks hand the work to ``ingest.runtime.workers``) and ``threads``."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    return ThreadPoolTaskRunner(max_workers=max(1, settings.workers))


def run_ingest(run_plan: pipeline.RunPlan, sources: list[str],
               progress: Callable[[Summary], None] | None = None) -> dict[str, Any]:
    """Run the flow in-process (no server needed; with ``PREFECT_API_URL`` set it reports there) on
    a run the caller has planned already (``pipeline.plan_run``): the flow takes that plan instead of
    walking the sources again."""
    global _progress_hook, _prepared
    _progress_hook, _prepared = progress, run_plan
    try:
        return ingest_flow(sources=list(sources), out=run_plan.settings.out,
                           settings=flow_settings(run_plan.settings))
    finally:
        _progress_hook = _prepared = None


def flow_settings(settings: Settings) -> dict[str, Any]:
    """The settings as a flow parameter: only what differs from the defaults (JSON-friendly)."""
    defaults = Settings(out=settings.out, workers=settings.workers)
    changed = {k: v for k, v in settings.to_dict().items() if k != "out" and v != getattr(defaults, k)}
    changed["workers"] = settings.workers  # the runner is chosen inside the flow: it needs the count
    return changed
