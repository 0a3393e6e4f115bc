"""The Parquet contract: one explicit pyarrow schema for articles, one for rejects.

Never inferred from a batch.  Column names and meanings are a contract that outside tools rely
on; add columns, never rename or repurpose them.  The version is stored in the file metadata
under ``news_ingest.schema_version``.
"""
from __future__ import annotations

import pyarrow as pa

# 2 (issue 21): description, image_url, section, tags, is_accessible_for_free, modified_at appended.
# Version 1 files (without them) stay readable next to version 2 ones: see the README's migration note.
SCHEMA_VERSION = "2"
METADATA_KEY = b"news_ingest.schema_version"

SEGMENT_TYPE = pa.struct(
    [
        pa.field("index", pa.int32(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("text", pa.string()),
        pa.field("language", pa.string()),
        pa.field("confidence", pa.float32()),
        pa.field("script", pa.string()),
        pa.field("translated_text", pa.string()),
    ]
)

_ARTICLE_FIELDS = [
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("source_uri", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string(), nullable=False),
    pa.field("language", pa.string(), nullable=False),
    pa.field("language_confidence", pa.float32(), nullable=False),
    pa.field("is_mixed_language", pa.bool_(), nullable=False),
    pa.field("segments", pa.list_(SEGMENT_TYPE)),
    pa.field("title_translated", pa.string()),
    pa.field("text_translated", pa.string()),
    pa.field("translation_status", pa.string(), nullable=False),
    pa.field("published_at", pa.timestamp("us", tz="UTC")),
    pa.field("authors", pa.list_(pa.string())),
    pa.field("story_id", pa.string()),
    pa.field("duplicate_of", pa.string()),
    # extra columns (welcome by the contract)
    pa.field("duplicate_level", pa.string()),
    pa.field("story_similarity", pa.float32()),
    pa.field("translation_model", pa.string()),
    pa.field("target_language", pa.string()),
    pa.field("site_name", pa.string()),
    pa.field("source_name", pa.string()),
    pa.field("content_origin", pa.string()),
    pa.field("content_hash", pa.string()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("run_id", pa.string()),
    # schema version 2: page metadata (appended, so a v1 file's columns are a prefix of v2's)
    pa.field("description", pa.string()),
    pa.field("image_url", pa.string()),
    pa.field("section", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
    pa.field("is_accessible_for_free", pa.bool_()),
    pa.field("modified_at", pa.timestamp("us", tz="UTC")),
]

# The columns each schema version added (readers that meet v1 files fill these with nulls).
V2_COLUMNS = ("description", "image_url", "section", "tags", "is_accessible_for_free", "modified_at")

ARTICLE_SCHEMA = pa.schema(_ARTICLE_FIELDS, metadata={METADATA_KEY: SCHEMA_VERSION.encode()})

REJECT_SCHEMA = pa.schema(
    [
        pa.field("reject_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("run_id", pa.string()),
    ],
    metadata={METADATA_KEY: SCHEMA_VERSION.encode()},
)

# The columns the contract fixes (tests check every one is present with this type).
CONTRACT_COLUMNS = (
    "article_id", "source_uri", "url", "title", "text", "language", "language_confidence",
    "is_mixed_language", "segments", "title_translated", "text_translated", "translation_status",
    "published_at", "authors", "story_id", "duplicate_of",
)
