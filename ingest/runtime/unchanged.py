"""Skipping unchanged inputs: a table of the local input files whose content was committed.

A scheduled rerun over the same files would load, extract, identify and translate every document
again only to find its rows already in the output.  ``CommittedInputs`` remembers, per output (in
its state directory, ``inputs.sqlite``), the content hash of each local input file whose batch was
committed, under a fingerprint of the settings that shape the rows (``translate``,
``target_language``, thresholds, ...; not execution settings such as ``workers``).  When a run plans
its batches, a file whose path, content hash and fingerprint are in the table is skipped; a file
that changed, or any input under other row-shaping settings, is processed again.

Only local files are hashed (URLs and feeds have their own fetch state).  A hash is recorded only
once its batch is committed (rows written), so a crash or a cancelled run redoes the batches it did
not commit, and nothing else.  The library's own state rather than a Prefect cache policy: the
decision belongs to the output (its rows, its state directory), not to one orchestrator's result
store, and it works the same from the CLI, a deployment or plain ``run_pipeline``.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator

from ingest.settings import Settings
from ingest.sources.loaders import WorkItem

DB_NAME = "inputs.sqlite"
REMOTE_KINDS = ("url", "feed")
# settings that change how a run executes, never which rows it writes
EXECUTION_SETTINGS = frozenset({
    "out", "state_dir", "workers", "task_runner", "dask_address", "batch_size", "max_batch_records",
    "row_group_size", "progress", "translation_batch_size", "feed_fetch_workers", "per_host_concurrency",
    "per_host_rate", "argos_packages_dir", "sources_file", "skip_unchanged",
})


def fingerprint(settings: Settings) -> str:
    """A short hash of the settings that shape the rows."""
    shaping = {k: v for k, v in sorted(settings.to_dict().items()) if k not in EXECUTION_SETTINGS}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:16]


def content_hash(path: str) -> str | None:
    """The file's BLAKE2b digest (None when it cannot be read: it is processed and rejected as usual)."""
    digest = hashlib.blake2b(digest_size=20)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


class CommittedInputs:
    """The committed content hashes of one output's local input files."""

    def __init__(self, state_dir: str, settings: Settings) -> None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(Path(state_dir) / DB_NAME), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS committed_inputs (location TEXT NOT NULL, "
                         "fingerprint TEXT NOT NULL, content_hash TEXT NOT NULL, "
                         "PRIMARY KEY (location, fingerprint))")
        self._db.commit()
        self.fingerprint = fingerprint(settings)
        self.skipped = 0

    def fresh(self, items: Iterable[WorkItem]) -> Iterator[tuple[WorkItem, str | None]]:
        """The items to process (lazily), each with its content hash (None: not hashed, e.g. a URL);
        unchanged ones are skipped and counted in ``skipped``."""
        for item in items:
            digest = None if item.kind in REMOTE_KINDS else content_hash(item.location)
            if digest is not None and self._known(item.location) == digest:
                self.skipped += 1
                continue
            yield item, digest

    def _known(self, location: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM committed_inputs WHERE location = ? AND fingerprint = ?",
                               (location, self.fingerprint)).fetchone()
        return row[0] if row else None

    def record(self, hashes: Iterable[tuple[str, str]]) -> None:
        """Record ``(location, content_hash)`` pairs of a committed batch."""
        with self._db:
            self._db.executemany(
                "INSERT INTO committed_inputs (location, fingerprint, content_hash) VALUES (?, ?, ?) "
                "ON CONFLICT(location, fingerprint) DO UPDATE SET content_hash = excluded.content_hash",
                [(location, self.fingerprint, digest) for location, digest in hashes])

    def close(self) -> None:
        self._db.close()
