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

from flows.cli_options import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Formatter,
    Parser,
    UsageError,
    add_run_arguments,
    settings_from_args,
)

logger = logging.getLogger("news_ingest.cli")


RUN_EPILOG = """examples:
  news-ingest run examples/ --out out/            # the bundled demo corpus
  news-ingest run data/*.jsonl.gz --out s3://bucket/news --no-translate
  news-ingest run --sources feeds.toml --out out/  # scheduled feed ingestion
  news-ingest run https://example.org/feed.xml --out out/ --target-language de

Writes out/articles/ingest_date=YYYY-MM-DD/*.parquet and out/rejects/...; reruns add no duplicates.
Exit status: 0 when the run completed (even with rejected inputs), 1 on an error, 2 on bad usage."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
                         epilog=RUN_EPILOG, formatter_class=Formatter)
    add_run_arguments(run)
    run.set_defaults(func=cmd_run)

    for name in ("cli_models", "cli_serve"):
        try:
            module = __import__(f"flows.{name}", fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.output.storage import Storage, StorageError
    from ingest.runtime.pipeline import plan_run
    from ingest.runtime.state import RunLockedError
    from ingest.settings import SettingsError
    from ingest.sources.loaders import SourceError

    if not args.sources and not args.sources_file:
        raise UsageError("nothing to ingest: give at least one SOURCE or --sources FILE")
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    from flows import ephemeral

    ephemeral.start()  # Prefect's temporary API server (when none is configured) boots meanwhile
    try:
        run_plan = plan_run(args.sources, settings)  # the run's one plan: lists files, reads none
        Storage(settings.out).check_writable()
        check_not_locked(settings)
    except (SourceError, StorageError, RunLockedError) as exc:
        raise CliError(str(exc)) from None

    if not args.verbose:  # a quiet terminal; the run's logs still reach the Prefect API (the UI) at INFO
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from flows.cli_signals import Stopper, supervise_temporary_server
    from ingest.runtime import workers

    def report(result: dict[str, Any]) -> None:
        if args.json:
            json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            for line in summary_lines(result):
                print(line)
        sys.stdout.flush()

    with Stopper(report) as stopper:
        supervise_temporary_server()
        workers.start(run_plan.settings)  # the workers' models load while Prefect starts up
        from flows.ingest_flow import run_ingest
        from flows.progress import make_progress

        ephemeral.wait_ready()
        with make_progress(len(run_plan.items), enabled=settings.progress) as progress:
            def on_commit(summary) -> None:
                stopper.summary = summary
                if progress:
                    progress(summary)

            result = run_ingest(run_plan, args.sources, progress=on_commit)
        report(result)
        if result.get("interrupted") or stopper.signum is not None:
            return stopper.exit_code
    return EXIT_OK


def check_not_locked(settings) -> None:
    """Fail at once (before workers and Prefect start) when another run holds the output's lock;
    the run takes the lock itself later (this is a courtesy, not the guard)."""
    from ingest.runtime.pipeline import resolve_state_dir
    from ingest.runtime.state import RunLock

    lock = RunLock(resolve_state_dir(settings))
    lock.acquire()
    lock.release()


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
    if result.get("interrupted"):
        lines.append(f"interrupted: {result.get('done_items', 0)} of {result.get('planned_items', 0)} work items "
                     "of the planned batches committed; run the same command again to complete the rest")
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
    if not verbose:  # Prefect logs a failed run with its traceback; the error is shown once, as one line
        handler.addFilter(lambda record: not record.name.startswith("prefect"))
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
        message = " ".join(message.split())  # one line, whatever the exception's text holds
        print(f"news-ingest: error: {message}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR


def run_main() -> None:  # pragma: no cover - the console script
    code = main()
    # Exit once the exit handlers have run (Prefect's temporary server stopped, the workers ended,
    # logs flushed), without the interpreter's teardown: its garbage collection over everything
    # Prefect, pyarrow and the models left took seconds of a 9 s exit after a Ctrl-C here.
    from ingest.compat import run_exit_handlers

    sys.stdout.flush()
    sys.stderr.flush()
    # logs first, while Prefect's temporary server (stopped by an exit handler registered after
    # logging's) still takes them: the other way round, logging waited 5 s for a gone server
    logging.shutdown()
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run_main()
