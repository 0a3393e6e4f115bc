"""Incremental fetch state: what earlier runs fetched, so a scheduled run fetches only what is new.

One SQLite file, ``<state_dir>/fetch_state.sqlite``:

- ``feeds``: per feed URL the ETag / Last-Modified of its last full fetch (for conditional GETs);
- ``urls``: canonical article URLs already handled (``done``; or ``rejected`` for permanent
  failures such as a 404 or a robots.txt disallow, so they are not asked for again every run);
- ``claims``: which feed of the current run fetches an article URL that several feeds list (a
  site's section feeds overlap), so that each page is fetched once per run even when the feeds
  are processed in different worker processes.  A claim is not a record of work done: the next run
  (another run id) takes over any claim left behind, and a retried batch re-claims its own
  URLs (same feed).  Claims are made only inside ``run_scope(run_id)``, which the pipeline sets
  around each batch.

Handlers only *read* the state and yield ``ingest.records.StateUpdate`` records; the pipeline calls
``FetchState.apply(updates)`` once the articles of those records are written.  A crash before that
leaves the state as it was: the next run fetches those entries again (nothing lost), and nothing
is marked done that was not written.
"""
from __future__ import annotations

import contextvars
import logging
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from ingest.records import StateUpdate
from ingest.sources.urls import canonicalize

logger = logging.getLogger(__name__)

FILENAME = "fetch_state.sqlite"
KINDS = ("feed", "url")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    origin TEXT,
    reason TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    url TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    holder TEXT NOT NULL
);
"""

_RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("ingest_run_id", default=None)


@contextmanager
def run_scope(run_id: str) -> Iterator[None]:
    """Within this block, feeds claim the article URLs they fetch for run ``run_id``."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def current_run_id() -> str | None:
    return _RUN_ID.get()


class FetchState:
    """Read and update the fetch state under ``state_dir`` (thread-safe: one connection per thread)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._connection() as conn:
            conn.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    # -- reading -------------------------------------------------------------------------------------

    def feed_validators(self, feed_url: str) -> tuple[str | None, str | None] | None:
        """(ETag, Last-Modified) of the feed's last full fetch, or None if never fetched."""
        row = self._connection().execute(
            "SELECT etag, last_modified FROM feeds WHERE url = ?", (_key(feed_url),)).fetchone()
        return (row[0], row[1]) if row else None

    def is_done(self, url: str) -> bool:
        """True when the URL was fetched (or permanently rejected) by an earlier run."""
        return self._connection().execute(
            "SELECT 1 FROM urls WHERE url = ?", (_key(url),)).fetchone() is not None

    def known(self, urls: Iterable[str]) -> set[str]:
        """The subset of ``urls`` (as given) that earlier runs handled."""
        given = {u: _key(u) for u in urls}
        found: set[str] = set()
        keys = list(set(given.values()))
        conn = self._connection()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = conn.execute(f"SELECT url FROM urls WHERE url IN ({','.join('?' * len(chunk))})", chunk)
            found.update(r[0] for r in rows)
        return {u for u, k in given.items() if k in found}

    def url_record(self, url: str) -> dict | None:
        row = self._connection().execute(
            "SELECT status, origin, reason, updated_at FROM urls WHERE url = ?", (_key(url),)).fetchone()
        return dict(zip(("status", "origin", "reason", "updated_at"), row)) if row else None

    def counts(self) -> dict[str, int]:
        conn = self._connection()
        return {"feeds": conn.execute("SELECT count(*) FROM feeds").fetchone()[0],
                "urls": conn.execute("SELECT count(*) FROM urls").fetchone()[0],
                "claims": conn.execute("SELECT count(*) FROM claims").fetchone()[0]}

    # -- writing -------------------------------------------------------------------------------------

    def claim(self, urls: Iterable[str], run_id: str, holder: str) -> set[str]:
        """The subset of ``urls`` (as given) that ``holder`` (a feed) may fetch in run ``run_id``:
        those no other feed of the same run claimed first.  Claims of other runs are taken over."""
        won: set[str] = set()
        conn = self._connection()
        with conn:
            for url in urls:
                cursor = conn.execute(
                    "INSERT INTO claims (url, run_id, holder) VALUES (?, ?, ?) ON CONFLICT(url) DO UPDATE "
                    "SET run_id = excluded.run_id, holder = excluded.holder "
                    "WHERE claims.run_id <> excluded.run_id OR claims.holder = excluded.holder",
                    (_key(url), run_id, holder))
                if cursor.rowcount:
                    won.add(url)
        return won

    def apply(self, updates: Iterable[StateUpdate]) -> int:
        """Record the updates in one transaction; returns how many were applied.  Updates of kinds
        this state does not keep are ignored (other state stores may use StateUpdate too)."""
        now = datetime.now(timezone.utc).isoformat()
        applied = 0
        conn = self._connection()
        with conn:  # one transaction: all or nothing
            for update in updates:
                if update.kind == "feed":
                    conn.execute(
                        "INSERT INTO feeds (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
                        "last_modified = excluded.last_modified, updated_at = excluded.updated_at",
                        (_key(update.key), update.value.get("etag"), update.value.get("last_modified"), now))
                elif update.kind == "url":
                    conn.execute(
                        "INSERT INTO urls (url, status, origin, reason, updated_at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT(url) DO UPDATE SET status = excluded.status, origin = excluded.origin, "
                        "reason = excluded.reason, updated_at = excluded.updated_at",
                        (_key(update.key), update.value.get("status", "done"), update.value.get("origin"),
                         update.value.get("reason"), now))
                    conn.execute("DELETE FROM claims WHERE url = ?", (_key(update.key),))  # handled: no claim needed
                else:
                    logger.debug("fetch state ignores a %r update", update.kind)
                    continue
                applied += 1
        return applied

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # closed from another thread's point of view
                    pass
            self._connections.clear()
        self._local = threading.local()


def _key(url: str) -> str:
    try:
        return canonicalize(url)
    except ValueError:
        return url.strip()


_STATES: dict[str, FetchState] = {}
_STATES_LOCK = threading.Lock()


def open_state(state_dir: str | Path | None) -> FetchState | None:
    """The process-wide FetchState for ``state_dir`` (None when there is no state directory)."""
    if state_dir is None:
        return None
    key = str(Path(state_dir).resolve())
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = _STATES[key] = FetchState(key)
        return state


def close_states() -> None:
    with _STATES_LOCK:
        for state in _STATES.values():
            state.close()
        _STATES.clear()
