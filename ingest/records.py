"""The record types that flow through the pipeline.

One ``Article`` travels through every step (datatrove style).  Loaders create it with the raw
payload (``html`` or ``text``) and whatever metadata the source carried; each step fills in its
own fields.  A step that cannot handle a record turns it into a ``Reject`` with a reason; nothing
is dropped silently.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

TRANSLATION_STATUSES = ("not_needed", "translated", "partial", "no_model", "failed", "disabled")


@dataclass
class Segment:
    index: int
    text: str
    kind: str = "paragraph"  # title | heading | paragraph | list_item | quote
    language: str = "und"
    confidence: float = 0.0
    script: str = "Zyyy"  # ISO 15924 name of the dominant script (Latn, Deva, Hani, ...)
    translated_text: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "text": self.text,
            "language": self.language,
            "confidence": float(self.confidence),
            "script": self.script,
            "translated_text": self.translated_text,
        }


@dataclass
class Article:
    source_uri: str
    # raw payload set by loaders; exactly one of html/text is normally present
    html: str | None = None
    raw_text: str | None = None
    content_origin: str = "file"  # file | jsonl | feed | http | warc  (where the text came from)
    content_type: str = "text"  # html | text

    # normalised fields (the Parquet contract)
    article_id: str = ""
    url: str | None = None
    title: str | None = None
    text: str = ""
    language: str = "und"
    language_confidence: float = 0.0
    is_mixed_language: bool = False
    segments: list[Segment] = field(default_factory=list)
    title_translated: str | None = None
    text_translated: str | None = None
    translation_status: str = "disabled"
    translation_model: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    site_name: str | None = None
    story_id: str | None = None
    duplicate_of: str | None = None
    duplicate_level: str | None = None  # exact | near | story (how it joined its story)
    story_similarity: float | None = None
    content_hash: str | None = None
    language_hint: str | None = None
    source_name: str | None = None
    fetched_at: datetime | None = None
    # page metadata (schema v2, issue 21)
    description: str | None = None
    image_url: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    is_accessible_for_free: bool | None = None  # None: the page says nothing
    modified_at: datetime | None = None
    # the page's declared canonical link (``<link rel=canonical>``, ``og:url``) as extraction found
    # it; the URL policy (``ingest.sources.urls.choose_url``) decides whether it replaces ``url``
    canonical_link: str | None = None

    def identity(self) -> str:
        """What makes two inputs the same article: the canonical URL (else, without one, the
        source) **and** the content (``content_hash``, the normalised text).  The same URL with
        other content is another article (a version); the same content at another URL too (the
        stories index links such copies with ``duplicate_of``)."""
        return f"{self.url or self.source_uri}\x1f{self.content_hash or ''}"

    def assign_id(self) -> str:
        self.article_id = stable_id(self.identity())
        return self.article_id


@dataclass
class Reject:
    source_uri: str
    stage: str  # load | fetch | extract | language | translate | dedup | write
    reason: str  # short machine-readable reason, e.g. "empty", "not_utf8", "timeout", "http_404"
    error: str = ""  # human-readable detail
    url: str | None = None

    @property
    def reject_id(self) -> str:
        return stable_id(f"{self.source_uri}\x1f{self.stage}\x1f{self.reason}")


def stable_id(value: str) -> str:
    """A short stable identifier: the same input gives the same id on every run and machine."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class StateUpdate:
    """A change to persistent state (fetch state: a feed's ETag, a URL done), applied by the
    pipeline only after the articles of the run are safely written, so a crash never records
    as done something that was not written."""

    kind: str  # e.g. "feed" (key: feed URL, value: etag/last_modified) or "url" (key: canonical URL)
    key: str
    value: dict[str, Any] = field(default_factory=dict)


def parse_datetime(value: object) -> datetime | None:
    """Parse an ISO-8601-ish date into an aware UTC datetime (None if absent or unparseable)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                from email.utils import parsedate_to_datetime

                dt = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
