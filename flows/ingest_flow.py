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

import dataclasses
import logging
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional

from prefect import flow, tags, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import TerminationSignal
from prefect.states import Failed
from pydantic import ConfigDict, Field, create_model

from flows.artifacts import publish_run_artifacts
from ingest.output.summary import Summary
from ingest.runtime import pipeline
from ingest.runtime import workers as runtime_workers
from ingest.settings import Settings

LIBRARY_LOGGER = "ingest"
COMMIT_RETRIES = 2  # Pipeline.commit is retry-safe: bookkeeping only after the write succeeded

_progress_hook: Callable[[Summary], None] | None = None  # the CLI's progress display (in-process runs)
_prepared: pipeline.RunPlan | None = None  # the CLI's plan of this run (in-process runs): planned once
_last_result: dict[str, Any] | None = None  # the last in-process run's summary (also when it ended Failed)
_SETTING_TYPES = typing.get_type_hints(Settings)


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


def _process_batch_name() -> str:
    from prefect.runtime import task_run

    batch = task_run.parameters["batch"]
    return f"process-batch-{batch.number:03d}: {len(batch.items)} inputs"


def _commit_batch_name() -> str:
    from prefect.runtime import task_run

    result = task_run.parameters["result"]
    return f"commit-batch-{result.number:03d}: {result.counts.get('inputs', 0)} documents"


def batch_tags(batch: pipeline.Batch) -> list[str]:
    """Tags of a batch's tasks: its input kinds and, for fetching tasks, the hosts they fetch from
    (so a tag-based concurrency limit such as ``host:example.org`` applies)."""
    from urllib.parse import urlsplit

    kinds = sorted({item.kind for item in batch.items})
    hosts = sorted({urlsplit(item.location).hostname or "" for item in batch.items
                    if item.kind in ("url", "feed")} - {""})
    return [f"kind:{k}" for k in kinds] + [f"host:{h}" for h in hosts[:10]]


@task(name="process-batch", task_run_name=_process_batch_name, cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io_error)
def process_batch(batch: pipeline.Batch, settings: Settings, run_id: str) -> pipeline.BatchResult:
    route_library_logs()
    return runtime_workers.run_batch(batch, settings, run_id)


@task(name="commit-batch", task_run_name=_commit_batch_name, cache_policy=NO_CACHE, persist_result=False,
      retries=COMMIT_RETRIES, retry_delay_seconds=1, retry_condition_fn=retry_on_io_error)
def commit_batch(run: pipeline.Pipeline, result: pipeline.BatchResult) -> None:
    run.commit(result)


def _flow_run_name() -> str:
    """``ingest <sources> -> <out>``: the last path component of each source (or the host of a URL)."""
    from urllib.parse import urlsplit

    from prefect.runtime import flow_run

    params = flow_run.parameters
    names = []
    for source in params.get("sources") or []:
        names.append(urlsplit(source).hostname or source if "://" in source and not source.startswith("file://")
                     else Path(source.removeprefix("file://")).name or source)
    if params.get("sources_file"):
        names.append(Path(params["sources_file"]).name)
    label = "+".join(names) or "nothing"
    if len(label) > 40:
        label = label[:37] + "..."
    out = str(params.get("out", "")).rstrip("/")
    return f"ingest {label} -> {out.rsplit('/', 1)[-1] or out}"


# the settings a scheduled deployment usually changes, as top-level flow parameters; the others
# go in ``settings`` (typed, unknown names refused)
TOP_LEVEL = ("out", "offline", "translate", "target_language", "argos_packages_dir", "sources_file", "state_dir",
             "task_runner", "workers", "batch_size", "language_backend", "compute_type", "dask_address",
             "skip_unchanged")
AdvancedSettings = create_model(
    "AdvancedSettings", __config__=ConfigDict(extra="forbid"),
    **{f.name: (_SETTING_TYPES[f.name], Field(default=f.default))
       for f in dataclasses.fields(Settings) if f.name not in TOP_LEVEL})


@flow(name="news-ingest", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=True)
def ingest_flow(
    sources: list[str],
    out: str = "out",
    offline: bool = False,
    translate: bool = True,
    target_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en",
    argos_packages_dir: Optional[str] = None,
    sources_file: Optional[str] = None,
    state_dir: Optional[str] = None,
    task_runner: Literal["local", "threads", "dask"] = "local",
    workers: Optional[Annotated[int, Field(ge=1)]] = None,
    batch_size: Annotated[int, Field(ge=1)] = 100,
    language_backend: Literal["ensemble", "lingua", "langdetect"] = "ensemble",
    compute_type: Literal["int8", "int8_float32", "float32", "float16", "default"] = "int8",
    dask_address: Optional[str] = None,
    skip_unchanged: bool = True,
    settings: Optional[AdvancedSettings] = None,
) -> dict[str, Any]:
    """Ingest ``sources`` into the Parquet dataset at ``out``.

    A run where every input was rejected (no article written, at least one reject) ends **Failed**
    with the message "all N inputs were rejected"; every run emits the event
    ``news-ingest.run.finished`` (or ``news-ingest.run.all-rejected``) with its counts.

    Args:
        sources: Paths (files, directories), URLs or file:// URLs to ingest.
        out: Output location: a directory (relative paths are relative to where the flow runs) or an fsspec URL such as s3://bucket/prefix.
        offline: Never use the network: URLs and feeds are rejected, translation models are not downloaded.
        translate: Translate non-target-language text offline (argos/CTranslate2 models must be installed).
        target_language: ISO 639-1 code of the language to translate into.
        argos_packages_dir: Directory of installed argos translation packages; empty: $ARGOS_PACKAGES_DIR where the flow runs, else argos' own default.
        sources_file: A TOML/YAML sources file declaring feeds and URLs (with language hints).
        state_dir: Local directory for the run's state (fetch state, story index, committed inputs); empty: <out>/_state for a local output.
        task_runner: Where batches run: local (the library's worker processes; one-batch runs use threads), threads, or dask.
        workers: Worker processes or threads (at least 1); empty: the number of CPUs.
        batch_size: Documents per batch (a task run per batch); large files are cut into record ranges.
        language_backend: Language identification backend: ensemble (default; ~380 MB of models), lingua (~1.2 GB), langdetect (fastest).
        compute_type: CTranslate2 compute type of the translation models.
        dask_address: Address of an existing Dask scheduler (task_runner dask); empty: a local cluster.
        skip_unchanged: Skip local files whose content was already committed to this output with the same settings.
        settings: Any other field of ingest.settings.Settings (unknown names are refused).
    """
    route_library_logs()
    global _prepared
    prepared, _prepared = _prepared, None
    values = {**(settings.model_dump(exclude_unset=True) if settings is not None else {}),
              "out": out, "offline": offline, "translate": translate, "target_language": target_language,
              "argos_packages_dir": argos_packages_dir, "sources_file": sources_file, "state_dir": state_dir,
              "task_runner": task_runner, "batch_size": batch_size, "language_backend": language_backend,
              "compute_type": compute_type, "dask_address": dask_address, "skip_unchanged": skip_unchanged}
    if workers is not None:
        values["workers"] = workers
    if argos_packages_dir is None:  # where the flow runs: ARGOS_PACKAGES_DIR (the Docker image's), argos' own
        from flows.cli_options import resolve_packages_dir

        values["argos_packages_dir"] = str(resolve_packages_dir())
    run_plan = prepared or pipeline.plan_run(sources, Settings.from_mapping(values))
    resolved = run_plan.settings
    warming = runtime_workers.start(resolved)  # the pool's warm-up (the CLI's, if it started it); None: ready
    if warming is not None:
        warming.join()  # the pool's start-up is the flow's, not the first process-batch task's
    with task_runner_for(resolved) as runner:
        def submit(batch: pipeline.Batch, s: Settings, run_id: str):
            with tags(*batch_tags(batch)):
                return runner.submit(process_batch, {"batch": batch, "settings": s, "run_id": run_id})

        try:
            summary = pipeline.run_pipeline(
                run_plan, resolved, submit=submit,
                commit=lambda run, result: commit_batch(run, result),
                progress=_progress_hook, run_id=_prefect_run_id(),
            )
        except TerminationSignal:
            if prepared is None:  # a deployment's flow-run process (the CLI handles its own signals)
                stop_cancelled_run()
            raise
    publish_run_artifacts(summary)
    result = summary.to_dict()
    emit_run_event(result)
    global _last_result
    _last_result = result
    if all_rejected(result):
        return Failed(message=f"all {result['inputs']} inputs were rejected: nothing written "
                              f"({', '.join(f'{k} {v}' for k, v in result['rejects_by_reason'].items())})")
    return result


def stop_cancelled_run() -> None:
    """The run was cancelled (the runner or worker sent SIGTERM, which Prefect raises here as
    ``TerminationSignal``): stop now, without waiting for the batches in flight.  The pool's
    workers are killed (no orphan, no retry of their batches), the logs are flushed, and the
    process exits; the runner or worker then marks the run Cancelled.  Nothing is lost: batches
    committed so far are in the output (and their inputs in the committed-inputs table), the run
    lock is released by the OS, and the next run removes what this one staged and redoes the rest."""
    import os

    logging.getLogger(LIBRARY_LOGGER).warning("run cancelled: stopping its batches now")
    runtime_workers.terminate()
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=3)
        EventsWorker.drain_all(timeout=2)
    finally:
        os._exit(143)  # 128 + SIGTERM; threads still in a batch would otherwise hold the process


def _prefect_run_id() -> str | None:
    """The Prefect flow run's id: the Parquet's ``run_id`` (joins a row to its flow run)."""
    from prefect.runtime import flow_run

    return flow_run.id or None


def all_rejected(result: dict[str, Any]) -> bool:
    return result["rejects"] > 0 and result["articles"] == 0


RUN_EVENT = "news-ingest.run.finished"
ALL_REJECTED_EVENT = "news-ingest.run.all-rejected"


def emit_run_event(result: dict[str, Any]) -> None:
    """A custom event with the run's counts, for automations (the flow run, its flow and deployment
    are attached as related resources by Prefect)."""
    from prefect.events import emit_event

    payload = {k: result[k] for k in ("inputs", "inputs_unchanged", "articles", "articles_new", "articles_existing",
                                      "rejects", "rejects_new", "rejects_by_reason", "missing_translation_pairs",
                                      "languages")}
    payload["rejects_ratio"] = round(result["rejects"] / result["inputs"], 4) if result["inputs"] else 0.0
    emit_event(event=ALL_REJECTED_EVENT if all_rejected(result) else RUN_EVENT,
               resource={"prefect.resource.id": f"news-ingest.output.{result['output']}",
                         "prefect.resource.name": result["output"]},
               payload=payload)


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
    walking the sources again.  Returns the run's summary, also when the run ended Failed because
    every input was rejected."""
    global _progress_hook, _prepared, _last_result
    _progress_hook, _prepared, _last_result = progress, run_plan, None
    try:
        state = ingest_flow(sources=list(sources), **flow_parameters(run_plan.settings), return_state=True)
        if state.is_failed() and _last_result is not None and all_rejected(_last_result):
            return _last_result
        return state.result()
    finally:
        _progress_hook = _prepared = _last_result = None


def flow_parameters(settings: Settings) -> dict[str, Any]:
    """The flow's parameters for ``settings`` (JSON-friendly): every top-level parameter, and in
    ``settings`` the other fields that differ from their defaults."""
    values = settings.to_dict()
    defaults = Settings(out=settings.out, workers=settings.workers)
    params = {name: values[name] for name in TOP_LEVEL}
    params["settings"] = {k: v for k, v in values.items() if k not in TOP_LEVEL and v != getattr(defaults, k)}
    return params
