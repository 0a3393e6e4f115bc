"""Imported once by the worker pool's fork server (``ingest.runtime.workers``), never by user code.

What is imported and warmed here (the pipeline, trafilatura with its regular expressions, the date
parser's patterns for all its locales, the langdetect profiles, the USE sentence encoder, pyarrow) is shared copy-on-write by
every worker forked from the server, so workers start in milliseconds instead of seconds."""
from __future__ import annotations

import os

from ingest.runtime import workers as _workers

# the fork server ends with the process that started it (even a SIGKILLed one): it was started by
# a short-lived thread of that process, so it watches the pid rather than using PR_SET_PDEATHSIG
if os.environ.get(_workers.PARENT_ENV) == str(os.getppid()):
    _workers.guard_parent(use_pdeathsig=False)

from ingest.extract import extractor as extract  # noqa: F401
from ingest.language import backends as language_backends  # noqa: F401
from ingest.output import writer  # noqa: F401
from ingest.runtime import pipeline  # noqa: F401
from ingest.stories import embed

extract.warm_up()
extract.warm_up_date_parser()
language_backends.get_backend("langdetect")
embed.use_model()  # the story level's sentence encoder (~4 s to load): once, shared by the workers

# keep the cyclic garbage collector away from these objects in the workers: a collection writes
# to every object it visits, which would turn the shared pages into private copies
import gc  # noqa: E402

gc.freeze()
