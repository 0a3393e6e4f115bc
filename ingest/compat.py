"""Every use of another library's private internals, in one place (and nowhere else in ``ingest``).

Each function here leans on something its upstream does not promise to keep.  ``tests/test_compat.py``
checks each of them against the installed versions, so an upgrade that moves one fails loudly there
instead of quietly disabling a guard.

- ``async_raise``: CPython's C API ``PyThreadState_SetAsyncExc`` through ctypes (per-document time
  limits in any thread, ``ingest.guard``).
- ``stop_forkserver``: ``multiprocessing.forkserver._forkserver._stop`` (restart the fork server
  with other preloaded models, ``ingest.runtime.workers``).
- ``pool_processes``: ``concurrent.futures.ProcessPoolExecutor._processes`` (the worker processes,
  to kill them when a run stops; Python 3.14 has ``terminate_workers()``, used where present).
- ``redirect_popen``: replaces the ``subprocess`` module a library module sees by one whose
  ``Popen`` rewrites the arguments (the CLI starts Prefect's temporary API server,
  ``prefect.server.api.server.SubprocessASGIServer._run_uvicorn_command``, in a session of its own
  under a supervisor that ends it with the CLI; Prefect has no hook for it).
- ``run_exit_handlers``: ``atexit._run_exitfuncs`` (the CLI runs the exit handlers, then leaves
  with ``os._exit`` instead of the interpreter's slow teardown).
- ``guarded_http_transport``: replaces ``httpx.HTTPTransport._pool`` by an identical
  ``httpcore.ConnectionPool`` with our network backend (httpx has no public hook for it; the SSRF
  guard resolves and checks every address it connects to, ``ingest.sources.http``).
- ``trafilatura_byline``: trafilatura's byline search (``xpaths.AUTHOR_XPATHS`` outside
  ``AUTHOR_DISCARD_XPATHS``, ``htmlprocessing.prune_unwanted_nodes``, ``metadata.extract_metainfo``)
  without the name normalisation of its public ``extract_metadata`` (which also runs a date search),
  for the metadata step's author fallback (``ingest.extract.metadata``).
"""
from __future__ import annotations

import ctypes

ASYNC_RAISE_SUPPORTED = hasattr(ctypes, "pythonapi") and hasattr(ctypes.pythonapi, "PyThreadState_SetAsyncExc")


def async_raise(thread_ident: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in the thread ``thread_ident`` at its next bytecode (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_ident),
                                               ctypes.py_object(exc) if exc else None)


def stop_forkserver() -> bool:
    """Stop the running multiprocessing fork server, so the next use starts one with the current
    preload list.  False when this Python has no such hook (the old server is then kept)."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is None:
        return False
    stop()
    return True


def pool_processes(executor) -> list:
    """The ``multiprocessing.Process`` objects of a ``ProcessPoolExecutor`` (empty when unknown)."""
    processes = getattr(executor, "_processes", None)
    return list(processes.values()) if isinstance(processes, dict) else []


def redirect_popen(module, rewrite) -> bool:
    """Make ``module``'s calls to ``subprocess.Popen(...)`` go through ``rewrite(args, kwargs) ->
    (args, kwargs)`` (``args`` the command, given by position or as ``args=``).  Idempotent; False
    when ``module`` does not use ``subprocess`` that way (nothing is changed)."""
    import subprocess

    seen = getattr(module, "subprocess", None)
    if getattr(seen, "_ingest_redirected", False):
        return True
    if seen is not subprocess:
        return False

    class _Popen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            command = kwargs.pop("args") if "args" in kwargs else args[0]
            command, kwargs = rewrite(list(command), kwargs)
            super().__init__(command, *args[1:], **kwargs)

    class _Subprocess:
        _ingest_redirected = True
        Popen = _Popen

        def __getattr__(self, name):
            return getattr(subprocess, name)

    module.subprocess = _Subprocess()
    return True


def run_exit_handlers() -> None:
    """Run (and clear) the functions registered with ``atexit``, as the interpreter does at exit."""
    import atexit

    atexit._run_exitfuncs()


def guarded_http_transport(limits, network_backend):
    """An ``httpx.HTTPTransport`` (no proxies from the environment) whose connections go through
    ``network_backend`` (an ``httpcore.NetworkBackend``)."""
    import httpcore
    import httpx

    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    transport._pool.close()
    transport._pool = httpcore.ConnectionPool(  # the same pool httpx builds, with the given backend
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=network_backend,
    )
    return transport


def trafilatura_byline(tree) -> str | None:
    """The raw byline trafilatura's author XPaths find in ``tree`` (an lxml HtmlElement, left
    unmodified: the search runs on a copy), or None."""
    from copy import deepcopy

    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.metadata import extract_metainfo
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    subtree = prune_unwanted_nodes(deepcopy(tree), AUTHOR_DISCARD_XPATHS)
    return extract_metainfo(subtree, AUTHOR_XPATHS, len_limit=120)
