"""Translation (first version): records what would be translated and marks ``no_model``.

``Translator(settings).translate(articles)`` fills per-segment ``translated_text``,
``title_translated``, ``text_translated`` and ``translation_status``.
"""
from __future__ import annotations

import logging
from collections import Counter

from ingest.records import Article
from ingest.settings import Settings

logger = logging.getLogger(__name__)


class Translator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.missing_pairs: Counter[tuple[str, str]] = Counter()

    def translate(self, articles: list[Article]) -> None:
        target = self.settings.target_language
        for article in articles:
            if not self.settings.translate:
                article.translation_status = "disabled"
                continue
            foreign = [s for s in article.segments if s.language not in (target, "und")]
            if not foreign:
                article.translation_status = "not_needed"
                for s in article.segments:
                    s.translated_text = s.text
                article.title_translated = article.title
                article.text_translated = article.text
                continue
            for s in foreign:
                self.missing_pairs[(s.language, target)] += 1
            article.translation_status = "no_model"
