"""``news-ingest models``: list and install the argos translation packages used by the pipeline.

The CLI edge resolves where packages live: ``--packages-dir``, else the ``ARGOS_PACKAGES_DIR``
environment variable, else the same key in argos' ``settings.json``, else argos' default
(``$XDG_DATA_HOME/argos-translate/packages``), so packages installed with ``argospm`` just work.
``resolve_packages_dir`` is also what the run command should use to fill
``Settings.argos_packages_dir``.

Each handler returns an exit code: 0 on success, 1 when the action failed (one readable line on
stderr), 2 for a usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from flows.cli_options import CliError, resolve_packages_dir  # noqa: F401 (part of this module's API)
from ingest.translate import models as argos_models
from ingest.translate.models import ModelsError

PROG = "news-ingest models"

MODELS_EPILOG = """\
examples:
  news-ingest models list
  news-ingest models install ~/Downloads/translate-hi_en-1_9.argosmodel   # offline, from a file
  news-ingest models install hi en                # download from argos' index (needs network)
  news-ingest models install translate-de_en      # same, by argos package name

Packages go to --packages-dir, else $ARGOS_PACKAGES_DIR, else argos' default
(~/.local/share/argos-translate/packages).  Nothing is downloaded during a pipeline run.
"""

LIST_EPILOG = """\
example:
  news-ingest models list --packages-dir /opt/argos-packages
"""

INSTALL_EPILOG = """\
examples:
  news-ingest models install translate-hi_en.argosmodel    # offline: a downloaded package file
  news-ingest models install hi en                         # online: newest hi->en from argos' index
  news-ingest models install translate-hi_en               # online: by argos package name
  news-ingest models install hi en --packages-dir ./models # into a chosen directory
"""


def resolve_index_url(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--index-url``, else argos' ``ARGOS_PACKAGE_INDEX`` (+ ``index.json``), else argos' index."""
    env = os.environ if environ is None else environ
    if flag:
        return flag
    base = env.get("ARGOS_PACKAGE_INDEX")
    if base:
        return base if base.endswith(".json") else base.rstrip("/") + "/index.json"
    return argos_models.DEFAULT_INDEX_URL


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``models`` sub-command (with ``list`` and ``install``) to ``subparsers``."""
    models = subparsers.add_parser(
        "models",
        help="list or install offline translation models (argos packages)",
        description="List or install the argos translation packages that translate articles offline.",
        epilog=MODELS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = models.add_subparsers(dest="models_command", metavar="{list,install}", required=True)

    lister = actions.add_parser(
        "list", help="list installed translation packages (e.g. news-ingest models list)",
        description="List the installed argos packages: name, version, language pair, directory.",
        epilog=LIST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _packages_dir_option(lister)
    lister.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    lister.set_defaults(func=cmd_list)

    installer = actions.add_parser(
        "install", help="install a package: a .argosmodel file (offline) or a language pair "
                        "(e.g. news-ingest models install hi en)",
        description="Install an argos package from a local .argosmodel file (offline), or download "
                    "one by language pair or package name from argos' index (needs network).",
        epilog=INSTALL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    installer.add_argument("what", nargs="+", metavar="PACKAGE",
                           help="PATH.argosmodel, or FROM TO language codes (hi en), or a package name "
                                "(translate-hi_en)")
    _packages_dir_option(installer)
    installer.add_argument("--index-url", default=None,
                           help="argos package index URL (default: $ARGOS_PACKAGE_INDEX or argos' index), "
                                "e.g. --index-url http://mirror.local/argospm-index/index.json")
    installer.add_argument("--timeout", type=float, default=20.0,
                           help="network timeout in seconds for index and download (default 20), e.g. --timeout 60")
    installer.add_argument("--offline", action="store_true",
                           help="refuse to use the network (only PATH.argosmodel installs work)")
    installer.set_defaults(func=cmd_install)
    return models


def _packages_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--packages-dir", default=None, metavar="DIR",
        help="argos packages directory (default: $ARGOS_PACKAGES_DIR, else argos' default "
             "~/.local/share/argos-translate/packages), e.g. --packages-dir ./models",
    )


def cmd_list(args: argparse.Namespace) -> int:
    return _guard(_list, args)


def cmd_install(args: argparse.Namespace) -> int:
    return _guard(_install, args)


def _guard(action, args: argparse.Namespace) -> int:
    try:
        action(args)
    except (CliError, ModelsError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except _UsageError as exc:
        print(f"{PROG}: usage error: {exc}", file=sys.stderr)
        return 2
    return 0


class _UsageError(Exception):
    pass


def _list(args: argparse.Namespace) -> None:
    root = resolve_packages_dir(args.packages_dir)
    packages, problems = argos_models.scan(root)
    if args.json:
        print(json.dumps([
            {"package": p.package_id, "version": p.package_version, "from": p.from_code, "to": p.to_code,
             "argos_version": p.argos_version, "type": p.type, "path": str(p.path)} for p in packages
        ] , indent=2))
    elif not packages:
        print(f"no argos packages in {root}")
        print("install one with: news-ingest models install PATH.argosmodel   (or: news-ingest models install hi en)")
    else:
        print(f"argos packages in {root}:")
        width = max(len(p.package_id) for p in packages)
        for p in packages:
            names = f"{p.from_name or p.from_code} -> {p.to_name or p.to_code}"
            print(f"  {p.package_id:<{width}}  {p.package_version or '?':<8} {names:<28} {p.path.name}")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


def _install(args: argparse.Namespace) -> None:
    root = resolve_packages_dir(args.packages_dir)
    what = list(args.what)
    first = what[0]
    if len(what) == 1 and (first.endswith(".argosmodel") or Path(first).expanduser().is_file()):
        info = argos_models.install_from_path(Path(first).expanduser(), root)
    elif len(what) == 2:
        source, target = (code.strip().lower() for code in what)
        if not (_is_code(source) and _is_code(target)):
            raise _UsageError(f"expected two language codes such as 'hi en', got {' '.join(what)!r}")
        info = argos_models.install_from_index(
            root, from_code=source, to_code=target, index_url=resolve_index_url(args.index_url),
            timeout=args.timeout, offline=args.offline)
    elif len(what) == 1 and "-" in first and "_" in first:
        info = argos_models.install_from_index(
            root, name=first, index_url=resolve_index_url(args.index_url), timeout=args.timeout,
            offline=args.offline)
    else:
        raise _UsageError(
            f"cannot install {' '.join(what)!r}: give PATH.argosmodel, FROM TO (hi en) or a package name "
            "(translate-hi_en)")
    print(f"installed {info.label} ({info.from_code} -> {info.to_code}) into {info.path}")


def _is_code(code: str) -> bool:
    return 2 <= len(code) <= 3 and code.isascii() and code.isalpha()


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``models ...`` on its own (tests, ``python -m flows.cli_models list``)."""
    parser = argparse.ArgumentParser(prog="news-ingest")
    register(parser.add_subparsers(dest="command", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "models":
        argv = ["models", *argv]
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(run())
