"""The persistent dedup index: one SQLite database, written inside one open transaction.

Everything ``StoryIndex.assign`` adds goes into the same transaction (queries in the same
connection see it, so articles of one batch find each other); ``commit()`` makes it durable at
once, and a crash before ``commit()`` leaves the previous committed index untouched (SQLite's
journal rolls the half-written transaction back at the next open).  ``state_dir=None`` uses an
in-memory database.

Tables: ``docs`` (one row per article: its assignment, MinHash, story vector), ``stories``
(canonical member and size), ``bands`` (LSH band key -> doc), ``postings`` (salient term,
time bucket -> doc), ``df`` (document frequency per term, for IDF), ``meta``.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ingest.stories.signatures import BANDS, MINHASH_SEED, NUM_PERM, StoryVector

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
DB_NAME = "dedup.sqlite"
UNDATED_BUCKET = -1
_CHUNK = 500  # SQLite variables per IN (...) query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    story_id TEXT NOT NULL,
    duplicate_of TEXT,
    level TEXT,
    similarity REAL,
    content_hash TEXT,
    exact_key TEXT,
    ts REAL,
    lang TEXT,
    n_shingles INTEGER NOT NULL,
    minhash BLOB NOT NULL,
    vec BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_exact ON docs (exact_key);
CREATE TABLE IF NOT EXISTS stories (
    story_id TEXT PRIMARY KEY,
    canonical TEXT NOT NULL,
    size INTEGER NOT NULL,
    first_ts REAL,
    last_ts REAL
);
CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings (term INTEGER NOT NULL, bucket INTEGER NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY (term, bucket, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS df (term INTEGER PRIMARY KEY, n INTEGER NOT NULL);
"""


class IndexMismatch(RuntimeError):
    """The index on disk was built with other parameters (schema, MinHash or bucket size)."""


@dataclass
class DocRow:
    id: int
    article_id: str
    story_id: str
    duplicate_of: str | None
    level: str | None
    similarity: float | None
    ts: float | None
    lang: str
    n_shingles: int
    minhash: np.ndarray
    vec: StoryVector


class DedupStore:
    def __init__(self, state_dir: str | None, bucket_seconds: float) -> None:
        if state_dir is None:
            self.path = ":memory:"
        else:
            os.makedirs(state_dir, exist_ok=True)
            self.path = os.path.join(state_dir, DB_NAME)
        self.conn = sqlite3.connect(self.path, isolation_level="DEFERRED", timeout=60.0)
        if state_dir is not None:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
        self.conn.execute("PRAGMA cache_size=-16384")  # 16 MiB of pages
        self.conn.executescript(_SCHEMA)
        self._check_meta(bucket_seconds)
        self.n_docs = int(self._meta("n_docs") or 0)
        self.bucket_seconds = float(self._meta("bucket_seconds"))
        self._df_cache: dict[int, int] = {}
        self._df_delta: dict[int, int] = {}

    # -- meta ----------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _check_meta(self, bucket_seconds: float) -> None:
        wanted = {"schema": SCHEMA_VERSION, "minhash": f"{NUM_PERM}/{BANDS}/{MINHASH_SEED}/affine32"}
        if self._meta("schema") is None:
            rows = list(wanted.items()) + [("bucket_seconds", repr(float(bucket_seconds))), ("n_docs", "0")]
            self.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
            self.conn.commit()
            return
        for key, value in wanted.items():
            if self._meta(key) != value:
                raise IndexMismatch(f"dedup index {self.path}: {key} is {self._meta(key)!r}, this code needs "
                                    f"{value!r}; move the old index away to rebuild it")

    # -- document frequencies --------------------------------------------------------------------
    def document_frequencies(self, terms: Iterable[int]) -> dict[int, int]:
        """df of each term: committed count + this session's additions (cached)."""
        missing = [t for t in set(terms) if t not in self._df_cache]
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i:i + _CHUNK]
            found = dict(self.conn.execute(
                f"SELECT term, n FROM df WHERE term IN ({','.join('?' * len(chunk))})", chunk).fetchall())
            for t in chunk:
                self._df_cache[t] = found.get(t, 0)
        return self._df_cache

    def add_document_terms(self, terms: Iterable[int]) -> None:
        terms = list(terms)
        self.document_frequencies(terms)
        for t in terms:
            self._df_cache[t] += 1
            self._df_delta[t] = self._df_delta.get(t, 0) + 1
        self.n_docs += 1

    # -- lookups -----------------------------------------------------------------------------------
    def assignment(self, article_id: str) -> tuple | None:
        return self.conn.execute(
            "SELECT story_id, duplicate_of, level, similarity FROM docs WHERE article_id = ?",
            (article_id,)).fetchone()

    def exact(self, exact_key: str) -> tuple[int, str] | None:
        return self.conn.execute(
            "SELECT id, story_id FROM docs WHERE exact_key = ? ORDER BY id LIMIT 1", (exact_key,)).fetchone()

    def band_candidates(self, keys: list[int], limit: int) -> list[int]:
        rows = self.conn.execute(
            f"SELECT doc, COUNT(*) AS c FROM bands WHERE key IN ({','.join('?' * len(keys))}) "
            f"GROUP BY doc ORDER BY c DESC, doc LIMIT ?", (*keys, limit)).fetchall()
        return [r[0] for r in rows]

    def posting_candidates(self, terms: list[int], buckets: tuple[int, int] | None, per_term: int,
                           limit: int) -> list[int]:
        """Docs sharing index terms, most shared first.  Per term at most ``per_term`` docs of the
        time buckets ``lo..hi`` (``buckets``), newest bucket first, plus at most ``per_term``
        undated docs; ``buckets=None``: any time bucket, newest first.  Each lookup walks the
        (term, bucket, doc) key backwards and stops at its limit, so its cost does not grow with
        the number of docs posted under a frequent term."""
        if not terms:
            return []
        args: list = []
        if buckets is None:
            part = "SELECT doc FROM (SELECT doc FROM postings WHERE term = ? ORDER BY bucket DESC, doc DESC LIMIT ?)"
            for t in terms:
                args += [t, per_term]
        else:
            part = ("SELECT doc FROM (SELECT doc FROM postings WHERE term = ? AND bucket BETWEEN ? AND ? "
                    "ORDER BY bucket DESC, doc DESC LIMIT ?) UNION ALL "
                    "SELECT doc FROM (SELECT doc FROM postings WHERE term = ? AND bucket = ? "
                    "ORDER BY doc DESC LIMIT ?)")
            for t in terms:
                args += [t, buckets[0], buckets[1], per_term, t, UNDATED_BUCKET, per_term]
        counts: dict[int, int] = {}
        for (doc,) in self.conn.execute(" UNION ALL ".join([part] * len(terms)), args):
            counts[doc] = counts.get(doc, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [doc for doc, _ in ranked[:limit]]

    def docs(self, ids: list[int]) -> list[DocRow]:
        out = []
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            rows = self.conn.execute(
                "SELECT id, article_id, story_id, duplicate_of, level, similarity, ts, lang, n_shingles, "
                f"minhash, vec FROM docs WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            for r in rows:
                out.append(DocRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                  np.frombuffer(r[9], dtype="<u4"), StoryVector.from_blob(r[10])))
        out.sort(key=lambda d: d.id)
        return out

    def canonical(self, story_id: str) -> str:
        row = self.conn.execute("SELECT canonical FROM stories WHERE story_id = ?", (story_id,)).fetchone()
        return row[0]

    # -- writes (inside the open transaction) ------------------------------------------------------
    def add(self, *, article_id: str, story_id: str, duplicate_of: str | None, level: str | None,
            similarity: float | None, content_hash: str, exact_key: str, ts: float | None, lang: str,
            n_shingles: int, minhash: np.ndarray, vec: StoryVector, bands: list[int],
            new_story: bool) -> int:
        cur = self.conn.execute(
            "INSERT INTO docs (article_id, story_id, duplicate_of, level, similarity, content_hash, "
            "exact_key, ts, lang, n_shingles, minhash, vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, story_id, duplicate_of, level, similarity, content_hash, exact_key, ts, lang,
             n_shingles, minhash.astype("<u4").tobytes(), vec.to_blob()))
        doc = cur.lastrowid
        if bands:
            self.conn.executemany("INSERT OR IGNORE INTO bands (key, doc) VALUES (?, ?)",
                                  [(k, doc) for k in bands])
        bucket = self.bucket(ts)
        self.conn.executemany("INSERT OR IGNORE INTO postings (term, bucket, doc) VALUES (?, ?, ?)",
                              [(t, bucket, doc) for t in vec.keys])
        if new_story:
            self.conn.execute("INSERT INTO stories (story_id, canonical, size, first_ts, last_ts) "
                              "VALUES (?, ?, 1, ?, ?)", (story_id, article_id, ts, ts))
        else:
            self.conn.execute(
                "UPDATE stories SET size = size + 1, "
                "first_ts = MIN(COALESCE(first_ts, ?), COALESCE(?, first_ts)), "
                "last_ts = MAX(COALESCE(last_ts, ?), COALESCE(?, last_ts)) WHERE story_id = ?",
                (ts, ts, ts, ts, story_id))
        return doc

    def bucket(self, ts: float | None) -> int:
        return UNDATED_BUCKET if ts is None else int(ts // self.bucket_seconds)

    def commit(self) -> None:
        if self._df_delta:
            self.conn.executemany(
                "INSERT INTO df (term, n) VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET n = n + excluded.n",
                list(self._df_delta.items()))
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'n_docs'", (str(self.n_docs),))
        self.conn.commit()
        self._df_delta.clear()
        self._df_cache.clear()  # bounded memory: re-read from the table when needed

    def rollback(self) -> None:
        """Forget everything since the last commit (also the cached document frequencies)."""
        self.conn.rollback()
        self._df_cache.clear()
        self._df_delta.clear()
        self.n_docs = int(self._meta("n_docs") or 0)

    def close(self) -> None:
        self.conn.close()
