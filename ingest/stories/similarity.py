"""The story similarity of two articles and the link it makes (docs/dedup.md, "Stories").

Everything here depends on the two articles alone (no index statistics such as IDF), so a link
between two articles is the same whatever else is indexed and whatever the order: that is what
makes the story partition order-invariant (``index.StoryIndex``).

* **lexical**: cosine over sublinear term frequencies (1 + log tf) of content words (stop words
  of every language from ``stopwordsiso``, cut to their first ``WORD_PREFIX`` characters: a
  cheap stemmer that measured better than whole words on the dev set).  The title counts twice.
* **names/numbers**: cosine over names, numbers and amounts (``text.name_tokens``,
  ``text.number_tokens``, language-independent), used across languages.
* **embedding**: USE cosine when both articles have a USE vector, else the centred E5 cosine when
  both have an E5 one (``embed``); in the same language with both models on both sides (a bridge
  language such as English), the mean of the two.

Same comparison language: ``score = w * lexical + (1 - w) * embedding`` (``w`` =
``story_lexical_weight``; lexical alone when no model covers both), then
``score = (1 - t) * score + t * titles``, the cosine of the titles' content words, 0 when either
has no title (``t`` = ``story_title_weight``: headlines name the event where bodies share the
topic; on the SemEval dev pairs it lifted the pair AUC from 0.937 to 0.943).  A *strong* link
(``score >= story_threshold``) joins two stories by itself; a *weak* one
(``>= story_weak_threshold``) only when a second link between the same two stories confirms it.
The score with both models (their mean) is another function than the score with one, so it has
its own pair of thresholds, ``story_bridge_threshold`` and ``story_bridge_weak_threshold``.

Different languages: ``score = embedding + 0.1 * names/numbers cosine``, a strong link at
``story_crosslingual_threshold`` (USE; ``story_crosslingual_cjk_threshold`` when one side is
Chinese, Japanese or Korean: USE's cosines across those scripts are lower) or
``story_crosslingual_e5_threshold`` (E5).  With no model in common, the names/numbers cosine
must reach ``story_names_numbers_threshold`` and the two must share at least
``MIN_SHARED_NAMES_NUMBERS`` names and numbers, one of them a number.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ingest.stories.signatures import StoryVector, term_id
from ingest.stories.text import TITLE_BOOST, _unspaced_split, name_tokens, number_tokens, words

WORD_PREFIX = 5
TOP_TERMS = 400
KEY_TERMS = 24
KEY_NAMES_NUMBERS = 8
MAX_TITLE_TERMS = 40
NAMES_NUMBERS_BONUS = 0.1
# no model in common (e.g. Hindi and German): names and numbers only, at least this many shared,
# one a number (a single shared date or count linked unrelated reports on the WMT dev set)
MIN_SHARED_NAMES_NUMBERS = 3
_TYPE_MASK = 3
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_APOS = re.compile(r"['’](?:s|S)$")


@lru_cache(maxsize=None)
def stop_words(language: str) -> frozenset:
    import stopwordsiso

    lang = (language or "").split("-")[0]
    return frozenset(stopwordsiso.stopwords(lang)) if stopwordsiso.has_lang(lang) else frozenset()


def lexical_tokens(text: str, title: str | None, language: str, text_words: list[str] | None = None) -> Counter:
    """Typed tokens of an article: ``w:<lang>:<word prefix>`` (title words count ``TITLE_BOOST``
    times), ``t:<lang>:<word prefix>`` (the title's words again, once: the titles' own cosine),
    ``e:<name>``, ``n:<value>``."""
    stop = stop_words(language)
    out: Counter = Counter()
    for part, mult, toks, is_title in ((title or "", TITLE_BOOST, None, True), (text or "", 1, text_words, False)):
        if toks is None:
            toks = words(part)
            if _UNSPACED.search(part):
                toks = _unspaced_split(toks)
        for w in toks:
            if "'" in w or "’" in w:
                w = _APOS.sub("", w)
            if len(w) < 2 or w in stop or w[0].isdigit():
                continue
            out[f"w:{language}:{w[:WORD_PREFIX]}"] += mult
            if is_title:
                out[f"t:{language}:{w[:WORD_PREFIX]}"] = 1
    full = (title or "") + "\n" + (text or "")
    out.update(number_tokens(full, language))
    out.update(name_tokens(full))
    return out


def lexical_vector(terms: dict[int, int]) -> StoryVector:
    """Sublinear-tf vector of ``terms`` (term id -> tf), the ``TOP_TERMS`` heaviest, L2-normalised;
    ``keys``: the heaviest words and names/numbers, posted in the inverted index."""
    if not terms:
        return StoryVector(np.zeros(0, np.int32), np.zeros(0, np.float32), [])
    tids = np.fromiter(terms.keys(), dtype=np.int64, count=len(terms))
    tf = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
    w = 1.0 + np.log(tf)
    order = np.lexsort((tids, -w))
    title = order[(tids[order] & _TYPE_MASK) == 3][:MAX_TITLE_TERMS]  # all of the title's words
    order = np.concatenate([order[(tids[order] & _TYPE_MASK) != 3][:TOP_TERMS], title])
    ranked = tids[order]
    kind = ranked & _TYPE_MASK
    keys = ranked[kind == 0][:KEY_TERMS].tolist()
    keys += [t for t in ranked[(kind == 1) | (kind == 2)][:KEY_NAMES_NUMBERS].tolist() if t not in keys]
    kept = order[np.argsort(tids[order], kind="stable")]
    weights = w[kept]
    weights /= np.linalg.norm(weights) or 1.0
    # rounded as stored (float16), so that a vector compares the same whether it was just computed or
    # read back from the index: a link must not depend on which of its two articles came later
    return StoryVector(tids[kept].astype(np.int32), weights.astype(np.float16).astype(np.float32), keys)


def lexical_terms(text: str, title: str | None, language: str, text_words: list[str] | None = None) -> dict:
    return {term_id(tok): tf for tok, tf in lexical_tokens(text, title, language, text_words).items()}


def lexical_cosines(a: StoryVector, b: StoryVector) -> tuple[float, float, int, float | None]:
    """(cosine over content words, cosine over names and numbers, how many names and numbers are
    shared (0 unless one of them is a number), cosine over the titles' words (None unless both
    have a title)).  Names count
    once, as words: counting them again as names let two reports about the same companies but
    different events look alike (measured: precision 0.915 -> 0.948 on the dev set).

    Symmetric to the bit: the shared ids are taken in id order from either side, and the sums run
    in that order."""
    if len(a.ids) == 0 or len(b.ids) == 0:
        return 0.0, 0.0, 0, None
    wa, ka, na = a.parts()
    wb, _, nb = b.parts()
    pos = np.searchsorted(b.ids, a.ids)
    pos[pos == len(b.ids)] = 0
    hit = b.ids[pos] == a.ids
    kind = ka[hit]
    dots = np.bincount(kind, weights=wa[hit] * wb[pos[hit]], minlength=4)
    counts = np.bincount(kind, minlength=4)

    def cos(dot: float, x: float, y: float) -> float:
        return float(dot) / (math.sqrt(x) * math.sqrt(y)) if x > 0 and y > 0 else 0.0

    words_cos = cos(dots[0], na[0], nb[0])
    nn = cos(dots[1] + dots[2], na[1] + na[2], nb[1] + nb[2])
    shared = int(counts[1] + counts[2]) if counts[2] else 0
    titles = cos(dots[3], na[3], nb[3]) if na[3] > 0 and nb[3] > 0 else None
    return words_cos, nn, shared, titles


@dataclass
class Side:
    """What a link is computed from: one article's comparison language, lexical vector, vectors."""
    lang: str
    vec: StoryVector
    use: np.ndarray | None
    e5: np.ndarray | None


STRONG, WEAK = 2, 1


def link(a: Side, b: Side, s) -> tuple[int, float]:
    """(STRONG, WEAK or 0, score) of two articles inside each other's time window; ``s``: Settings.
    Symmetric: ``link(a, b) == link(b, a)``."""
    lex, nn, shared, titles = lexical_cosines(a.vec, b.vec)
    two_models = False
    if a.use is not None and b.use is not None:
        emb, model = float(a.use @ b.use), "use"
        if a.lang == b.lang and a.e5 is not None and b.e5 is not None:  # two models: their mean
            emb, two_models = 0.5 * (emb + float(a.e5 @ b.e5)), True
    elif a.e5 is not None and b.e5 is not None:
        emb, model = float(a.e5 @ b.e5), "e5"
    else:
        emb, model = None, None
    if a.lang == b.lang:
        w = s.story_lexical_weight
        score = lex if emb is None else w * lex + (1.0 - w) * emb
        # the headlines' own say (one report's event, not its topic); a missing title counts as
        # no agreement: without that evidence a pair needs a higher score (story_threshold / (1 - t))
        score = (1.0 - s.story_title_weight) * score + s.story_title_weight * (titles or 0.0)
        strong, weak = ((s.story_bridge_threshold, s.story_bridge_weak_threshold) if two_models
                        else (s.story_threshold, s.story_weak_threshold))
        if score >= strong:
            return STRONG, score
        return (WEAK if score >= weak else 0), score
    if model is None:
        ok = shared >= MIN_SHARED_NAMES_NUMBERS and nn >= s.story_names_numbers_threshold
        return (STRONG if ok else 0), nn
    score = emb + NAMES_NUMBERS_BONUS * nn
    if model == "e5":
        need = s.story_crosslingual_e5_threshold
    elif a.lang.split("-")[0] in ("zh", "ja", "ko") or b.lang.split("-")[0] in ("zh", "ja", "ko"):
        need = s.story_crosslingual_cjk_threshold
    else:
        need = s.story_crosslingual_threshold
    return (STRONG if score >= need else 0), score
