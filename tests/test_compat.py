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
