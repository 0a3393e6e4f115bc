"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed with ``json``.

``parse_feed(data, location)`` returns a ``ParsedFeed`` whose ``entries`` are the entries that
parse (1-based ``index`` in document order) and whose ``problems`` are ``Reject`` records for the
rest: a malformed feed keeps what can be read.  Encodings: a BOM, the HTTP charset, the XML
declaration, then detection (feedparser); UTF-16/32 documents are transcoded to UTF-8 first.

Safety: feedparser is only ever given bytes (never a string, which it would treat as a URL or a
file name), and a DOCTYPE whose internal subset declares entities is removed before parsing, so
entity expansion ("billion laughs", quadratic blow-up, external entities) cannot happen; expat's
own amplification limit and feedparser's DOCTYPE filtering stay behind that as second lines.
"""
from __future__ import annotations

import html as html_lib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin

from ingest.records import Article, Reject, parse_datetime
from ingest.sources.encoding import decode_text
from ingest.sources.urls import canonicalize, is_http_url

logger = logging.getLogger(__name__)

_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(rss|feed|rdf|channel)[\s>/]", re.I)
_HTML_ROOT = re.compile(rb"<(html|head|body)[\s>]|<!doctype\s+html", re.I)
_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_HAS_TAG = re.compile(r"<[A-Za-z!/]")
_XML_DECL_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']*)""", re.I)
JSON_FEED_MARKERS = (b"jsonfeed.org/version", b"jsonfeed.org\\/version")


class NotAFeed(ValueError):
    """The data is not an RSS, Atom or JSON feed (``reason`` says why)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class FeedEntry:
    index: int  # 1-based position in the feed
    link: str | None  # absolute http(s) URL of the article page
    title: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    content: str | None = None  # the content embedded in the feed (content:encoded, content, summary)
    content_is_html: bool = True
    entry_id: str | None = None


@dataclass
class ParsedFeed:
    location: str
    format: str  # rss20, atom10, rss10, json, ...
    title: str | None = None
    language: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)
    problems: list[Reject] = field(default_factory=list)  # what could not be read
    malformed: str | None = None  # why the document is not well-formed (entries may be damaged)


# ---------------------------------------------------------------------------------------------------
# sniffing


def sniff_feed(data: bytes, content_type: str | None = None) -> str | None:
    """"xml" for RSS/Atom, "json" for JSON Feed, None for anything else (an HTML page, other JSON)."""
    head = _to_utf8(data[:65536])[0].lstrip()
    if head.startswith(b"{"):
        return "json" if any(m in head for m in JSON_FEED_MARKERS) else None
    if not head.startswith(b"<"):
        return None
    root = _ROOT.search(head)
    page = _HTML_ROOT.search(head)
    if root and (page is None or root.start() < page.start()):
        return "xml"
    return None


# ---------------------------------------------------------------------------------------------------
# parsing


def parse_feed(data: bytes, location: str, *, content_type: str | None = None,
               base_url: str | None = None) -> ParsedFeed:
    """Parse a feed.  ``content_type``: the HTTP Content-Type header (for its charset);
    ``base_url``: the feed's URL (relative links resolve against it).  Raises NotAFeed."""
    kind = sniff_feed(data, content_type)
    if kind == "json":
        return _parse_json(data, location, base_url)
    if kind is None:
        raise NotAFeed("not_a_feed", "not an RSS, Atom or JSON feed")
    return _parse_xml(data, location, content_type, base_url)


def _parse_xml(data: bytes, location: str, content_type: str | None, base_url: str | None) -> ParsedFeed:
    import feedparser

    data, transcoded = _to_utf8(data)
    data = _defuse(data, location)
    headers = {}
    if content_type and not transcoded:
        headers["content-type"] = content_type
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    expected = len(_ENTRY_TAG.findall(data))
    if parsed.bozo and len(parsed.entries) < expected:
        repaired = feedparser.parse(io.BytesIO(_repair(data)), response_headers=headers)
        if len(repaired.entries) > len(parsed.entries):
            logger.info("%s: malformed feed, %d entries read after repair", location, len(repaired.entries))
            parsed = repaired
    if not parsed.version and not parsed.entries:
        detail = str(parsed.get("bozo_exception") or "no feed elements")
        raise NotAFeed("malformed_feed", f"feed could not be parsed: {detail}"[:500])
    feed = ParsedFeed(location, parsed.version or "unknown", _clean(parsed.feed.get("title")),
                      _clean(parsed.feed.get("language")))
    base = base_url or parsed.feed.get("link")
    for index, raw in enumerate(parsed.entries, 1):
        feed.entries.append(_xml_entry(raw, index, base))
    if parsed.bozo:
        problem = feed.malformed = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"[:300]
        if len(parsed.entries) < expected:
            feed.problems.append(Reject(location, "load", "malformed_feed",
                                        f"{len(parsed.entries)} of {expected} entries could be read; {problem}"))
        else:
            logger.info("%s: feed is not well-formed but all %d entries were read (%s)", location, expected, problem)
    return feed


def _xml_entry(raw, index: int, base: str | None) -> FeedEntry:
    link = raw.get("link")
    if not link:
        for candidate in raw.get("links", []):
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    entry = FeedEntry(index=index, link=_absolute(link, base), title=_clean(raw.get("title")),
                      entry_id=raw.get("id"))
    # plain dict.get: FeedParserDict.get would map a missing published_parsed to updated_parsed with a warning
    entry.published_at = _struct_time(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed"))
    names = [a.get("name") for a in raw.get("authors", []) if isinstance(a, dict)]
    entry.authors = [n.strip() for n in names if n and n.strip()] or (
        [raw["author"].strip()] if isinstance(raw.get("author"), str) and raw["author"].strip() else [])
    contents = [c for c in raw.get("content", []) if (c.get("value") or "").strip()]
    if contents:
        best = max(contents, key=lambda c: ("html" in (c.get("type") or ""), len(c["value"])))
        entry.content, entry.content_is_html = best["value"], "html" in (best.get("type") or "text/html")
    elif (raw.get("summary") or "").strip():
        kind = (raw.get("summary_detail") or {}).get("type") or "text/html"
        entry.content, entry.content_is_html = raw["summary"], "html" in kind
    return entry


def _parse_json(data: bytes, location: str, base_url: str | None) -> ParsedFeed:

    try:
        obj = json.loads(decode_text(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotAFeed("malformed_feed", f"JSON Feed could not be parsed: {exc}"[:500]) from None
    if not isinstance(obj, dict) or not str(obj.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise NotAFeed("not_a_feed", "JSON document is not a JSON Feed (no jsonfeed.org version)")
    feed = ParsedFeed(location, "json" + str(obj["version"]).rsplit("/", 1)[-1], _clean(_str(obj.get("title"))),
                      _clean(_str(obj.get("language"))))
    base = base_url or _str(obj.get("feed_url")) or _str(obj.get("home_page_url"))
    feed_authors = _json_authors(obj)
    items = obj.get("items")
    if not isinstance(items, list):
        feed.problems.append(Reject(location, "load", "malformed_feed", "JSON Feed has no items list"))
        return feed
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            feed.problems.append(Reject(f"{location}#{index}", "load", "malformed_entry", "item is not an object"))
            continue
        entry = FeedEntry(index=index, link=_absolute(_str(item.get("url")) or _str(item.get("external_url")), base),
                          title=_clean(_str(item.get("title"))), entry_id=_str(item.get("id")))
        entry.published_at = parse_datetime(item.get("date_published")) or parse_datetime(item.get("date_modified"))
        entry.authors = _json_authors(item) or feed_authors
        for key, is_html in (("content_html", True), ("content_text", False), ("summary", False)):
            value = _str(item.get(key))
            if value and value.strip():
                entry.content, entry.content_is_html = value, is_html
                break
        feed.entries.append(entry)
    return feed


def _json_authors(obj: dict) -> list[str]:
    people = obj.get("authors") if isinstance(obj.get("authors"), list) else [obj.get("author")]
    return [p["name"].strip() for p in people if isinstance(p, dict) and isinstance(p.get("name"), str)
            and p["name"].strip()]


# ---------------------------------------------------------------------------------------------------
# entries -> articles


def entry_article(entry: FeedEntry, feed: ParsedFeed, *, hint: str | None = None,
                  source_name: str | None = None) -> Article | None:
    """An Article from the entry's embedded content (None when the entry carries none)."""
    article = Article(source_uri=f"{feed.location}#{entry.index}", content_origin="feed")
    describe_entry(article, entry, feed, hint=hint, source_name=source_name)
    content = (entry.content or "").strip()
    if not content:
        return None
    if entry.content_is_html and _HAS_TAG.search(content):
        title = html_lib.escape(entry.title or "")
        article.html = f"<html><head><title>{title}</title></head><body><article>{content}</article></body></html>"
        article.content_type = "html"
    else:
        article.raw_text = html_lib.unescape(content) if entry.content_is_html else content
        article.content_type = "text"
    return article


def describe_entry(article: Article, entry: FeedEntry, feed: ParsedFeed, *, hint: str | None = None,
                   source_name: str | None = None) -> Article:
    """Copy what the feed says about an entry onto an article (title, date, authors, URL, hints)."""
    article.url = article.url or (canonicalize(entry.link) if entry.link else None)
    article.title = entry.title or article.title
    article.published_at = entry.published_at or article.published_at
    article.authors = entry.authors or article.authors
    article.language_hint = hint or article.language_hint or _language(feed.language)
    article.source_name = source_name or article.source_name or feed.title
    return article


# ---------------------------------------------------------------------------------------------------
# bytes-level helpers


def _to_utf8(data: bytes) -> tuple[bytes, bool]:
    """UTF-16/32 documents (BOM or the XML spec's null-byte patterns) transcoded to UTF-8."""
    encoding = None
    for prefix, name in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
                         (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
                         (b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"),
                         (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be")):
        if data.startswith(prefix):
            encoding = name
            break
    if encoding is None:
        return data, False
    text = data.decode(encoding, "replace")
    out = text.encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb"\1utf-8", out, count=1), True


def _defuse(data: bytes, location: str) -> bytes:
    """Remove a DOCTYPE whose internal subset declares entities (the prolog is scanned, quotes
    respected, so nothing inside an entity value can end the DOCTYPE early)."""
    span = _doctype_span(data)
    if span is None:
        return data
    start, end = span
    if b"<!ENTITY" not in data[start:end].upper():
        return data
    logger.warning("%s: removed a DOCTYPE declaring entities (entity expansion is not allowed)", location)
    return data[:start] + data[end:]


def _doctype_span(data: bytes) -> tuple[int, int] | None:
    i, n = 0, len(data)
    while i < n:
        if data[i:i + 1].isspace() or data.startswith(b"\xef\xbb\xbf", i):
            i += 3 if data.startswith(b"\xef\xbb\xbf", i) else 1
        elif data.startswith(b"<?", i):
            j = data.find(b"?>", i)
            i = n if j < 0 else j + 2
        elif data.startswith(b"<!--", i):
            j = data.find(b"-->", i)
            i = n if j < 0 else j + 3
        elif data[i:i + 9].upper() == b"<!DOCTYPE":
            return i, _doctype_end(data, i + 9)
        else:
            return None  # the root element (or junk): no DOCTYPE
    return None


def _doctype_end(data: bytes, i: int) -> int:
    quote, depth, n = None, 0, len(data)
    while i < n:
        c = data[i:i + 1]
        if quote:
            if c == quote:
                quote = None
        elif c in (b'"', b"'"):
            quote = c
        elif c == b"[":
            depth += 1
        elif c == b"]":
            depth = max(0, depth - 1)
        elif c == b">" and depth == 0:
            return i + 1
        i += 1
    return n


def _repair(data: bytes) -> bytes:
    """Best effort for broken feeds: drop comments, stray XML declarations and undeclared prefixes."""
    declared = set(re.findall(rb"xmlns:([\w.-]+)\s*=", data))
    used = set(re.findall(rb"</?([A-Za-z_][\w.-]*):[A-Za-z_]", data))
    encoding = re.search(rb"""<\?xml[^>]*?encoding\s*=\s*["']?([\w.-]+)""", data[:1024])
    fixed = re.sub(rb"<!--.*?-->", b"", data, flags=re.S)
    fixed = re.sub(rb"<\?xml.*?\?+>", b"", fixed, flags=re.S)
    for prefix in used - declared:
        fixed = re.sub(rb"(</?)" + re.escape(prefix) + rb":", rb"\1", fixed)
        fixed = re.sub(rb"(\s)" + re.escape(prefix) + rb":([\w.-]+\s*=)", rb"\1\2", fixed)
    decl = b'<?xml version="1.0" encoding="' + encoding.group(1) + b'"?>\n' if encoding else b""
    return decl + fixed.lstrip()


def _absolute(link: str | None, base: str | None) -> str | None:
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    if base and not is_http_url(link):
        link = urljoin(base, link)
    return link if is_http_url(link) else None


def _struct_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=timezone.utc)  # feedparser's *_parsed are UTC
    except (TypeError, ValueError, OverflowError):
        return None


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def _str(value) -> str | None:
    return value if isinstance(value, str) else None


def _clean(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = re.sub(r"\s+", " ", value).strip()
    return value or None
