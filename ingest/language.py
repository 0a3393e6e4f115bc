"""Language identification (first version: document-level langdetect, deterministic).

``annotate(article, settings)`` fills ``article.language``, ``language_confidence``,
``is_mixed_language`` and each segment's ``language``/``confidence``.
"""
from __future__ import annotations

import logging

from ingest.records import Article
from ingest.settings import Settings

logger = logging.getLogger(__name__)

_factory_ready = False


def _detector_factory():
    global _factory_ready
    from langdetect import DetectorFactory

    if not _factory_ready:
        DetectorFactory.seed = 0  # deterministic
        _factory_ready = True
    return DetectorFactory


def detect(text: str, max_chars: int = 1000) -> tuple[str, float]:
    """(ISO 639-1 code, probability) for ``text``; ("und", 0.0) when nothing can be said."""
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    _detector_factory()
    sample = text[:max_chars]
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return "und", 0.0
    return _normalise(best.lang), float(best.prob)


def _normalise(code: str) -> str:
    return {"zh-cn": "zh", "zh-tw": "zh"}.get(code, code)


def annotate(article: Article, settings: Settings) -> Article:
    body = article.text or article.title or ""
    article.language, article.language_confidence = detect(body, settings.language_max_chars * 4)
    for segment in article.segments:
        segment.language, segment.confidence = detect(segment.text, settings.language_max_chars)
    article.is_mixed_language = False
    return article
