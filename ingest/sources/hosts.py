"""What a run shares per host across all its threads *and* worker processes: the request-rate
schedule and the robots.txt cache.

Each worker process has its own ``Fetcher``; without sharing, ``--per-host-rate 2`` with two
workers was 4 requests/s and robots.txt was fetched once per process.  With a directory (the
run's state directory) these live in small files under ``<dir>/hosts/``, one per host, updated
under ``flock``:

- ``<host>.rate`` holds the wall-clock time before which no request to that host may start.  A
  request reserves its start (``max(now, that time)``) and moves the time on by the interval, so
  request starts are at least ``1 / per_host_rate`` seconds apart whichever process makes them.
  ``Retry-After`` (a 429 or a 503) and ``Crawl-delay`` move it further.
- ``<origin>.robots.json`` is one process's answer for robots.txt (the body, "no rules" or
  "unreachable") with its expiry; the others read it instead of asking the site again.  The
  process that fetches holds ``<origin>.robots.lock`` meanwhile, so the others wait for it.

Without a directory (a library user's ``Fetcher``, tests) the same schedule is kept in memory,
shared by the threads of the process.  On a system without ``fcntl`` the files are not used.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from contextlib import contextmanager
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: per process only
    fcntl = None  # type: ignore[assignment]

SUBDIR = "hosts"


def file_key(name: str) -> str:
    """A file-name-safe, unique key for a host or an origin."""
    readable = re.sub(r"[^a-z0-9.-]+", "_", name.lower())[:80]
    return f"{readable}-{hashlib.sha1(name.encode('utf-8', 'replace')).hexdigest()[:8]}"


@contextmanager
def _locked(path: str) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


class HostSchedule:
    """When the next request to each host may start (see the module's docstring)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = os.path.join(directory, SUBDIR) if directory and fcntl is not None else None
        if self.directory:
            os.makedirs(self.directory, exist_ok=True)
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str, interval: float) -> float:
        """Reserve the next start for ``host`` (a wall-clock time, maybe now) and keep the one after
        it at least ``interval`` seconds later."""
        return self._update(host, lambda now, nxt: (max(now, nxt), max(now, nxt) + interval))

    def hold_off(self, host: str, seconds: float) -> None:
        """No request to ``host`` starts in the next ``seconds`` (Retry-After)."""
        self._update(host, lambda now, nxt: (now, max(nxt, now + seconds)))

    def _update(self, host: str, change) -> float:
        with self._lock:
            now = time.time()
            if self.directory is None:
                result, self._next[host] = change(now, self._next.get(host, 0.0))
                return result
            with _locked(os.path.join(self.directory, file_key(host) + ".rate")) as fd:
                raw = os.pread(fd, 64, 0)
                try:
                    nxt = float(raw.decode("ascii") or 0.0)
                except ValueError:
                    nxt = 0.0
                result, nxt = change(now, nxt)
                data = repr(nxt).encode("ascii")
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
                return result


class SharedRobots:
    """robots.txt answers shared by the processes of a run through files (no directory: none)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = os.path.join(directory, SUBDIR) if directory and fcntl is not None else None
        if self.directory:
            os.makedirs(self.directory, exist_ok=True)

    @contextmanager
    def exclusive(self, origin: str) -> Iterator[None]:
        """Held while one process reads or fetches ``origin``'s robots.txt."""
        if self.directory is None:
            yield
            return
        with _locked(os.path.join(self.directory, file_key(origin) + ".robots.lock")):
            yield

    def get(self, origin: str) -> dict | None:
        """The stored answer (``{"kind": "rules"|"none"|"error", ...}``) while it has not expired."""
        if self.directory is None:
            return None
        try:
            with open(os.path.join(self.directory, file_key(origin) + ".robots.json"), encoding="utf-8") as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not entry.get("expires", 0) > time.time():
            return None
        return entry

    def put(self, origin: str, entry: dict, ttl: float) -> None:
        if self.directory is None:
            return
        path = os.path.join(self.directory, file_key(origin) + ".robots.json")
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({**entry, "expires": time.time() + ttl}, fh)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
