"""Unicode script detection (ISO 15924 codes) for language identification.

A script is the strongest, cheapest signal about a text's language: Thai text is Thai, Hangul is
Korean, kana means Japanese, Devanagari narrows the choice to Hindi/Marathi/Nepali/Sanskrit.

The table below maps code-point ranges to scripts; lookups go through ``bisect`` once per distinct
character and are then memoised, so counting the scripts of a text costs one dict lookup per
character.  Only letters and combining marks count: digits, punctuation, symbols, spaces and emoji
are "Zyyy" (common) and say nothing about the language.
"""
from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

COMMON = "Zyyy"  # no script: digits, punctuation, symbols, spaces, emoji

# (first, last, script) -- non-overlapping, any order; sorted below.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"), (0x0061, 0x007A, "Latn"), (0x00AA, 0x00AA, "Latn"),
    (0x00BA, 0x00BA, "Latn"), (0x00C0, 0x00D6, "Latn"), (0x00D8, 0x00F6, "Latn"),
    (0x00F8, 0x02AF, "Latn"), (0x1D00, 0x1D7F, "Latn"), (0x1E00, 0x1EFF, "Latn"),
    (0x2C60, 0x2C7F, "Latn"), (0xA720, 0xA7FF, "Latn"), (0xAB30, 0xAB6F, "Latn"),
    (0xFB00, 0xFB06, "Latn"), (0xFF21, 0xFF3A, "Latn"), (0xFF41, 0xFF5A, "Latn"),
    (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"), (0x1C80, 0x1C8F, "Cyrl"), (0x2DE0, 0x2DFF, "Cyrl"), (0xA640, 0xA69F, "Cyrl"),
    (0x0531, 0x058F, "Armn"), (0xFB13, 0xFB17, "Armn"),
    (0x0590, 0x05FF, "Hebr"), (0xFB1D, 0xFB4F, "Hebr"),
    (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"), (0x0870, 0x08FF, "Arab"),
    (0xFB50, 0xFDFF, "Arab"), (0xFE70, 0xFEFF, "Arab"),
    (0x0700, 0x074F, "Syrc"), (0x0780, 0x07BF, "Thaa"), (0x07C0, 0x07FF, "Nkoo"),
    (0x0900, 0x097F, "Deva"), (0xA8E0, 0xA8FF, "Deva"),
    (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"), (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"), (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"), (0xA9E0, 0xA9FF, "Mymr"), (0xAA60, 0xAA7F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"), (0x1C90, 0x1CBF, "Geor"), (0x2D00, 0x2D2F, "Geor"),
    (0x1100, 0x11FF, "Hang"), (0x3130, 0x318F, "Hang"), (0xA960, 0xA97F, "Hang"),
    (0xAC00, 0xD7FF, "Hang"), (0xFFA0, 0xFFDC, "Hang"),
    (0x1200, 0x139F, "Ethi"), (0x2D80, 0x2DDF, "Ethi"), (0xAB00, 0xAB2F, "Ethi"),
    (0x13A0, 0x13FF, "Cher"), (0x1400, 0x167F, "Cans"), (0x1780, 0x17FF, "Khmr"),
    (0x19E0, 0x19FF, "Khmr"), (0x1800, 0x18AF, "Mong"), (0x1B00, 0x1B7F, "Bali"),
    (0xA980, 0xA9DF, "Java"), (0x2D30, 0x2D7F, "Tfng"), (0xA000, 0xA4CF, "Yiii"),
    (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"),
    (0xFF66, 0xFF9D, "Kana"), (0x3100, 0x312F, "Bopo"), (0x31A0, 0x31BF, "Bopo"),
    (0x2E80, 0x2FDF, "Hani"), (0x3005, 0x3005, "Hani"), (0x3007, 0x3007, "Hani"),
    (0x3021, 0x3029, "Hani"), (0x3038, 0x303B, "Hani"), (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"), (0xF900, 0xFAFF, "Hani"), (0x20000, 0x323AF, "Hani"),
)
_SORTED = sorted(_RANGES)
_STARTS = [r[0] for r in _SORTED]
for _a, _b in zip(_SORTED, _SORTED[1:]):
    assert _a[1] < _b[0], f"overlapping script ranges {_a} {_b}"

# Script -> the languages (ISO 639-1) written in it, most likely first.  A script with one language
# decides the language by itself; the others narrow the detector's choice.  Latin is open-ended.
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "Grek": ("el",), "Armn": ("hy",), "Hebr": ("he", "yi"), "Thai": ("th",), "Laoo": ("lo",),
    "Khmr": ("km",), "Mymr": ("my",), "Geor": ("ka",), "Hang": ("ko",), "Kore": ("ko",),
    "Jpan": ("ja",), "Hira": ("ja",), "Kana": ("ja",), "Beng": ("bn", "as"), "Guru": ("pa",),
    "Gujr": ("gu",), "Orya": ("or",), "Taml": ("ta",), "Telu": ("te",), "Knda": ("kn",),
    "Mlym": ("ml",), "Sinh": ("si",), "Ethi": ("am", "ti"), "Tibt": ("bo",), "Thaa": ("dv",),
    "Mong": ("mn",), "Yiii": ("ii",), "Cher": (), "Cans": (), "Tfng": (), "Syrc": (), "Nkoo": (),
    "Bali": (), "Java": (), "Bopo": ("zh",),
    "Deva": ("hi", "mr", "ne", "sa"),
    "Arab": ("ar", "fa", "ur", "ps", "ku", "sd", "ug"),
    "Cyrl": ("ru", "uk", "bg", "sr", "mk", "be", "kk", "mn", "ky", "tg"),
    "Hani": ("zh", "ja"),
}
# Scripts whose letters are whole syllables or morphemes: one character carries about as much
# information as two or three alphabetic letters.
DENSE_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Jpan", "Hang", "Kore", "Yiii"})

_memo: dict[str, str] = {}
_MEMO_LIMIT = 200_000


def _lookup(ch: str) -> str:
    cp = ord(ch)
    i = bisect_right(_STARTS, cp) - 1
    script = COMMON
    if i >= 0 and cp <= _SORTED[i][1]:
        script = _SORTED[i][2]
    if script != COMMON and unicodedata.category(ch)[0] not in "LM":
        script = COMMON  # digits, signs and punctuation inside a script's block (e.g. ।, ٣)
    return script


def script_of(ch: str) -> str:
    """ISO 15924 code of one character; ``Zyyy`` for anything that is not a letter or mark."""
    script = _memo.get(ch)
    if script is None:
        script = _lookup(ch)
        if len(_memo) < _MEMO_LIMIT:
            _memo[ch] = script
    return script


def script_counts(text: str) -> dict[str, int]:
    """Number of letters per script in ``text`` (common characters are not counted)."""
    counts: dict[str, int] = {}
    get = _memo.get
    for ch, n in Counter(text).items():  # counted in C; then one lookup per distinct character
        script = get(ch) or script_of(ch)
        if script != COMMON:
            counts[script] = counts.get(script, 0) + n
    return counts


@dataclass(frozen=True)
class ScriptInfo:
    script: str  # dominant script, merged: Jpan (Han + kana), Kore (Hangul + Han); Zyyy if no letters
    letters: int  # letters in the dominant script
    total_letters: int  # letters in all scripts
    counts: dict

    @property
    def share(self) -> float:
        return self.letters / self.total_letters if self.total_letters else 0.0

    @property
    def weight(self) -> int:
        """Letters in the dominant script, dense scripts counted double (an information measure)."""
        return self.letters * 2 if self.script in DENSE_SCRIPTS else self.letters

    @property
    def languages(self) -> tuple[str, ...] | None:
        """Candidate languages of the dominant script; None: open-ended (Latin) or unknown."""
        return SCRIPT_LANGUAGES.get(self.script)


def analyse(text: str) -> ScriptInfo:
    """Dominant script of ``text``, merging Han with kana (Japanese) or Hangul (Korean)."""
    counts = script_counts(text)
    return info_from_counts(counts)


def info_from_counts(counts: dict[str, int]) -> ScriptInfo:
    total = sum(counts.values())
    if not total:
        return ScriptInfo(COMMON, 0, 0, counts)
    merged = dict(counts)
    kana = merged.pop("Hira", 0) + merged.pop("Kana", 0)
    hangul = merged.get("Hang", 0)
    if kana:
        merged["Jpan"] = merged.pop("Hani", 0) + kana
    elif hangul and merged.get("Hani", 0) and hangul >= merged["Hani"]:
        merged["Kore"] = merged.pop("Hani") + merged.pop("Hang")
    script, letters = max(merged.items(), key=lambda kv: (kv[1], kv[0]))
    return ScriptInfo(script, letters, total, counts)


def script_runs(text: str) -> list[tuple[int, int, str]]:
    """Maximal runs ``(start, end, script)`` of one script; common characters join the run they
    are in (or the next one at the start of the text)."""
    runs: list[list] = []
    for i, ch in enumerate(text):
        script = script_of(ch)
        if script == COMMON:
            continue
        if runs and runs[-1][2] == script:
            runs[-1][1] = i + 1
        else:
            if runs:
                runs[-1][1] = i  # the common characters before this letter close the previous run
            runs.append([i if runs else 0, i + 1, script])
    if runs:
        runs[-1][1] = len(text)
    return [tuple(r) for r in runs]
