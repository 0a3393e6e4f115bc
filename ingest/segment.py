"""Sentence-level pieces of a long segment, so that a paragraph can be split where its language
switches (an English quote inside a German paragraph).

Only text handling lives here: ``sentence_spans`` finds the candidate cut points, ``group_spans``
joins consecutive pieces that carry the same label.  Which label a piece gets is decided by
``ingest.language``.
"""
from __future__ import annotations

import re

# A sentence ends at terminal punctuation (Latin, Devanagari danda, CJK full stops, Arabic/Greek
# question marks), optionally followed by closing quotes or brackets, then whitespace; CJK full
# stops need no whitespace.  A colon followed by an opening quote also starts a new piece, so that
# a quotation can be told apart from the sentence that introduces it.
_CUT = re.compile(
    r"""(?:[.!?;।॥؟。！？](?:["'”“’‘»«›‹)\]」』]*)\s+)"""  # terminal punctuation + closers + space
    r"""|(?:[。！？](?:[”’」』)]*))"""  # CJK terminals need no space
    r"""|(?::\s+(?=["'“„«‘「『]))"""  # "He said: „..." -> cut before the quotation
    r"""|(?:\n+)"""
)


def sentence_spans(text: str, min_chars: int = 1) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``; pieces shorter than ``min_chars``
    (after stripping) are merged into the previous one (or the next one at the start)."""
    spans: list[list[int]] = []
    start = 0
    for match in _CUT.finditer(text):
        end = match.end()
        if end <= start:
            continue
        spans.append([start, end])
        start = end
    if start < len(text):
        spans.append([start, len(text)])
    merged: list[list[int]] = []
    for span in spans:
        if not text[span[0]:span[1]].strip():
            if merged:
                merged[-1][1] = span[1]
            continue
        if merged and len(text[merged[-1][0]:merged[-1][1]].strip()) < min_chars:
            merged[-1][1] = span[1]
        else:
            merged.append(span)
    if len(merged) > 1 and len(text[merged[-1][0]:merged[-1][1]].strip()) < min_chars:
        last = merged.pop()
        merged[-1][1] = last[1]
    return [(a, b) for a, b in merged]


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
