"""Cutting multi-record inputs into record ranges, so that one large file keeps every worker busy.

A ``.jsonl``, ``.jsonl.gz`` or WARC file holds many documents; as one work item it would run on
one core.  ``splitter(item, settings)`` returns a ``Splitter`` (None for inputs that are one
document, or that cannot be cut) whose ``take(docs, max_bytes)`` hands out the next range as a
``WorkItem`` with a ``Span``: at most ``docs`` documents and about ``max_bytes`` bytes, at least one
record.  The file is read once, ahead of the workers and lazily (a range is cut only when the
runtime asks for the next batch), in the calling process; the records themselves are read by
whichever process loads the range (``loaders.load``).

- plain ``.jsonl``: byte offset of the range's first line, its line number (``#N`` stays the
  physical line number of the file) and its number of lines;
- ``.jsonl.gz`` (a gzip stream cannot seek): the first line number and the number of lines; the
  loader skips to it (``loaders`` keeps the decompressor of the last range it read, so a process
  taking ranges in order decompresses the file about once);
- WARC (``.warc``, ``.warc.gz``): byte offset of the range's first record (a gzip member in
  ``.warc.gz``), its record index and its number of records.

The last range of a file has ``count=None`` (to the end) and ``final=True``.  Where the scan meets
something it cannot cut safely (a line longer than the document limit's budget, corrupt gzip, a
record warcio cannot read), the rest of the file becomes that last range, so the loader reports
the problem exactly where an unsplit load would, and every record is still accounted once.
"""
from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import zlib
from typing import Callable

from ingest.settings import Settings
from ingest.sources.loaders import Span, WorkItem

logger = logging.getLogger(__name__)

READ = 1 << 20  # bytes read per call while scanning lines
PROBE = 1 << 16  # bytes read to estimate the lines of a file ...
PROBE_MAX = 1 << 22  # ... or more, up to this, until PROBE_LINES lines were seen (pages of 150 KB a line)
PROBE_LINES = 16


class Splitter:
    """Hands out the ranges of one input, in order (see the module docstring)."""

    GUESS = 2000.0  # bytes per document before any is seen

    def __init__(self, item: WorkItem, settings: Settings) -> None:
        self.item, self.settings = item, settings
        self.size = _size(item.location)
        self.done = False
        self.docs = 0  # documents handed out so far
        self.consumed = 0  # bytes of the file behind the ranges handed out so far
        self.guess = self.GUESS

    @classmethod
    def estimate(cls, item: WorkItem) -> float:
        """Documents in the input, estimated without opening a splitter (cheap: a probe)."""
        return max(1.0, _size(item.location) / cls.GUESS)

    def remaining(self) -> float:
        """Estimated documents not handed out yet (from the bytes per document seen so far)."""
        if self.done:
            return 0.0
        per_doc = self.consumed / self.docs if self.docs else self.guess
        return max(1.0, (self.size - self.consumed) / max(per_doc, 1.0))

    def take(self, docs: int, max_bytes: int) -> WorkItem | None:
        raise NotImplementedError

    def _range(self, offset: int | None, first: int, count: int | None, final: bool) -> WorkItem:
        if final:
            self.done = True
        return dataclasses.replace(self.item, span=Span(offset, first, count, final))

    def close(self) -> None:
        pass


class LineSplitter(Splitter):
    """Ranges of lines of a ``.jsonl`` (byte offsets) or ``.jsonl.gz`` (line numbers)."""

    def __init__(self, item: WorkItem, settings: Settings) -> None:
        super().__init__(item, settings)
        with open(item.location, "rb") as probe:
            self.gzipped = probe.read(2) == b"\x1f\x8b"
        self._raw = open(item.location, "rb", buffering=READ)
        self._fh = gzip.GzipFile(fileobj=self._raw) if self.gzipped else self._raw
        if self.gzipped:  # sizes in uncompressed bytes: the gzip trailer's (size mod 4 GiB)
            self._raw.seek(-4, os.SEEK_END)
            isize = int.from_bytes(self._raw.read(4), "little")
            self._raw.seek(0)
            self.size = isize if isize >= self.size else 4 * self.size
        head = self._fh.peek(READ)[:READ]
        if head.count(b"\n"):
            self.guess = len(head) / head.count(b"\n")
        self.offset = 0  # (uncompressed) offset of the next range
        self.line = 1  # number of the next range's first line
        self.budget = 8 * settings.max_document_bytes  # as the loader: past it a line ends the file

    @classmethod
    def estimate(cls, item: WorkItem) -> float:
        try:
            with open(item.location, "rb") as fh:
                gzipped = fh.read(2) == b"\x1f\x8b"
                fh.seek(0)
                size = _size(item.location)
                if gzipped:
                    fh.seek(-4, os.SEEK_END)
                    isize = int.from_bytes(fh.read(4), "little")
                    fh.seek(0)
                    size = isize if isize >= size else 4 * size
                    head = _probe(gzip.GzipFile(fileobj=fh))
                else:
                    head = _probe(fh)
        except (OSError, EOFError, zlib.error):
            return 1.0
        lines = head.count(b"\n")
        if len(head) < PROBE or len(head) < PROBE_MAX and lines < PROBE_LINES:  # the whole file
            return max(1.0, lines + (not head.endswith(b"\n") and bool(head.strip())))
        return max(1.0, size * lines / len(head))

    def take(self, docs: int, max_bytes: int) -> WorkItem | None:
        if self.done:
            return None
        first, start, lines, size, partial = self.line, self.offset, 0, 0, 0
        try:
            while lines < max(1, docs) and (size < max_bytes or lines == 0):
                raw = self._fh.readline(READ)
                if not raw:  # end of file
                    self.docs += lines + (partial > 0)
                    return self._last(start, first)
                size += len(raw)
                if raw.endswith(b"\n"):
                    lines, partial = lines + 1, 0
                else:
                    partial += len(raw)
                    if partial > self.budget:  # the loader gives the rest of the file up here
                        self.docs += lines + 1
                        return self._last(start, first)
            at_end = not self._fh.peek(1)
        except (OSError, EOFError, zlib.error):  # corrupt gzip: the loader reports it at its line
            return self._last(start, first)
        self.offset, self.line = start + size, first + lines
        self.docs += lines
        self.consumed = self.offset
        return self._range(None if self.gzipped else start, first, None if at_end else lines, at_end)

    def _last(self, start: int, first: int) -> WorkItem:
        self.close()
        return self._range(None if self.gzipped else start, first, None, True)

    def close(self) -> None:
        self._raw.close()


class WarcSplitter(Splitter):
    """Ranges of records of a WARC file, each starting at a record's byte offset."""

    GUESS = 30000.0

    def __init__(self, item: WorkItem, settings: Settings) -> None:
        from warcio.archiveiterator import ArchiveIterator

        super().__init__(item, settings)
        self._fh = open(item.location, "rb")
        self._records = ArchiveIterator(self._fh, no_record_parse=True)
        self._iter = iter(self._records)
        self.offset = 0  # byte offset of the next range's first record
        self.index = 1  # its record index
        self._pending = None  # a record read but not yet handed out: (offset,)

    def take(self, docs: int, max_bytes: int) -> WorkItem | None:
        if self.done:
            return None
        first, start, records, responses = self.index, self.offset, 0, 0
        try:
            while True:
                if self._pending is None:
                    record = next(self._iter)
                    if not str(record.format).startswith("warc"):
                        return self._last(start, first)
                    offset = self._records.get_record_offset()  # reads the record to its end
                    self._pending = (offset, record.rec_type == "response")
                offset, is_response = self._pending
                if records and (responses >= max(1, docs) or offset - start >= max_bytes):
                    break  # this record opens the next range
                self._pending = None
                records += 1
                responses += is_response
        except StopIteration:
            self.docs += responses
            return self._last(start, first)
        except Exception:  # noqa: BLE001 - anything warcio cannot read: the loader reports it in place
            self.docs += responses + 1
            return self._last(start, first)
        self.offset, self.index = offset, first + records
        self.docs += responses
        self.consumed = offset
        return self._range(start, first, records, False)

    def _last(self, start: int, first: int) -> WorkItem:
        self.close()
        return self._range(start, first, None, True)

    def close(self) -> None:
        self._fh.close()


SPLITTERS: dict[str, Callable[[WorkItem, Settings], Splitter]] = {"jsonl": LineSplitter, "warc": WarcSplitter}


def splitter(item: WorkItem, settings: Settings) -> Splitter | None:
    """A ``Splitter`` for a multi-record local file, None for anything else (or a file that cannot
    be opened: its loader reports it)."""
    if item.span is not None or item.kind not in SPLITTERS:
        return None
    try:
        return SPLITTERS[item.kind](item, settings)
    except (OSError, ImportError) as exc:
        logger.debug("not splitting %s: %s", item.location, exc)
        return None


def _probe(fh) -> bytes:
    """The head of a file: ``PROBE`` bytes, more while fewer than ``PROBE_LINES`` lines were seen
    (a probe that ends inside the first line would count a file of 1,000 pages as one document)."""
    head = fh.read(PROBE)
    while len(head) < PROBE_MAX and head.count(b"\n") < PROBE_LINES:
        more = fh.read(len(head))
        if not more:
            break
        head += more
    return head


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
