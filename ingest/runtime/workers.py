"""The library's worker processes: CPU-bound batch work on every core, models loaded once.

``run_batch(batch, settings, run_id)`` runs ``pipeline.process_batch`` in a process-wide pool of
``settings.workers`` processes and returns its ``BatchResult``; the library's log records from the
worker come back with it and are logged again in the calling thread (so a Prefect task running it
shows them in its run logs).  ``start(settings)`` creates the pool ahead of the first batch
(the CLI does so before Prefect starts, so the two start-ups overlap); ``shutdown()`` ends it.

Why a pool of our own rather than Prefect's ``ProcessPoolTaskRunner``: its workers import Prefect
and each load their own models (~15-24 s before the first batch on 2 cores, measured in
``bench/task_runners.py``), and they end with the flow run.  These workers are forked from a
fork server that has imported the pipeline, warmed trafilatura and loaded the language backend's
models once (the default ensemble: ~300 MB; lingua's high-accuracy models: ~1.3 GB): every worker
shares those pages copy-on-write instead of holding a private copy, so two workers cost one copy,
not two, and the models load once per process tree, not once per worker.  The pool lives as long as the process
that created it (a library user running several pipelines reuses it warm; ``news-ingest serve``
runs each flow run in a fresh process, so each run starts its own).

Where the fork server is unavailable (not POSIX) the pool spawns fresh interpreters instead.

No orphans: the fork server and every worker end when their parent dies, however it dies (even
SIGKILL): each watches its parent (``guard_parent``: ``PR_SET_PDEATHSIG`` on Linux where the
parent is single-threaded, else a thread polling the parent's pid).  Workers ignore SIGINT: a
Ctrl-C reaches the whole process group, and the parent decides (``ingest.runtime.stop``); when
it stops a run, ``abort()`` ends the workers at once (their batches are abandoned, not committed).
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest.compat import pool_processes, stop_forkserver
from ingest.runtime import stop
from ingest.settings import Settings

logger = logging.getLogger(__name__)

LIBRARY_LOGGER = "ingest"
PRELOAD = "ingest.runtime.preload"  # imported by the fork server: shared by all workers
PRELOAD_LINGUA = "ingest.runtime.preload_lingua"  # the same plus lingua's high-accuracy models
PRELOAD_ENSEMBLE = "ingest.runtime.preload_ensemble"  # the same plus the ensemble's models (default)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_key: tuple | None = None
_warming: threading.Thread | None = None  # the last start()'s warm-up


def _preload_modules(settings: Settings) -> list[str]:
    if settings.language_backend == "lingua" and not settings.language_low_accuracy:
        return [PRELOAD_LINGUA]
    if settings.language_backend == "ensemble" and not settings.language_candidates:
        return [PRELOAD_ENSEMBLE]  # (with other candidates each worker loads its own, smaller set)
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
    os.environ[PARENT_ENV] = str(os.getpid())  # the fork server watches this pid (ingest.runtime.preload)
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
            _close(_pool)
            _pool = None
        if _pool is None:
            _pool = ProcessPoolExecutor(settings.workers, mp_context=_context(settings), initializer=_worker_init)
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
    global _warming
    if _pool is not None and _pool_key == _key(settings):
        # started already (the CLI starts it before the flow asks again): its warm-up, if still going
        return _warming if _warming is not None and _warming.is_alive() else None

    def warm() -> None:
        try:
            executor = pool(settings)
            for future in [executor.submit(os.getpid) for _ in range(settings.workers)]:
                future.result()  # each submit starts a worker once the fork server is ready
        except Exception as exc:  # noqa: BLE001 - the first batch will meet (and report) it again
            logger.debug("worker pool warm-up failed: %s", exc)

    thread = threading.Thread(target=warm, name="ingest-workers-start", daemon=True)
    thread.start()
    _warming = thread
    return thread


def abort() -> None:
    """End the pool now, its workers killed mid-batch (a run that is stopping: nothing they do is
    committed).  The next ``pool()`` starts a fresh one."""
    global _pool, _pool_key
    with _lock:
        executor, _pool, _pool_key = _pool, None, None
    if executor is not None:
        _kill(executor)


def _close(executor: ProcessPoolExecutor) -> None:
    """Shut a pool down, waiting for its workers; a pool with a dead worker (broken, or about to
    be) is killed instead: its shutdown can join a worker that is never told to stop."""
    if any(not _alive(process) for process in pool_processes(executor)):
        _kill(executor)
    else:
        executor.shutdown(wait=True, cancel_futures=True)


def _alive(process) -> bool:
    try:
        return process.is_alive()
    except (OSError, ValueError, AssertionError):  # closed, or not this process's child
        return False


def _kill(executor: ProcessPoolExecutor) -> None:
    processes = pool_processes(executor)
    for process in processes:
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            process.join(5)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass


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
            _close(_pool)
            _pool, _pool_key = None, None


def terminate() -> None:
    """End the pool now, without waiting for the batches it is running (a cancelled run): its
    worker processes are killed and the fork server is stopped.  What they staged is redone (or
    removed) by the next run over the same output."""
    global _pool, _pool_key
    with _lock:
        executor, _pool, _pool_key = _pool, None, None
    for child in multiprocessing.active_children():  # the pool's workers (started from this process)
        try:
            child.kill()
        except OSError:
            pass
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    stop_forkserver()


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
    if stop.stop_requested():
        raise stop.Interrupted(f"batch {batch.number} not started: the run is stopping")
    if not uses_pool(settings):
        from ingest.runtime.batch import process_batch

        return process_batch(batch, settings, run_id)
    try:
        result, records = pool(settings).submit(_in_worker, batch, settings, run_id).result()
    except (BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: the pool was shut down meanwhile
        if stop.stop_requested():
            raise stop.Interrupted(f"batch {batch.number} abandoned: the run is stopping") from None
        if not isinstance(exc, BrokenProcessPool):
            raise
        # not shutdown(): a broken pool joins its processes, and one that a submit was starting
        # while the pool broke is never told to stop, so that join can wait for ever (seen in CI)
        abort()
        raise OSError(f"a worker process died while processing batch {batch.number}: {exc}") from exc
    replay(records)
    return result


# --- parent death ------------------------------------------------------------------------------

PARENT_ENV = "NEWS_INGEST_FORKSERVER_PARENT"  # the pid whose fork server this is
PARENT_POLL_S = 0.5
PR_SET_PDEATHSIG = 1


def guard_parent(expected_parent: int | None = None, use_pdeathsig: bool = True) -> None:
    """End this process when its parent dies.  ``PR_SET_PDEATHSIG`` (Linux) fires when the parent
    *thread* that forked us ends, so it is only used where that thread is the parent's only one
    (the fork server forking workers); a daemon thread polling ``getppid()`` covers every case."""
    parent = os.getppid() if expected_parent is None else expected_parent
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the guard was in place
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="ingest-parent-watch", daemon=True).start()


def _worker_init() -> None:
    """Each worker: ignore SIGINT (the parent stops the run), end with the fork server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # forked by the fork server's only thread: PR_SET_PDEATHSIG is safe; spawned by one of the
    # pool owner's threads (no fork server), it could fire when that thread ends: the pid watch only
    guard_parent(use_pdeathsig=os.environ.get(PARENT_ENV) != str(os.getppid()))


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
