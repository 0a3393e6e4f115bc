"""Records <-> Arrow tables with the explicit schemas of ``schemas/`` (never inferred)."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import pyarrow as pa

from ingest.records import Article, Reject
from schemas import ARTICLE_SCHEMA, REJECT_SCHEMA

STORY_COLUMNS = ("story_id", "duplicate_of", "duplicate_level", "story_similarity")


def _table(rows: Iterable[dict], schema: pa.Schema) -> pa.Table:
    """Rows (dicts keyed by the schema's field names) as a table of exactly ``schema``."""
    columns: dict[str, list] = {field.name: [] for field in schema}
    for row in rows:
        for name, value in row.items():
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=schema)


def articles_to_table(articles: Iterable[Article], *, run_id: str, ingested_at: datetime,
                      target_language: str | None) -> pa.Table:
    return _table((_article_row(a, run_id, ingested_at, target_language) for a in articles), ARTICLE_SCHEMA)


def _article_row(a: Article, run_id: str, ingested_at: datetime, target_language: str | None) -> dict:
    return {
        "article_id": a.article_id,
        "source_uri": a.source_uri,
        "url": a.url,
        "title": a.title,
        "text": a.text,
        "language": a.language,
        "language_confidence": float(a.language_confidence),
        "is_mixed_language": bool(a.is_mixed_language),
        "segments": [s.to_row() for s in a.segments],
        "title_translated": a.title_translated,
        "text_translated": a.text_translated,
        "translation_status": a.translation_status,
        "published_at": a.published_at,
        "authors": list(a.authors),
        "story_id": a.story_id,
        "duplicate_of": a.duplicate_of,
        "duplicate_level": a.duplicate_level,
        "story_similarity": a.story_similarity,
        "translation_model": a.translation_model,
        "target_language": target_language if a.translation_status != "disabled" else None,
        "site_name": a.site_name,
        "source_name": a.source_name,
        "content_origin": a.content_origin,
        "content_hash": a.content_hash,
        "fetched_at": a.fetched_at,
        "ingested_at": ingested_at,
        "run_id": run_id,
        "description": a.description,
        "image_url": a.image_url,
        "section": a.section,
        "tags": list(a.tags),
        "is_accessible_for_free": a.is_accessible_for_free,
        "modified_at": a.modified_at,
    }


def rejects_to_table(rejects: Iterable[Reject], *, run_id: str, rejected_at: datetime) -> pa.Table:
    return _table(({
        "reject_id": r.reject_id,
        "source_uri": r.source_uri,
        "url": r.url,
        "stage": r.stage,
        "reason": r.reason,
        "error": r.error,
        "rejected_at": rejected_at,
        "run_id": run_id,
    } for r in rejects), REJECT_SCHEMA)


DEDUP_INPUT_COLUMNS = ["article_id", "url", "title", "text", "language", "title_translated",
                       "text_translated", "published_at", "content_hash"]


def table_to_dedup_articles(table: pa.Table) -> list[Article]:
    """Light Articles (no segments) with what deduplication looks at."""
    rows = table.select(DEDUP_INPUT_COLUMNS).to_pylist()
    out = []
    for row in rows:
        article = Article(source_uri="")
        for name, value in row.items():
            setattr(article, name, value)
        out.append(article)
    return out


def with_story_columns(table: pa.Table, articles: list[Article]) -> pa.Table:
    """Return ``table`` with the story columns taken from ``articles`` (same order)."""
    for name in STORY_COLUMNS + ("content_hash",):
        index = table.schema.get_field_index(name)
        values = [getattr(a, name) for a in articles]
        table = table.set_column(index, table.schema.field(index), pa.array(values, type=table.schema.field(index).type))
    return table
