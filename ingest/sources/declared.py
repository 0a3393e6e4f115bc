"""Sources as declarations: a TOML or YAML file listing the feeds a scheduled run watches.

    # sources.toml
    [[feeds]]
    name = "Heise Developer"
    url = "https://www.heise.de/developer/rss/news-atom.xml"
    language = "de"                 # optional hint for language identification
    [feeds.settings]                # optional per-source overrides of fetch settings
    per_host_rate = 0.5

The YAML form is the same structure (``feeds:`` a list of mappings).  ``url`` is an http(s) URL or
a path to a local feed file (relative paths are relative to the sources file).  Errors are
``SourcesError`` with the file, the entry and the field named.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.settings import Settings, SettingsError
from ingest.sources.urls import canonicalize, is_http_url

# settings a source may override (fetching politeness and limits; nothing that changes the output)
OVERRIDABLE = ("user_agent", "connect_timeout_s", "read_timeout_s", "max_retries", "backoff_s", "max_redirects",
               "max_body_bytes", "respect_robots", "per_host_concurrency", "per_host_rate", "fetch_deadline_s",
               "url_deadline_s", "fetch_feed_articles", "feed_fetch_workers")
SOURCE_KEYS = ("name", "url", "language", "settings")


class SourcesError(ValueError):
    """The sources file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Source:
    name: str
    url: str  # http(s) URL, or absolute path of a local feed file
    language: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        return is_http_url(self.url)

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with this source's overrides."""
        return settings.replace(**self.settings) if self.settings else settings


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources file (.toml, .yaml or .yml)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SourcesError(f"{path}: no such sources file")
    raw = _read(path)
    if not isinstance(raw, dict):
        raise SourcesError(f"{path}: expected a mapping with a 'feeds' list at the top level")
    unknown = sorted(set(raw) - {"feeds"})
    if unknown:
        raise SourcesError(f"{path}: unknown top-level key(s): {', '.join(unknown)} (expected 'feeds')")
    feeds = raw.get("feeds")
    if not isinstance(feeds, list) or not feeds:
        raise SourcesError(f"{path}: 'feeds' must be a non-empty list of feeds")
    sources, seen = [], {}
    for i, entry in enumerate(feeds, 1):
        source = _source(entry, f"{path}: feeds[{i}]", path.parent)
        key = _identity(source.url)
        if key in seen:
            raise SourcesError(f"{path}: feeds[{i}]: url {source.url} is already listed as feeds[{seen[key]}]")
        seen[key] = i
        sources.append(source)
    return sources


def _read(path: Path) -> Any:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10: the same parser, as the tomli package
            import tomli as tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SourcesError(f"{path}: invalid TOML: {exc}") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SourcesError(f"{path}: invalid YAML: {exc}") from None
    raise SourcesError(f"{path}: a sources file must be .toml, .yaml or .yml")


def _source(entry: Any, where: str, base: Path) -> Source:
    if not isinstance(entry, dict):
        raise SourcesError(f"{where}: expected a mapping with at least 'url'")
    unknown = sorted(set(entry) - set(SOURCE_KEYS))
    if unknown:
        raise SourcesError(f"{where}: unknown key(s): {', '.join(unknown)} (allowed: {', '.join(SOURCE_KEYS)})")
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise SourcesError(f"{where}: 'url' is required and must be a string")
    url = url.strip()
    if "://" in url and not url.startswith("file://"):
        if not is_http_url(url):
            raise SourcesError(f"{where}: url {url!r} must be an http(s) URL or a local path")
    else:
        local = Path(url.removeprefix("file://")).expanduser()
        local = local if local.is_absolute() else base / local
        if not local.is_file():
            raise SourcesError(f"{where}: local feed file {local} does not exist")
        url = str(local.resolve())
    name = entry.get("name", url)
    if not isinstance(name, str) or not name.strip():
        raise SourcesError(f"{where}: 'name' must be a non-empty string")
    language = entry.get("language")
    if language is not None and not (isinstance(language, str) and language.isalpha() and 2 <= len(language) <= 3):
        raise SourcesError(f"{where}: 'language' must be an ISO 639 code such as 'de', got {language!r}")
    overrides = entry.get("settings") or {}
    if not isinstance(overrides, dict):
        raise SourcesError(f"{where}: 'settings' must be a mapping")
    bad = sorted(set(overrides) - set(OVERRIDABLE))
    if bad:
        raise SourcesError(f"{where}: setting(s) {', '.join(bad)} cannot be set per source "
                           f"(allowed: {', '.join(OVERRIDABLE)})")
    defaults = Settings()
    for key, value in overrides.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            overrides[key] = float(value)
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SourcesError(f"{where}: settings.{key} must be {expected.__name__}, got {value!r}")
    try:
        defaults.replace(**overrides)
    except SettingsError as exc:
        raise SourcesError(f"{where}: settings: {exc}") from None
    return Source(name=name.strip(), url=url, language=language.lower() if language else None,
                  settings=dict(overrides))


def _identity(url: str) -> str:
    try:
        return canonicalize(url)
    except ValueError:
        return url


_CACHE: dict[tuple[str, float], dict[str, Source]] = {}
_CACHE_LOCK = threading.Lock()


def find_source(sources_file: str | None, location: str) -> Source | None:
    """The source of ``sources_file`` whose url is ``location`` (cached per file version)."""
    if not sources_file:
        return None
    path = Path(sources_file).expanduser()
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        return None
    with _CACHE_LOCK:
        by_url = _CACHE.get(key)
    if by_url is None:
        by_url = {_identity(s.url): s for s in load_sources(path)}
        with _CACHE_LOCK:
            _CACHE[key] = by_url
    return by_url.get(_identity(location))
