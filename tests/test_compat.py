"""The other libraries' internals that ``ingest.compat`` relies on are still there.

Each test names what it checks; when one fails after an upgrade, the adapter in ``ingest/compat.py``
needs a new way to do its job (the feature it serves would otherwise be quietly lost)."""
from __future__ import annotations

import threading
import time

from ingest import compat


def test_async_raise_reaches_a_running_thread():
    assert compat.ASYNC_RAISE_SUPPORTED, "ctypes.pythonapi.PyThreadState_SetAsyncExc is gone"

    class Stop(BaseException):
        pass

    caught = []

    def spin():
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pass
        except Stop:
            caught.append(True)

    thread = threading.Thread(target=spin)
    thread.start()
    compat.async_raise(thread.ident, Stop)
    thread.join(10)
    assert caught == [True]


def test_forkserver_has_a_stop_hook():
    from multiprocessing import forkserver

    assert callable(getattr(forkserver._forkserver, "_stop", None)), \
        "multiprocessing.forkserver._forkserver._stop is gone: workers cannot restart the fork server"


def test_httpx_transport_pool_is_replaceable():
    import httpcore
    import httpx

    seen = []

    class Backend(httpcore.SyncBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            seen.append(host)
            raise httpcore.ConnectError("refused by the test backend")

    transport = compat.guarded_http_transport(httpx.Limits(max_connections=2), Backend())
    assert isinstance(transport._pool, httpcore.ConnectionPool)
    with httpx.Client(transport=transport) as client:
        try:
            client.get("http://127.0.0.1:9/")
        except httpx.ConnectError:
            pass
    assert seen == ["127.0.0.1"], "httpx no longer sends connections through the replaced pool"


def test_the_early_prefect_server_is_started_as_prefect_starts_its_own(monkeypatch):
    """``flows/ephemeral.py`` launches Prefect's temporary API server itself (earlier, without
    importing Prefect's server package): same command and server environment as prefect's
    ``SubprocessASGIServer._run_uvicorn_command``."""
    from prefect.server.api import server

    from flows import ephemeral

    calls = []
    monkeypatch.setattr(server.subprocess, "Popen", lambda args, env=None, **kw: calls.append((args, env)))
    try:
        server.SubprocessASGIServer(port=18765)._run_uvicorn_command()
    finally:
        server.SubprocessASGIServer._instances.pop(18765, None)
    [(args, env)] = calls
    assert args == ephemeral.command(18765)
    assert {key: env.get(key) for key in ephemeral.SERVER_ENV} == ephemeral.SERVER_ENV
