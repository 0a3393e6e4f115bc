"""One batch of work items -> staged Parquet parts (the per-document work; runs in any process).

``process_batch`` loads, extracts, identifies languages, translates and featurises the records of
one ``Batch`` and stages its rows as Parquet under ``<out>/_staging/<run_id>/``; it returns a
``BatchResult`` with small facts (paths, counts), never article payloads.  A record that fails a
step becomes a reject with its stage and reason (``_guarded``), never disappears.
"""
from __future__ import annotations

import itertools
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from ingest.extract import extractor as extract_mod
from ingest.guard import DocumentTimeout, call_with_time_limit, scrub, warm_once
from ingest.language import detect as language_mod
from ingest.output.storage import Storage
from ingest.output.writer import (
    articles_to_table,
    rejects_to_table,
)
from ingest.records import Article, Reject, StateUpdate
from ingest.settings import Settings
from ingest.sources.fetch_state import run_scope
from ingest.sources.loaders import WorkItem, load
from ingest.sources.urls import choose_url
from ingest.stories.index import content_hash

logger = logging.getLogger(__name__)

ARTICLES_DIR = "articles"
REJECTS_DIR = "rejects"
STAGING_DIR = "_staging"
DEDUP_FEATURES = "_dedup_features"  # staged only: dedup.features_json of each row


@dataclass
class Batch:
    number: int
    items: list[WorkItem]


@dataclass
class BatchResult:
    number: int
    # staged parts, in order: a batch whose inputs hold many records (a large .jsonl) is staged in
    # parts of at most ``settings.max_batch_records`` records, so memory does not grow with an input
    articles_paths: list[str] = field(default_factory=list)
    rejects_paths: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    state_updates: list[StateUpdate] = field(default_factory=list)
    missing_pairs: Counter = field(default_factory=Counter)
    items: int = 0
    seconds: float = 0.0
    pid: int = 0  # the process that did the work


# --- per-batch work (runs anywhere) -------------------------------------------------------------

def _guarded(stage: str, fn: Callable[[Article], Article], records: Iterable[Article],
             rejects: list[Reject]) -> Iterator[Article]:
    """Apply ``fn`` to each record; a failure turns that record into a Reject, never stops the batch."""
    for article in records:
        try:
            yield fn(article)
        except extract_mod.ExtractionError as exc:
            rejects.append(Reject(article.source_uri, stage, exc.reason, str(exc), url=article.url))
        except Exception as exc:  # noqa: BLE001 - per-record failure is caught at the step boundary
            logger.warning("%s failed for %s: %s", stage, article.source_uri, exc)
            rejects.append(Reject(article.source_uri, stage, f"{stage}_error",
                                  f"{type(exc).__name__}: {exc}"[:500], url=article.url))


def _load_step(items: Iterable[WorkItem], settings: Settings, rejects: "_RejectSink",
               updates: list[StateUpdate]) -> Iterator[Article]:
    for item in items:
        for record in load(item, settings):
            if isinstance(record, Reject):
                rejects.append(record)
            elif isinstance(record, StateUpdate):
                updates.append(record)
            else:
                yield scrub(record)  # lone surrogates (JSON escapes, non-UTF-8 file names) cannot be written


def language_key(settings: Settings) -> tuple:
    """What the language warm-up depends on (``guard.warm_once``'s key)."""
    return "language", settings.language_backend, settings.language_low_accuracy


def _annotate(article: Article, settings: Settings) -> Article:
    """Language identification under the per-document time limit (models load before, outside it)."""
    warm_once(language_key(settings), lambda: language_mod.warm_up(settings))
    try:
        return call_with_time_limit(settings.extraction_timeout_s, language_mod.annotate, article, settings)
    except DocumentTimeout:
        raise extract_mod.ExtractionError(
            "timeout", f"language identification took longer than {settings.extraction_timeout_s:g} s") from None


class _RejectSink:
    """Collects a batch's rejects and stages them in parts, so a file of a million broken lines
    does not hold a million rejects in memory."""

    def __init__(self, storage: Storage, settings: Settings, run_id: str, result: BatchResult) -> None:
        self.storage, self.settings, self.run_id, self.result = storage, settings, run_id, result
        self.items: list[Reject] = []
        self.count = 0

    def append(self, reject: Reject) -> None:
        self.items.append(scrub(reject))
        self.count += 1
        if len(self.items) >= self.settings.max_batch_records:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        table = rejects_to_table(self.items, run_id=self.run_id, rejected_at=datetime.now(timezone.utc))
        part = len(self.result.rejects_paths) + 1
        self.result.rejects_paths.append(self.storage.write_table(
            table, f"{STAGING_DIR}/{self.run_id}/rejects-{self.result.number:06d}-{part:04d}.parquet",
            self.settings.row_group_size))
        self.items = []


def _articles_table(articles: list[Article], settings: Settings, run_id: str, rejects: _RejectSink) -> pa.Table:
    """The Arrow table of a chunk; a record Arrow cannot take becomes a ``write`` reject instead
    of failing the whole batch."""
    def build(chunk: list[Article]) -> pa.Table:
        return articles_to_table(chunk, run_id=run_id, ingested_at=datetime.now(timezone.utc),
                                 target_language=settings.target_language)

    try:
        return build(articles)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        logger.warning("a record of the batch cannot be written (%s); checking them one by one", exc)
    good = []
    for article in articles:
        try:
            build([article])
        except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
            rejects.append(Reject(article.source_uri, "write", "unwritable", f"{type(exc).__name__}: {exc}"[:500],
                                  url=article.url))
        else:
            good.append(article)
    return build(good)


def _with_dedup_features(table: pa.Table, articles: list[Article], settings: Settings) -> pa.Table:
    """The staged table plus each article's dedup features (``stories.features_json_many``:
    signatures, lexical terms and embeddings), computed here, in parallel, rather than in the
    ordered commit; None where they failed (the commit then computes them itself).  The column
    never reaches the final files."""
    from ingest.stories.index import features_json_many

    firsts: dict[str, Article] = {}
    for article in articles:  # the first of a repeated id is the one indexed
        firsts.setdefault(article.article_id, article)
    features: dict[str, str | None] = {}
    try:
        features = dict(zip(firsts, features_json_many(list(firsts.values()), settings)))
    except Exception as exc:  # noqa: BLE001 - one by one, so one bad article does not cost the batch
        logger.warning("dedup features failed for a batch (%s); computing them article by article", exc)
        for article_id, article in firsts.items():
            try:
                features[article_id] = features_json_many([article], settings)[0]
            except Exception as exc2:  # noqa: BLE001 - the commit computes them again
                logger.warning("dedup features failed for %s: %s", article.source_uri, exc2)
                features[article_id] = None
    values = [features.get(i) for i in table.column("article_id").to_pylist()]
    return table.append_column(DEDUP_FEATURES, pa.array(values, type=pa.string()))


def _finalise(article: Article) -> Article:
    """The article's URL by the URL policy (canonical form; a page's canonical link only when
    plausible) and its identity: canonical URL (else the source) and content hash."""
    article.url = choose_url(article.url, article.canonical_link)
    article.content_hash = content_hash(article.text or "")
    article.assign_id()
    return article


_translators: dict = {}


def _translate_step(articles: list[Article], settings: Settings, missing: Counter) -> None:
    """Translate a whole batch at once; a failure marks the records ``failed``, never loses them."""
    from ingest.translate.translator import Translator

    translator = _translators.get(settings)
    if translator is None:
        translator = _translators[settings] = Translator(settings)  # models load once per process
    try:
        translator.translate(articles)
    except Exception as exc:  # noqa: BLE001
        logger.warning("batch translation failed (%s); retrying record by record", exc)
        for article in articles:
            try:
                translator.translate([article])
            except Exception as exc2:  # noqa: BLE001
                logger.warning("translation failed for %s: %s", article.source_uri, exc2)
                article.translation_status = "failed"
    missing.update(translator.missing_pairs)
    translator.missing_pairs.clear()


def process_batch(batch: Batch, settings: Settings, run_id: str) -> BatchResult:
    """Load, extract, identify languages and translate one batch; stage the rows as Parquet."""
    with run_scope(run_id):  # feeds of this run claim the pages they fetch (fetch_state.claim)
        return _process_batch(batch, settings, run_id)


def _process_batch(batch: Batch, settings: Settings, run_id: str) -> BatchResult:
    started = time.perf_counter()
    # items finished: an input cut into record ranges counts once, with its last range
    result = BatchResult(number=batch.number, items=sum(1 for i in batch.items if i.span is None or i.span.final))
    storage = Storage(settings.out)
    rejects = _RejectSink(storage, settings, run_id, result)
    records: Iterator[Article] = _load_step(batch.items, settings, rejects, result.state_updates)
    records = _guarded("extract", lambda a: extract_mod.extract(a, settings), records, rejects)
    records = _guarded("language", lambda a: _annotate(a, settings), records, rejects)
    records = _guarded("finalise", _finalise, records, rejects)
    n_articles = 0
    while True:
        articles = list(itertools.islice(records, settings.max_batch_records))
        if not articles:
            break
        n_articles += len(articles)
        _translate_step(articles, settings, result.missing_pairs)
        table = _articles_table(articles, settings, run_id, rejects)
        n_articles -= len(articles) - table.num_rows  # those became rejects
        table = _with_dedup_features(table, articles, settings)
        del articles
        if table.num_rows:
            part = len(result.articles_paths) + 1
            result.articles_paths.append(storage.write_table(
                table, f"{STAGING_DIR}/{run_id}/articles-{batch.number:06d}-{part:04d}.parquet",
                settings.row_group_size))
    rejects.flush()
    result.counts["inputs"] = n_articles + rejects.count
    result.seconds = time.perf_counter() - started
    result.pid = os.getpid()
    logger.info("batch %d: %d inputs -> %d articles, %d rejects in %.1fs (process %d)", batch.number,
                result.counts["inputs"], n_articles, rejects.count, result.seconds, os.getpid())
    return result
