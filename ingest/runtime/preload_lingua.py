"""``ingest.runtime.preload`` plus all of lingua's language models, loaded once in the worker pool's fork
server (~1.3 GB, ~4 s) and shared by every worker (see ``ingest.runtime.workers``)."""
from __future__ import annotations

from ingest.language import backends as language_backends  # noqa: F401
from ingest.runtime import preload  # noqa: F401

language_backends.get_backend("lingua", preload=True)

import gc  # noqa: E402

gc.freeze()  # see ingest.runtime.preload
