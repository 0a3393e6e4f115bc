"""Language identification per segment and per document, catching mixed-language content.

``annotate(article, settings)`` sets every segment's ``language`` (ISO 639-1 or ``und``),
``confidence`` (0..1) and ``script`` (ISO 15924), splits long segments where the language switches
between sentences, and sets ``article.language`` (weighted by letters), ``language_confidence`` and
``is_mixed_language``.  ``detect(text)`` labels one text on its own.

How a label is decided (see docs/language.md):
1. The script (``ingest.language.scripts``) comes first.  A script used by one language decides it (Thai,
   Hangul, kana, Greek, ...); a shared script (Devanagari, Arabic, Cyrillic, Han) restricts the
   detector's distribution to its languages, the most common one getting a small prior boost.
2. The backend (``ingest.language.backends``) gives a distribution over languages, once per
   segment or sentence piece, on at most ``settings.language_max_chars`` characters.  With the
   langdetect backend that is langdetect's n-gram profiles, scored exhaustively (deterministic,
   fast).  With lingua (the default) langdetect takes the first look and lingua the second, on the
   document's language (checked on its heaviest segments) and on every segment the first look
   could not settle: short headings, foreign segments, names (``_second_look``).
3. The document's dominant language (and ``article.language_hint``) is a prior for every segment,
   which keeps short headings in the document's language from drifting to a neighbour.
4. Too few letters, or no candidate reaching ``TUNING.und_below``, gives ``und`` rather than a wild guess;
   the confidence shrinks with the number of letters.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from ingest.language import scripts
from ingest.language.backends import ALIASES, LOAD_SECONDS, clear_caches, get_backend  # noqa: F401 (LOAD_SECONDS, clear_caches: re-exported)
from ingest.language.segment import group_spans, sentence_spans
from ingest.language.tables import CONFUSABLE
from ingest.records import Article, Segment
from ingest.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    """The tuned thresholds of per-segment language identification, in one place.

    Measured on the lingua_words dev half and the synthetic mixed documents of
    ``bench/language_bench.py`` (see docs/language.md for the figures); the reference seeds are a
    check, never a source.  Weights count letters; confidences are posteriors in 0..1."""
    min_weight: int = 3  # fewer letters than this gives "und" (but one Han, kana or Hangul character will do)
    und_below: float = 0.25  # best posterior among the script's candidates below this: "und"
    script_default_boost: float = 2.0  # prior for the first language of a shared script (Deva -> hi, Arab -> ar)
    context_boost: float = 4.0  # prior for the document's language (scaled by its share) and the hint
    detector_scale: float = 8.0  # letters at which a detector's answer is trusted to 1 - 1/e
    script_scale: float = 2.0  # the same for a language decided by its script alone
    context_min_weight: int = 20  # segments at least this heavy decide the document prior
    split_min_chars: int = 120  # shorter segments are never split
    split_max_factor: int = 50  # nor segments longer than this many times max_chars (a bound on
    # the cost of one pathological paragraph: every sentence of a split segment is analysed)
    piece_min_weight: int = 25  # a sentence needs this many letters to start a new segment ...
    piece_min_confidence: float = 0.8  # ... and this confidence
    piece_cross_script_min_weight: int = 8  # ... or this many letters of another (non-Latin) script
    foreign_cross_min_weight: int = 4  # a segment in another script counts as foreign from this weight
    foreign_same_min_weight: int = 20  # a segment in the document's script (or Latin in a non-Latin
    foreign_same_min_words: int = 3  # document) counts as foreign only when this long ...
    foreign_same_min_confidence: float = 0.8  # ... and this confident
    foreign_short_min_weight: int = 10  # a shorter one (two words or more) needs ...
    foreign_short_min_confidence: float = 0.75  # ... this confidence, against the document's prior
    foreign_latin_min_weight: int = 5  # lower-case Latin text in a non-Latin document ...
    foreign_latin_min_confidence: float = 0.5  # ... with at least this confidence when it holds digits
    # ("$38 billion" is a quantity: English 0.46 once the word lists know "billion"; was 0.4 before them)
    foreign_close_min_weight: int = 60  # close relatives (cs/sk, id/ms, ...) count only from this weight
    foreign_close_min_confidence: float = 0.9  # ... and this confidence
    script_sample_factor: int = 4  # script letters are counted on up to this many times max_chars
    names_keep_words: int = 4  # capitalised words inside sentences are left out if this many words remain
    screen_min_confidence: float = 0.5  # a sentence piece votes for a language switch from this confidence
    accept_confidence: float = 0.5  # langdetect's first look naming the document's language is kept from here
    doc_checks: int = 3  # lingua checks the document's language on this many of its heaviest segments ...
    doc_check_chars: int = 200  # ... each sampled to at least this many characters


TUNING = Thresholds()

_NOISE = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|[@#][\w-]+")
_ASCII_LATIN = re.compile(r"[A-Za-z]+")
_CASED = frozenset({"Latn", "Cyrl", "Grek", "Armn"})
# scripts that are one writing system for the mixed test (kanji-only lines in Japanese text)
_FAMILY = {"Jpan": "Hani", "Hira": "Hani", "Kana": "Hani", "Kore": "Hang"}
_CLOSE = frozenset(
    frozenset((a, b))
    for group in (("cs", "sk"), ("hr", "sr", "bs", "sl"), ("id", "ms"), ("da", "nb", "nn", "sv"),
                  ("es", "pt", "gl", "ca"), ("ru", "uk", "be", "bg", "mk"), ("hi", "mr", "ne"),
                  ("ar", "fa", "ur"), ("af", "nl"), ("et", "fi"), ("lv", "lt"), ("xh", "zu"), ("tn", "st"))
    for a in group for b in group if a != b
)
# languages that are written only in a script other than Latin: never a label for Latin text
_NOT_LATIN = frozenset(
    code for script, codes in scripts.SCRIPT_LANGUAGES.items() for code in codes if script != "Latn"
) - {"sr", "ku", "mn", "uz", "az", "tk", "kk"}


# ------------------------------------------------------------------------------------ one text
@dataclass
class Unit:
    """What is known about one piece of text before the document context is applied."""

    info: scripts.ScriptInfo
    words: int
    dist: dict[str, float] | None  # the backend's distribution (None: not asked)
    name_like: bool  # most words capitalised: a name or a title rather than running text
    sample: str = ""  # what the detector was given ("" when it was not asked)
    source: object = None  # the backend that produced ``dist``
    has_digits: bool = False  # numbers in the text ("$38 billion": a quantity more than words)

    def upgrade(self, backend) -> None:
        """Replace the distribution by ``backend``'s (lingua after langdetect's first look)."""
        if self.sample and self.source is not backend:
            self.dist, self.source = backend.scores(self.sample), backend


def analyse(text: str, backend, max_chars: int, detect_limit: int | None = None) -> Unit:
    """Script and backend distribution of ``text``: the detector sees at most ``detect_limit``
    (default ``max_chars``) characters, without URLs, e-mail addresses and handles, and without
    ASCII Latin words when another script dominates (names inside Devanagari text)."""
    limit = max_chars if detect_limit is None else detect_limit
    scan = _NOISE.sub(" ", text[: max_chars * TUNING.script_sample_factor])
    info = scripts.analyse(scan)
    sample = scan[:limit]
    if info.script not in ("Latn", scripts.COMMON) and info.counts.get("Latn"):
        sample = _ASCII_LATIN.sub(" ", sample)
    words = [w for w in (sample if limit >= len(scan) else scan).split() if any(ch.isalpha() for ch in w)]
    dist = None
    candidates = info.languages
    if _enough(info) and limit > 0 and (candidates is None or len(candidates) > 1):
        sample = _without_names(sample) if info.script in _CASED else sample
        dist = backend.scores(sample)
    else:
        sample = ""
    name_like = False
    if info.script == "Latn" and words:
        alpha = [w for w in words if w[:1].isalpha()]
        caps = sum(1 for w in alpha if w[:1].isupper())
        name_like = bool(alpha) and caps / len(alpha) >= 0.6
    return Unit(info, len(words), dist, name_like, sample, backend, any(ch.isdigit() for ch in scan))


def _enough(info: scripts.ScriptInfo) -> bool:
    """Enough letters to ask a detector: TUNING.min_weight, or one character of a dense script (Han)."""
    return info.weight >= (2 if info.script in scripts.DENSE_SCRIPTS else TUNING.min_weight)


def _without_names(sample: str) -> str:
    """The sample without capitalised words inside sentences (names: "Jón Guðmundsson", "Antonín
    Dvořák" make lingua answer Icelandic or Czech for an English sentence), when at least
    ``TUNING.names_keep_words`` other words (with letters: numbers, times and dashes do not count) remain;
    headlines in title case stay as they are.  (Counting "08", "2020", "10:58" as words left
    "08 2020 10:58 - 08 2020 10:58" of a Turkish date line, and the detector guessed.)"""
    words = sample.split()
    kept = [w for i, w in enumerate(words)
            if i == 0 or not w[:1].isupper() or words[i - 1][-1:] in ".!?:;\"“„«"]
    worded = sum(1 for w in kept if any(ch.isalpha() for ch in w))
    if len(kept) < len(words) and worded >= TUNING.names_keep_words:
        return " ".join(kept)
    return sample


def resolve(unit: Unit, backend, context: dict[str, float] | None = None) -> tuple[str, float]:
    """(language, confidence) for ``unit`` given the document context {language: share}."""
    code, conf, _, _ = _label(unit, backend, context or {})
    return code, conf


class Labelled(NamedTuple):
    """A unit with its label in a document's context (``_label``), and its segment once final."""
    unit: Unit
    code: str
    confidence: float
    posterior: dict[str, float]
    reliability: float
    segment: Segment | None = None


def _labelled(unit: Unit, backend, context: dict[str, float], segment: Segment | None = None) -> Labelled:
    return Labelled(unit, *_label(unit, backend, context), segment)


def _label(unit: Unit, backend, context: dict[str, float]) -> tuple[str, float, dict[str, float], float]:
    """(language, confidence, posterior over languages, reliability of the posterior)."""
    posterior, reliability, open_choice = _posterior(unit, backend, context)
    if not posterior:
        return "und", 0.0, posterior, reliability
    best = max(posterior, key=lambda code: (posterior[code], code))
    p_best = posterior[best]
    if p_best < TUNING.und_below and open_choice:  # a script's few languages are never a wild guess
        return "und", 0.0, posterior, reliability
    return best, p_best * reliability, posterior, reliability


def _posterior(unit: Unit, backend, context: dict[str, float]) -> tuple[dict[str, float], float, bool]:
    """Normalised posterior, its reliability (letters, script share) and whether the choice was
    open (not narrowed down by the script)."""
    info = unit.info
    if info.weight == 0:
        return {}, 0.0, True
    candidates = info.languages
    if candidates is not None and len(candidates) <= 1:  # even one kana or Hangul character decides
        if not candidates:
            return {}, 0.0, False  # a script without an ISO 639-1 language (Cherokee, Tifinagh, ...)
        return {candidates[0]: 1.0}, _reliability(info.weight, TUNING.script_scale) * info.share, False
    if not _enough(info):
        return {}, 0.0, True
    reliability = _reliability(info.weight, TUNING.detector_scale) * info.share
    if info.script == "Hani" and context.get("ja", 0.0) >= 0.5:
        return {"ja": 1.0}, reliability, False  # kanji-only lines of a Japanese document
    dist = unit.dist or {}
    if candidates:
        supported = (unit.source or backend).supported
        posterior = {code: dist.get(code, 0.0) for code in candidates if code in supported}
        if candidates[0] in posterior:
            posterior[candidates[0]] *= TUNING.script_default_boost
    elif info.script == "Latn":
        posterior = {code: p for code, p in dist.items() if code not in _NOT_LATIN}
    else:
        posterior = dict(dist)
    for code, share in context.items():
        if code in posterior:
            posterior[code] *= 1.0 + (TUNING.context_boost - 1.0) * share
    total = sum(posterior.values())
    if total <= 0.0:
        if candidates:  # the backend knows none of the script's languages: the script still says a lot
            return {candidates[0]: 1.0}, 0.3 * reliability, False
        return {}, 0.0, True
    return {code: p / total for code, p in posterior.items() if p > 0.0}, reliability, not candidates


def _reliability(weight: int, scale: float) -> float:
    return 1.0 - math.exp(-weight / scale)


def detect(text: str, max_chars: int = 1000, backend: str | None = None,
           hint: str | None = None) -> tuple[str, float]:
    """(ISO 639-1 code, confidence) for one text on its own; ("und", 0.0) when nothing can be said.
    ``backend``: default ``Settings().language_backend``."""
    impl = get_backend(backend or Settings().language_backend)
    unit = analyse(text or "", impl, max_chars)
    return resolve(unit, impl, _hint_context(hint))


def _hint_context(hint: str | None) -> dict[str, float]:
    if isinstance(hint, str):
        code = ALIASES.get(hint.strip().lower(), hint.strip().lower())[:2]
        if code.isalpha() and len(code) == 2:
            return {code: 0.5}
    return {}


def warm_up(settings: Settings) -> None:
    """Load the backends ``annotate`` uses with these settings, with all their models."""
    backend = _backend(settings)
    if backend.name in ("lingua", "ensemble"):
        get_backend("langdetect")  # the first look / the split screening
        backend.load_all()
    annotate(Article("warm-up", text="A short sentence to load the models.",
                     segments=[Segment(0, "A short sentence to load the models.")]), settings)


def _backend(settings: Settings):
    return get_backend(settings.language_backend, settings.language_low_accuracy,
                       languages=frozenset(settings.language_candidates) or None)


# ---------------------------------------------------------------------------------- a document
@dataclass
class _Plan:
    segment: Segment
    unit: Unit
    pieces: list[tuple[int, int, Unit]] | None = None  # sentence pieces of a long segment


def annotate(article: Article, settings: Settings) -> Article:
    """Tag every segment, split long ones where the language switches, and set the document's
    language, confidence and mixed flag.  Mutates and returns ``article``."""
    backend = _backend(settings)
    max_chars = settings.language_max_chars
    split = settings.language_split
    fast = get_backend("langdetect") if backend.name == "lingua" else None
    plans = [_plan(seg, backend, max_chars, split and seg.kind != "title", fast) for seg in article.segments]
    if not plans and (article.title or article.text):  # no structure: label the text as one unit
        plans = [_plan(Segment(0, article.title or ""), backend, max_chars, False),
                 _plan(Segment(1, article.text), backend, max_chars, False)]
        _finish(article, plans, backend, settings, keep_segments=False)
        return article
    _finish(article, plans, backend, settings, keep_segments=True)
    return article


def _plan(segment: Segment, backend, max_chars: int, split: bool, fast=None) -> _Plan:
    """Analyse one segment: as a whole, or sentence by sentence when its language may switch.

    Whether it may switch is screened cheaply: sentences in different scripts, or langdetect's
    n-gram scores (~0.1 ms a sentence) naming two languages.  Only then does a slower backend
    (lingua) look again, at the sentences not confidently in the segment's main language; with
    the langdetect backend the screening is the detection.
    ``fast``: the backend for a segment looked at as a whole (default ``backend``)."""
    text = segment.text or ""
    if split and TUNING.split_min_chars <= len(text) <= TUNING.split_max_factor * max_chars:
        spans = _cut_at_script_switches(text, sentence_spans(text, min_chars=2))
        if len(spans) >= 2:
            screen = get_backend("langdetect")
            pieces = _pieces(text, spans, screen, max_chars)
            if backend is screen:
                return _Plan(segment, _merge([u for _, _, u in pieces]), pieces)
            if _may_switch(pieces, screen):
                _upgrade_minority(pieces, screen, backend)
                return _Plan(segment, _merge([u for _, _, u in pieces]), pieces)
    return _Plan(segment, analyse(text, fast or backend, max_chars))


def _own_piece(family: str, letters: int) -> bool:
    """Whether a run of another script is long enough to be looked at on its own."""
    return letters >= (TUNING.piece_min_weight if family == "Latn" else TUNING.piece_cross_script_min_weight)


def _cut_at_script_switches(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cut sentences further where a long run of another script starts or ends: a Thai paragraph
    quoting an Indonesian sentence, or a sentence whose full stop the cut rules do not know, has no
    sentence mark between the two.  Short runs (a Latin name in a Hindi sentence) stay inside."""
    families: dict[str, int] = {}
    for script, n in scripts.script_counts(text).items():
        family = _FAMILY.get(script, script)
        families[family] = families.get(family, 0) + n
    if len(families) < 2:
        return spans
    main = max(families, key=lambda f: (families[f], f))
    if not any(_own_piece(f, n) for f, n in families.items() if f != main):
        return spans
    out: list[tuple[int, int]] = []
    for start, end in spans:
        cuts = {start, end}
        runs: list[list] = []
        for a, b, script in scripts.script_runs(text[start:end]):
            family = _FAMILY.get(script, script)
            if runs and runs[-1][2] == family:
                runs[-1][1] = b
            else:
                runs.append([a, b, family])
        for a, b, family in runs:
            if family != main and _own_piece(family, sum(scripts.script_counts(text[start + a:start + b]).values())):
                cuts.update((start + a, start + b))
        points = sorted(cuts)
        for a, b in zip(points, points[1:]):
            if out and out[-1][1] == a and not scripts.script_counts(text[a:b]):
                out[-1] = (out[-1][0], b)  # nothing but punctuation or digits: joins the piece before
            else:
                out.append((a, b))
    return out


def _pieces(text: str, spans, backend, max_chars: int) -> list[tuple[int, int, Unit]]:
    budget, pieces = max_chars, []
    for start, end in spans:
        unit = analyse(text[start:end], backend, max_chars, detect_limit=max(0, budget))
        budget -= end - start
        pieces.append((start, end, unit))
    return pieces


def _upgrade_minority(pieces, screen, backend) -> None:
    """lingua looks again at the sentences of a segment that may switch language, except those
    the screening confidently gave the segment's main language (by letters): a switch is in the
    others."""
    labels = [resolve(unit, screen) for _, _, unit in pieces]
    weight: dict[str, int] = {}
    for (_, _, unit), (code, conf) in zip(pieces, labels):
        if conf >= TUNING.screen_min_confidence:
            weight[code] = weight.get(code, 0) + unit.info.weight
    main = max(weight, key=lambda c: (weight[c], c)) if weight else None
    for (_, _, unit), (code, conf) in zip(pieces, labels):
        if code != main or conf < TUNING.screen_min_confidence:
            unit.upgrade(backend)


def _may_switch(pieces, screen) -> bool:
    seen: set[str] = set()
    for _, _, unit in pieces:
        if unit.info.weight >= TUNING.min_weight:
            seen.add("script:" + unit.info.script)
        if unit.info.weight >= TUNING.piece_min_weight:
            code, conf = resolve(unit, screen)
            if code != "und" and conf >= TUNING.screen_min_confidence:
                seen.add(code)
    n_scripts = sum(1 for k in seen if k.startswith("script:"))
    return n_scripts >= 2 or len(seen) - n_scripts >= 2


def _merge(units: list[Unit]) -> Unit:
    """One unit for several pieces: summed script counts, letter-weighted mean distribution."""
    counts: dict[str, int] = {}
    dist: dict[str, float] = {}
    weight = 0
    for unit in units:
        for script, n in unit.info.counts.items():
            counts[script] = counts.get(script, 0) + n
        if unit.dist:
            w = max(unit.info.weight, 1)
            weight += w
            for code, p in unit.dist.items():
                dist[code] = dist.get(code, 0.0) + w * p
    if weight:
        dist = {code: p / weight for code, p in dist.items()}
    words = sum(u.words for u in units)
    name_like = all(u.name_like for u in units)
    sources = {id(u.source): u.source for u in units if u.dist}
    source = next(iter(sources.values())) if len(sources) == 1 else None
    return Unit(scripts.info_from_counts(counts), words, dist or None, name_like, "", source,
                any(u.has_digits for u in units))


def _soft_votes(labelled, min_weight: int = 0) -> tuple[dict[str, float], float]:
    """Letters per language, each segment spreading its letters over its posterior."""
    votes: dict[str, float] = {}
    total = 0.0
    for item in labelled:
        unit, posterior, reliability = item.unit, item.posterior, item.reliability
        if unit.info.weight < min_weight:
            continue
        total += unit.info.weight
        for code, p in posterior.items():
            votes[code] = votes.get(code, 0.0) + unit.info.weight * reliability * p
    return votes, total


def _context(labelled, hint: dict[str, float]) -> dict[str, float]:
    """{language: share of the letters} over the heavier segments, plus the hint."""
    votes, _ = _soft_votes(labelled, TUNING.context_min_weight)
    total = sum(votes.values())
    context = {code: v / total for code, v in votes.items() if total and v / total >= 0.2}
    for code, share in hint.items():
        context[code] = max(context.get(code, 0.0), share)
    return context


def _finish(article: Article, plans: list[_Plan], backend, settings: Settings, keep_segments: bool) -> None:
    hint = _hint_context(article.language_hint)
    first = [_labelled(p.unit, backend, hint) for p in plans]
    context = _context(first, hint)
    if backend.name == "lingua":
        context = _second_look(plans, first, context, backend, hint, settings.language_max_chars)

    final: list[tuple[Segment, Unit]] = []
    split_any = False
    for plan in plans:
        parts = _split(plan, backend, context) if plan.pieces else None
        if parts:
            split_any = True
            for text, unit in parts:
                final.append((Segment(0, text, kind=plan.segment.kind), unit))
        else:
            final.append((plan.segment, plan.unit))

    labelled = [_labelled(unit, backend, context, segment) for segment, unit in final]
    # once more with the context of the final segments (no detector call: posteriors only)
    context = _context(labelled, hint)
    labelled = [_labelled(unit, backend, context, segment) for segment, unit in final]
    for item in labelled:
        item.segment.language, item.segment.confidence = item.code, round(item.confidence, 4)
        item.segment.script = item.unit.info.script
    doc_code, doc_conf, doc_script = _document_language(labelled)
    article.language, article.language_confidence = doc_code, doc_conf
    article.is_mixed_language = doc_code != "und" and any(
        _is_foreign(item.unit, item.code, item.confidence, doc_code, doc_script) for item in labelled
    )
    if keep_segments:
        article.segments = [segment for segment, _ in final]
        for index, segment in enumerate(article.segments):
            segment.index = index
        if split_any:
            article.text = "\n".join(s.text for s in article.segments if s.kind != "title")


def _second_look(plans, first, context, backend, hint, max_chars: int) -> dict[str, float]:
    """lingua checks what langdetect's fast first look cannot be trusted with.

    The document's language: lingua labels up to ``TUNING.doc_checks`` of the heaviest segments of the
    main script; if most disagree with the first look (a language langdetect lacks, such as
    Basque or Bosnian, or a close relative), every segment is looked at again.  (A majority, not
    one call on a long sample: lingua has rare confident slips, e.g. Kazakh 1.0 for a plain
    Ukrainian paragraph.)  lingua only chooses between the first look's language and those that
    langdetect was measured to mistake for it (``language_tables.CONFUSABLE``: Irish, Latin,
    Sesotho, Setswana, Yoruba for English; nothing for German, which needs no check); a first
    look outside that table is checked against every language.  Then each segment whose first
    look did not name the document's language with ``TUNING.accept_confidence`` (short headings, foreign
    segments, names) is looked at again by lingua, against every language.  Segments that agree stay as
    they are."""
    top = max(context, key=context.get) if context else None
    weights: dict[str, int] = {}
    for item in first:
        unit = item.unit
        weights[unit.info.script] = weights.get(unit.info.script, 0) + unit.info.weight
    main_script = max(weights, key=lambda k: (weights[k], k)) if weights else None
    heaviest = sorted((u for u in (item.unit for item in first) if u.sample and u.info.script == main_script),
                      key=lambda u: -u.info.weight)[:TUNING.doc_checks]
    everything = top is None
    among = _check_languages(top, backend)
    if heaviest and top is not None and among != frozenset((top,)):
        limit = max(TUNING.doc_check_chars, max_chars // TUNING.doc_checks)
        votes = [_doc_vote(u.sample, limit, backend, among, hint) for u in heaviest]
        everything = sum(1 for code in votes if code != top) * 2 > len(votes)
    for item in first:
        if everything or item.code != top or item.confidence < TUNING.accept_confidence:
            item.unit.upgrade(backend)
    if everything:
        first = [_labelled(p.unit, backend, hint) for p in plans]
        context = _context(first, hint)
    return context


def _check_languages(top: str | None, backend) -> frozenset | None:
    """The languages lingua chooses between to check a document labelled ``top`` (None: all)."""
    confusable = CONFUSABLE.get(top) if top else None
    if confusable is None:
        return None
    return frozenset({top, *confusable} & backend.supported)


def _doc_vote(sample: str, limit: int, backend, among: frozenset | None, hint) -> str:
    """lingua's label for one heavy segment's sample, among ``among`` (None: all languages)."""
    if among is None:
        return resolve(analyse(sample, backend, limit), backend, hint)[0]
    dist = backend.scores_among(sample[:limit], among)
    return max(dist, key=lambda code: (dist[code], code)) if dist else "und"


def _split(plan: _Plan, backend, context: dict[str, float]) -> list[tuple[str, Unit]] | None:
    """Sentence groups of one segment when its language switches, else None."""
    whole_script = plan.unit.info.script
    labels: list[str | None] = []
    for _, _, unit in plan.pieces:
        code, conf = resolve(unit, backend, context)
        label = None
        if code != "und":
            cross = unit.info.script != whole_script and unit.info.script != "Latn"
            if cross and unit.info.weight >= TUNING.piece_cross_script_min_weight and unit.info.share >= 0.8:
                label = code
            elif (unit.info.weight >= TUNING.piece_min_weight and conf >= TUNING.piece_min_confidence
                  and (unit.words >= TUNING.foreign_same_min_words or not _spaced(unit.info.script))
                  and not unit.name_like):
                label = code
        labels.append(label)
    groups = group_spans([(a, b) for a, b, _ in plan.pieces], labels)
    if len(groups) < 2:
        return None
    text = plan.segment.text
    parts = []
    for start, end, _ in groups:
        members = [u for a, b, u in plan.pieces if a >= start and b <= end]
        chunk = text[start:end].strip()
        if chunk:
            parts.append((chunk, _merge(members)))
    return parts if len(parts) >= 2 else None


def _document_language(labelled) -> tuple[str, float, str]:
    """(language, confidence, its main script) of the document, weighted by letters."""
    votes, total = _soft_votes(labelled)
    if not votes or not total:
        return "und", 0.0, scripts.COMMON
    best = max(votes, key=lambda code: (votes[code], code))
    script_votes: dict[str, float] = {}
    for item in labelled:
        unit, posterior = item.unit, item.posterior
        share = unit.info.weight * posterior.get(best, 0.0)
        script_votes[unit.info.script] = script_votes.get(unit.info.script, 0.0) + share
    script = max(script_votes, key=lambda k: (script_votes[k], k))
    return best, round(min(1.0, votes[best] / total), 4), script


def _spaced(script: str) -> bool:
    """Whether the script separates words by spaces (Han, kana, Hangul runs and Thai do not count)."""
    return script not in scripts.DENSE_SCRIPTS and script != "Thai"


def _is_foreign(unit: Unit, code: str, conf: float, doc_code: str, doc_script: str) -> bool:
    """Whether a labelled segment is evidence that the document mixes languages."""
    if code == doc_code:
        return False
    info = unit.info
    script = _FAMILY.get(info.script, info.script)
    doc_family = _FAMILY.get(doc_script, doc_script)
    if code == "und" and not (script == "Latn" and doc_family != "Latn"):
        return False  # only Latin text in a non-Latin document is foreign whichever language it is
    if script != doc_family and script != "Latn":  # another script: certainly another language
        return info.weight >= TUNING.foreign_cross_min_weight and info.share >= 0.6
    if script != doc_family:  # Latin in a non-Latin document: not names, brands or credit lines
        return (not unit.name_like and info.weight >= TUNING.foreign_latin_min_weight and info.share >= 0.6
                and (not unit.has_digits or conf >= TUNING.foreign_latin_min_confidence))
    if unit.name_like:
        return False  # names, title-case headings, line-ups: the detector's guess is noise
    if frozenset((code, doc_code)) in _CLOSE and (info.weight < TUNING.foreign_close_min_weight
                                                  or conf < TUNING.foreign_close_min_confidence):
        return False  # Czech/Slovak, Indonesian/Malay, ...: told apart only in long, clear text
    spaced = _spaced(info.script)
    if info.weight >= TUNING.foreign_same_min_weight and (unit.words >= TUNING.foreign_same_min_words or not spaced):
        return conf >= TUNING.foreign_same_min_confidence
    if info.weight >= TUNING.foreign_short_min_weight and (unit.words >= 2 or not spaced):
        return conf >= TUNING.foreign_short_min_confidence
    return False
