"""The library's worker processes: CPU-bound batch work on every core, models loaded once.

``run_batch(batch, settings, run_id)`` runs ``pipeline.process_batch`` in a process-wide pool of
``settings.workers`` processes and returns its ``BatchResult``; the library's log records from the
worker come back with it and are logged again in the calling thread (so a Prefect task running it
shows them in its run logs).  ``start(settings)`` creates the pool ahead of the first batch
(the CLI does so before Prefect starts, so the two start-ups overlap); ``shutdown()`` ends it.

Why a pool of our own rather than Prefect's ``ProcessPoolTaskRunner``: its workers import Prefect
and each load their own models (~15-24 s before the first batch on 2 cores, measured in
``bench/task_runners.py``), and they end with the flow run.  These workers are forked from a
fork server that has imported the pipeline, warmed trafilatura and, for the default lingua
backend, loaded lingua's language models once (~1.3 GB, ~4 s): every worker shares those pages
copy-on-write instead of holding a private copy, so two workers cost ~1.3 GB, not ~2.6 GB, and the
models load once per process tree, not once per worker.  The pool lives as long as the process
that created it (a library user running several pipelines reuses it warm; ``news-ingest serve``
runs each flow run in a fresh process, so each run starts its own).

Where the fork server is unavailable (not POSIX) the pool spawns fresh interpreters instead.
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest.compat import stop_forkserver
from ingest.settings import Settings

logger = logging.getLogger(__name__)

LIBRARY_LOGGER = "ingest"
PRELOAD = "ingest.runtime.preload"  # imported by the fork server: shared by all workers
PRELOAD_LINGUA = "ingest.runtime.preload_lingua"  # the same plus lingua's models (default language backend)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_key: tuple | None = None


def _preload_modules(settings: Settings) -> list[str]:
    if settings.language_backend == "lingua" and not settings.language_low_accuracy:
        return [PRELOAD_LINGUA]
    return [PRELOAD]


_server_preload: list[str] | None = None  # what the running fork server was started with


def _context(settings: Settings):
    global _server_preload
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    wanted = _preload_modules(settings)
    if _server_preload is not None and _server_preload != wanted:
        # the server keeps the modules it started with: restart it for other models (its old
        # workers are gone: the pool was shut down first)
        stop_forkserver()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(wanted)  # used when the server (re)starts, on first use
    _server_preload = wanted
    return ctx


def _key(settings: Settings) -> tuple:
    """What a pool is made for: its number of workers and its fork server's preload."""
    return settings.workers, tuple(_preload_modules(settings))


def pool(settings: Settings) -> ProcessPoolExecutor:
    """The process-wide pool for ``settings.workers`` workers (created on first use)."""
    global _pool, _pool_key
    key = _key(settings)
    with _lock:
        if _pool is not None and _pool_key != key:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
        if _pool is None:
            _pool = ProcessPoolExecutor(settings.workers, mp_context=_context(settings))
            _pool_key = key
            logger.debug("worker pool: %d processes (%s)", settings.workers, ", ".join(key[1]))
        return _pool


def start(settings: Settings) -> threading.Thread | None:
    """Start the pool's fork server and workers in a background thread (the fork server loads
    the models first, which takes seconds), so that whatever the caller does meanwhile (Prefect's
    start-up) overlaps with it.  Returns the thread (None when these settings use no pool).

    A run in threads (``task_runner="threads"``: a small run) warms up this process instead:
    trafilatura and the language models load in the background while the caller starts Prefect."""
    if not uses_pool(settings):
        if settings.task_runner != "threads":
            return None
        thread = threading.Thread(target=warm_here, args=(settings,), name="ingest-warm-up", daemon=True)
        thread.start()
        return thread
    if _pool is not None and _pool_key == _key(settings):
        return None  # started already (the CLI starts it before the flow asks again)

    def warm() -> None:
        try:
            executor = pool(settings)
            for future in [executor.submit(os.getpid) for _ in range(settings.workers)]:
                future.result()  # each submit starts a worker once the fork server is ready
        except Exception as exc:  # noqa: BLE001 - the first batch will meet (and report) it again
            logger.debug("worker pool warm-up failed: %s", exc)

    thread = threading.Thread(target=warm, name="ingest-workers-start", daemon=True)
    thread.start()
    return thread


def warm_here(settings: Settings) -> None:
    """The first imports and models of a batch's work, in this process (each once per process;
    a batch arriving meanwhile waits for them: ``guard.warm_once``)."""
    from ingest.extract import extractor
    from ingest.guard import warm_once
    from ingest.language import detect
    from ingest.runtime.batch import language_key

    warm_once("extract", extractor.warm_up)
    warm_once(language_key(settings), lambda: detect.warm_up(settings))


def shutdown() -> None:
    """End the pool (idempotent; also at interpreter exit)."""
    global _pool, _pool_key
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool, _pool_key = None, None


atexit.register(shutdown)


def submit(batch, settings: Settings, run_id: str) -> Future:
    """Run ``process_batch`` in the pool; the future's result is the ``BatchResult`` (the worker's
    log records are logged again when it completes).  For ``run_pipeline``'s default ``submit``."""
    done: Future = Future()

    def finish(inner: Future) -> None:
        try:
            result, records = inner.result()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the future
            done.set_exception(exc)
        else:
            replay(records)
            done.set_result(result)

    pool(settings).submit(_in_worker, batch, settings, run_id).add_done_callback(finish)
    return done


def uses_pool(settings: Settings) -> bool:
    """Whether batches of these settings run on the pool (local processes, more than one)."""
    return settings.task_runner == "local" and settings.workers > 1


def run_batch(batch, settings: Settings, run_id: str):
    """``pipeline.process_batch`` on one of the pool's workers when ``uses_pool(settings)``, else
    right here (threads, a Dask worker, one worker); blocking.  A worker that died (killed, out of
    memory) breaks the pool: it is replaced and the error is raised as an ``OSError`` so the
    caller's I/O retry runs the batch again."""
    if not uses_pool(settings):
        from ingest.runtime.batch import process_batch

        return process_batch(batch, settings, run_id)
    try:
        result, records = pool(settings).submit(_in_worker, batch, settings, run_id).result()
    except BrokenProcessPool as exc:
        shutdown()
        raise OSError(f"a worker process died while processing batch {batch.number}: {exc}") from exc
    replay(records)
    return result


def replay(records: list[tuple[str, int, str]]) -> None:
    for name, level, message in records:
        logging.getLogger(name).log(level, "%s", message)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append((record.name, record.levelno, record.getMessage()))
        except Exception:  # noqa: BLE001 - a bad log call must not fail the batch
            pass


def _in_worker(batch, settings: Settings, run_id: str):
    """Runs in a worker: the batch, with the library's log records captured for the caller."""
    from ingest.runtime.batch import process_batch

    lib = logging.getLogger(LIBRARY_LOGGER)
    if lib.level == logging.NOTSET:
        lib.setLevel(logging.INFO)
    lib.propagate = False  # the caller logs them; nothing is printed by the worker itself
    capture = _Capture()
    lib.addHandler(capture)
    try:
        return process_batch(batch, settings, run_id), capture.records
    finally:
        lib.removeHandler(capture)
