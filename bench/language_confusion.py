"""Which languages does langdetect's first look mistake for which (``ingest.language.tables``).

Builds pseudo-documents (25 random word pairs of one language, ~300 characters) from the *dev*
half of ../shared/datasets/lingua_words for each of lingua's 75 languages, labels them with the
langdetect backend (script rules and posterior as in ``ingest.language.detect``) and prints, for every
label langdetect gives, the other languages it gave that label to.  That table, pasted into
``ingest/language_tables.py`` as ``CONFUSABLE``, decides lingua's document check: a document
langdetect labels ``de`` is checked by lingua only against the languages langdetect mistakes
for German (none: no check), one labelled ``en`` only against Irish, Latin, Sesotho, Setswana
and Yoruba, and so on.  ``--split test`` measures the same on the held-out half (what the table misses there).

    python bench/language_confusion.py            # ~1 minute
    python bench/language_confusion.py --split test
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.language_bench import load_words  # noqa: E402
from ingest.language import detect as language  # noqa: E402
from ingest.language.backends import get_backend  # noqa: E402
from ingest.language.tables import CONFUSABLE  # noqa: E402


def confusion(split: str, docs: int, pairs: int, seed: int) -> dict[str, Counter]:
    """{langdetect label: Counter(gold language)}."""
    words = load_words(split, 10_000)["word-pairs"]
    backend = get_backend("langdetect")
    rng = random.Random(seed)
    table: dict[str, Counter] = defaultdict(Counter)
    for gold, items in sorted(words.items()):
        for _ in range(docs):
            text = " ".join(rng.sample(items, min(pairs, len(items))))
            code, _ = language.resolve(language.analyse(text, backend, 1000), backend)
            table[code][gold] += 1
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--docs", type=int, default=60, help="pseudo-documents per language")
    parser.add_argument("--pairs", type=int, default=25, help="word pairs per pseudo-document")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    table = confusion(args.split, args.docs, args.pairs, args.seed)
    print(f"# lingua_words {args.split} half: {args.docs} pseudo-documents of {args.pairs} word pairs per language")
    print("CONFUSABLE = {")
    for label in sorted(table):
        if label == "und":
            continue
        others = sorted(g for g in table[label] if g != label)
        print(f"    {label!r}: frozenset({others!r})," if others else f"    {label!r}: frozenset(),")
    print("}")
    missed = Counter()
    total = 0
    for label, golds in table.items():
        for gold, n in golds.items():
            total += n
            if gold != label and gold not in CONFUSABLE.get(label, ()) and label in CONFUSABLE:
                missed[(label, gold)] += n
    print(f"\n# with the table in ingest/language_tables.py: {sum(missed.values())} of {total} documents "
          f"would skip a check they needed: {dict(missed.most_common(10))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
