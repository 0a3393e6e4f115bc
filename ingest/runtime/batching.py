"""Cutting a run's work items into batches of documents.

A batch holds at most ``settings.batch_size`` documents and about ``settings.batch_bytes`` bytes:
many small files are grouped, and a large ``.jsonl``, ``.jsonl.gz`` or WARC file is cut into
record ranges (``ingest.sources.split``), so that every worker has work within a batch's time of
the start whatever the shape of the input.  Towards the end of a run batches shrink (guided
self-scheduling: about the estimated remaining documents / (2 x workers), never under
``MIN_DOCS``), so that no worker waits long for the last batch of another.

Ranges are cut lazily, as batches are asked for: the driver reads a large file ahead of the
workers by at most the batches in flight.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Iterator

from ingest.settings import Settings
from ingest.sources.loaders import WorkItem
from ingest.sources.split import SPLITTERS, Splitter, splitter

MIN_DOCS = 4  # the smallest batch guided scheduling makes (before the very last documents)


@dataclass
class Cut:
    """One batch's work items and how many of the run's planned items it finishes (an item cut
    into ranges is finished by its last range)."""
    items: list[WorkItem]
    finished: int


def _size(item: WorkItem) -> int:
    if "://" in item.location:
        return 0
    try:
        return os.stat(item.location).st_size
    except OSError:
        return 0


def _estimate(item: WorkItem) -> float:
    if item.kind in SPLITTERS and item.span is None:
        return SPLITTERS[item.kind].estimate(item)
    return 1.0


def estimate_documents(items: list[WorkItem], limit: float = float("inf")) -> float:
    """Estimated documents of ``items`` (a multi-record file: from a probe of its head), counted up
    to just past ``limit``."""
    return _total(items, _estimate, limit)


def input_bytes(items: list[WorkItem], limit: float = float("inf")) -> int:
    """Bytes of the local files of ``items``, counted up to just past ``limit``."""
    return _total(items, _size, limit)


def _total(items: list[WorkItem], measure: Callable[[WorkItem], float], limit: float):
    total = 0
    for item in items:
        total += measure(item)
        if total > limit:
            break
    return total


def cut_batches(items: list[WorkItem], settings: Settings) -> Iterator[Cut]:
    """The batches of a run over ``items`` (in order; every record of every item once)."""
    estimates = [_estimate(item) for item in items]
    after = [0.0] * (len(items) + 1)  # estimated documents of items[i:]
    for i in range(len(items) - 1, -1, -1):
        after[i] = after[i + 1] + estimates[i]
    cap, size, workers = settings.batch_bytes, settings.batch_size, max(1, settings.workers)
    smallest = min(size, MIN_DOCS)
    index = 0
    current: Splitter | None = None

    def remaining() -> float:
        return after[index + (current is not None)] + (current.remaining() if current is not None else 0.0)

    try:
        while index < len(items):
            if current is None and items[index].kind in SPLITTERS and items[index].span is None:
                current = splitter(items[index], settings)  # its own estimate of its documents
            target = max(smallest, min(size, math.ceil(remaining() / (2 * workers))))
            batch: list[WorkItem] = []
            docs = nbytes = finished = 0
            while index < len(items) and docs < target and (nbytes < cap or not batch):
                item = items[index]
                if current is None and item.kind in SPLITTERS and item.span is None and batch:
                    current = splitter(item, settings)
                if current is None:  # one document (or a file that cannot be cut)
                    batch.append(item)
                    docs += 1
                    nbytes += _size(item)
                    finished += 1
                    index += 1
                    continue
                before, read = current.docs, current.consumed
                piece = current.take(target - docs, max(1, cap - nbytes))
                if piece is None:  # nothing left (already handed out)
                    current.close()
                    current = None
                    index += 1
                    continue
                if piece.span.final and piece.span.first == 1 and not piece.span.offset:
                    piece = item  # the whole file in one range: load it as it is
                batch.append(piece)
                docs += max(1, current.docs - before)
                nbytes += (_size(item) if current.done else current.consumed) - read
                if current.done:
                    finished += 1
                    current.close()
                    current = None
                    index += 1
            if batch:
                yield Cut(batch, finished)
    finally:
        if current is not None:
            current.close()
