"""Benchmark: batched CTranslate2 translation (ingest.translate.translator) vs argostranslate per segment.

Both paths run the same argos packages on the same segments, on CPU, same compute type, beam 4:

- reference: ``argostranslate.translate.translate(text, src, "en")`` called once per segment,
  with argos' sentence splitter (MiniSBD/Stanza, which downloads a model at first use) swapped
  for the local ``ingest.text.split_sentences`` so it runs offline;
- batched: one ``Translator(settings).translate(articles)`` call over all articles, translation
  cache off (every sentence goes through the engine), then the same call again with the cache on
  to show what a rerun costs.

Models are loaded before timing starts in both paths.  By default the toy packages from
``../shared/argos_toy_models`` are installed into a temporary directory: their output is not a
translation (the toy memorised ten sentences), only the speed ratio means something.  Segments
are the toy's memorised source sentences made distinct with a numeric suffix.

    python bench/translation_bench.py [--segments 300] [--packages-dir DIR] [--compute-type float32]
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.records import Article, Segment
from ingest.settings import Settings
from ingest.text import split_sentences
from ingest.translate import cache as translation_cache
from ingest.translate import models as argos_models
from ingest.translate.translator import Translator

TOYS = ROOT.parent / "shared" / "argos_toy_models"


def toy_pairs(toy_dir: Path = TOYS) -> dict[str, list[tuple[str, str]]]:
    """PAIRS as written in the toy's build_toy.py (read from ../shared, never copied)."""
    tree = ast.parse((toy_dir / "build_toy.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAIRS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError("PAIRS not found in build_toy.py")


class LocalSentencizer:
    """Stands in for argos' MiniSBD/Stanza sentencizers (which download models) in the reference."""

    def __init__(self, pkg) -> None:
        self.pkg = pkg

    def split_sentences(self, text: str) -> list[str]:
        return split_sentences(text)


def argos_offline(packages_dir: Path, compute_type: str = "float32"):
    """``argostranslate.translate.translate`` configured for ``packages_dir``, offline."""
    if "argostranslate.settings" not in sys.modules:
        # keep argos' import-time directory creation out of the user's home
        scratch = Path(tempfile.mkdtemp(prefix="argos-home-"))
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            os.environ.setdefault(var, str(scratch / var.lower()))
    import argostranslate.settings as argos_settings
    import argostranslate.translate as argos_translate

    argos_settings.package_dirs = [Path(packages_dir)]
    argos_settings.compute_type = compute_type
    argos_settings.device = "cpu"
    argos_translate.MiniSBDSentencizer = LocalSentencizer
    argos_translate.StanzaSentencizer = LocalSentencizer
    argos_translate.get_installed_languages.cache_clear()
    argos_translate.installed_translates.clear()
    return argos_translate.translate


def make_articles(pairs: dict[str, list[tuple[str, str]]], n_segments: int, per_article: int = 10
                  ) -> list[Article]:
    """Distinct segments (1-2 sentences each) in the toy's source languages."""
    langs = sorted(pairs)
    articles: list[Article] = []
    segments: list[Segment] = []
    for i in range(n_segments):
        lang = langs[i % len(langs)]
        sources = [s for s, _ in pairs[lang]]
        first = sources[(i // len(langs)) % len(sources)]
        text = f"{i} {first}"
        if i % 3 == 0:
            text += " " + sources[(i // len(langs) + 1) % len(sources)]
        segments.append(Segment(index=len(segments) % per_article, text=text, language=lang))
        if len(segments) % per_article == 0 or i == n_segments - 1:
            start = len(articles) * per_article
            chunk = segments[start:]
            articles.append(Article(source_uri=f"bench://{len(articles)}", segments=list(chunk),
                                    text="\n".join(s.text for s in chunk), language=chunk[0].language))
    return articles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--packages-dir", default=None, help="default: install the toys into a temp dir")
    parser.add_argument("--compute-type", default="float32")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    if args.packages_dir:
        packages_dir = Path(args.packages_dir)
    else:
        if not TOYS.is_dir():
            print(f"no toy packages at {TOYS}; pass --packages-dir", file=sys.stderr)
            return 2
        packages_dir = Path(tempfile.mkdtemp(prefix="bench-argos-"))
        for archive in sorted(TOYS.glob("*.argosmodel")):
            argos_models.install_from_path(archive, packages_dir)
    pairs = toy_pairs()
    available = argos_models.translation_packages(packages_dir)
    pairs = {lang: v for lang, v in pairs.items() if (lang, "en") in available}
    articles = make_articles(pairs, args.segments)
    segments = [(s.text, s.language) for a in articles for s in a.segments]
    n_sentences = sum(len(split_sentences(t)) for t, _ in segments)
    print(f"packages: {', '.join(p.label for p in available.values())} in {packages_dir}")
    print(f"workload: {len(segments)} segments, {n_sentences} sentences, {len(articles)} articles, "
          f"compute_type={args.compute_type}, beam 4, cpu threads available: {os.cpu_count()}")

    # reference: argostranslate once per segment
    translate = argos_offline(packages_dir, args.compute_type)
    for lang in pairs:  # load models outside the timing
        translate(pairs[lang][0][0] + " warmup", lang, "en")
    t0 = time.perf_counter()
    reference = [translate(text, lang, "en") for text, lang in segments]
    t_ref = time.perf_counter() - t0

    # batched path, cache off
    settings = Settings(argos_packages_dir=str(packages_dir), compute_type=args.compute_type,
                        translation_batch_size=args.batch_size, translation_cache=False)
    warm = make_articles(pairs, len(pairs))
    Translator(settings).translate(warm)  # load models outside the timing
    t0 = time.perf_counter()
    Translator(settings).translate(articles)
    t_batch = time.perf_counter() - t0
    ours = [s.translated_text for a in articles for s in a.segments]
    same = sum(1 for a, b in zip(reference, ours) if a == b)

    # rerun with the cache on: first run fills it, second costs only lookups
    cached = settings.replace(translation_cache=True)
    translation_cache.memory_clear()
    rerun = make_articles(pairs, args.segments)
    Translator(cached).translate(rerun)
    rerun = make_articles(pairs, args.segments)
    t0 = time.perf_counter()
    Translator(cached).translate(rerun)
    t_cached = time.perf_counter() - t0

    n = len(segments)
    print(f"argostranslate.translate per segment: {t_ref:8.3f} s  {n / t_ref:10.1f} segments/s")
    print(f"batched CTranslate2 (cache off):      {t_batch:8.3f} s  {n / t_batch:10.1f} segments/s")
    print(f"batched, rerun from the cache:        {t_cached:8.3f} s  {n / t_cached:10.1f} segments/s")
    print(f"speed-up batched vs argos per segment: {t_ref / t_batch:.1f}x (target >= 3x)")
    print(f"identical output to argostranslate: {same}/{n} segments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
