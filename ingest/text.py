"""Sentence boundaries, the one splitter of the library (offline, rule-based, any script).

Two users, one rule set: the language step cuts a paragraph into pieces to find where its language
switches (``clauses=True``: also at ``;``, at a colon that opens a quotation, and at line breaks);
the translation step cuts a segment into the sentences its models were trained on
(``abbreviations=True``: a full stop after a known abbreviation or an initial, or before a
lower-case letter, ends nothing; over-long sentences are cut at whitespace).

A sentence ends at ``.``, ``!``, ``?``, ``…`` (and the Arabic ``؟``) followed by whitespace, closing
quotes and brackets staying with it, and at the Devanagari danda ``।``/``॥`` and the CJK full stops
``。！？`` with or without whitespace.  argostranslate's own splitter downloads a model at first use
and pysbd is unmaintained; this needs nothing.
"""
from __future__ import annotations

import re

MAX_SENTENCE_CHARS = 800

_CUT = re.compile(
    r"""(?P<end>[.!?…;।॥؟。！？]+)(?P<close>["'”“’‘»«›‹)\]」』]*)(?P<space>\s*)"""
    r"""|(?P<quote>:\s+(?=["'“„«‘「『]))"""  # "He said: „..." -> a piece before the quotation
    r"""|(?P<newline>\n+)"""
)
_NO_SPACE_NEEDED = set("।॥。！？")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)*[^\W\d_]$")
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "mt", "ft", "vs", "etc", "inc", "ltd", "co",
    "corp", "nos", "nr", "gen", "gov", "sen", "rep", "col", "capt", "lt", "sgt", "maj",
    "rev", "hon", "pres", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "approx", "dept", "fig", "e.g", "i.e", "cf", "al", "ca", "z.b", "bzw",
    "usw", "ggf", "vgl", "sog", "hr", "fr", "dipl", "sra", "srta", "dra", "av", "pág",
    "núm"
})


def sentence_spans(text: str, min_chars: int = 1, *, clauses: bool = True,
                   abbreviations: bool = False) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, covering it; pieces shorter than
    ``min_chars`` (after stripping) are merged into the previous one (or the next one at the start)."""
    spans: list[list[int]] = []
    start = 0
    for match in _CUT.finditer(text):
        end = match.end()
        if end <= start:
            continue
        punct = match.group("end")
        if punct is None:
            if not clauses:
                continue
        else:
            if ";" in punct and not clauses:
                continue
            if not match.group("space") and punct[-1] not in _NO_SPACE_NEEDED:
                continue  # "3.5", "example.com", "?!" glued to the next word
            if abbreviations and punct == "." and end < len(text) and (
                    text[end].islower() or _is_abbreviation(text[start:match.start()])):
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


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of ``text`` for translation (stripped, non-empty, at most ``max_chars`` each), in
    order; joining them with spaces gives the text back up to whitespace."""
    out: list[str] = []
    for start, end in sentence_spans(text, clauses=False, abbreviations=True):
        out.extend(_cut_long(text[start:end].strip(), max_chars))
    return out


def _is_abbreviation(before: str) -> bool:
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip("\"'“‘«([").lower()
    return word in ABBREVIATIONS or bool(_INITIALS.match(word))


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    pieces = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars)
        if cut <= 0:
            cut = max_chars
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces
