"""Extraction: raw HTML or text -> title, main text, metadata and structural segments.

HTML goes through ``trafilatura.bare_extraction`` once; its body tree gives the structure
(headings, paragraphs, list items, quotes), so nothing is parsed twice.  Plain text is split on
its line structure.
"""
from __future__ import annotations

import logging
import re

from ingest.guard import DocumentTimeout, time_limit, warm_once
from ingest.records import Article, Segment, parse_datetime
from ingest.settings import Settings

logger = logging.getLogger(__name__)

_BLOCK_TAGS = {"head": "heading", "p": "paragraph", "item": "list_item", "quote": "quote",
               "list": "list", "cell": "paragraph", "row": "list", "table": "list", "code": "paragraph"}
MAX_TITLE_CHARS = 300


class ExtractionError(ValueError):
    """The document has no extractable article (reason in ``reason``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def extract(article: Article, settings: Settings) -> Article:
    """Fill title, text, metadata and segments; raises ExtractionError when there is no article,
    when the payload is over ``max_document_bytes`` ("too_large") or when extraction takes longer
    than ``extraction_timeout_s`` ("timeout")."""
    payload = article.html if article.content_type == "html" and article.html is not None else article.raw_text
    if payload is not None and len(payload) > settings.max_document_bytes:  # chars <= UTF-8 bytes
        raise ExtractionError("too_large", f"document larger than the {settings.max_document_bytes:,}-byte limit")
    warm_once("extract", warm_up)  # first imports and caches: outside the per-document limit
    try:
        with time_limit(settings.extraction_timeout_s):
            if article.content_type == "html" and article.html is not None:
                _extract_html(article, fast=settings.extraction_fast)
            else:
                _extract_text(article)
    except DocumentTimeout:
        article.html = article.raw_text = None
        raise ExtractionError("timeout", f"extraction took longer than {settings.extraction_timeout_s:g} s") from None
    article.html = None  # the payload is consumed: do not carry it further
    article.raw_text = None
    if len(article.text.strip()) < settings.min_text_chars and not article.title:
        raise ExtractionError("no_text", "no main text found")
    return article


def warm_up() -> None:
    """First imports and caches of trafilatura (one small page)."""
    _extract_html(Article("warm-up", html="<html><body><article><h1>Warm</h1><p>" + "Warm up text. " * 30
                          + "</p></article></body></html>", content_type="html"))


def warm_up_date_parser() -> None:
    """Compile the date parser's per-locale patterns now (~2 s, ~45 MB), as the worker pool's fork
    server does: a date-like string no locale knows makes dateparser (behind htmldate's extensive
    date search) try all of its locales, so without this every worker process pays the compile on
    its first pages (measured: 49.7 ms/page over its first 300 pages instead of 42.8)."""
    try:
        from htmldate.extractors import get_external_parser

        get_external_parser().get_date_data("3 Qzxv 2020")
    except Exception as exc:  # noqa: BLE001 - an optimisation only: a changed htmldate must not break start-up
        logger.debug("date parser warm-up skipped: %s", exc)


def _extract_html(article: Article, fast: bool = False) -> None:
    import trafilatura

    html = article.html
    head = html[:1024].lower()
    if "<html" not in head and "<body" not in head:
        html = f"<html><body>{html}</body></html>"  # a fragment (JSONL, feeds): trafilatura wants a page
    doc = trafilatura.bare_extraction(
        html,
        url=article.url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        fast=fast,
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True,
                                "extensive_search": True},
    )
    if doc is None or getattr(doc, "body", None) is None:
        raise ExtractionError("no_text", "trafilatura found no main text")
    blocks = list(_blocks(doc.body))
    if not blocks and doc.text:
        blocks = [("paragraph", line) for line in _lines(doc.text)]
    if not blocks:
        raise ExtractionError("no_text", "trafilatura found no main text")
    article.title = article.title or _clean(doc.title)
    # the page's own canonical link, as written (trafilatura drops relative ones and falls back to
    # the URL it was given); trusted or not by the URL policy (runtime.batch._finalise)
    article.canonical_link = declared_canonical(html) or _clean(doc.url)
    article.site_name = article.site_name or _clean(doc.sitename)
    if not article.authors and doc.author:
        article.authors = [a.strip() for a in re.split(r";|\|", doc.author) if a.strip()]
    if article.published_at is None and doc.date:
        article.published_at = parse_datetime(doc.date)
    _set_segments(article, blocks)


def declared_canonical(html: str) -> str | None:
    """``<link rel=canonical href>`` (else ``og:url``) from the page's head, as written."""
    end = html.find("</head>", 0, 65536)
    if end < 0:
        end = html.lower().find("</head>", 0, 65536)
    if end < 0:
        return None
    try:
        import lxml.html

        head = lxml.html.fromstring(html[:end] + "</head><body></body></html>")
    except Exception:  # noqa: BLE001 - a head lxml cannot read has no canonical link we can use
        return None
    for link in head.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and (link.get("href") or "").strip():
            return link.get("href").strip()
    for meta in head.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url" and (meta.get("content") or "").strip():
            return meta.get("content").strip()
    return None


def _blocks(body):
    """Yield (kind, text) for the block elements of trafilatura's output tree, in order."""
    for element in body:
        kind = _BLOCK_TAGS.get(element.tag, "paragraph")
        if element.tag in ("list", "row", "table"):
            yield from _blocks(element)
            continue
        text = _clean(" ".join(element.itertext()))
        if text:
            yield kind, text


def _extract_text(article: Article) -> None:
    lines = list(_lines(article.raw_text or ""))
    if not lines:
        raise ExtractionError("no_text", "the text is empty")
    blocks = []
    if article.title is None and len(lines) > 1 and len(lines[0]) <= MAX_TITLE_CHARS:
        article.title = lines.pop(0).lstrip("#").strip() or None
    for line in lines:
        kind = "heading" if line.startswith("#") else "list_item" if line[:2] in ("- ", "* ", "• ") else "paragraph"
        blocks.append((kind, line.lstrip("#").strip() if kind == "heading" else line))
    _set_segments(article, blocks)


def _set_segments(article: Article, blocks: list[tuple[str, str]]) -> None:
    segments = []
    if article.title:
        segments.append(Segment(index=0, text=article.title, kind="title"))
    # the page repeats its title as one of its first headings: keep it once, as the title
    blocks = [b for i, b in enumerate(blocks) if not (b[0] == "heading" and b[1] == article.title and i <= 1)]
    for kind, text in blocks:
        segments.append(Segment(index=len(segments), text=text, kind=kind))
    article.segments = segments
    article.text = "\n".join(text for _, text in blocks)


def _lines(text: str):
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _clean(line)
        if line:
            yield line


_WS = re.compile(r"\s+")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = _WS.sub(" ", value.replace("\x00", "")).strip()
    return value or None
