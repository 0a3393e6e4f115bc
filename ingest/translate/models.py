"""Argos Translate packages on disk: discover, list, install (offline from a file, online by pair).

An argos package (``.argosmodel``) is a zip archive of one directory holding ``metadata.json``
(``from_code``, ``to_code``, ``package_version``, ``argos_version``, ...), a CTranslate2 model in
``model/`` and a tokenizer (``sentencepiece.model``, or ``bpe.model`` in old packages).  Packages
are installed as sub-directories of a packages directory; by default argos' own
(``~/.local/share/argos-translate/packages``), so existing argos installs just work.

This module never imports ``argostranslate`` (its import creates directories and reads the
environment; its ``get_available_packages()`` recurses forever without a cached index when
offline).  The index is fetched here, with a timeout and a readable error.  Nothing in this module
runs during a pipeline run except ``scan``/``find_route``: installs are explicit user actions.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

# argos' default index (argostranslate.settings: ARGOS_PACKAGE_INDEX + "index.json")
DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
MAX_ARCHIVE_UNPACKED_BYTES = 8 * 1024**3  # refuse zip bombs
MAX_ARCHIVE_MEMBERS = 10_000
MAX_DOWNLOAD_BYTES = 4 * 1024**3
PIVOT_LANGUAGES = ("en",)  # tried in this order when no direct package exists


class ModelsError(Exception):
    """A package cannot be listed or installed; the message is meant for the user (one line)."""


@dataclass(frozen=True)
class PackageInfo:
    path: Path  # the installed package directory
    from_code: str
    to_code: str
    package_version: str = ""
    argos_version: str = ""
    type: str = "translate"
    from_name: str = ""
    to_name: str = ""
    target_prefix: str = ""
    tokenizer: str | None = None  # "sentencepiece" | "bpe" | None (unusable)

    @property
    def package_id(self) -> str:
        """argospm's name for the package, e.g. ``translate-hi_en``."""
        return package_name(self.from_code, self.to_code, self.type)

    @property
    def label(self) -> str:
        """What a record's ``translation_model`` names, e.g. ``translate-hi_en@1.9``."""
        return f"{self.package_id}@{self.package_version or '0'}"

    @property
    def model_dir(self) -> Path:
        return self.path / "model"


def package_name(from_code: str, to_code: str, kind: str = "translate") -> str:
    return f"{kind}-{from_code}_{to_code}"


def default_packages_dir(data_home: str | os.PathLike | None = None) -> Path:
    """argos' default packages directory: ``$XDG_DATA_HOME/argos-translate/packages``.

    ``data_home`` is the value of ``XDG_DATA_HOME`` as resolved by the caller (the edge reads the
    environment, not this library); None means ``~/.local/share``.
    """
    base = Path(data_home) if data_home else Path.home() / ".local" / "share"
    return base / "argos-translate" / "packages"


def packages_dir_for(configured: str | os.PathLike | None) -> Path:
    """The packages directory to use: the configured one, else argos' default."""
    return Path(configured).expanduser() if configured else default_packages_dir()


# --- discovery -----------------------------------------------------------------------------------

def read_package(path: Path) -> PackageInfo:
    """Read one installed package directory; raises ModelsError when it is not a usable package."""
    meta_path = path / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelsError(f"{path}: no metadata.json (not an argos package)") from None
    except (OSError, ValueError) as exc:
        raise ModelsError(f"{path}: unreadable metadata.json ({exc})") from None
    return _info_from_metadata(meta, path)


def _info_from_metadata(meta: object, path: Path) -> PackageInfo:
    if not isinstance(meta, dict):
        raise ModelsError(f"{path}: metadata.json is not a JSON object")
    from_code, to_code = meta.get("from_code"), meta.get("to_code")
    if not (isinstance(from_code, str) and from_code and isinstance(to_code, str) and to_code):
        raise ModelsError(f"{path}: metadata.json lacks from_code/to_code")
    tokenizer = ("sentencepiece" if (path / "sentencepiece.model").is_file()
                 else "bpe" if (path / "bpe.model").is_file() else None)
    return PackageInfo(
        path=path,
        from_code=from_code,
        to_code=to_code,
        package_version=str(meta.get("package_version", "") or ""),
        argos_version=str(meta.get("argos_version", "") or ""),
        type=str(meta.get("type", "translate") or "translate"),
        from_name=str(meta.get("from_name", "") or ""),
        to_name=str(meta.get("to_name", "") or ""),
        target_prefix=str(meta.get("target_prefix", "") or ""),
        tokenizer=tokenizer,
    )


def scan(packages_dir: str | os.PathLike) -> tuple[list[PackageInfo], list[str]]:
    """All packages in ``packages_dir`` (sorted by pair, then newest first) and the problems found.

    A missing directory is simply empty.  Broken packages are reported in the second list, never
    raised, so one bad directory does not hide the others.
    """
    root = Path(packages_dir)
    packages: list[PackageInfo] = []
    problems: list[str] = []
    if not root.is_dir():
        return packages, problems
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        try:
            info = read_package(child)
        except ModelsError as exc:
            problems.append(str(exc))
            continue
        if info.type == "translate":
            if not info.model_dir.is_dir():
                problems.append(f"{child}: no model/ directory")
                continue
            if info.tokenizer is None:
                problems.append(f"{child}: no sentencepiece.model or bpe.model")
                continue
        packages.append(info)
    return _newest_first(packages), problems


def _newest_first(packages: list[PackageInfo]) -> list[PackageInfo]:
    """Sorted by pair; within a pair the newest version first."""
    by_version = sorted(packages, key=lambda p: version_key(p.package_version), reverse=True)
    return sorted(by_version, key=lambda p: (p.from_code, p.to_code))  # stable


def version_key(version: str) -> tuple:
    """Orders package versions: PEP 440 when it parses ("1.10" > "1.9.1" > "1.9"), else 0."""
    from packaging.version import InvalidVersion, Version

    try:
        return (Version(version or "0"), version)
    except InvalidVersion:
        return (Version("0"), version)


def translation_packages(packages_dir: str | os.PathLike) -> dict[tuple[str, str], PackageInfo]:
    """The newest usable translate package for each (from, to) pair."""
    packages, problems = scan(packages_dir)
    for problem in problems:
        logger.warning("ignoring argos package: %s", problem)
    best: dict[tuple[str, str], PackageInfo] = {}
    for pkg in packages:
        if pkg.type == "translate":
            best.setdefault((pkg.from_code, pkg.to_code), pkg)
    return best


def find_route(available: dict[tuple[str, str], PackageInfo], source: str, target: str
               ) -> tuple[PackageInfo, ...] | None:
    """Packages translating ``source`` to ``target``: direct, else through a pivot language."""
    direct = available.get((source, target))
    if direct is not None:
        return (direct,)
    for pivot in PIVOT_LANGUAGES:
        if pivot in (source, target):
            continue
        first, second = available.get((source, pivot)), available.get((pivot, target))
        if first is not None and second is not None:
            return (first, second)
    return None


# --- install -------------------------------------------------------------------------------------

def install_from_path(archive: str | os.PathLike, packages_dir: str | os.PathLike) -> PackageInfo:
    """Install a local ``.argosmodel`` file (offline).  Replaces an installed package of the same name.

    The archive is checked before anything is written: a zip, no absolute paths, no ``..``, no
    links, bounded size, one package directory with a valid ``metadata.json``.  It is unpacked into
    a temporary directory beside the target and moved into place, so a failed install leaves no
    half-written package behind.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise ModelsError(f"no such file: {archive}")
    if not zipfile.is_zipfile(archive):
        raise ModelsError(f"{archive}: not an argos package (.argosmodel files are zip archives)")
    root = Path(packages_dir).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelsError(f"cannot create packages directory {root}: {exc.strerror or exc}") from None
    try:
        with zipfile.ZipFile(archive) as zf:
            members, top = _checked_members(zf, archive)
            staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=root))
            try:
                for info, rel in members:
                    dest = staging.joinpath(*rel.parts)
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                package_root = staging / top if top else staging
                pkg = read_package(package_root)
                name = top or f"{pkg.package_id}"
                if pkg.type == "translate" and not (package_root / "model").is_dir():
                    raise ModelsError(f"{archive}: the package has no model/ directory")
                final = root / name
                _replace_dir(package_root, final)  # flat archive: the staging directory itself moves
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise ModelsError(f"{archive}: corrupt archive ({exc})") from None
    except OSError as exc:
        raise ModelsError(f"cannot install {archive} into {root}: {exc.strerror or exc}") from None
    info = read_package(final)
    logger.info("installed %s into %s", info.label, final)
    return info


def _checked_members(zf: zipfile.ZipFile, archive: Path) -> tuple[list[tuple[zipfile.ZipInfo, PurePosixPath]], str | None]:
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise ModelsError(f"{archive}: too many files in the archive ({len(infos)})")
    total = 0
    members = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        rel = PurePosixPath(name)
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in rel.parts:
            raise ModelsError(f"{archive}: unsafe path in archive: {info.filename!r}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ModelsError(f"{archive}: links are not allowed in a package: {info.filename!r}")
        parts = tuple(p for p in rel.parts if p not in ("", "."))
        if not parts:
            continue
        total += info.file_size
        if total > MAX_ARCHIVE_UNPACKED_BYTES:
            raise ModelsError(f"{archive}: unpacks to more than {MAX_ARCHIVE_UNPACKED_BYTES:,} bytes")
        members.append((info, PurePosixPath(*parts)))
    if not members:
        raise ModelsError(f"{archive}: empty archive")
    tops = {rel.parts[0] for _, rel in members}
    if any(rel.parts == ("metadata.json",) for _, rel in members):
        return members, None  # flat layout: metadata.json at the root
    if len(tops) != 1:
        raise ModelsError(f"{archive}: expected one package directory, found {len(tops)} top-level entries")
    top = next(iter(tops))
    if top.startswith("."):
        raise ModelsError(f"{archive}: unexpected package directory name {top!r}")
    if not any(rel.parts == (top, "metadata.json") for _, rel in members):
        raise ModelsError(f"{archive}: no metadata.json in the package directory {top!r}")
    return members, top


def _replace_dir(src: Path, final: Path) -> None:
    backup = None
    if final.exists():
        backup = final.with_name(f".old-{final.name}-{os.getpid()}")
        shutil.rmtree(backup, ignore_errors=True)
        final.rename(backup)
    try:
        src.rename(final)
    except OSError:
        if backup is not None:
            backup.rename(final)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def fetch_index(index_url: str = DEFAULT_INDEX_URL, timeout: float = 20.0) -> list[dict]:
    """Download argos' package index (a JSON list of package metadata)."""
    data = _http_get(index_url, timeout, limit=50 * 1024**2, what="the argos package index")
    try:
        index = json.loads(data)
    except ValueError as exc:
        raise ModelsError(f"the package index at {index_url} is not JSON ({exc})") from None
    if not isinstance(index, list):
        raise ModelsError(f"the package index at {index_url} is not a list of packages")
    return [entry for entry in index if isinstance(entry, dict)]


def find_in_index(index: list[dict], *, from_code: str | None = None, to_code: str | None = None,
                  name: str | None = None) -> dict:
    """The newest index entry for a pair (or argospm name such as ``translate-hi_en``)."""
    matches = []
    for entry in index:
        kind = entry.get("type", "translate")
        f, t = entry.get("from_code"), entry.get("to_code")
        if name is not None:
            if f and t and package_name(f, t, kind) == name:
                matches.append(entry)
        elif kind == "translate" and f == from_code and t == to_code:
            matches.append(entry)
    if not matches:
        wanted = name or package_name(from_code or "?", to_code or "?")
        raise ModelsError(f"the argos package index has no package {wanted}")
    return max(matches, key=lambda e: version_key(str(e.get("package_version", ""))))


def install_from_index(packages_dir: str | os.PathLike, *, from_code: str | None = None,
                       to_code: str | None = None, name: str | None = None,
                       index_url: str = DEFAULT_INDEX_URL, timeout: float = 20.0,
                       offline: bool = False) -> PackageInfo:
    """Download a package named by pair (or argospm name) from argos' index and install it.

    Needs the network; raises ModelsError with a one-line explanation when offline.
    """
    wanted = name or package_name(from_code or "?", to_code or "?")
    if offline:
        raise ModelsError(f"cannot download {wanted}: offline mode; install a downloaded "
                          f"{wanted}.argosmodel file with: news-ingest models install PATH.argosmodel")
    entry = find_in_index(fetch_index(index_url, timeout), from_code=from_code, to_code=to_code, name=name)
    links = [link for link in entry.get("links", []) if isinstance(link, str)]
    if not links:
        raise ModelsError(f"the package index lists {wanted} without a download link")
    root = Path(packages_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for link in links:
        try:
            data = _http_get(link, timeout, limit=MAX_DOWNLOAD_BYTES, what=wanted)
        except ModelsError as exc:
            errors.append(str(exc))
            continue
        with tempfile.NamedTemporaryFile(dir=root, prefix=".download-", suffix=".argosmodel", delete=False) as fh:
            fh.write(data)
            tmp = Path(fh.name)
        try:
            return install_from_path(tmp, root)
        finally:
            tmp.unlink(missing_ok=True)
    raise ModelsError(errors[-1] if errors else f"could not download {wanted}")


def _http_get(url: str, timeout: float, limit: int, what: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise ModelsError(f"unsupported URL for {what}: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "news-ingest (argos package install)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise ModelsError(f"cannot download {what} from {url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelsError(f"cannot reach {url} to download {what} (offline?): {reason}") from None
    if len(data) > limit:
        raise ModelsError(f"{what} at {url} is larger than {limit:,} bytes")
    return data
