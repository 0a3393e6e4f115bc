"""Cache of sentence translations keyed by (model key, SHA-256 of the source sentence).

Two levels: a bounded in-process LRU shared by all translators of the process, and an optional
SQLite file (under ``Settings.state_dir``) so reruns and duplicates across runs cost nothing.  The
cached value is the model's output token list, so a cached sentence decodes exactly like a fresh
one.  The disk level is best effort: if the file cannot be used, a warning is logged and the run
goes on with the memory level only.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_MEMORY_ENTRIES = 200_000
CACHE_FILE = "translation_cache.sqlite3"

_memory: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
_memory_lock = threading.Lock()


def sentence_key(sentence: str) -> str:
    return hashlib.sha256(sentence.encode("utf-8", "surrogatepass")).hexdigest()


def memory_get(model_key: str, digest: str) -> tuple[str, ...] | None:
    with _memory_lock:
        value = _memory.get((model_key, digest))
        if value is not None:
            _memory.move_to_end((model_key, digest))
        return value


def memory_put(model_key: str, digest: str, tokens: Iterable[str]) -> None:
    with _memory_lock:
        _memory[(model_key, digest)] = tuple(tokens)
        _memory.move_to_end((model_key, digest))
        while len(_memory) > MAX_MEMORY_ENTRIES:
            _memory.popitem(last=False)


def memory_clear() -> None:
    with _memory_lock:
        _memory.clear()


class DiskCache:
    """A SQLite table (model, src_sha256) -> JSON token list.  One short connection per call, so
    it is safe from several threads and processes (SQLite locks the file)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / CACHE_FILE
        self.enabled = True
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        if not self._ready:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS translations (model TEXT NOT NULL, src TEXT NOT NULL, "
                "tokens TEXT NOT NULL, PRIMARY KEY (model, src)) WITHOUT ROWID"
            )
            conn.commit()
            self._ready = True
        return conn

    def get_many(self, model_key: str, digests: list[str]) -> dict[str, tuple[str, ...]]:
        if not self.enabled or not digests:
            return {}
        found: dict[str, tuple[str, ...]] = {}
        try:
            with closing(self._connect()) as conn:
                for i in range(0, len(digests), 500):
                    chunk = digests[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT src, tokens FROM translations WHERE model = ? AND src IN ({marks})",
                        [model_key, *chunk],
                    )
                    for src, tokens in rows:
                        value = json.loads(tokens)
                        if isinstance(value, list):
                            found[src] = tuple(str(t) for t in value)
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._disable(exc)
        return found

    def put_many(self, model_key: str, items: list[tuple[str, tuple[str, ...]]]) -> None:
        if not self.enabled or not items:
            return
        try:
            with closing(self._connect()) as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO translations (model, src, tokens) VALUES (?, ?, ?)",
                    [(model_key, digest, json.dumps(list(tokens), ensure_ascii=False)) for digest, tokens in items],
                )
                conn.commit()
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)

    def _disable(self, exc: BaseException) -> None:
        logger.warning("translation cache %s unusable (%s); continuing without it", self.path, exc)
        self.enabled = False

