"""Output: records <-> Arrow tables (one explicit schema, ``schemas/``), atomic Parquet files on a
local disk or any fsspec URL, the compact id sets and the run summary.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"Storage": "storage", "StorageError": "storage",
    "Summary": "summary", "IdSet": "idset", "articles_to_table": "writer", "rejects_to_table": "writer"})
