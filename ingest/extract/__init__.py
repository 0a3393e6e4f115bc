"""Extraction: a raw ``Article`` (HTML or plain text) -> title, main text, metadata and structural
segments (title, headings, paragraphs, list items, quotes), through trafilatura.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"extract": "extractor", "ExtractionError": "extractor",
    "warm_up": "extractor", "warm_up_date_parser": "extractor"})
