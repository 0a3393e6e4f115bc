"""A small threaded HTTP server on 127.0.0.1 for tests and benchmarks: scripted routes and
server-side request counting.

    with LocalServer() as server:
        server.route("/a", Reply(body=b"<html>...</html>"))
        server.route("/flaky", [Reply(status=500), Reply(body=b"ok")])   # one reply per request, last repeats
        server.route("/echo", lambda request: Reply(body=request.path.encode()))
        fetch(server.url("/a")); assert server.count("/a") == 1
"""
from __future__ import annotations

import gzip
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Union
from urllib.parse import urlsplit


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # a client hanging up is not an error


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer (until the server stops)
    stream: Iterable[bytes] | None = None  # body sent without Content-Length, then the connection closes
    gzip: bool = False  # gzip the body and say so


@dataclass
class Request:
    method: str
    path: str  # with query
    headers: dict[str, str]  # lower-case names
    at: float = field(default_factory=time.time)  # when the request arrived (wall clock)


Route = Union[Reply, list, Callable[[Request], Reply]]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._counts: Counter[str] = Counter()
        self._sequences: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- API ---------------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, reply: Route) -> None:
        with self._lock:
            self.routes[path] = reply
            self._sequences.pop(path, None)

    def count(self, path: str) -> int:
        """Requests received for ``path`` (with its query when the route was given one)."""
        with self._lock:
            return self._counts[path]

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def max_in_window(self, seconds: float = 1.0, path_prefix: str = "/") -> int:
        """The most requests (for paths starting with ``path_prefix``) that arrived within any
        ``seconds``-long window (half-open: a request exactly ``seconds`` after another is the next window)."""
        with self._lock:
            times = sorted(r.at for r in self.requests if r.path.startswith(path_prefix))
        best, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= seconds:
                first += 1
            best = max(best, last - first + 1)
        return best

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self.requests.clear()

    def start(self) -> "LocalServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------------

    def _pick(self, request: Request) -> tuple[str, Reply | None]:
        path_only = urlsplit(request.path).path
        with self._lock:
            key = request.path if request.path in self.routes else path_only
            self._counts[key] += 1
            self.requests.append(request)
            route = self.routes.get(key)
            if isinstance(route, list):
                i = self._sequences.get(key, 0)
                self._sequences[key] = i + 1
                route = route[min(i, len(route) - 1)]
        if callable(route) and not isinstance(route, Reply):
            route = route(request)
        return key, route

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = Request(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()})
        _, reply = self._pick(request)
        if reply is None:
            reply = Reply(status=404, body=b"not found", content_type="text/plain")
        if reply.hang:
            self._stopping.wait(60)
            handler.close_connection = True
            return
        if reply.delay:
            self._stopping.wait(reply.delay)
        try:
            self._send(handler, reply)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        handler.send_response(reply.status)
        if reply.content_type:
            handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.stream is not None:
            handler.send_header("Connection", "close")
            handler.end_headers()
            for chunk in reply.stream:
                if self._stopping.is_set():
                    break
                handler.wfile.write(chunk)
            handler.close_connection = True
            return
        body = gzip.compress(reply.body) if reply.gzip else reply.body
        if reply.gzip:
            handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if reply.status not in (204, 304):
            handler.wfile.write(body)


def slow_drip(chunks: int, chunk: bytes, pause: float) -> Iterable[bytes]:
    """A body that arrives piece by piece (for deadline tests)."""
    for _ in range(chunks):
        yield chunk
        time.sleep(pause)
