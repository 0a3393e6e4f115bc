"""The options shared by ``news-ingest`` commands (``run``, ``serve``), how they become the one
``Settings`` object, and the CLI's error type and exit codes."""
from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143  # 128 + the signal's number, as shells report it


class CliError(Exception):
    """An error to show the user as one line."""


class UsageError(CliError):
    """Bad usage (exit status 2): the message names the flag or argument."""


class Parser(argparse.ArgumentParser):
    """argparse with bad usage reported as one line naming the flag (exit status 2), not a usage dump."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows an option's default when it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def add_run_arguments(run: argparse.ArgumentParser, output_options: bool = True) -> None:
    """The source, output and settings options of ``run`` (shared with ``serve``, which passes
    ``output_options=False``: it has no terminal summary or progress bar)."""
    run.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="files, directories (recursive), feed or article URLs")
    run.add_argument("--out", required=True, metavar="DIR", type=output_location,
                     help="output directory or fsspec URL (s3://bucket/prefix)")
    run.add_argument("--sources", dest="sources_file", metavar="FILE",
                     help="a TOML/YAML file declaring feeds (see README)")
    run.add_argument("--offline", action="store_true", help="no network at all; feeds use their embedded content")
    run.add_argument("--no-translate", action="store_true", help="skip translation (status 'disabled')")
    run.add_argument("--target-language", type=language, default="en", metavar="LANG",
                     help="ISO 639-1 code to translate into")
    run.add_argument("--language-backend", choices=["ensemble", "lingua", "langdetect"], default=None,
                     help="language identification (docs/language.md). ensemble (default): langdetect + "
                          "fastText + py3langid + lingua's low-accuracy models pooled, word lists for 1-3 "
                          "words; the most accurate on sentences and single words, ~300 MB shared by all "
                          "workers (~380 MB in a 2-worker run). lingua: lingua's high-accuracy models "
                          "checking langdetect; better on the languages langdetect lacks (Basque, Bosnian, ...), ~1.2 GB "
                          "and 16-23 s to load. "
                          "langdetect: ~110 MB and the fastest, less accurate on short text")
    run.add_argument("--languages", type=languages, metavar="CODES",
                     help="comma-separated ISO 639-1 codes the ensemble tells apart, e.g. en,de,fr "
                          "(default: lingua's 75); lingua loads only their models")
    run.add_argument("--language-max-chars", type=positive_int, metavar="N",
                     help=f"characters sampled per segment (default: {_settings_default('language_max_chars')})")
    run.add_argument("--no-language-split", action="store_true",
                     help="do not split long paragraphs where the language switches")
    run.add_argument("--language-low-accuracy", action="store_true",
                     help="lingua's low-accuracy mode: ~75 MB instead of ~1.1 GB, worse on short text")
    run.add_argument("--packages-dir", metavar="DIR",
                     help="argos packages directory (default: $ARGOS_PACKAGES_DIR, else argos' own)")
    run.add_argument("--compute-type", default=None, help="CTranslate2 compute type (int8, float32, ...)")
    run.add_argument("--workers", type=positive_int, default=None, metavar="N",
                     help="parallel worker processes (default: number of cores)")
    run.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                     help=f"documents per batch/task: small files are grouped, a large .jsonl or WARC is cut into "
                          f"record ranges (default: {_settings_default('batch_size')})")
    run.add_argument("--task-runner", choices=["local", "threads", "dask"], default=None,
                     help="where batches run: local processes, threads, or a Dask cluster")
    run.add_argument("--dask-address", metavar="ADDR", help="existing Dask scheduler (tcp://host:8786)")
    run.add_argument("--fast-extraction", action="store_true",
                     help="trafilatura's fast mode (no fallback extractors): ~27%% less extraction time, "
                          "slightly lower recall (see README, Performance)")
    run.add_argument("--max-document-bytes", type=positive_int, metavar="N",
                     help=f"largest input document accepted (default: {_settings_default('max_document_bytes')})")
    run.add_argument("--extraction-timeout", type=number(minimum=0, exclusive=True), metavar="S", help="time limit per document for extraction "
                     f"and for language identification (default: {_settings_default('extraction_timeout_s')})")
    run.add_argument("--max-batch-records", type=positive_int, metavar="N",
                     help=f"records staged per part of a batch (default: {_settings_default('max_batch_records')})")
    run.add_argument("--near-duplicate-threshold", type=fraction, metavar="X",
                     help=f"similarity for near copies (default: {_settings_default('near_duplicate_threshold')})")
    run.add_argument("--story-threshold", type=fraction, metavar="X",
                     help="similarity for same-story reports in one language, compared with one embedding model "
                          f"(default: {_settings_default('story_threshold')})")
    run.add_argument("--story-bridge-threshold", type=fraction, metavar="X",
                     help="the same for two reports in a bridge language (English by default), compared with both "
                          f"models (default: {_settings_default('story_bridge_threshold')})")
    run.add_argument("--story-crosslingual-threshold", type=fraction, metavar="X",
                     help="same-story embedding similarity across languages (USE) "
                          f"(default: {_settings_default('story_crosslingual_threshold')})")
    run.add_argument("--story-window-days", type=number(minimum=0, exclusive=True), metavar="D",
                     help=f"publication-time window for same-story reports (default: {_settings_default('story_window_days')})")
    run.add_argument("--state-dir", metavar="DIR", help="where fetch state and the story index live "
                                                        "(default: OUT/_state for a local OUT)")
    run.add_argument("--allow-private-addresses", action="store_true",
                     help="allow fetching from loopback/private addresses (off: SSRF protection)")
    run.add_argument("--no-robots", action="store_true", help="do not consult robots.txt (not recommended)")
    run.add_argument("--user-agent", metavar="UA", help="User-Agent header for HTTP requests")
    run.add_argument("--per-host-rate", type=number(minimum=0, maximum=1000), metavar="R",
                     help=f"requests per second per host, 0: no limit (default: {_settings_default('per_host_rate')})")
    run.add_argument("--per-host-concurrency", type=positive_int, metavar="N",
                     help=f"parallel requests per host (default: {_settings_default('per_host_concurrency')})")
    run.add_argument("--max-body-bytes", type=positive_int, metavar="N",
                     help="largest HTTP body accepted, also after decompression "
                          f"(default: {_settings_default('max_body_bytes')})")
    run.add_argument("--feed-content-only", action="store_true",
                     help="use the content embedded in feed entries; do not fetch the article pages")
    if output_options:
        run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
        run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")


def _settings_default(name: str):
    from ingest.settings import Settings

    return getattr(Settings(), name)


def output_location(value: str) -> str:
    """``--out``: an empty value (an unset ``$OUT``) is a usage error, never the current directory."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty (is a variable such as $OUT unset?)")
    return value


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number


def number(minimum: float | None = None, maximum: float | None = None, exclusive: bool = False):
    """An argparse type: a finite float in [minimum, maximum] (``exclusive``: above ``minimum``)."""
    def parse(value: str) -> float:
        try:
            result = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not math.isfinite(result):
            raise argparse.ArgumentTypeError(f"must be a finite number: {value!r}")
        if minimum is not None and (result <= minimum if exclusive else result < minimum):
            raise argparse.ArgumentTypeError(f"must be {'above' if exclusive else 'at least'} {minimum:g}: {value}")
        if maximum is not None and result > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g}: {value}")
        return result
    parse.__name__ = "number"
    return parse


def fraction(value: str) -> float:
    """An argparse type: a similarity in (0, 1]."""
    return number(minimum=0, maximum=1, exclusive=True)(value)


def language(value: str) -> str:
    """An argparse type: an ISO 639-1 code, case-folded (``EN`` -> ``en``)."""
    from ingest.settings import language_code

    code = language_code(value)
    if code is None:
        raise argparse.ArgumentTypeError(f"not an ISO 639-1 language code such as 'en' or 'de': {value!r}")
    return code


def languages(value: str) -> tuple[str, ...]:
    """An argparse type: comma-separated ISO 639-1 codes, case-folded."""
    codes = tuple(language(code.strip()) for code in value.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("give at least one ISO 639-1 code, e.g. en,de")
    return codes


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None):
    """Build the one Settings object from arguments and the environment (the edge's job)."""
    from ingest.settings import Settings

    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        "out": args.out,
        "offline": args.offline,
        "translate": not args.no_translate,
        "target_language": args.target_language,
        "language_backend": args.language_backend,
        "language_candidates": getattr(args, "languages", None),
        "language_max_chars": args.language_max_chars,
        "language_split": False if args.no_language_split else None,
        "language_low_accuracy": True if args.language_low_accuracy else None,
        "extraction_fast": True if args.fast_extraction else None,
        "argos_packages_dir": str(resolve_packages_dir(args.packages_dir, env)),
        "compute_type": args.compute_type,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "task_runner": args.task_runner,
        "dask_address": args.dask_address,
        "state_dir": args.state_dir,
        "near_duplicate_threshold": args.near_duplicate_threshold,
        "story_threshold": args.story_threshold,
        "story_bridge_threshold": args.story_bridge_threshold,
        "story_crosslingual_threshold": args.story_crosslingual_threshold,
        "story_window_days": args.story_window_days,
        "max_document_bytes": args.max_document_bytes,
        "extraction_timeout_s": args.extraction_timeout,
        "max_batch_records": args.max_batch_records,
        "allow_private_addresses": args.allow_private_addresses or None,
        "respect_robots": False if args.no_robots else None,
        "user_agent": args.user_agent,
        "per_host_rate": args.per_host_rate,
        "per_host_concurrency": args.per_host_concurrency,
        "max_body_bytes": args.max_body_bytes,
        "fetch_feed_articles": False if args.feed_content_only else None,
        "sources_file": args.sources_file,
        "progress": not getattr(args, "quiet", False),
    }
    # a strong threshold given below its weak one's default takes the weak one down with it
    for strong, weak in (("story_threshold", "story_weak_threshold"), ("story_bridge_threshold", "story_bridge_weak_threshold")):
        if values[strong] is not None and values[strong] < _settings_default(weak):
            values[weak] = values[strong]
    return Settings.from_mapping({k: v for k, v in values.items() if v is not None})


def resolve_packages_dir(flag: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``--packages-dir``, else ``ARGOS_PACKAGES_DIR``, else argos' settings.json, else argos' default."""
    env = os.environ if environ is None else environ
    if flag:
        return Path(flag).expanduser()
    if env.get("ARGOS_PACKAGES_DIR"):
        return Path(env["ARGOS_PACKAGES_DIR"]).expanduser()
    config_home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    try:
        configured = json.loads((config_home / "argos-translate" / "settings.json").read_text(encoding="utf-8"))
        value = configured.get("ARGOS_PACKAGES_DIR") if isinstance(configured, dict) else None
        if isinstance(value, str) and value:
            return Path(value).expanduser()
    except (OSError, ValueError):
        pass
    from ingest.translate.models import default_packages_dir

    return default_packages_dir(env.get("XDG_DATA_HOME") or None)
