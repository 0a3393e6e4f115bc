"""The persistent dedup index: one SQLite database, written inside one open transaction.

Everything ``StoryIndex.assign`` adds goes into the same transaction (queries in the same
connection see it, so articles of one batch find each other); ``commit()`` makes it durable at
once, and a crash before ``commit()`` leaves the previous committed index untouched (SQLite's
journal rolls the half-written transaction back at the next open).  ``state_dir=None`` uses an
in-memory database.

Tables: ``docs`` (one row per article: its assignment as written, its current story, MinHash,
lexical vector, embeddings), ``stories`` (current stories: canonical member, size),
``story_merges`` (every story id that was merged away -> the story it is part of now, path
compressed: one lookup resolves any id ever written), ``weak_links`` (pairs of docs with a weak
story link), ``bands`` (LSH band key -> doc), ``postings`` (salient term, time bucket -> doc),
``meta`` (schema, MinHash parameters, embedding models).

The embeddings are also held in an in-memory nearest-neighbour index per model (``usearch``).
The ``docs`` table is the truth: ``close`` saves each index beside the database (atomically, only
committed vectors), and the next open loads that file and brings it up to the committed docs
(adds what a run that ended without ``close`` committed, drops keys the database lacks); without
a usable file the index is rebuilt from ``docs``, which costs ~1-2 ms of CPU per vector (minutes
at 100,000 articles).  So the index is exactly as durable as the committed transaction
(``rollback`` removes what was added since the last commit).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ingest.stories.signatures import BANDS, MINHASH_SEED, NUM_PERM, StoryVector

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "3"  # 3: title words in the story vectors
EXACT_SEARCH_LIMIT = 20_000  # below this many vectors the neighbour search is exact (brute force)
DB_NAME = "dedup.sqlite"
UNDATED_BUCKET = -1
_CHUNK = 500  # SQLite variables per IN (...) query
DECODED_CACHE = 4096  # decoded candidate rows kept (~10 KB each)

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
    vec BLOB NOT NULL,
    text_len INTEGER NOT NULL DEFAULT 0,
    cur_story TEXT NOT NULL,
    use BLOB,
    e5 BLOB
);
CREATE INDEX IF NOT EXISTS docs_exact ON docs (exact_key);
CREATE INDEX IF NOT EXISTS docs_cur ON docs (cur_story);
CREATE TABLE IF NOT EXISTS stories (
    story_id TEXT PRIMARY KEY,
    canonical TEXT NOT NULL,
    canonical_doc INTEGER NOT NULL,
    size INTEGER NOT NULL,
    first_ts REAL,
    last_ts REAL
);
CREATE TABLE IF NOT EXISTS story_merges (story_id TEXT PRIMARY KEY, current_story_id TEXT NOT NULL,
    merged_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS story_merges_current ON story_merges (current_story_id);
CREATE TABLE IF NOT EXISTS weak_links (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS weak_links_b ON weak_links (b);
CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings (term INTEGER NOT NULL, bucket INTEGER NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY (term, bucket, doc)) WITHOUT ROWID;
"""


class IndexMismatch(RuntimeError):
    """The index on disk was built with other parameters (schema, MinHash, bucket size, models)."""


@dataclass
class DocRow:
    id: int
    article_id: str
    story_id: str  # the doc's current story
    ts: float | None
    lang: str
    n_shingles: int
    minhash: np.ndarray
    vec: StoryVector
    use: np.ndarray | None
    e5: np.ndarray | None


@dataclass
class StoryRow:
    story_id: str
    canonical: str
    canonical_doc: int
    size: int
    first_ts: float | None
    last_ts: float | None


def _blob(vec: np.ndarray | None) -> bytes | None:
    return None if vec is None else np.asarray(vec, dtype="<f2").tobytes()


def _unblob(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<f2").astype(np.float32)


class _Vectors:
    """Nearest-neighbour search over one model's vectors (cosine), keyed by doc id."""

    def __init__(self, ndim: int) -> None:
        from usearch.index import Index

        self.ndim = ndim
        self.index = Index(ndim=ndim, metric="cos", dtype="f16")
        self.added: list[int] = []  # since the last commit

    def add(self, doc: int, vec: np.ndarray, fresh: bool = True) -> None:
        self.index.add(doc, np.asarray(vec, dtype=np.float32))
        if fresh:
            self.added.append(doc)

    def nearest(self, vec: np.ndarray, k: int) -> list[int]:
        n = len(self.index)
        if n == 0:
            return []
        m = self.index.search(np.asarray(vec, dtype=np.float32), min(k, n), exact=n <= EXACT_SEARCH_LIMIT)
        return [int(key) for key in m.keys]

    def commit(self) -> None:
        self.added.clear()

    def rollback(self) -> None:
        if self.added:
            self.index.remove(self.added)
        self.added.clear()

    def load(self, path: str) -> bool:
        """Load a saved index; False (and an empty index) when the file is missing or unusable."""
        if not os.path.exists(path):
            return False
        try:
            self.index.load(path)
            if self.index.ndim != self.ndim:
                raise ValueError(f"{self.index.ndim} dimensions, expected {self.ndim}")
            return True
        except (OSError, RuntimeError, ValueError) as exc:
            logger.warning("story index: could not load %s (%s); rebuilding it from the database", path, exc)
            self.index.reset()
            return False

    def save(self, path: str) -> None:
        """Write the committed vectors to ``path`` atomically (a crash leaves the old file or none)."""
        self.rollback()  # nothing uncommitted goes to disk
        tmp = path + ".tmp"
        self.index.save(tmp)
        os.replace(tmp, path)


class DedupStore:
    def __init__(self, state_dir: str | None, bucket_seconds: float, models: str = "") -> None:
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
        if self._meta_or_none("schema") not in (None, SCHEMA_VERSION):
            raise IndexMismatch(f"dedup index {self.path}: schema is {self._meta_or_none('schema')!r}, this code "
                                f"needs {SCHEMA_VERSION!r}; move the old index away to rebuild it")
        self.conn.executescript(_SCHEMA)
        self._check_meta(bucket_seconds, models)
        self.n_docs = int(self._meta("n_docs") or 0)
        self.bucket_seconds = float(self._meta("bucket_seconds"))
        self.use = _Vectors(512)
        self.e5 = _Vectors(384)
        self._decoded: OrderedDict[int, tuple] = OrderedDict()  # doc id -> (minhash, vec, use, e5)
        self._load_vectors()

    # -- meta ----------------------------------------------------------------------------------
    def _meta_or_none(self, key: str) -> str | None:
        try:
            return self._meta(key)
        except sqlite3.OperationalError:  # no meta table yet
            return None

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _check_meta(self, bucket_seconds: float, models: str) -> None:
        wanted = {"schema": SCHEMA_VERSION, "minhash": f"{NUM_PERM}/{BANDS}/{MINHASH_SEED}/affine32"}
        if self._meta("schema") is None:
            rows = list(wanted.items()) + [("bucket_seconds", repr(float(bucket_seconds))), ("n_docs", "0"),
                                           ("models", models)]
            self.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
            self.conn.commit()
            return
        for key, value in wanted.items():
            if self._meta(key) != value:
                raise IndexMismatch(f"dedup index {self.path}: {key} is {self._meta(key)!r}, this code needs "
                                    f"{value!r}; move the old index away to rebuild it")
        if models and self._meta("models") != models:
            raise IndexMismatch(f"dedup index {self.path}: built with embedding models {self._meta('models')!r}, "
                                f"this installation has {models!r}; move the old index away to rebuild it")

    @property
    def models(self) -> str:
        return self._meta("models") or ""

    def _prepare_vector_files(self) -> list[tuple[str, _Vectors, str]]:
        """(column, index, saved file) per model; the file name carries a token made with this
        database (stored in ``meta`` on first use), so a file left beside a database made later is
        never taken for its own; such files, and saves cut short, are removed."""
        if self.path == ":memory:":
            return []
        token = self._meta("vectors_token")
        if token is None:
            token = uuid.uuid4().hex[:16]
            self.conn.execute("INSERT INTO meta (key, value) VALUES ('vectors_token', ?)", (token,))
            self.conn.commit()
        base = os.path.dirname(self.path)
        files = [(column, vectors, os.path.join(base, f"vectors-{column}-{token}.usearch"))
                 for column, vectors in (("use", self.use), ("e5", self.e5))]
        ours = {os.path.basename(path) for _, _, path in files}
        for name in os.listdir(base):
            # another database's files (one moved away to rebuild) and a save cut short
            if name.startswith(("vectors-use-", "vectors-e5-")) and ".usearch" in name and name not in ours:
                try:
                    os.remove(os.path.join(base, name))
                    logger.info("story index: removed %s (not this database's)", name)
                except OSError:
                    pass
        return files

    def _load_vectors(self) -> None:
        """Load the saved neighbour indexes and bring them up to the committed docs, or rebuild them
        from the committed docs."""
        self._files = self._prepare_vector_files()
        files = {column: path for column, _, path in self._files}
        for column, vectors in (("use", self.use), ("e5", self.e5)):
            missing = None
            if column in files and vectors.load(files[column]):
                ids = np.array([r[0] for r in self.conn.execute(
                    f"SELECT id FROM docs WHERE {column} IS NOT NULL")], dtype=np.uint64)
                have = np.asarray(vectors.index.keys, dtype=np.uint64)
                extra = np.setdiff1d(have, ids)
                if len(extra):
                    vectors.index.remove(extra)
                missing = np.setdiff1d(ids, have)
                if len(missing) or len(extra):
                    logger.info("story index: %s vectors loaded from %s, %d added and %d dropped to match "
                                "the database", column, files[column], len(missing), len(extra))
                if not len(missing):
                    continue
            cur = self.conn.execute(f"SELECT id, {column} FROM docs WHERE {column} IS NOT NULL ORDER BY id")
            while True:
                rows = cur.fetchmany(4096)
                if not rows:
                    break
                keys = np.array([r[0] for r in rows], dtype=np.uint64)
                vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), vectors.ndim)
                if missing is not None:
                    wanted = np.isin(keys, missing)
                    keys, vecs = keys[wanted], vecs[wanted]
                if len(keys):
                    vectors.index.add(keys, vecs.astype(np.float32))

    # -- lookups -----------------------------------------------------------------------------------
    def assignment(self, article_id: str) -> tuple | None:
        return self.conn.execute(
            "SELECT story_id, duplicate_of, level, similarity FROM docs WHERE article_id = ?",
            (article_id,)).fetchone()

    def exact(self, exact_key: str) -> tuple[int, str] | None:
        return self.conn.execute(
            "SELECT id, cur_story FROM docs WHERE exact_key = ? ORDER BY id LIMIT 1", (exact_key,)).fetchone()

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
        union = " UNION ALL ".join([part] * len(terms))
        rows = self.conn.execute(f"SELECT doc FROM ({union}) GROUP BY doc ORDER BY COUNT(*) DESC, doc LIMIT ?",
                                 (*args, limit))
        return [doc for (doc,) in rows]

    def docs(self, ids: list[int]) -> list[DocRow]:
        """The candidates' rows.  Their signature and vectors never change once stored: the last
        ``DECODED_CACHE`` decoded ones are kept (with the lexical vector's norms), as the same
        recent docs are candidates of many articles."""
        out = []
        cache = self._decoded
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            known = [d for d in chunk if d in cache]
            unknown = [d for d in chunk if d not in cache]
            rows = []
            if known:
                rows += [(r, None) for r in self.conn.execute(
                    "SELECT id, article_id, cur_story, ts, lang, n_shingles "
                    f"FROM docs WHERE id IN ({','.join('?' * len(known))})", known)]
            if unknown:
                rows += [(r[:6], r[6:]) for r in self.conn.execute(
                    "SELECT id, article_id, cur_story, ts, lang, n_shingles, minhash, vec, use, e5 "
                    f"FROM docs WHERE id IN ({','.join('?' * len(unknown))})", unknown)]
            for r, blobs in rows:
                if blobs is None:
                    heavy = cache[r[0]]
                    cache.move_to_end(r[0])
                else:
                    heavy = (np.frombuffer(blobs[0], dtype="<u4"), StoryVector.from_blob(blobs[1]),
                             _unblob(blobs[2]), _unblob(blobs[3]))
                    cache[r[0]] = heavy
                    if len(cache) > DECODED_CACHE:
                        cache.popitem(last=False)
                out.append(DocRow(*r, *heavy))
        out.sort(key=lambda d: d.id)
        return out

    def story(self, story_id: str) -> StoryRow:
        r = self.conn.execute("SELECT story_id, canonical, canonical_doc, size, first_ts, last_ts FROM stories "
                              "WHERE story_id = ?", (story_id,)).fetchone()
        return StoryRow(*r)

    def canonical_key(self, doc: int) -> tuple:
        """The canonical order of a doc: dated first, earliest, longest text, smallest article_id."""
        ts, text_len, article_id = self.conn.execute(
            "SELECT ts, text_len, article_id FROM docs WHERE id = ?", (doc,)).fetchone()
        return (ts is None, ts or 0.0, -text_len, article_id)

    def current_story(self, doc: int) -> str:
        return self.conn.execute("SELECT cur_story FROM docs WHERE id = ?", (doc,)).fetchone()[0]

    def weak_counts(self, story_id: str, only: set[str] | None = None) -> dict[str, int]:
        """Number of weak links between ``story_id`` and each other story (``only``: just these)."""
        sql = ("SELECT o.cur_story, COUNT(*) FROM docs d JOIN weak_links w ON w.{mine} = d.id "
               "JOIN docs o ON o.id = w.{other} WHERE d.cur_story = ? AND o.cur_story != ? GROUP BY o.cur_story")
        counts: dict[str, int] = {}
        for mine, other in (("a", "b"), ("b", "a")):
            for story, n in self.conn.execute(sql.format(mine=mine, other=other), (story_id, story_id)):
                if only is None or story in only:
                    counts[story] = counts.get(story, 0) + n
        return counts

    def merges(self) -> list[tuple[str, str, float]]:
        return self.conn.execute(
            "SELECT story_id, current_story_id, merged_at FROM story_merges ORDER BY story_id").fetchall()

    # -- writes (inside the open transaction) ------------------------------------------------------
    def add(self, *, article_id: str, story_id: str, content_hash: str, exact_key: str, ts: float | None,
            lang: str, n_shingles: int, minhash: np.ndarray, vec: StoryVector, bands: list[int],
            text_len: int, use: np.ndarray | None, e5: np.ndarray | None) -> int:
        """Index a doc as the only member of its own new story ``story_id``."""
        cur = self.conn.execute(
            "INSERT INTO docs (article_id, story_id, duplicate_of, level, similarity, content_hash, exact_key, ts, "
            "lang, n_shingles, minhash, vec, text_len, cur_story, use, e5) "
            "VALUES (?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, story_id, content_hash, exact_key, ts, lang, n_shingles, minhash.astype("<u4").tobytes(),
             vec.to_blob(), text_len, story_id, _blob(use), _blob(e5)))
        doc = cur.lastrowid
        if bands:
            self.conn.executemany("INSERT OR IGNORE INTO bands (key, doc) VALUES (?, ?)",
                                  [(k, doc) for k in bands])
        bucket = self.bucket(ts)
        self.conn.executemany("INSERT OR IGNORE INTO postings (term, bucket, doc) VALUES (?, ?, ?)",
                              [(t, bucket, doc) for t in vec.keys])
        self.conn.execute("INSERT INTO stories (story_id, canonical, canonical_doc, size, first_ts, last_ts) "
                          "VALUES (?, ?, ?, 1, ?, ?)", (story_id, article_id, doc, ts, ts))
        if use is not None:
            self.use.add(doc, use)
        if e5 is not None:
            self.e5.add(doc, e5)
        self.n_docs += 1
        return doc

    def add_weak_links(self, doc: int, others: list[int]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO weak_links (a, b) VALUES (?, ?)",
                              [(min(doc, o), max(doc, o)) for o in others])

    def merge(self, into: StoryRow, parts: list[StoryRow], merged_at: float, unwritten: set[str]) -> int:
        """Merge the stories ``parts`` into ``into`` (one of them): their docs move, their ids are
        recorded in ``story_merges`` (ids merged into them before now point to ``into`` directly),
        except ids in ``unwritten`` (stories of the batch being assigned: no file holds them)."""
        recorded = 0
        size = into.size if any(p.story_id == into.story_id for p in parts) else 0
        first, last = into.first_ts, into.last_ts
        for p in parts:
            if p.story_id == into.story_id:
                continue
            self.conn.execute("UPDATE docs SET cur_story = ? WHERE cur_story = ?", (into.story_id, p.story_id))
            self.conn.execute("UPDATE story_merges SET current_story_id = ? WHERE current_story_id = ?",
                              (into.story_id, p.story_id))
            if p.story_id not in unwritten:
                recorded += 1
                self.conn.execute("INSERT OR REPLACE INTO story_merges (story_id, current_story_id, merged_at) "
                                  "VALUES (?, ?, ?)", (p.story_id, into.story_id, merged_at))
            self.conn.execute("DELETE FROM stories WHERE story_id = ?", (p.story_id,))
            size += p.size
            first = p.first_ts if first is None else (first if p.first_ts is None else min(first, p.first_ts))
            last = p.last_ts if last is None else (last if p.last_ts is None else max(last, p.last_ts))
        self.conn.execute("INSERT OR REPLACE INTO stories (story_id, canonical, canonical_doc, size, first_ts, "
                          "last_ts) VALUES (?, ?, ?, ?, ?, ?)",
                          (into.story_id, into.canonical, into.canonical_doc, size, first, last))
        # the new id may itself have been merged away before (a story re-formed around the same root)
        self.conn.execute("DELETE FROM story_merges WHERE story_id = ?", (into.story_id,))
        return recorded

    def set_assignment(self, doc: int, story_id: str, duplicate_of: str | None, level: str | None,
                       similarity: float | None) -> None:
        self.conn.execute("UPDATE docs SET story_id = ?, duplicate_of = ?, level = ?, similarity = ? WHERE id = ?",
                          (story_id, duplicate_of, level, similarity, doc))

    def bucket(self, ts: float | None) -> int:
        return UNDATED_BUCKET if ts is None else int(ts // self.bucket_seconds)

    def commit(self) -> None:
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'n_docs'", (str(self.n_docs),))
        self.conn.commit()
        self.use.commit()
        self.e5.commit()

    def rollback(self) -> None:
        """Forget everything since the last commit (also the vectors added to the neighbour search)."""
        self.conn.rollback()
        self._decoded.clear()  # ids of docs rolled back are given out again
        self.use.rollback()
        self.e5.rollback()
        self.n_docs = int(self._meta("n_docs") or 0)

    def close(self) -> None:
        """Close the database, saving the neighbour indexes first so that the next open need not
        rebuild them (a failure to save only costs that rebuild)."""
        try:
            for _, vectors, path in self._files:
                vectors.save(path)
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            logger.warning("story index: could not save the neighbour index (%s); the next run rebuilds it", exc)
        self.conn.close()
