"""Record schemas of news-ingest (see schemas/article.py and the README's data dictionary)."""
from schemas.article import (
    ARTICLE_SCHEMA,
    CONTRACT_COLUMNS,
    METADATA_KEY,
    REJECT_SCHEMA,
    SCHEMA_VERSION,
    SEGMENT_TYPE,
    V2_COLUMNS,
)

__all__ = ["ARTICLE_SCHEMA", "CONTRACT_COLUMNS", "METADATA_KEY", "REJECT_SCHEMA", "SCHEMA_VERSION", "SEGMENT_TYPE", "V2_COLUMNS"]
