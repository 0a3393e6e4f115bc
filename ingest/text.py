"""Sentence boundaries: the language step's cut points here, the translation step's sentences
from sentencex.

The language step cuts a paragraph of a language it does not know yet into pieces to find where
its language switches (``sentence_spans``): at ``.``, ``!``, ``?``, ``…`` (and the Arabic ``؟``)
followed by whitespace, closing quotes and brackets staying with it, at the Devanagari danda
``।``/``॥`` and the CJK full stops ``。！？`` with or without whitespace, and (``clauses=True``) at
``;``, at a colon that opens a quotation and at line breaks.  These are offsets into the text and
cut points rather than sentences: an abbreviation cut too early costs nothing there (the pieces
are grouped again by language), and no sentence splitter cuts at clauses.

The translation step needs real sentences, the units its models were trained on
(``split_sentences``): Wikimedia's sentencex (MIT, no dependencies, ~300 languages with their own
abbreviation lists: "Dr.", "z. B.", "3. Mai", "U.S." end nothing), over-long sentences then cut at
whitespace.  argostranslate's own splitter downloads a model at first use; pysbd is unmaintained.
"""
from __future__ import annotations

import re

MAX_SENTENCE_CHARS = 800

_CUT = re.compile(
    r"""(?P<end>[.!?…;।॥؟۔։።။།。！？]+)(?P<close>["'”“’‘»«›‹)\]」』]*)(?P<space>\s*)"""
    r"""|(?P<quote>:\s+(?=["'“„«‘「『]))"""  # "He said: „..." -> a piece before the quotation
    r"""|(?P<newline>\n+)"""
)
_NO_SPACE_NEEDED = set("।॥۔։።။།。！？")


def sentence_spans(text: str, min_chars: int = 1, *, clauses: bool = True) -> list[tuple[int, int]]:
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


def split_sentences(text: str, language: str = "en", max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of ``text`` in ``language`` (an ISO 639 code; sentencex falls back to its
    language-neutral rules for one it does not know) for translation: stripped, non-empty, at most
    ``max_chars`` each, in order; joining them with spaces gives the text back up to whitespace."""
    import sentencex

    out: list[str] = []
    for sentence in sentencex.segment(language, text):
        out.extend(_cut_long(sentence.strip(), max_chars))
    return out


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
