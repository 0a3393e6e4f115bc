"""Stories: exact copies, near copies and same-story reports.  ``featurise`` turns an article into
its signatures (in the workers); ``StoryIndex`` assigns ``story_id``, ``duplicate_of`` and
``duplicate_level`` against the persistent, crash-safe index.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"StoryIndex": "index", "featurise": "index",
    "features_json": "index", "content_hash": "index"})
