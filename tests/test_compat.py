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


def test_trafilatura_byline_search():
    from lxml import etree
    from trafilatura import load_html

    tree = load_html('<html><body><article><p class="byline">By Logan C. Ritchie</p><p>Text.</p></article>'
                     '<div class="comments"><span class="author">A Commenter</span></div></body></html>')
    before = etree.tostring(tree)
    assert compat.trafilatura_byline(tree) == "By Logan C. Ritchie", \
        "trafilatura's author XPaths moved: the metadata step lost its byline fallback"
    assert etree.tostring(tree) == before  # the caller's tree is left as it was


def test_pool_processes_lists_a_process_pools_workers():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as executor:
        executor.submit(int, "1").result(timeout=120)
        processes = compat.pool_processes(executor)
        assert len(processes) == 1 and processes[0].is_alive(), \
            "ProcessPoolExecutor._processes is gone: a stopping run cannot end its workers at once"


def test_prefect_server_starts_its_process_through_module_level_subprocess_popen():
    import inspect

    from prefect.server.api import server

    source = inspect.getsource(server.SubprocessASGIServer._run_uvicorn_command)
    assert "subprocess.Popen(" in source and "args=" in source, \
        "Prefect starts its temporary server another way: it would die with a Ctrl-C and outlive a killed CLI"


def test_redirect_popen_rewrites_a_modules_subprocess_calls():
    import subprocess
    import sys
    import types

    module = types.ModuleType("fake_library")
    module.subprocess = subprocess
    seen = []

    def rewrite(command, kwargs):
        seen.append(list(command))
        return [sys.executable, "-c", "print('rewritten')"], {**kwargs, "stdout": subprocess.PIPE}

    assert compat.redirect_popen(module, rewrite) and compat.redirect_popen(module, rewrite)  # idempotent
    proc = module.subprocess.Popen(args=["false"])
    assert proc.communicate(timeout=60)[0].strip() == b"rewritten" and seen == [["false"]]
    assert module.subprocess.TimeoutExpired is subprocess.TimeoutExpired  # the rest is the real module
    assert subprocess.Popen is not module.subprocess.Popen  # nothing else changed


def test_run_exit_handlers_runs_atexit_functions():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import atexit, os; from ingest import compat; atexit.register(print, 'ran', flush=True); "
            "compat.run_exit_handlers(); os._exit(0)")  # in a process of its own: they run once, then are gone
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout == "ran\n", "atexit._run_exitfuncs is gone: the CLI's exit handlers would not run"


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
