"""The ingest flow: thin Prefect wiring around ``ingest.pipeline``.

Tasks are one-line wrappers around library functions and work on batches, never on single
articles.  ``process_batch`` (CPU work) runs on the task runner chosen by ``Settings.task_runner``;
``commit_batch`` runs in the flow's process, in batch order.  Task results are not persisted:
only paths and counts travel between tasks.
"""
from __future__ import annotations

from typing import Any, Callable

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish_run_artifacts
from ingest import pipeline
from ingest.settings import Settings
from ingest.summary import Summary

_progress_hook: Callable[[Summary], None] | None = None


@task(name="process-batch", cache_policy=NO_CACHE, persist_result=False, retries=1, retry_delay_seconds=2)
def process_batch(batch: pipeline.Batch, settings: Settings, run_id: str) -> pipeline.BatchResult:
    return pipeline.process_batch(batch, settings, run_id)


@task(name="commit-batch", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=1)
def commit_batch(run: pipeline.Pipeline, result: pipeline.BatchResult) -> None:
    run.commit(result)


@flow(name="news-ingest", log_prints=False, validate_parameters=True)
def ingest_flow(sources: list[str], out: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest ``sources`` (paths, URLs) into the Parquet dataset at ``out``."""
    resolved = Settings.from_mapping({**(settings or {}), "out": out})
    summary = pipeline.run_pipeline(
        sources,
        resolved,
        submit=process_batch.submit,
        commit=lambda run, result: commit_batch(run, result),
        progress=_progress_hook,
    )
    publish_run_artifacts(summary)
    return summary.to_dict()


def task_runner_for(settings: Settings):
    """The Prefect task runner that ``Settings.task_runner`` names."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    if settings.task_runner == "threads" or settings.workers <= 1:
        return ThreadPoolTaskRunner(max_workers=max(1, settings.workers))
    return ProcessPoolTaskRunner(max_workers=settings.workers)


def run_ingest(sources: list[str], settings: Settings,
               progress: Callable[[Summary], None] | None = None) -> dict[str, Any]:
    """Run the flow in-process (no server needed) with the task runner the settings ask for."""
    global _progress_hook
    _progress_hook = progress
    try:
        configured = ingest_flow.with_options(task_runner=task_runner_for(settings))
        return configured(sources=list(sources), out=settings.out, settings=_flow_settings(settings))
    finally:
        _progress_hook = None


def _flow_settings(settings: Settings) -> dict[str, Any]:
    defaults = Settings(out=settings.out, workers=settings.workers)
    return {k: v for k, v in settings.to_dict().items() if k != "out" and v != getattr(defaults, k)}
