"""``ingest.preload`` plus all of lingua's language models, loaded once in the worker pool's fork
server (~1.3 GB, ~4 s) and shared by every worker (see ``ingest.workers``)."""
from __future__ import annotations

from ingest import language_backends, preload  # noqa: F401

language_backends.get_backend("lingua", preload=True)

import gc  # noqa: E402

gc.freeze()  # see ingest.preload
