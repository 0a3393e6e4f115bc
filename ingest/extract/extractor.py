"""Extraction: raw HTML or text -> title, main text, metadata and structural segments.

HTML is parsed once (``trafilatura.utils.load_html``): the metadata step (``metadata.py``) reads
the tree, ``trafilatura.bare_extraction`` extracts the body from it (trafilatura works on its own
copy); the body tree gives the structure (headings, paragraphs, list items, quotes).  Plain text is split on
its line structure.
"""
from __future__ import annotations

import logging
import re
from datetime import timezone

from ingest.extract.metadata import PageMetadata, page_metadata
from ingest.guard import DocumentTimeout, call_with_time_limit, warm_once
from ingest.records import Article, Segment
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
        if article.content_type == "html" and article.html is not None:
            call_with_time_limit(settings.extraction_timeout_s, _extract_html, article, fast=settings.extraction_fast)
        else:
            call_with_time_limit(settings.extraction_timeout_s, _extract_text, article)
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
    from trafilatura import load_html

    html = article.html
    head = html[:1024].lower()
    if "<html" not in head and "<body" not in head:
        html = f"<html><body>{html}</body></html>"  # a fragment (JSONL, feeds): trafilatura wants a page
    tree = load_html(html)  # parsed once: the metadata step reads it, trafilatura extracts from a copy
    if tree is None:
        raise ExtractionError("no_text", "the page could not be parsed")
    meta = page_metadata(tree, url=article.url, fetched_at=article.fetched_at)
    doc = trafilatura.bare_extraction(
        tree,
        url=article.url,
        with_metadata=False,  # the metadata step above replaces trafilatura's (and its date search)
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        fast=fast,
    )
    if doc is None or getattr(doc, "body", None) is None:
        raise ExtractionError("no_text", "trafilatura found no main text")
    blocks = list(_blocks(doc.body))
    if not blocks and doc.text:
        blocks = [("paragraph", line) for line in _lines(doc.text)]
    if not blocks:
        raise ExtractionError("no_text", "trafilatura found no main text")
    _apply_metadata(article, meta)
    _set_segments(article, blocks)


def _apply_metadata(article: Article, meta: PageMetadata) -> None:
    """What the source already carried (a feed's or a JSONL record's title, authors, date) wins."""
    article.title = article.title or _clean(meta.title)
    # the page's own canonical link (or og:url), resolved against the page URL; whether it replaces
    # ``url`` is the URL policy's decision (runtime.batch._finalise, sources.urls.choose_url)
    article.canonical_link = meta.url
    article.site_name = article.site_name or _clean(meta.site_name)
    if not article.authors:
        article.authors = list(meta.authors)
    if article.published_at is None and meta.published_at is not None:
        article.published_at = meta.published_at.astimezone(timezone.utc)
    if article.modified_at is None and meta.modified_at is not None:
        article.modified_at = meta.modified_at.astimezone(timezone.utc)
    article.description = article.description or meta.description
    article.image_url = article.image_url or meta.image_url
    article.section = article.section or meta.section
    if not article.tags:
        article.tags = list(meta.tags)
    if article.is_accessible_for_free is None:
        article.is_accessible_for_free = meta.is_accessible_for_free


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
