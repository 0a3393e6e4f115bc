"""Guards against hostile input: a per-document time limit and text that can always be written.

``call_with_time_limit(seconds, fn, *args)`` bounds the wall time of one call (trafilatura on a
pathological page, language identification of a document with 100,000 lines).  When the time is
up the call raises ``DocumentTimeout``.

How: one watchdog thread per process keeps the deadlines; when one passes it raises
``DocumentTimeout`` *asynchronously in the thread running the call*
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
- CPython only (ctypes.pythonapi).  Elsewhere the call runs without a limit and says so once.

An asynchronous exception can land at *any* bytecode, also inside the guard's own bookkeeping.
So the guarded thread never takes a lock the watchdog holds (an exception raised right after a
``with lock:`` acquired it leaves the lock held for ever: seen in CI, the watchdog then hung):
it only posts messages to the watchdog (``queue.SimpleQueue``, lock-free from Python), and the
end of a call is a handshake that is safe to repeat when a timeout lands in the middle of it.
The API is a function call rather than a ``with`` block for the same reason: a ``with`` block's
exit runs code of the context manager's that an exception can interrupt before its ``finally``.

``clean_text`` / ``scrub`` replace lone surrogates (from JSON ``"\\ud800"`` escapes or from file
names that are not UTF-8) which Arrow refuses to write: one such record must not fail its batch.
"""
from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, TypeVar

from ingest.compat import ASYNC_RAISE_SUPPORTED, async_raise

logger = logging.getLogger(__name__)


REFIRE_S = 0.1  # a timeout that went astray is raised again this much later
_COMPACT_AT = 1024  # the watchdog drops the entries of ended calls once it holds this many

T = TypeVar("T")


class DocumentTimeout(BaseException):
    """The time limit of one document ran out (a BaseException: ``except Exception`` won't catch it)."""


# --- the watchdog ----------------------------------------------------------------------------

class _Watchdog:
    """One daemon thread per process firing DocumentTimeout into threads whose deadline passed.

    The guarded thread never takes a lock the watchdog holds.  What it shares with the watchdog
    are single operations that are atomic in CPython (a dict's ``pop``, a deque's ``append``):

    - ``_armed`` (token -> thread): while a token is in it the watchdog may fire it; whoever pops
      it first owns it.  The watchdog pops it, fires, and puts it back for a re-fire;
    - ``_new`` (deque): tokens armed since the watchdog last looked; it is woken (``_wake``) only
      when a new deadline is earlier than the one it sleeps towards, so a call costs microseconds;
    - ending a call pops the token: got it, and nothing more will fire; did not (the watchdog is
      between its pop and put-back), then a drop message and the watchdog's acknowledgement.
      Either way a delivery still pending is then cleared, and the steps are safe to repeat when
      a timeout lands in the middle of them."""

    def __init__(self) -> None:
        self._armed: dict[int, int] = {}
        self._fired: set[int] = set()  # tokens fired at least once (added before the put-back)
        self._new: collections.deque = collections.deque()  # (deadline, token)
        self._wake: queue.SimpleQueue = queue.SimpleQueue()  # None (look at _new) or a drop
        self._acks: dict[int, bool] = {}  # dropped token -> fired; written by the watchdog only
        self._next_wake = float("inf")  # written by the watchdog only
        self._tokens = itertools.count(1)
        self._local = threading.local()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.heap: list[tuple[float, int]] = []  # the watchdog thread's own (read by tests)

    def new_token(self) -> int:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            with self._start_lock:  # not armed yet: no timeout of this call can land here
                if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._loop, name="ingest-watchdog", daemon=True)
                    self._thread.start()
        return next(self._tokens)

    def arm(self, token: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self._armed[token] = threading.get_ident()
        self._new.append((deadline, token))
        if deadline < self._next_wake or len(self._new) >= _COMPACT_AT:  # read after the append: see _loop
            self._wake.put(None)  # (also when many calls wait to be filed: long limits, many documents)

    def disarm(self, token: int) -> bool:
        """Stop watching ``token``; True when it fired.  Safe to call again when a DocumentTimeout
        interrupted an earlier call."""
        if self._armed.pop(token, None) is not None:  # the watchdog will not fire it any more
            fired = token in self._fired
            if fired:
                async_raise(threading.get_ident(), None)  # clear a delivery still pending
                self._fired.discard(token)
            return fired
        if token not in self._acks:  # the watchdog is firing it right now (or it was never armed)
            replies = getattr(self._local, "replies", None)
            if replies is None:
                replies = self._local.replies = queue.SimpleQueue()
            self._wake.put((token, replies))
            while token not in self._acks:
                try:
                    replies.get(timeout=1.0)  # stale acknowledgements of earlier drops are skipped
                except queue.Empty:
                    pass
        async_raise(threading.get_ident(), None)
        return self._acks.pop(token)

    def _loop(self) -> None:
        # (deadline, token); tokens ended in time leave at their deadline, or when they outnumber
        # the live ones (a limit of an hour and 100 documents a second must not hold 360,000)
        heap = self.heap = []
        while True:
            now = time.monotonic()
            while heap and heap[0][0] <= now:
                _, token = heapq.heappop(heap)
                ident = self._armed.pop(token, None)
                if ident is None:
                    continue  # ended in time
                async_raise(ident, DocumentTimeout)
                self._fired.add(token)
                self._armed[token] = ident
                # again until the call ends: an exception delivered inside a ``__del__`` or a
                # garbage-collector callback is printed and dropped by Python (seen with lxml)
                heapq.heappush(heap, (now + REFIRE_S, token))
            self._next_wake = heap[0][0] if heap else float("inf")
            if self._new:  # after publishing _next_wake: an arm that read the old value is seen here
                while self._new:
                    heapq.heappush(heap, self._new.popleft())
                if len(heap) >= _COMPACT_AT and len(heap) > 4 * len(self._armed):
                    heap[:] = [entry for entry in heap if entry[1] in self._armed]
                    heapq.heapify(heap)
                continue
            try:
                message = self._wake.get(timeout=max(0.0, self._next_wake - now) if heap else None)
            except queue.Empty:
                continue
            if message is not None:
                token, replies = message
                self._armed.pop(token, None)
                self._acks.setdefault(token, token in self._fired)  # a repeated drop keeps the first answer
                self._fired.discard(token)
                replies.put(token)


_WATCHDOG = _Watchdog()


def _after_fork_in_child() -> None:
    # a forked child has no watchdog thread: start afresh (nothing of the parent's carries over)
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_SUPPORTED = ASYNC_RAISE_SUPPORTED
_warned_unsupported = False


def call_with_time_limit(seconds: float | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, raising DocumentTimeout in this thread if it runs longer than
    ``seconds`` (None or <= 0: no limit).  A timeout that went astray inside the call (delivered
    during a ``__del__`` or a garbage-collector callback, where Python prints and drops it) is
    raised again every ``REFIRE_S``, and a call whose deadline passed raises DocumentTimeout even
    when it returned: its result may be half-made."""
    global _warned_unsupported
    if not seconds or seconds <= 0 or not _SUPPORTED:
        if seconds and not _SUPPORTED and not _warned_unsupported:
            _warned_unsupported = True
            logger.warning("per-document time limits need CPython; running without one")
        return fn(*args, **kwargs)
    watchdog = _WATCHDOG
    token = watchdog.new_token()
    interrupted = False
    try:
        watchdog.arm(token, seconds)
        result = fn(*args, **kwargs)
    finally:
        while True:  # a timeout landing inside the handshake is caught and the handshake repeated
            try:
                fired = watchdog.disarm(token)
                break
            except DocumentTimeout:
                interrupted = True
    if fired or interrupted:
        raise DocumentTimeout
    return result


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
