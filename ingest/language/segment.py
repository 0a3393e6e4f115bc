"""Sentence-level pieces of a long segment, so that a paragraph can be split where its language
switches (an English quote inside a German paragraph).

Only text handling lives here: ``sentence_spans`` (``ingest.text``) finds the candidate cut points, ``group_spans``
joins consecutive pieces that carry the same label.  Which label a piece gets is decided by
``ingest.language.detect``.
"""
from __future__ import annotations

from ingest.text import sentence_spans  # noqa: F401 (the pieces' cut points)


def group_spans(spans: list[tuple[int, int]], labels: list[str | None]) -> list[tuple[int, int, str | None]]:
    """Join consecutive spans with the same label.  A span labelled ``None`` (too short or not
    confident enough to decide) joins the group before it, or the one after it at the start."""
    groups: list[list] = []
    pending_start: int | None = None
    for (start, end), label in zip(spans, labels):
        if label is None:
            if groups:
                groups[-1][1] = end
            elif pending_start is None:
                pending_start = start
            continue
        if groups and groups[-1][2] == label:
            groups[-1][1] = end
        else:
            groups.append([start if pending_start is None or groups else pending_start, end, label])
        pending_start = None
    if not groups and spans:
        return [(spans[0][0], spans[-1][1], None)]
    return [(a, b, c) for a, b, c in groups]
