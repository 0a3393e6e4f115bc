"""Text features for deduplication: normalisation, shingles, and the story tokens.

Pure functions, no state except small caches.  ``Features.of(text)`` tokenises once:

* ``shingles``: 32-bit hashes of word 5-shingles taken *within* each paragraph (so reordering
  paragraphs changes nothing), for MinHash near-copy detection;
* ``content_hash``: hash of the normalised text (NFKC, case-folded, punctuation ignored).

``story_tokens(text, title, language)`` is the bag of typed tokens for the same-story
similarity: ``w:<lang>:<word>`` content words (language-dependent), ``n:<value>`` numbers and
amounts normalised to their value (``$38bn``, ``$38 billion`` and ``38 Milliarden Dollar`` are all
``n:3.8e+10``), ``e:<name>`` capitalised names, and ``q:<hash>`` word 4-shingles of quoted
speech.  ``n:`` and ``e:`` tokens are language-independent.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
QUOTE_SHINGLE_WORDS = 4
MIN_QUOTE_WORDS = 6
TITLE_BOOST = 2  # title tokens count this many times

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_APOS_SUFFIX = re.compile(r"['’](?:s|S)$")
_PARA_SPLIT = re.compile(r"\n+")

# ---------------------------------------------------------------------------------------------
# normalisation and shingles


def words(text: str) -> list[str]:
    """Case-folded NFKC words (letters/digits, inner apostrophes kept)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation to spaces, whitespace collapsed."""
    return " ".join(words(text))


def hash_normalised(norm: str) -> str:
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_CRC_CACHE: dict[str, int] = {}


def _crc(word: str) -> int:
    value = _CRC_CACHE.get(word)
    if value is None:
        if len(_CRC_CACHE) > 200_000:  # bounded memory
            _CRC_CACHE.clear()
        value = _CRC_CACHE[word] = zlib.crc32(word.encode("utf-8", "surrogatepass"))
    return value


_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)


@dataclass
class Features:
    words: list[str]  # all words of the text, in order
    shingles: list[int]  # distinct shingle hashes, sorted
    content_hash: str

    @classmethod
    def of(cls, text: str, k: int = SHINGLE_WORDS) -> "Features":
        raw = [words(p) for p in _PARA_SPLIT.split(text)]
        digest = hash_normalised(" ".join(w for p in raw for w in p))  # == hash of normalise(text)
        paras = [_unspaced_split(p) for p in raw] if _UNSPACED.search(text) else raw
        return cls([w for p in paras for w in p], _shingles(paras, k), digest)


def shingle_hashes(text: str, k: int = SHINGLE_WORDS) -> list[int]:
    """Distinct 32-bit hashes of word k-shingles, taken within paragraphs (lines).

    A paragraph shorter than k words is one shingle.  CJK and Thai text has no spaces: there
    long runs are cut into 2-character "words", so shingles still overlap meaningfully.
    """
    return Features.of(text, k).shingles


def _shingles(paras: list[list[str]], k: int) -> list[int]:
    hashes: list[int] = []
    owner: list[int] = []
    short: list[list[int]] = []
    for i, toks in enumerate(paras):
        if not toks:
            continue
        hs = [_crc(t) for t in toks]
        if len(hs) < k:
            short.append(hs)
        else:
            hashes.extend(hs)
            owner.extend([i] * len(hs))
    out = []
    if hashes:
        h = np.array(hashes, dtype=np.uint64)
        p = np.array(owner)
        n = len(h) - k + 1
        acc = h[:n].copy()
        for j in range(1, k):
            acc = acc * _M1 + h[j:n + j]
        out.append(acc[p[:n] == p[k - 1:]])
    if short:
        mul, mask = int(_M1), (1 << 64) - 1
        values = []
        for hs in short:
            acc = len(hs)
            for v in hs:
                acc = (acc * mul + v) & mask
            values.append(acc)
        out.append(np.array(values, dtype=np.uint64))
    if not out:
        return []
    acc = np.concatenate(out)
    acc = (acc ^ (acc >> np.uint64(31))) * _M2
    return np.unique((acc >> np.uint64(32)).astype(np.uint32)).tolist()


_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _unspaced_split(toks: list[str]) -> list[str]:
    """Split very long tokens of scripts written without spaces into 2-character pieces."""
    if not any(len(t) > 8 and _UNSPACED.search(t) for t in toks):
        return toks
    out: list[str] = []
    for t in toks:
        if len(t) > 8 and _UNSPACED.search(t):
            out.extend(t[i:i + 2] for i in range(0, len(t), 2))
        else:
            out.append(t)
    return out


# ---------------------------------------------------------------------------------------------
# numbers and amounts

_SCALES: dict[str, float] = {
    # English
    "thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "trillions": 1e12,
    "tn": 1e12, "tr": 1e12, "lakh": 1e5, "lakhs": 1e5, "crore": 1e7, "crores": 1e7,
}
# languages where "billion"-like words mean 10^12 and a milliard is 10^9
_LONG_SCALE: dict[str, float] = {
    "tausend": 1e3, "tsd": 1e3, "mio": 1e6, "million": 1e6, "millionen": 1e6, "millions": 1e6,
    "mrd": 1e9, "md": 1e9, "mds": 1e9, "milliarde": 1e9, "milliarden": 1e9, "milliard": 1e9,
    "milliards": 1e9, "billion": 1e12, "billionen": 1e12, "billions": 1e12,
    "millón": 1e6, "millones": 1e6, "mil millones": 1e9, "billón": 1e12, "billones": 1e12,
    "milhão": 1e6, "milhões": 1e6, "mil milhões": 1e9, "bilhão": 1e9, "bilhões": 1e9,
    "bilião": 1e12, "biliões": 1e12, "milione": 1e6, "milioni": 1e6, "miliardo": 1e9, "miliardi": 1e9,
    "miljoen": 1e6, "miljoenen": 1e6, "miljard": 1e9, "miljarden": 1e9, "biljoen": 1e12,
    "milion": 1e6, "miliony": 1e6, "milionów": 1e6, "miliard": 1e9, "miliardy": 1e9, "miliardów": 1e9,
    "bilion": 1e12, "biliony": 1e12,
}
# Brazilian Portuguese uses the short scale ("bilhão" = 10^9) - handled in the table above.
_DECIMAL_COMMA = {"de", "fr", "es", "it", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "sr", "ro", "ru",
                  "uk", "bg", "tr", "da", "no", "nb", "nn", "sv", "fi", "hu", "el", "id", "vi", "lt",
                  "lv", "et", "ca", "gl", "eu", "az", "kk", "be", "is", "sq", "mk", "bs", "lb"}
_PCT = r"%|per ?cent|pct|prozent|pour cent|por ciento|por cento|per cento|procent[oa]?"
_SCALE_WORD = r"mil mill?ones|mil milhões|[^\W\d_]{1,11}"
# English style: 1,234,567.89   decimal-comma style: 1.234.567,89 or 1 234 567,89
_NUMBER_EN = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![.,]?\d)"
    rf"(?:\s?({_PCT})|\s?({_SCALE_WORD})\b)?", re.IGNORECASE)
_NUMBER_DC = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[.\u00a0\u202f ]\d{3})+(?:,\d+)?|\d+(?:,\d+)?)(?![.,]?\d)"
    rf"(?:\s?({_PCT})|\s?({_SCALE_WORD})\b)?", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹]|US\$|A\$|C\$|USD|EUR|GBP|Rs\.?)\s?$")


def number_tokens(text: str, language: str = "en") -> list[str]:
    """Numbers and amounts normalised to their value: ``n:3.8e+10``, ``n:4%``.

    The decimal mark follows the language (``1,4 Milliarden`` in German is 1.4e9).  Integers
    below 10 without a scale word or percent sign are skipped (too common to help).  The
    one-letter scales ``k``/``m``/``b`` count only after a currency sign (``$5m``, not ``100 m``).
    """
    decimal_comma = language in _DECIMAL_COMMA
    pattern, scales = (_NUMBER_DC, _LONG_SCALE) if decimal_comma else (_NUMBER_EN, _SCALES)
    out = []
    for m in pattern.finditer(text):
        raw, pct, word = m.group(1), m.group(2), m.group(3)
        if decimal_comma:
            raw = re.sub(r"[.\u00a0\u202f ]", "", raw).replace(",", ".")
        else:
            raw = raw.replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        if pct:
            out.append(f"n:{value:.4g}%")
            continue
        scale = 1.0
        if word:
            w = word.casefold()
            if len(w) == 1 and not _CURRENCY_BEFORE.search(text[max(0, m.start() - 4):m.start()]):
                w = ""
            scale = scales.get(w) or _SCALES.get(w) or 1.0
        if scale == 1.0 and value < 10:
            continue
        out.append(f"n:{value * scale:.4g}")
    return out


# ---------------------------------------------------------------------------------------------
# names and quotes

# ---------------------------------------------------------------------------------------------
# names and quotes

_UPPER = "A-Z\u00c0-\u00de\u0391-\u03a9\u0410-\u042f"
_CAP_WORD = re.compile(rf"(?<![\w'’])([{_UPPER}][\w'’\-]*|[a-z]+[A-Z][\w\-]*)")
# a capitalised word right after the start of a line or sentence-ending/quoting punctuation
_INITIAL = re.compile(rf"(?:^|[.!?:;\"“”‘'«»„(\[—–\-•*])[ \t\u00a0]*([{_UPPER}])",
                      re.MULTILINE)


def name_tokens(text: str) -> list[str]:
    """Capitalised tokens not at the start of a sentence (plus any that are all caps, camel
    case or contain digits anywhere), lower-cased, without a possessive ``'s``: ``e:openai``.

    A word capitalised only at sentence starts is not a name.  (In German every noun is
    capitalised; those tokens then act as extra content words, harmless within one language.)
    """
    initial = {m.start(1) for m in _INITIAL.finditer(text)}
    cap_mid: set[str] = set()
    found: list[str] = []
    for m in _CAP_WORD.finditer(text):
        tok = m.group(1)
        if "'" in tok or "’" in tok:
            tok = _APOS_SUFFIX.sub("", tok).strip("'’")
        tok = tok.strip("-")
        if len(tok) < 2:
            continue
        key = tok.casefold()
        found.append(key)
        if key not in cap_mid and (m.start() not in initial or not tok[1:].islower()):
            cap_mid.add(key)
    return ["e:" + t for t in found if t in cap_mid and t not in _STOP_EN]


_QUOTE = re.compile(
    r"[“\"«„‚「『]([^“”\"«»„‚‘’「」『』\n]{15,}?)[”\"»“‘’」』]"
    r"|(?:(?<=\s)|(?<=^)|(?<=:))['‘]([^'‘’\n]{15,}?)['’](?=[\s.,;:!?)]|$)",
    re.MULTILINE,
)


def quote_tokens(text: str) -> list[str]:
    """Word 4-shingles of quoted speech (quotes of at least 6 words): ``q:<hash>``."""
    out = []
    for m in _QUOTE.finditer(text):
        span = m.group(1) or m.group(2) or ""
        toks = words(span)
        if len(toks) < MIN_QUOTE_WORDS:
            continue
        for i in range(len(toks) - QUOTE_SHINGLE_WORDS + 1):
            out.append(f"q:{_crc(' '.join(toks[i:i + QUOTE_SHINGLE_WORDS])):08x}")
    return out


# ---------------------------------------------------------------------------------------------
# content words and the story bag


def content_words(tokens: list[str], language: str) -> Counter:
    """Content words of already tokenised text (language-tagged): no stopwords, no numbers,
    at least 2 characters, possessive 's removed.  Returns token -> count."""
    stop = _STOP_EN if language == "en" else _STOP_OTHER.get(language, frozenset())
    prefix = f"w:{language}:"
    out: Counter = Counter()
    for w, n in Counter(tokens).items():
        if "'" in w or "’" in w:
            w = _APOS_SUFFIX.sub("", w)
        if len(w) < 2 or w in stop or w[0].isdigit():
            continue
        out[prefix + w] += n
    return out


def story_tokens(text: str, title: str | None, language: str, text_words: list[str] | None = None) -> Counter:
    """The bag of typed tokens of an article for the story similarity (title counted twice).
    ``text_words``: ``words(text)`` when the caller has it already."""
    bag: Counter = Counter()
    for part, times, toks in ((title or "", TITLE_BOOST, None), (text, 1, text_words)):
        if not part:
            continue
        counts = content_words(toks if toks is not None else words(part), language)
        counts.update(number_tokens(part, language))
        counts.update(name_tokens(part))
        counts.update(quote_tokens(part))
        if times != 1:
            for t in counts:
                counts[t] *= times
        bag.update(counts)
    return bag


LANGUAGE_INDEPENDENT = ("n:", "e:")


_STOP_EN = frozenset("""
a about above across after afterwards again against all almost alone along already also although
always am among amongst an and another any anyhow anyone anything anyway anywhere are around as at
be became because become becomes becoming been before beforehand behind being below beside besides
between beyond both but by can cannot could did do does doing done down during each either else
elsewhere enough etc even ever every everyone everything everywhere except few for former formerly
from further had has have having he hence her here hereafter hereby herein hereupon hers herself him
himself his how however i ie if in indeed into is it its itself just last latter latterly least less
like made make many may me meanwhile might more moreover most mostly much must my myself namely
neither never nevertheless new next no nobody none noone nor not nothing now nowhere of off often on
once one only onto or other others otherwise our ours ourselves out over own per perhaps please put
rather re said same say says see seem seemed seeming seems several she should since so some somehow
someone something sometime sometimes somewhere still such than that the their theirs them themselves
then thence there thereafter thereby therefore therein thereupon these they this those though through
throughout thru thus to together too toward towards under until up upon us very via was we well were
what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever whether
which while whither who whoever whole whom whose why will with within without would yet you your yours
yourself yourselves mr mrs ms dr s t don didn doesn isn wasn weren won wouldn couldn shouldn ll ve
also according told year years week weeks day days monday tuesday wednesday thursday friday saturday
sunday today yesterday time times first two three four five six seven eight nine ten percent
""".split())

_STOP_OTHER: dict[str, frozenset] = {
    "de": frozenset("""der die das den dem des ein eine einer eines einem einen und oder aber auch
    als an auf aus bei bis durch für gegen hat haben hatte ich im in ist ja kann man mit nach nicht
    noch nur ob sich sie sind so über um und uns von vor war waren was wenn werden wie wir wird zu
    zum zur es er dass daß sein seine ihre ihr wurde wurden sei mehr sehr schon dann doch dieser
    diese dieses jahr jahren prozent""".split()),
    "fr": frozenset("""le la les un une des du de et ou mais en au aux ce cet cette ces est sont
    a ont été être avec pour par sur dans qui que quoi ne pas plus il elle ils elles on nous vous
    se sa son ses leur leurs comme tout tous aussi""".split()),
    "es": frozenset("""el la los las un una unos unas de del y o pero en a al con por para que
    es son fue ser ha han se su sus lo como más no ya este esta estos estas""".split()),
}
