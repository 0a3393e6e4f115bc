"""A small, offline, rule-based sentence splitter for translation.

Translation models are trained on sentences, so a segment is cut into sentences before it is
translated and the translations are joined again.  argostranslate's own splitter downloads a model
at first use; this one needs nothing.  Rules: a sentence ends at ``.``, ``!``, ``?`` or ``…``
followed by whitespace (closing quotes and brackets stay with the sentence), at the Devanagari
danda ``।``/``॥`` and at the CJK full stops ``。！？`` (no space needed).  A full stop after a
known abbreviation, an initial (``J.``, ``U.S.``) or before a lower-case letter does not end a
sentence.  Over-long sentences are cut at whitespace so the model never sees more than
``max_chars`` characters at once.
"""
from __future__ import annotations

import re

MAX_SENTENCE_CHARS = 800

_END = re.compile(r"([.!?…]+|[।॥]+|[。！？]+)([\"'”“’‘»«›‹)\]」』]*)(\s*)")
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


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of ``text`` (stripped, non-empty), in order; joining them with spaces gives the
    text back up to whitespace."""
    sentences: list[str] = []
    start = 0
    length = len(text)
    for match in _END.finditer(text):
        after = match.end()
        if after >= length:
            break
        punct, spaces = match.group(1), match.group(3)
        if not spaces and punct[-1] not in _NO_SPACE_NEEDED:
            continue  # "3.5", "example.com", "?!" glued to the next word
        if punct == "." and (_is_abbreviation(text[start:match.start()]) or text[after].islower()):
            continue
        piece = text[start:match.end(2)].strip()
        if piece:
            sentences.append(piece)
        start = after
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    out: list[str] = []
    for sentence in sentences:
        out.extend(_cut_long(sentence, max_chars))
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
