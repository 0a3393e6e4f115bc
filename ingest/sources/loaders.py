"""Turn sources (files, directories, URLs) into work items, and work items into raw Articles.

``plan`` expands what the user named into small, picklable ``WorkItem`` objects (cheap: no file
is read).  ``load`` turns one work item into raw ``Article`` records (payload in ``html`` or
``raw_text``) or ``Reject`` records; it never raises for a bad input.

Local formats: ``.html/.htm`` (optionally ``.gz``), ``.txt/.md``, ``.jsonl`` (optionally ``.gz``).
Other kinds (feeds, URLs, WARC) register a handler in ``HANDLERS``.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ingest.records import Article, Reject, parse_datetime
from ingest.settings import Settings
from ingest.sources.encoding import decode_html, decode_text
from ingest.sources.urls import article_url

logger = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class SourceError(ValueError):
    """A source named by the user does not exist or cannot be used at all."""


@dataclass(frozen=True)
class Span:
    """A range of the records of one multi-record file (cut by ``ingest.sources.split``).

    ``offset``: byte offset of its first record (None where the file cannot seek: ``.jsonl.gz``,
    whose loader skips ``first - 1`` lines); ``first``: the 1-based number of its first record
    (line of a .jsonl, record index of a WARC: ``source_uri`` keeps ``#N`` of the whole file);
    ``count``: how many records (lines, WARC records) it holds, None: to the end of the file;
    ``final``: the file's last range."""
    offset: int | None
    first: int
    count: int | None
    final: bool = True


@dataclass(frozen=True)
class WorkItem:
    kind: str  # html | text | jsonl | feed | warc | url | ...
    location: str  # absolute path or URL
    hint: str | None = None  # language hint / source name from a sources file
    span: Span | None = None  # a range of the file's records (None: the whole input)

    @property
    def label(self) -> str:
        return self.location


def classify_path(path: Path) -> str | None:
    """The kind of a local file by its name (None: not an input we know)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    for kind, suffixes in EXTRA_SUFFIXES.items():
        if name.endswith(suffixes):
            return kind
    return None


# kind -> suffixes, for handlers added by other modules (feeds, warc)
EXTRA_SUFFIXES: dict[str, tuple[str, ...]] = {}


def plan(sources: Iterable[str], settings: Settings) -> Iterator[WorkItem]:
    """Expand sources into work items, in a stable order.  Raises SourceError for a missing path.
    The feeds of ``settings.sources_file`` come first (a SourcesError, a ValueError, if it is invalid)."""
    if settings.sources_file:
        from ingest.sources.declared import load_sources

        for declared in load_sources(settings.sources_file):
            yield WorkItem("url" if declared.is_remote else "feed", declared.url, hint=declared.language)
    for source in sources:
        if "://" in source and not source.startswith("file://"):
            yield WorkItem("url", source)
            continue
        path = Path(source.removeprefix("file://")).expanduser()
        if not path.exists():
            raise SourceError(f"no such file or directory: {source}")
        if path.is_dir():
            skipped: list[str] = []
            items = 0
            for child in sorted(_walk(path, skipped)):
                items += 1  # every entry but a _-prefixed one (taken back below) becomes an item
                try:
                    resolved = str(child.resolve(strict=True))
                except (RuntimeError, OSError):  # a symlink loop, a dangling link, a vanished file
                    yield WorkItem("bad_path", str(child.absolute()))
                    continue
                if child.is_dir():  # a directory os.walk could not enter (reported by _walk)
                    yield WorkItem("bad_path", resolved)
                    continue
                kind = classify_path(child)
                if kind is None:
                    if child.name.startswith("_"):
                        skipped.append(child.name)
                        items -= 1
                        continue
                    kind = "unsupported"
                yield WorkItem(kind, resolved)
            if skipped:
                logger.info("%s: %d hidden or _-prefixed entries skipped (e.g. %s)", path, len(skipped),
                            ", ".join(skipped[:3]))
            if not items:
                logger.warning("%s: nothing to ingest in this directory%s", path,
                               " (only hidden or _-prefixed entries)" if skipped else " (it is empty)")
        else:
            # a file named explicitly is always an input; unknown suffixes are sniffed at load time
            yield WorkItem(classify_path(path) or "sniff", str(path.resolve()))


def _walk(root: Path, skipped: list[str]) -> Iterator[Path]:
    """Files under ``root`` (hidden names skipped, listed in ``skipped``), and the directories that
    could not be read (each becomes a reject, the walk goes on)."""
    unreadable: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False,
                                                onerror=lambda exc: unreadable.append(Path(exc.filename))):
        skipped.extend(d for d in dirnames if d.startswith("."))
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                skipped.append(name)
            else:
                yield Path(dirpath) / name
    yield from unreadable


Handler = Callable[[WorkItem, Settings], Iterator["Article | Reject"]]
HANDLERS: dict[str, Handler] = {}


def load(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    """Load one work item.  Every failure becomes a Reject; this generator never raises."""
    handler = HANDLERS.get(item.kind)
    if handler is None:
        yield Reject(item.location, "load", "unsupported", f"no loader for input kind {item.kind!r}")
        return
    try:
        yield from handler(item, settings)
    except Exception as exc:  # one bad input never kills a run
        logger.warning("could not load %s: %s", item.location, exc)
        yield Reject(item.location, "load", _reason(exc), _detail(exc))


def read_bytes(path: str, limit: int) -> bytes:
    """Read a file, transparently gunzipping ``.gz``; refuses more than ``limit`` bytes (also decompressed)."""
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=fh) as gz:
                data = gz.read(limit + 1)
        else:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"larger than the {limit:,}-byte limit")
    return data


class InputTooLarge(ValueError):
    pass


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for ch in sample if ch == "\x00" or (ord(ch) < 32 and ch not in "\t\n\r\f\v"))
    return bad / len(sample) > 0.01


def _load_html(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    return _load_file(item, settings, as_html=True)


def _load_text(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    return _load_file(item, settings, as_html=False)


def _load_file(item: WorkItem, settings: Settings, as_html: bool) -> Iterator[Article | Reject]:
    """One document in one file.  An HTML page saved as .txt is extracted as HTML (its markup is
    never kept as text)."""
    data = read_bytes(item.location, settings.max_document_bytes)
    if not data.strip():
        yield Reject(item.location, "load", "empty", "file is empty")
        return
    as_html = as_html or _is_html(data)
    content = decode_html(data) if as_html else decode_text(data)
    if _looks_binary(content):
        yield Reject(item.location, "load", "binary", "content is not text")
        return
    payload = {"html": content, "content_type": "html"} if as_html else {"raw_text": content, "content_type": "text"}
    yield Article(source_uri=item.location, content_origin="file", language_hint=item.hint, **payload)


def _load_jsonl(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    span = item.span
    fh, lineno = _open_jsonl(item)
    count = None if span is None else span.count
    done = False
    records = 0
    try:
        while count is None or lineno - (span.first - 1) < count:
            try:
                raw = fh.readline(settings.max_document_bytes + 1)
            except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip
                yield Reject(f"{item.location}#{lineno + 1}", "load", "corrupt_gzip", _detail(exc))
                done = True
                return
            if not raw:
                done = True
                if not records and span is None:  # an empty file (or only blank lines) is an input too
                    yield Reject(item.location, "load", "empty", "file has no records")
                return
            lineno += 1
            uri = f"{item.location}#{lineno}"
            if len(raw) > settings.max_document_bytes and not raw.endswith(b"\n"):
                # skip the rest of the over-long line, but not forever: a gzip bomb inflates to
                # ~1000x its size, so past a budget the rest of the file is given up (and said so)
                skipped, budget = len(raw), 8 * settings.max_document_bytes
                while raw and not raw.endswith(b"\n") and skipped <= budget:
                    raw = fh.readline(1 << 20)
                    skipped += len(raw)
                if skipped > budget:
                    yield Reject(uri, "load", "too_large",
                                 f"line longer than {budget:,} bytes; the rest of the file was not read")
                    done = True
                    return
                records += 1
                yield Reject(uri, "load", "too_large", f"line longer than {settings.max_document_bytes:,} bytes")
                continue
            if not raw.strip():
                continue  # blank lines are not records
            records += 1
            yield _jsonl_record(raw, uri, item)
    finally:
        _park_jsonl(item, fh, lineno, done)


# A process loading the ranges of one .jsonl.gz in order keeps its decompressor between them
# (a gzip stream cannot seek): (path, file identity) -> (open file, lines read).  One entry.
_parked: dict[tuple, tuple] = {}
_parked_lock = threading.Lock()


def close_parked() -> None:
    """Close the decompressor kept between ranges (the end of a run in this process)."""
    with _parked_lock:
        for fh, _ in _parked.values():
            fh.close()
        _parked.clear()


def _identity(path: str) -> tuple:
    st = os.stat(path)
    return path, st.st_ino, st.st_size, st.st_mtime_ns


def _open_jsonl(item: WorkItem):
    """An open .jsonl (gunzipping) positioned at the item's first line, and the number of the
    line before it."""
    span = item.span
    with open(item.location, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if span is None:
        return (gzip.open(item.location, "rb") if gzipped else open(item.location, "rb")), 0
    if not gzipped:
        fh = open(item.location, "rb")
        fh.seek(span.offset or 0)
        return fh, span.first - 1
    key = _identity(item.location)
    with _parked_lock:
        parked = _parked.pop(key, None)
    if parked is not None and parked[1] <= span.first - 1:
        fh, lineno = parked
    else:
        if parked is not None:
            parked[0].close()
        fh, lineno = gzip.open(item.location, "rb"), 0
    while lineno < span.first - 1:  # skip to the range (lines before it were scanned whole)
        raw = fh.readline(1 << 20)
        if not raw:
            break
        lineno += raw.endswith(b"\n")
    return fh, lineno


def _park_jsonl(item: WorkItem, fh, lineno: int, done: bool) -> None:
    span = item.span
    if done or span is None or span.final or span.offset is not None:
        fh.close()
        return
    try:
        key = _identity(item.location)
    except OSError:
        fh.close()
        return
    with _parked_lock:
        for old, _ in _parked.values():
            old.close()
        _parked.clear()
        _parked[key] = (fh, lineno)


def _jsonl_record(raw: bytes, uri: str, item: WorkItem) -> Article | Reject:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Reject(uri, "load", "invalid_json", _detail(exc))
    if not isinstance(obj, dict):
        return Reject(uri, "load", "invalid_json", "line is not a JSON object")
    html, text = obj.get("html"), obj.get("text")
    if not (isinstance(html, str) and html.strip()) and not (isinstance(text, str) and text.strip()):
        return Reject(uri, "load", "empty", "record has neither html nor text")
    url = article_url(obj.get("url"))  # placeholders ("N/A"), javascript:, file: ... are not URLs
    if url is None and obj.get("url") not in (None, ""):
        logger.debug("%s: url %r is not an http(s) URL; the line keeps it", uri, str(obj.get("url"))[:200])
    article = Article(
        source_uri=uri,
        url=url,
        content_origin="jsonl",
        language_hint=obj.get("language") if isinstance(obj.get("language"), str) else item.hint,
    )
    if isinstance(html, str) and html.strip():
        article.html, article.content_type = html, "html"
    else:
        article.raw_text, article.content_type = text, "text"
    if isinstance(obj.get("title"), str) and obj["title"].strip():
        article.title = obj["title"].strip()
    article.published_at = parse_datetime(obj.get("published_at"))
    authors = obj.get("authors")
    if isinstance(authors, list):
        article.authors = [a for a in authors if isinstance(a, str) and a.strip()]
    return article


def _load_unsupported(item: WorkItem, settings: Settings) -> Iterator[Reject]:
    """A file of a type we do not read, found inside an input folder (.docx, .pdf, images ...)."""
    suffix = Path(item.location).suffix.lower() or "(no suffix)"
    yield Reject(item.location, "load", "unsupported_type",
                 f"{suffix} is not an input type (html, txt/md, jsonl, feeds, warc)")


def _load_bad_path(item: WorkItem, settings: Settings) -> Iterator[Reject]:
    """A path inside an input folder that cannot be followed or read (symlink loop, dangling link,
    unreadable directory)."""
    import errno

    try:
        os.stat(item.location)
    except OSError as exc:
        reason = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
        yield Reject(item.location, "load", reason, _detail(exc))
        return
    if os.path.isdir(item.location):
        yield Reject(item.location, "load", "unreadable", "directory cannot be listed")
        return
    yield Reject(item.location, "load", "unreadable", "path cannot be resolved")


def _load_sniff(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    """A file named explicitly whose suffix we do not know: decide by content."""
    data = read_bytes(item.location, settings.max_document_bytes)
    if _is_html(data):
        yield from _load_html(item, settings)
    else:
        yield from _load_text(item, settings)


def _is_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InputTooLarge):
        return "too_large"
    if isinstance(exc, UnicodeDecodeError):
        return "not_text"
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        return "corrupt_gzip"
    if isinstance(exc, PermissionError):
        return "unreadable"
    if isinstance(exc, OSError):
        return "io_error"
    return "load_error"


def _detail(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


HANDLERS.update({"html": _load_html, "text": _load_text, "jsonl": _load_jsonl, "sniff": _load_sniff,
                 "unsupported": _load_unsupported, "bad_path": _load_bad_path})


def _lazy(module: str, name: str) -> Handler:
    """A handler imported on first use (keeps feedparser, httpx and warcio out of plain file runs)."""

    def handler(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
        import importlib

        return getattr(importlib.import_module(module), name)(item, settings)

    handler.__name__ = f"{module}.{name}"
    return handler


# web and archive inputs: feeds and pages over HTTP (ingest.sources.web), local feed files, WARC files
HANDLERS.update({"url": _lazy("ingest.sources.web", "load_url"), "feed": _lazy("ingest.sources.web", "load_feed_file"),
                 "warc": _lazy("ingest.sources.warc", "load_warc")})
EXTRA_SUFFIXES.update({"feed": (".xml", ".rss", ".atom", ".rdf", ".json"), "warc": (".warc",)})
