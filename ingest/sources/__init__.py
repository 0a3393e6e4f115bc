"""Sources: what the user named (files, directories, feeds, URLs, WARC, a sources file) -> raw
``Article`` records or ``Reject`` records.

Owns planning (``plan`` expands sources into picklable ``WorkItem`` objects), loading local files
(``load``), the sources-file declarations, feed parsing, the polite and SSRF-safe HTTP client, URL
canonicalisation, WARC reading, byte decoding and the incremental fetch state.  Nothing here
extracts, identifies languages or writes output.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"plan": "loaders", "load": "loaders",
    "WorkItem": "loaders", "SourceError": "loaders", "load_sources": "declared", "find_source": "declared",
    "SourcesError": "declared", "canonicalize": "urls", "is_http_url": "urls", "decode_html": "encoding",
    "decode_text": "encoding", "close_fetchers": "http", "close_states": "fetch_state"})
