"""Guards against hostile input: a per-document time limit and text that can always be written.

``time_limit(seconds)`` bounds the wall time of a block of Python code (trafilatura on a
pathological page, language identification of a document with 100,000 lines).  When the time is
up the block raises ``DocumentTimeout``.

How: one watchdog thread per process keeps the deadlines; when one passes it raises
``DocumentTimeout`` *asynchronously in the thread running the block*
(``PyThreadState_SetAsyncExc``).  This works in the main thread, in a thread-pool worker thread
(Prefect's thread pool task runner, where ``signal.alarm`` cannot be used because signals are only
delivered to the main thread) and in a pool process alike, and it does not take the process's one
SIGALRM away from anyone.  Trade-offs, documented in docs/reliability.md:

- the exception is delivered between Python bytecodes, so a single long call into C code (one
  lxml parse, one regular expression) finishes before it fires.  Those calls are bounded by
  limiting the input first (``max_document_bytes``; lxml's own depth limit of 256 levels;
  ``language_max_chars``).  A subprocess with a hard kill would also bound C calls, at the cost of
  shipping every document to another process;
- ``DocumentTimeout`` derives from ``BaseException`` so that the libraries' own
  ``except Exception`` handlers cannot swallow it;
- CPython only (ctypes.pythonapi).  Elsewhere ``time_limit`` does nothing and says so once.

``clean_text`` / ``scrub`` replace lone surrogates (from JSON ``"\\ud800"`` escapes or from file
names that are not UTF-8) which Arrow refuses to write: one such record must not fail its batch.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from ingest.compat import ASYNC_RAISE_SUPPORTED, async_raise

logger = logging.getLogger(__name__)


REFIRE_S = 0.1  # a timeout that went astray is raised again this much later


class DocumentTimeout(BaseException):
    """The time limit of one document ran out (a BaseException: ``except Exception`` won't catch it)."""


# --- the watchdog ----------------------------------------------------------------------------

class _Watchdog:
    """One daemon thread per process firing DocumentTimeout into threads whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []  # (deadline, token)
        self._active: dict[int, int] = {}  # token -> thread ident
        self._fired: set[int] = set()
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._pid = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="ingest-watchdog", daemon=True)
            self._thread.start()

    def arm(self, seconds: float) -> int:
        with self._cond:
            self._ensure_thread()
            token = next(self._tokens)
            self._active[token] = threading.get_ident()
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._heap[0][1] == token:  # the earliest deadline now: wake the watchdog to re-plan
                self._cond.notify()
            return token

    def disarm(self, token: int) -> bool:
        """Stop watching ``token``; True when it had fired (a pending exception is then cleared)."""
        with self._cond:
            fired = token in self._fired
            self._fired.discard(token)
            ident = self._active.pop(token, None)
            if fired and ident is not None:
                # fired but maybe not delivered yet: clear it so it cannot escape the guarded block
                async_raise(ident, None)
            return fired

    def _loop(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._fired.add(token)
                async_raise(self._active[token], DocumentTimeout)
                # again until the block ends: an exception delivered inside a ``__del__`` or a
                # garbage-collector callback is printed and dropped by Python (seen with lxml)
                heapq.heappush(self._heap, (time.monotonic() + REFIRE_S, token))


_WATCHDOG = _Watchdog()


def _after_fork_in_child() -> None:
    # a forked child has no watchdog thread and may have copied a lock held by it: start afresh
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_SUPPORTED = ASYNC_RAISE_SUPPORTED


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise DocumentTimeout in this thread if the block runs longer than ``seconds``
    (None or <= 0: no limit).  An exception that went astray inside the block (delivered during a
    ``__del__`` or a garbage-collector callback, where Python prints and drops it) is raised again
    every ``REFIRE_S``, and a block whose deadline passed raises on exit: its result may be half-made."""
    if not seconds or seconds <= 0 or not _SUPPORTED:
        if seconds and not _SUPPORTED:
            logger.warning("per-document time limits need CPython; running without one")
        yield
        return
    token = _WATCHDOG.arm(seconds)
    try:
        yield
    finally:
        fired = _WATCHDOG.disarm(token)  # after this no DocumentTimeout can arrive for this block
    if fired:
        raise DocumentTimeout


_warming: dict = {}  # key -> Event, set once its warm-up is over
_warming_lock = threading.Lock()


def warm_once(key: object, fn: Callable[[], object]) -> None:
    """Run ``fn`` once per process, *outside* any time limit: lazy model loading and first imports
    must neither count against the first document's limit nor be interrupted half-way (a module
    or model cache left half-initialised would break every later document).  A caller arriving
    while another thread runs the same warm-up (a background warm-up at start) waits for it."""
    with _warming_lock:
        done = _warming.get(key)
        mine = done is None
        if mine:
            done = _warming[key] = threading.Event()
    if not mine:
        done.wait()
        return
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the real call will report the problem per document
        logger.debug("warm-up %r failed: %s", key, exc)
    finally:
        done.set()


# --- text that Arrow can write ---------------------------------------------------------------

def clean_text(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD (unchanged, and cheap, when there are none)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


R = TypeVar("R")


def scrub(record: R) -> R:
    """Make every string field of a record (Article, Reject, Segment; lists of strings) writable."""
    if not dataclasses.is_dataclass(record):
        return record
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, str):
            cleaned = clean_text(value)
            if cleaned is not value:
                setattr(record, f.name, cleaned)
        elif isinstance(value, list) and value:
            setattr(record, f.name, [clean_text(v) if isinstance(v, str) else scrub(v) for v in value])
    return record
