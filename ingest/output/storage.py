"""Output storage: a local directory or any fsspec URL (s3://bucket/prefix, memory://...).

Every file is written atomically: to a hidden temporary name in the target directory, then
renamed, so a reader (pyarrow, DuckDB, Spark: they all skip names starting with '.' or '_')
never sees a half-written file.  Paths given to this class are relative to the output root and
are checked never to leave it.
"""
from __future__ import annotations

import logging
import posixpath
import uuid
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)


class StorageError(OSError):
    """The output location cannot be used (not writable, not reachable, ...)."""


def is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


class Storage:
    def __init__(self, location: str) -> None:
        import fsspec

        self.location = location
        self.local = is_local(location)
        if self.local:
            root = Path(location.removeprefix("file://")).expanduser().resolve()
            self.fs = fsspec.filesystem("file")
            self.root = root.as_posix()
        else:
            self.fs, self.root = fsspec.core.url_to_fs(location)
            self.root = self.root.rstrip("/")

    # paths ---------------------------------------------------------------------------------
    def path(self, relpath: str) -> str:
        """Absolute path of ``relpath`` under the root; refuses anything that would leave it."""
        norm = posixpath.normpath("/" + relpath.replace("\\", "/")).lstrip("/")
        if norm.startswith("..") or "\x00" in norm:
            raise StorageError(f"refusing a path outside the output directory: {relpath!r}")
        return f"{self.root}/{norm}" if norm else self.root

    def uri(self, relpath: str = "") -> str:
        """A URI a user can paste into a reader (DuckDB, pandas)."""
        full = self.path(relpath)
        if self.local:
            return full
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, (tuple, list)) else self.fs.protocol
        return f"{protocol}://{full}"

    def check_writable(self) -> None:
        """Fail early, with a readable message, when the output cannot be written."""
        probe = self.path(f".write-probe-{uuid.uuid4().hex}")
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            with self.fs.open(probe, "wb") as fh:
                fh.write(b"ok")
            self.fs.rm(probe)
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot write there"
            raise StorageError(f"output location {self.location!r} is not writable: {exc}") from exc

    def exists(self, relpath: str) -> bool:
        return self.fs.exists(self.path(relpath))

    def listdir(self, relpath: str, suffix: str = "") -> list[str]:
        """Relative paths of the files below ``relpath`` (recursive), ending with ``suffix``,
        skipping hidden/temporary names."""
        base = self.path(relpath)
        if not self.fs.exists(base):
            return []
        out = []
        for full in self.fs.find(base):
            name = posixpath.basename(full)
            if name.startswith((".", "_")) or not name.endswith(suffix):
                continue
            out.append(posixpath.relpath(full, self.root))
        return sorted(out)

    def remove(self, relpath: str, recursive: bool = False) -> None:
        full = self.path(relpath)
        if self.fs.exists(full):
            self.fs.rm(full, recursive=recursive)

    # writing -------------------------------------------------------------------------------
    def write_table(self, table: pa.Table, relpath: str, row_group_size: int = 50_000) -> str:
        """Write a Parquet file atomically (zstd); returns the relative path."""
        final = self.path(relpath)
        directory = posixpath.dirname(final)
        tmp = posixpath.join(directory, f".{posixpath.basename(final)}.{uuid.uuid4().hex[:8]}.tmp")
        self.fs.makedirs(directory, exist_ok=True)
        try:
            with self.fs.open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd", row_group_size=row_group_size,
                               write_statistics=True)
            if self.local:
                import os

                with open(tmp, "rb+") as fh:  # make the bytes durable before the rename
                    os.fsync(fh.fileno())
            self.fs.mv(tmp, final)
        except BaseException:
            try:
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            except Exception:  # noqa: BLE001
                pass
            raise
        return relpath

    def read_table(self, relpath: str, columns: list[str] | None = None) -> pa.Table:
        with self.fs.open(self.path(relpath), "rb") as fh:
            return pq.read_table(fh, columns=columns)

    def read_column_values(self, relpath: str, column: str) -> set[str]:
        """All values of one string column over the Parquet files below ``relpath``."""
        values: set[str] = set()
        for chunk in self.iter_column_values(relpath, column):
            values.update(chunk)
        return values

    def iter_column_values(self, relpath: str, column: str) -> Iterator[list[str]]:
        """The non-null values of one string column, one list per Parquet file below ``relpath``
        (memory: one file's column at a time)."""
        for rel in self.listdir(relpath, ".parquet"):
            try:
                with self.fs.open(self.path(rel), "rb") as fh:
                    table = pq.read_table(fh, columns=[column])
            except Exception as exc:  # noqa: BLE001 - a foreign or damaged file must not stop the run
                logger.warning("cannot read %s (%s); ignoring it", rel, exc)
                continue
            yield [v for v in table.column(column).to_pylist() if v is not None]

    def remove_temp_files(self, relpath: str) -> int:
        """Delete temporary files (``.<name>.<hex>.tmp``) that a killed writer left below ``relpath``.
        Call only while holding the run lock (then no other writer can own them)."""
        base = self.path(relpath)
        if not self.fs.exists(base):
            return 0
        removed = 0
        for full in self.fs.find(base):
            name = posixpath.basename(full)
            if name.startswith(".") and name.endswith(".tmp"):
                self.fs.rm(full)
                removed += 1
        if removed:
            logger.info("removed %d temporary file(s) left by an interrupted run below %s", removed, relpath)
        return removed
