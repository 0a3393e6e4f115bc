"""HTTP fetching, politely and safely.

``Fetcher.fetch(url)`` returns a ``FetchResult`` (a 200 with its body, or a 304) or raises
``FetchError`` whose ``reason`` is a short machine reason for a ``Reject``: ``http_404`` (any 4xx
by its code), ``http_5xx``, ``timeout``, ``too_large``, ``redirect_loop``, ``too_many_redirects``,
``robots_disallowed``, ``robots_unavailable``, ``blocked_address``, ``bad_content_type``,
``bad_scheme``, ``bad_url``, ``bad_encoding``, ``connect_error``, ``connection_error``.

- Only http and https, on every redirect hop (redirects are followed here, hop by hop, so every
  hop is checked: scheme, robots.txt, address, rate limit).
- Addresses are checked when the socket is opened (a network backend that resolves the name
  itself): loopback, private, link-local and other non-global addresses are refused unless
  ``Settings.allow_private_addresses``, which also defeats DNS rebinding between check and use.
  IPv6 addresses that embed an IPv4 address (IPv4-mapped and -compatible, 6to4, Teredo, NAT64)
  are judged by the IPv4 address they carry.
- Retries with exponential backoff (and Retry-After) on timeouts and 5xx only, never on 4xx.  One
  URL never takes longer than ``Settings.url_deadline_s`` in all (attempts and backoff; waiting
  for the host's turn not counted).
- The body is streamed and counted after decompression (gzip/deflate decoded here, bounded), so a
  gzip bomb stops at ``Settings.max_body_bytes``; a slow-drip response stops at
  ``Settings.fetch_deadline_s``.
- robots.txt is read by protego, the RFC 9309 way (wildcards, ``$``, longest match wins, allow
  wins a tie; 4xx = allow all, unreachable = fetch nothing), cached per origin; its Crawl-delay
  slows that host down.  Per-host concurrency limits are shared by the threads of a process; the
  per-host request rate and the robots.txt cache by all processes of a run, through
  ``Settings.state_dir`` (``ingest.sources.hosts``).
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from protego import Protego
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential, wait_random

from ingest.compat import guarded_http_transport
from ingest.settings import Settings
from ingest.sources.hosts import HostSchedule, SharedRobots

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/x-rss+xml",
    "application/xml", "text/xml", "application/feed+json", "application/json",
})
TEXT_TYPES = frozenset({"text/plain"})
PAGE_TYPES = HTML_TYPES | FEED_TYPES | TEXT_TYPES
ACCEPT = ("text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/feed+json;q=0.9,"
          "application/xml;q=0.8,text/xml;q=0.8,application/json;q=0.7,text/plain;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks crawlers to parse at least 500 KiB
ROBOTS_TTL_S = 3600.0
ROBOTS_FAILURE_TTL_S = 300.0
MAX_CRAWL_DELAY_S = 30.0
MAX_RETRY_AFTER_S = 30.0
# request starts are spaced 10% more than 1/rate: a request on a new connection reaches the server
# tens of milliseconds after its start, one on a kept-alive connection at once, and the server must
# still never see more than `rate` requests in any one second
RATE_MARGIN = 1.1

# the settings a Fetcher depends on (its cache key)
_FETCH_FIELDS = ("user_agent", "connect_timeout_s", "read_timeout_s", "max_retries", "backoff_s", "max_redirects",
                 "max_body_bytes", "respect_robots", "per_host_concurrency", "per_host_rate",
                 "allow_private_addresses", "fetch_deadline_s", "url_deadline_s", "state_dir")


class FetchError(Exception):
    """A fetch failed; ``reason`` is the Reject reason."""

    def __init__(self, reason: str, detail: str = "", url: str | None = None, *, retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason
        self.url = url
        self.retryable = retryable
        self.retry_after = retry_after


class BlockedAddress(Exception):
    """The host resolves only to addresses the settings forbid."""


@dataclass
class FetchResult:
    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 200 (or another 2xx) or 304
    headers: dict[str, str]  # lower-case names
    content: bytes = b""
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    redirects: list[str] = field(default_factory=list)
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return parse_content_type(self.headers.get("content-type"))[0]

    @property
    def charset(self) -> str | None:
        return parse_content_type(self.headers.get("content-type"))[1]

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(mime type in lower case, charset) of a Content-Type header value."""
    if not value:
        return None, None
    mime, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'") or None
    return mime.strip().lower() or None, charset


# ---------------------------------------------------------------------------------------------------
# addresses


NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible
    (``::a.b.c.d``), 6to4 (``2002:AABB:CCDD::``), Teredo (server and client), NAT64 (``64:ff9b::/96``
    and the local-use ``64:ff9b:1::/48``, the IPv4 address in the last 32 bits)."""
    found: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        found.append(addr.ipv4_mapped)
    if addr.sixtofour is not None:
        found.append(addr.sixtofour)
    if addr.teredo is not None:
        found.extend(addr.teredo)
    value = int(addr)
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible (deprecated); not :: or ::1
        found.append(low)
    if any(addr in net for net in NAT64_PREFIXES):
        found.append(low)
    return found


def address_allowed(ip: str, allow_private: bool = False) -> bool:
    """False for loopback, private, link-local, multicast, reserved and other non-global addresses,
    and for IPv6 addresses that embed such an IPv4 address."""
    if allow_private:
        return True
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [addr]
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = embedded_ipv4(addr)
        if embedded:
            candidates = list(embedded)  # the tunnel prefixes themselves are not "global"
    return all(not (a.is_loopback or a.is_private or a.is_link_local or a.is_multicast
                    or a.is_reserved or a.is_unspecified or not a.is_global) for a in candidates)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to allowed addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        allowed = [a for a in addresses if address_allowed(a, self.allow_private)]
        if not allowed:
            raise BlockedAddress(f"{host} resolves to a non-public address ({', '.join(addresses[:3])})")
        error: Exception | None = None
        for address in allowed:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error  # type: ignore[misc]


def _transport(allow_private: bool, limits: httpx.Limits) -> httpx.HTTPTransport:
    return guarded_http_transport(limits, _GuardedBackend(allow_private))


# ---------------------------------------------------------------------------------------------------
# per-host limits: concurrency per process (all threads); the rate for the run (all processes)


class _HostLimiter:
    def __init__(self, concurrency: int) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)

    @contextmanager
    def slot(self, schedule: HostSchedule, host: str, interval: float) -> Iterator[float]:
        """Wait for a free slot and the host's turn; yields the seconds waited."""
        began = time.monotonic()
        with self._slots:
            start = schedule.reserve(host, interval)
            delay = start - time.time()
            if delay > 0:
                time.sleep(delay)
            yield time.monotonic() - began


_SCHEDULES: dict[str | None, HostSchedule] = {}


def _schedule(directory: str | None) -> HostSchedule:
    with _LIMITERS_LOCK:
        schedule = _SCHEDULES.get(directory)
        if schedule is None:
            schedule = _SCHEDULES[directory] = HostSchedule(directory)
        return schedule


_LIMITERS: dict[tuple[str, int], _HostLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _limiter(host: str, concurrency: int) -> _HostLimiter:
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get((host, concurrency))
        if limiter is None:
            limiter = _LIMITERS[(host, concurrency)] = _HostLimiter(concurrency)
        return limiter


# ---------------------------------------------------------------------------------------------------
# the fetcher


class Fetcher:
    """A thread-safe HTTP client configured by Settings; get one with ``get_fetcher(settings)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = s = settings
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=10.0)
        self._client = httpx.Client(
            transport=_transport(s.allow_private_addresses, limits),
            timeout=httpx.Timeout(connect=s.connect_timeout_s, read=s.read_timeout_s, write=s.read_timeout_s,
                                  pool=s.connect_timeout_s + s.read_timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._robots: dict[str, tuple[float, Protego | FetchError | None]] = {}
        self._shared_robots = SharedRobots(s.state_dir)
        self._schedule = _schedule(s.state_dir)
        self._crawl_delay: dict[str, float] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              accept: frozenset[str] | None = PAGE_TYPES) -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given); raises FetchError.

        ``accept``: the content types allowed (a missing Content-Type is allowed; None allows all).
        """
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        s = self.settings
        return self._follow(url, headers, accept, s.max_body_bytes, s.respect_robots, s.max_retries)

    # -- redirects -------------------------------------------------------------------------------

    def _follow(self, url: str, headers: dict[str, str], accept, limit: int, robots: bool,
                retries: int) -> FetchResult:
        current = _check_url(url)
        chain = [current]
        budget = _Budget(self.settings.url_deadline_s)
        for _ in range(self.settings.max_redirects + 1):
            if robots:
                self._check_robots(current)
            result = self._with_retries(current, headers, accept, limit, retries, budget)
            if result.status not in REDIRECT_STATUSES:
                result.url, result.final_url, result.redirects = url, current, chain[1:]
                return result
            location = result.headers.get("location", "").strip()
            if not location:
                raise FetchError("bad_redirect", f"HTTP {result.status} without Location", current)
            target = _check_url(urljoin(current, location))
            if target in chain:
                raise FetchError("redirect_loop", " -> ".join(chain + [target])[:500], url)
            chain.append(target)
            current = target
        raise FetchError("too_many_redirects", f"more than {self.settings.max_redirects} redirects: "
                         + " -> ".join(chain)[:400], url)

    # -- retries ---------------------------------------------------------------------------------

    def _with_retries(self, url: str, headers, accept, limit: int, retries: int, budget: "_Budget") -> FetchResult:
        """``_once`` under tenacity: exponential backoff with jitter (at least the server's
        Retry-After, capped), on retryable failures only, never past the URL's time budget."""
        backoff = (wait_exponential(multiplier=self.settings.backoff_s, max=MAX_RETRY_AFTER_S)
                   + wait_random(0, 0.25 * self.settings.backoff_s))
        out_of_time = False

        def wait(state: RetryCallState) -> float:
            retry_after = state.outcome.exception().retry_after
            delay = backoff(state)
            return delay if retry_after is None else max(delay, min(retry_after, MAX_RETRY_AFTER_S))

        def stop(state: RetryCallState) -> bool:
            nonlocal out_of_time
            out_of_time = budget.left() <= state.upcoming_sleep
            return state.attempt_number > retries or out_of_time

        def log(state: RetryCallState) -> None:
            logger.info("retrying %s in %.2fs after %s (attempt %d)", url, state.upcoming_sleep,
                        state.outcome.exception().reason, state.attempt_number)

        retrying = Retrying(retry=retry_if_exception(lambda exc: isinstance(exc, FetchError) and exc.retryable),
                            wait=wait, stop=stop, before_sleep=log, reraise=True)
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = self._once(url, headers, accept, limit, budget)
            result.attempts = attempts
            return result
        except FetchError as exc:
            if attempts > 1 or out_of_time:
                exc.detail = f"{exc.detail} (after {attempts} attempt{'s' if attempts > 1 else ''}" + (
                    f"; {self.settings.url_deadline_s:g} s for this URL spent)" if out_of_time else ")")
            raise

    # -- one request -----------------------------------------------------------------------------

    def _once(self, url: str, headers, accept, limit: int, budget: "_Budget") -> FetchResult:
        host = urlsplit(url).hostname or ""
        rate = self.settings.per_host_rate
        interval = max(RATE_MARGIN / rate if rate > 0 else 0.0, self._crawl_delay.get(host, 0.0))
        with _limiter(host, self.settings.per_host_concurrency).slot(self._schedule, host, interval) as waited:
            budget.extend(waited)  # waiting for the host's turn is not this URL's time
            left = budget.left()
            if left <= 0:
                raise FetchError("timeout", f"{self.settings.url_deadline_s:g} s for this URL spent", url)
            deadline = time.monotonic() + min(self.settings.fetch_deadline_s, left)
            timeout = self._client.timeout
            if left < max(self.settings.connect_timeout_s, self.settings.read_timeout_s):
                timeout = httpx.Timeout(connect=min(self.settings.connect_timeout_s, left),
                                        read=min(self.settings.read_timeout_s, left),
                                        write=min(self.settings.read_timeout_s, left), pool=left)
            try:
                with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
                    try:
                        return self._response(url, response, accept, limit, deadline)
                    except FetchError as exc:
                        if exc.retry_after:  # 429 or 503 with Retry-After: the whole run backs off
                            self._schedule.hold_off(host, min(exc.retry_after, MAX_RETRY_AFTER_S))
                        raise
            except BlockedAddress as exc:
                raise FetchError("blocked_address", str(exc), url) from None
            except httpx.TimeoutException as exc:
                raise FetchError("timeout", _detail(exc), url, retryable=True) from None
            except httpx.ConnectError as exc:
                raise FetchError("connect_error", _detail(exc), url) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                raise FetchError("connection_error", _detail(exc), url) from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise FetchError("bad_url", _detail(exc), url) from None
            except httpx.HTTPError as exc:
                raise FetchError("fetch_error", _detail(exc), url) from None

    def _response(self, url: str, response: httpx.Response, accept, limit: int, deadline: float) -> FetchResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status in REDIRECT_STATUSES or status == 304:
            return FetchResult(url, url, status, headers)
        if status >= 500:
            raise FetchError("http_5xx", f"HTTP {status} {response.reason_phrase}", url, retryable=True,
                             retry_after=_retry_after(headers.get("retry-after")))
        if status >= 300 or status in (204, 205):
            raise FetchError(f"http_{status}", f"HTTP {status} {response.reason_phrase}", url,
                             retry_after=_retry_after(headers.get("retry-after")) if status == 429 else None)
        mime, _ = parse_content_type(headers.get("content-type"))
        if accept is not None and mime is not None and mime not in accept:
            raise FetchError("bad_content_type", f"content type {mime} is not one of the accepted types", url)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"Content-Length {int(declared):,} exceeds {limit:,} bytes", url)
        body = _read_body(response, headers.get("content-encoding", ""), limit, deadline, url)
        return FetchResult(url, url, status, headers, body)

    # -- robots.txt --------------------------------------------------------------------------------

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        rules = self._robots_rules(origin, parts.hostname or "")
        if isinstance(rules, FetchError):
            raise FetchError("robots_unavailable", f"robots.txt of {origin} unreachable ({rules.reason}): "
                             "not fetching from this site for now", url)
        if rules is not None and not rules.can_fetch(url, self.settings.user_agent):
            raise FetchError("robots_disallowed", f"robots.txt of {origin} disallows {url}", url)

    def _robots_rules(self, origin: str, host: str) -> Protego | FetchError | None:
        with self._lock:
            lock = self._origin_locks.setdefault(origin, threading.Lock())
        with lock:
            cached = self._robots.get(origin)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            with self._shared_robots.exclusive(origin):  # one process of the run asks the site
                entry = self._shared_robots.get(origin)
                if entry is None:
                    entry, ttl = self._load_robots(origin)
                    self._shared_robots.put(origin, entry, ttl)
                else:
                    ttl = entry["expires"] - time.time()
            rules = _robots_from_entry(entry, origin)
            self._robots[origin] = (time.monotonic() + ttl, rules)
            if isinstance(rules, Protego):
                delay = rules.crawl_delay(self.settings.user_agent)
                if delay:
                    self._crawl_delay[host] = min(float(delay), MAX_CRAWL_DELAY_S)
            return rules

    def _load_robots(self, origin: str) -> tuple[dict, float]:
        """robots.txt of ``origin`` as a storable entry (``kind``: rules, none, error) and its lifetime."""
        try:
            result = self._follow(f"{origin}/robots.txt", {"Accept": "text/plain"}, None, ROBOTS_MAX_BYTES,
                                  robots=False, retries=min(1, self.settings.max_retries))
        except FetchError as exc:
            if exc.reason.startswith("http_4") or exc.reason in (
                    "too_large", "bad_content_type", "bad_encoding", "redirect_loop", "too_many_redirects",
                    "bad_redirect", "bad_scheme", "bad_url"):
                return {"kind": "none"}, ROBOTS_TTL_S  # no usable robots.txt (RFC 9309: like a 404): all allowed
            if exc.reason == "blocked_address":
                return {"kind": "none"}, ROBOTS_FAILURE_TTL_S  # the page fetch itself will be refused
            logger.warning("robots.txt of %s unreachable: %s", origin, exc.detail)
            return {"kind": "error", "reason": exc.reason, "detail": exc.detail}, ROBOTS_FAILURE_TTL_S
        return {"kind": "rules", "body": result.content.decode("utf-8", "replace")}, ROBOTS_TTL_S


def _robots_from_entry(entry: dict, origin: str) -> Protego | FetchError | None:
    if entry.get("kind") == "rules":
        return Protego.parse(entry.get("body", ""))
    if entry.get("kind") == "error":
        return FetchError(str(entry.get("reason", "fetch_error")), str(entry.get("detail", "")), f"{origin}/robots.txt")
    return None


class _Budget:
    """The time one URL may still take (its attempts and backoff); waiting for a host's turn extends it."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def extend(self, seconds: float) -> None:
        self.deadline += seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def _check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError("bad_url", str(exc), url) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("bad_scheme", f"only http and https are fetched, not {parts.scheme or 'no scheme'!r}", url)
    if not parts.hostname:
        raise FetchError("bad_url", "URL has no host", url)
    return url


def _read_body(response: httpx.Response, encoding: str, limit: int, deadline: float, url: str) -> bytes:
    """Stream the body, decoding gzip/deflate here, and stop as soon as more than ``limit`` bytes
    (raw or decoded) or more than the deadline has passed."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    else:
        raise FetchError("bad_encoding", f"unsupported Content-Encoding {encoding!r}", url)
    out = bytearray()
    raw_total = 0
    first = True
    for chunk in response.iter_raw():  # as the network delivers (no re-chunking)
        raw_total += len(chunk)
        if raw_total > limit:
            raise FetchError("too_large", f"body exceeds {limit:,} bytes", url)
        if time.monotonic() > deadline:
            raise FetchError("timeout", "response took longer than the fetch deadline", url, retryable=True)
        if decoder is None:
            out += chunk
            continue
        if first and encoding == "deflate" and chunk[:1] not in (b"\x78", b"\x1f"):
            decoder = zlib.decompressobj(wbits=-15)  # raw deflate, as some servers send it
        first = False
        try:
            decoder = _inflate(decoder, chunk, out, limit, url)
        except zlib.error as exc:
            raise FetchError("bad_encoding", f"corrupt {encoding} body: {exc}", url) from None
    if decoder is not None:
        out += decoder.flush(max(1, limit + 1 - len(out)))
        if len(out) > limit:
            raise FetchError("too_large", f"decompressed body exceeds {limit:,} bytes", url)
    return bytes(out)


def _inflate(decoder, data: bytes, out: bytearray, limit: int, url: str):
    """Decompress ``data`` into ``out`` without ever producing more than ``limit`` + 1 bytes."""
    while data:
        piece = decoder.decompress(data, limit + 1 - len(out))
        out += piece
        if len(out) > limit:
            raise FetchError("too_large", f"decompressed body exceeds {limit:,} bytes", url)
        if decoder.eof:  # a gzip stream of several members: start the next one; ignore trailing junk
            data = decoder.unused_data
            if not data.startswith(b"\x1f\x8b"):
                return decoder
            decoder = zlib.decompressobj(wbits=47)
        else:
            data = decoder.unconsumed_tail
    return decoder


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc or type(exc).__name__}"[:500]


_FETCHERS: dict[tuple, Fetcher] = {}
_FETCHERS_LOCK = threading.Lock()


def get_fetcher(settings: Settings) -> Fetcher:
    """The process-wide Fetcher for these fetch settings (created once, shared by threads)."""
    key = tuple(getattr(settings, name) for name in _FETCH_FIELDS)
    with _FETCHERS_LOCK:
        fetcher = _FETCHERS.get(key)
        if fetcher is None:
            fetcher = _FETCHERS[key] = Fetcher(settings)
        return fetcher


def close_fetchers() -> None:
    """Close every cached Fetcher (tests, end of a run)."""
    with _FETCHERS_LOCK:
        for fetcher in _FETCHERS.values():
            fetcher.close()
        _FETCHERS.clear()
