"""``ingest.runtime.preload`` plus the ensemble language backend with all its models (langdetect,
fastText lid.176.ftz, py3langid, lingua's low-accuracy models of all 75 languages, wordfreq's word lists: ~300 MB, a few
seconds), loaded once in the worker pool's fork server and shared by every worker (see
``ingest.runtime.workers``)."""
from __future__ import annotations

from ingest.language import backends as language_backends  # noqa: F401
from ingest.runtime import preload  # noqa: F401

language_backends.get_backend("ensemble", preload=True)

import gc  # noqa: E402

gc.freeze()  # see ingest.runtime.preload
