"""Tables for ``ingest.language.detect`` measured on data (each says how to regenerate it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnsembleTuning:
    """The constants of the ``ensemble`` backend (``ingest.language.backends.EnsembleBackend``).

    Data: the dev half (even lines) of ../shared/datasets/lingua_words, single words and word pairs
    of the 51 languages langdetect and lingua share, 500 items per language and file; checked on
    the sentence set of ``bench/language_bench.py`` (wmt_crosslingual_dev + semeval_stories_dev).
    The figures in docs/language.md are on the test half (odd lines) and the sentences."""

    # Log-linear pool: score(lang) = sum over members of weight * log(p_member(lang) + floor).
    # Grid 0.25 / 0.5 / 1 per member, best sum of word and pair accuracy on the dev half
    # (members alone, dev words / pairs: langdetect 66.9% / 82.4%, fastText 55.6% / 71.0%,
    # py3langid 59.4% / 81.9%, lingua low-accuracy 63.4% / 80.9%; pooled 74.2% / 89.7%).
    weight_langdetect: float = 1.0
    weight_fasttext: float = 0.25
    weight_py3langid: float = 0.5
    weight_lingua_low: float = 0.5
    floor: float = 1e-4  # added to every probability before the log (a zero must not veto)
    # A member that does not know a language (langdetect lacks 24 of lingua's 75: Basque, Bosnian,
    # Latin, ...) gives it this fraction of its own best probability: 0.01 keeps the dev words /
    # pairs of the 51 languages at 74.0% / 89.7% (1e-4: 74.2% / 89.7%, 0.1: 72.7% / 89.1%) and
    # lifts the 24 others from 19.6% / 30.2% to 39.1% / 60.5% (0.1: 51.8% / 72.9%).
    unsupported: float = 0.01
    # The pooled scores are divided by this before the softmax: minimises the log-loss of the
    # pooled posterior on the dev words (2.0: 0.964, 2.25: 0.945, 2.5: 0.948 nats).
    temperature: float = 2.25
    # Cheap path: when langdetect and fastText (the two fast members) name the same language, each
    # with at least this probability, on a text of at least ``agree_min_chars`` characters, the
    # other two members are not asked (their weight is spread over the two): no dev item changes
    # its label, 95% of the sentences and ~1% of the single words take it.
    agree_min_probability: float = 0.8
    agree_min_chars: int = 20
    # Word lists (``LexiconBackend``, wordfreq) for texts of at most ``lexicon_max_words`` words,
    # on top of the four detectors: weight, the frequency every word gets in every list (a word
    # missing from a list is rare there, not impossible) and the share of its best probability a
    # language without a list gets (Afrikaans, Estonian, Basque, ...).  Dev words / pairs of the 51
    # languages (the 24 others in brackets), through the pipeline's code path: without the lists
    # 74.0% / 89.7% (36.7% / 58.4%); weight 0.25: 77.5% single words; 0.5: 79.3%; 1.0: 80.6% /
    # 93.4% (38.0% / 56.3%); 1.5: 81.0% / 93.3%; 2.0: 81.1% / 93.0%.  At weight 1.0, unsupported
    # 0.001: 80.7% / 93.1% (38.0% / 54.9%); 0.1: 80.3% / 93.5% (38.0% / 58.0%); 0.3: 79.9% / 93.5%
    # (37.9% / 58.9%), the one setting that loses nothing anywhere; eps 1e-8 / 1e-10: -0.2 / +0.1
    # points; max_words 2 or 5: the same (the items have one or two words; 3 covers headings).
    weight_lexicon: float = 1.0
    lexicon_eps: float = 1e-9
    lexicon_max_words: int = 3
    lexicon_unsupported: float = 0.3
    # Frequencies above this count as this (a word that common is plainly a word of the language):
    # "vláda" is 2x as frequent in the Czech list as in the Slovak one, which overrode a page's
    # declared language (the hint) between those two; 1e-4: dev words / pairs 79.9% / 93.5% (no cap:
    # 79.9% / 93.5%; 1e-5: 79.6% / 93.2%)
    lexicon_cap: float = 1e-4


ENSEMBLE = EnsembleTuning()

# Languages langdetect's first look labels as the key, measured on pseudo-documents (20 word
# pairs, ~250 characters; 200 per language) of all 75 lingua languages, dev half of lingua_words:
# ``python bench/language_confusion.py --docs 200 --pairs 20``.  On the held-out test half 5 of
# 4,500 documents get a label whose set lacks their language (``--split test``).  lingua checks a document labelled ``key`` only against these
# (an empty set: no check needed); a label missing here gets lingua's check against everything.
CONFUSABLE: dict[str, frozenset[str]] = {
    'af': frozenset(['st', 'tn']),
    'ar': frozenset(),
    'bg': frozenset(),
    'bn': frozenset(),
    'ca': frozenset(['ga', 'la', 'yo']),
    'cs': frozenset(),
    'cy': frozenset(),
    'da': frozenset(),
    'de': frozenset(),
    'el': frozenset(),
    'en': frozenset(['ga', 'la', 'st', 'tn', 'yo']),
    'es': frozenset(['eo', 'ga', 'yo']),
    'et': frozenset(['eo', 'eu', 'is', 'st', 'tn', 'ts', 'yo']),
    'fa': frozenset(),
    'fi': frozenset(['ts', 'yo']),
    'fr': frozenset(['ga', 'la']),
    'gu': frozenset(),
    'he': frozenset(),
    'hi': frozenset(),
    'hr': frozenset(['bs', 'eo', 'eu', 'yo']),
    'hu': frozenset(['eu', 'yo']),
    'hy': frozenset(),
    'id': frozenset(['eu', 'lg', 'mi', 'ms', 'st', 'tn', 'yo', 'zu']),
    'it': frozenset(['eo', 'eu', 'la', 'yo']),
    'ja': frozenset(),
    'ka': frozenset(),
    'ko': frozenset(),
    'lt': frozenset(['eo']),
    'lv': frozenset(['mi']),
    'mk': frozenset(['sr']),
    'mr': frozenset(),
    'nb': frozenset(['is', 'nn', 'st']),
    'nl': frozenset(['eu']),
    'pa': frozenset(),
    'pl': frozenset(),
    'pt': frozenset(['ga', 'la']),
    'ro': frozenset(['eu', 'la']),
    'ru': frozenset(['be', 'kk', 'mn']),
    'sk': frozenset(),
    'sl': frozenset(['eo', 'eu', 'yo']),
    'so': frozenset(['lg']),
    'sq': frozenset(),
    'sv': frozenset(['eu', 'is']),
    'sw': frozenset(['lg', 'mi', 'sn', 'tn', 'ts', 'xh', 'zu']),
    'ta': frozenset(),
    'te': frozenset(),
    'th': frozenset(),
    'tl': frozenset(['lg', 'st', 'tn', 'zu']),
    'tr': frozenset(['az']),
    'uk': frozenset(['be', 'kk']),
    'ur': frozenset(),
    'vi': frozenset(),
    'zh': frozenset(),
}
