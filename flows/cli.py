"""``news-ingest``: a thin command line over the library and the Prefect flow.

Every command has help with an example; library errors become one readable line and a non-zero
exit code, never a traceback (``-v`` shows the traceback for bug reports).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
logger = logging.getLogger("news_ingest.cli")


class CliError(Exception):
    """An error to show the user as one line."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows an option's default when it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


RUN_EPILOG = """examples:
  news-ingest run examples/ --out out/            # the bundled demo corpus
  news-ingest run data/*.jsonl.gz --out s3://bucket/news --no-translate
  news-ingest run --sources feeds.toml --out out/  # scheduled feed ingestion
  news-ingest run https://example.org/feed.xml --out out/ --target-language de

Writes out/articles/ingest_date=YYYY-MM-DD/*.parquet and out/rejects/...; reruns add no duplicates.
Exit status: 0 when the run completed (even with rejected inputs), 1 on an error, 2 on bad usage."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="news-ingest",
        description="Multilingual news ingestion: load or fetch news, extract articles, detect languages "
                    "per segment, translate offline, group stories, write Parquet.",
        epilog="example:\n  news-ingest run examples/ --out out/\n\nRun 'news-ingest COMMAND --help' for a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="ingest sources into a Parquet dataset (runs the Prefect flow in-process)",
                         description="Ingest files, directories, feed or article URLs into Parquet.",
                         epilog=RUN_EPILOG, formatter_class=_Formatter)
    add_run_arguments(run)
    run.set_defaults(func=cmd_run)

    for name in ("cli_models", "cli_serve"):
        try:
            module = __import__(f"flows.{name}", fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
    return parser


def add_run_arguments(run: argparse.ArgumentParser, output_options: bool = True) -> None:
    """The source, output and settings options of ``run`` (shared with ``serve``, which passes
    ``output_options=False``: it has no terminal summary or progress bar)."""
    run.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="files, directories (recursive), feed or article URLs")
    run.add_argument("--out", required=True, metavar="DIR",
                     help="output directory or fsspec URL (s3://bucket/prefix)")
    run.add_argument("--sources", dest="sources_file", metavar="FILE",
                     help="a TOML/YAML file declaring feeds (see README)")
    run.add_argument("--offline", action="store_true", help="no network at all; feeds use their embedded content")
    run.add_argument("--no-translate", action="store_true", help="skip translation (status 'disabled')")
    run.add_argument("--target-language", default="en", metavar="LANG", help="ISO 639-1 code to translate into")
    run.add_argument("--language-backend", choices=["lingua", "langdetect"], default=None,
                     help="language identification backend (default: the library's)")
    run.add_argument("--language-max-chars", type=_positive_int, metavar="N",
                     help=f"characters sampled per segment (default: {_settings_default('language_max_chars')})")
    run.add_argument("--no-language-split", action="store_true",
                     help="do not split long paragraphs where the language switches")
    run.add_argument("--language-low-accuracy", action="store_true",
                     help="lingua's low-accuracy mode: ~75 MB instead of ~1.1 GB, worse on short text")
    run.add_argument("--packages-dir", metavar="DIR",
                     help="argos packages directory (default: $ARGOS_PACKAGES_DIR, else argos' own)")
    run.add_argument("--compute-type", default=None, help="CTranslate2 compute type (int8, float32, ...)")
    run.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                     help="parallel worker processes (default: number of cores)")
    run.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                     help=f"work items per batch/task (default: {_settings_default('batch_size')})")
    run.add_argument("--task-runner", choices=["local", "threads", "dask"], default=None,
                     help="where batches run: local processes, threads, or a Dask cluster")
    run.add_argument("--dask-address", metavar="ADDR", help="existing Dask scheduler (tcp://host:8786)")
    run.add_argument("--fast-extraction", action="store_true",
                     help="trafilatura's fast mode (no fallback extractors): ~27%% less extraction time, "
                          "slightly lower recall (see README, Performance)")
    run.add_argument("--max-document-bytes", type=_positive_int, metavar="N",
                     help=f"largest input document accepted (default: {_settings_default('max_document_bytes')})")
    run.add_argument("--extraction-timeout", type=float, metavar="S", help="time limit per document for extraction "
                     f"and for language identification (default: {_settings_default('extraction_timeout_s')})")
    run.add_argument("--max-batch-records", type=_positive_int, metavar="N",
                     help=f"records staged per part of a batch (default: {_settings_default('max_batch_records')})")
    run.add_argument("--near-duplicate-threshold", type=float, metavar="X",
                     help=f"similarity for near copies (default: {_settings_default('near_duplicate_threshold')})")
    run.add_argument("--story-threshold", type=float, metavar="X",
                     help=f"similarity for same-story reports (default: {_settings_default('story_threshold')})")
    run.add_argument("--story-crosslingual-threshold", type=float, metavar="X",
                     help="same-story similarity on names and numbers alone, across languages "
                          f"(default: {_settings_default('story_crosslingual_threshold')})")
    run.add_argument("--story-window-days", type=float, metavar="D",
                     help=f"publication-time window for same-story reports (default: {_settings_default('story_window_days')})")
    run.add_argument("--state-dir", metavar="DIR", help="where fetch state and the story index live "
                                                        "(default: OUT/_state for a local OUT)")
    run.add_argument("--allow-private-addresses", action="store_true",
                     help="allow fetching from loopback/private addresses (off: SSRF protection)")
    run.add_argument("--no-robots", action="store_true", help="do not consult robots.txt (not recommended)")
    run.add_argument("--user-agent", metavar="UA", help="User-Agent header for HTTP requests")
    run.add_argument("--per-host-rate", type=float, metavar="R",
                     help=f"requests per second per host, 0: no limit (default: {_settings_default('per_host_rate')})")
    run.add_argument("--per-host-concurrency", type=_positive_int, metavar="N",
                     help=f"parallel requests per host (default: {_settings_default('per_host_concurrency')})")
    run.add_argument("--max-body-bytes", type=_positive_int, metavar="N",
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


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None):
    """Build the one Settings object from arguments and the environment (the edge's job)."""
    from flows.cli_models import resolve_packages_dir
    from ingest.settings import Settings

    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        "out": args.out,
        "offline": args.offline,
        "translate": not args.no_translate,
        "target_language": args.target_language,
        "language_backend": args.language_backend,
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
    return Settings.from_mapping({k: v for k, v in values.items() if v is not None})


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.loaders import SourceError, plan
    from ingest.settings import SettingsError
    from ingest.storage import Storage, StorageError

    if not args.sources and not args.sources_file:
        raise CliError("nothing to ingest: give at least one SOURCE or --sources FILE")
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    try:
        total = sum(1 for _ in plan(args.sources, settings))  # cheap: lists files, reads none
        Storage(settings.out).check_writable()
    except (SourceError, StorageError) as exc:
        raise CliError(str(exc)) from None

    if not args.verbose:  # a quiet terminal; the run's logs still reach the Prefect API (the UI) at INFO
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if total <= settings.batch_size and settings.task_runner == "local":
        settings = settings.replace(task_runner="threads")  # one batch: worker processes cost more than they save
    from ingest import workers

    workers.start(settings)  # the workers' models load while Prefect starts up
    from flows.ingest_flow import run_ingest
    from flows.progress import make_progress

    with make_progress(total, enabled=settings.progress) as progress:
        result = run_ingest(args.sources, settings, progress=progress)
    if args.json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for line in summary_lines(result):
            print(line)
    return EXIT_OK


def summary_lines(result: dict[str, Any]) -> list[str]:
    langs = ", ".join(f"{k} {v}" for k, v in result["languages"].items()) or "-"
    trans = ", ".join(f"{k} {v}" for k, v in result["translation"].items()) or "-"
    rej = ", ".join(f"{k} {v}" for k, v in result["rejects_by_reason"].items()) or "none"
    dups = ", ".join(f"{k} {v}" for k, v in result["duplicates"].items()) or "none"
    lines = [
        f"articles: {result['articles']} ({result['articles_new']} new, {result['articles_existing']} already present)"
        f" from {result['inputs']} inputs in {result['seconds']:.1f}s",
        f"languages: {langs}",
        f"mixed-language: {result['mixed']}",
        f"translation: {trans}",
        f"stories: {result['stories']} (duplicates: {dups})",
        f"rejects: {result['rejects']} ({rej})",
        f"written to: {result['output']}/articles and {result['output']}/rejects",
    ]
    if result.get("missing_translation_pairs"):
        lines.append("missing translation models; install them with:")
        for pair, n in result["missing_translation_pairs"].items():
            src, tgt = pair.split("-", 1)
            lines.append(f"  news-ingest models install {src} {tgt}   # translate-{src}_{tgt}: {n} segment(s)")
    return lines


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("news-ingest")
    except Exception:  # noqa: BLE001
        return "0+unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    handler = logging.StreamHandler()
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("ingest").setLevel(logging.DEBUG if verbose else logging.INFO)  # INFO reaches Prefect's logs
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("news-ingest: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one readable line, not a traceback
        if verbose:
            raise
        message = str(exc) if isinstance(exc, CliError) else f"{type(exc).__name__}: {exc}"
        print(f"news-ingest: error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
