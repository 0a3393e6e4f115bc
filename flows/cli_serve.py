"""``news-ingest serve``: serve the ingest flow as a scheduled Prefect deployment.

The process registers a deployment of the flow ``news-ingest`` with the Prefect server named by
``PREFECT_API_URL`` (schedule: ``--cron`` or ``--interval``) and then runs each scheduled run
itself, in a subprocess, until it is stopped (Ctrl-C or SIGTERM; the schedule is then paused).
Sources, output and settings options are those of ``news-ingest run``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flows.cli_options import (
    EXIT_OK,
    CliError,
    Formatter,
    add_run_arguments,
    positive_int,
    settings_from_args,
)

SERVE_EPILOG = """examples:
  prefect server start &                                   # the UI: http://127.0.0.1:4200
  export PREFECT_API_URL=http://127.0.0.1:4200/api
  news-ingest serve --sources feeds.toml --out out/ --cron "*/15 * * * *"
  news-ingest serve data/inbox/ --out s3://bucket/news --interval 3600 --name hourly

Each scheduled run ingests the same sources; what is already in the output is not written again.
Stop with Ctrl-C (or SIGTERM): the deployment's schedule is paused until it is served again."""


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve", help="serve the ingest flow as a scheduled Prefect deployment (needs a Prefect server)",
        description="Register a scheduled deployment of the news-ingest flow with the Prefect server at "
                    "PREFECT_API_URL and execute its runs until stopped.",
        epilog=SERVE_EPILOG, formatter_class=Formatter)
    add_run_arguments(serve, output_options=False)
    when = serve.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help='cron schedule, e.g. "*/15 * * * *"')
    when.add_argument("--interval", type=positive_int, metavar="SECONDS", help="run every SECONDS seconds")
    serve.add_argument("--timezone", default="UTC", metavar="TZ", help="time zone of the cron schedule")
    serve.add_argument("--name", default="scheduled", metavar="NAME",
                       help="deployment name (shown as news-ingest/NAME in the UI)")
    serve.set_defaults(func=cmd_serve)


def deployment_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The flow parameters of the deployment: checked now, with local paths made absolute."""
    from flows.ingest_flow import flow_parameters
    from ingest.output.storage import Storage, StorageError, is_local
    from ingest.settings import SettingsError
    from ingest.sources.loaders import SourceError, plan

    if not args.sources and not args.sources_file:
        raise CliError("nothing to ingest: give at least one SOURCE or --sources FILE")
    sources = [s if "://" in s else str(Path(s).expanduser().resolve()) for s in args.sources]
    if args.sources_file:
        args.sources_file = str(Path(args.sources_file).expanduser().resolve())
    if is_local(args.out) and not args.out.startswith("file://"):
        args.out = str(Path(args.out).expanduser().resolve())
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    try:
        for _ in plan(sources, settings):  # cheap: lists files, reads none
            pass
        Storage(settings.out).check_writable()
    except (SourceError, StorageError) as exc:
        raise CliError(str(exc)) from None
    # scheduled reruns skip local files whose content this output already holds
    return {"sources": sources, **flow_parameters(settings.replace(skip_unchanged=True))}


def schedule_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``Flow.serve``: a validated cron schedule, or an interval."""
    if not args.cron:
        return {"interval": args.interval}
    import pydantic
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.schedules import Cron

    try:
        CronSchedule(cron=args.cron, timezone=args.timezone)
    except pydantic.ValidationError as exc:
        raise CliError(f"invalid schedule: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    return {"schedule": Cron(args.cron, timezone=args.timezone)}


def _check_server() -> str:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise CliError("serve needs a Prefect server: run 'prefect server start' and set "
                       "PREFECT_API_URL=http://127.0.0.1:4200/api")
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise CliError(f"the Prefect server at {url} is not reachable: {error}")
    return url


def cmd_serve(args: argparse.Namespace) -> int:
    from prefect.deployments.runner import EntrypointType

    from flows.ingest_flow import ingest_flow

    parameters = deployment_parameters(args)
    schedule = schedule_from_args(args)
    _check_server()
    try:
        # limit=1: runs on one output are serialised by its run lock anyway; a run that outlasts
        # the interval makes the next one wait instead of failing on the lock.
        ingest_flow.serve(name=args.name, parameters=parameters, limit=1, pause_on_shutdown=True,
                          entrypoint_type=EntrypointType.MODULE_PATH,
                          description=f"news-ingest of {len(parameters['sources'])} source(s) into "
                                      f"{parameters['out']}", **schedule)
    except KeyboardInterrupt:
        pass
    finally:  # the runner pauses on shutdown too, but not reliably when SIGTERM ends it
        _pause(f"{ingest_flow.name}/{args.name}")
    return EXIT_OK


def _pause(deployment_name: str) -> None:
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.pause_deployment(client.read_deployment_by_name(deployment_name).id)
    except Exception as exc:  # noqa: BLE001 - stopping must not fail because the server is gone
        print(f"news-ingest: could not pause the schedule of {deployment_name}: {exc}", file=sys.stderr)
