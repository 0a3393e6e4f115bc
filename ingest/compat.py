"""Every use of another library's private internals, in one place (and nowhere else in ``ingest``).

Each function here leans on something its upstream does not promise to keep.  ``tests/test_compat.py``
checks each of them against the installed versions, so an upgrade that moves one fails loudly there
instead of quietly disabling a guard.

- ``async_raise``: CPython's C API ``PyThreadState_SetAsyncExc`` through ctypes (per-document time
  limits in any thread, ``ingest.guard``).
- ``stop_forkserver``: ``multiprocessing.forkserver._forkserver._stop`` (restart the fork server
  with other preloaded models, ``ingest.runtime.workers``).
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
