"""The pipeline: load -> extract -> language -> translate -> (stage) -> dedup -> write.

Work is cut into batches of work items.  ``process_batch`` does the per-document work of one
batch (CPU-bound; runs in any process: a pool worker, a Prefect task, a Dask worker) and stages
its rows as Parquet under ``<out>/_staging/<run_id>/``; it returns only small facts (paths,
counts), never article payloads.  ``Pipeline.commit`` then takes staged batches in order in the
driving process, assigns stories against the persistent index, drops rows already in the output
(idempotent reruns) and writes the final files atomically.  State (fetch state, dedup index) is
committed only after the rows are written, so a crash loses nothing and duplicates nothing.
"""
from __future__ import annotations

import itertools
import logging
import os
import time
import uuid
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from ingest import extract as extract_mod
from ingest import language as language_mod
from ingest.fetch_state import run_scope
from ingest.guard import DocumentTimeout, scrub, time_limit, warm_once
from ingest.idset import IdSet
from ingest.loaders import WorkItem, load, plan
from ingest.records import Article, Reject, StateUpdate
from ingest.settings import Settings
from ingest.storage import Storage
from ingest.summary import Summary
from ingest.writer import articles_to_table, rejects_to_table, table_to_dedup_articles, with_story_columns
from schemas import ARTICLE_SCHEMA

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


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


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


def _annotate(article: Article, settings: Settings) -> Article:
    """Language identification under the per-document time limit (models load before, outside it)."""
    warm_once(("language", settings), lambda: language_mod.warm_up(settings))
    try:
        with time_limit(settings.extraction_timeout_s):
            return language_mod.annotate(article, settings)
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
    """The staged table plus each article's dedup features (``dedup.features_json``), computed
    here, in parallel, rather than in the ordered commit; None where they failed (the commit then
    computes them itself).  The column never reaches the final files."""
    from ingest.dedup import features_json

    features: dict[str, str | None] = {}
    for article in articles:
        if article.article_id not in features:  # the first of a repeated id is the one indexed
            try:
                features[article.article_id] = features_json(article, settings.target_language)
            except Exception as exc:  # noqa: BLE001 - the commit computes them again
                logger.warning("dedup features failed for %s: %s", article.source_uri, exc)
                features[article.article_id] = None
    values = [features.get(i) for i in table.column("article_id").to_pylist()]
    return table.append_column(DEDUP_FEATURES, pa.array(values, type=pa.string()))


def _finalise(article: Article) -> Article:
    article.assign_id()
    return article


_translators: dict = {}


def _translate_step(articles: list[Article], settings: Settings, missing: Counter) -> None:
    """Translate a whole batch at once; a failure marks the records ``failed``, never loses them."""
    from ingest.translate import Translator

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
    result = BatchResult(number=batch.number, items=len(batch.items))
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
    logger.info("batch %d: %d inputs -> %d articles, %d rejects in %.1fs (process %d)", batch.number,
                result.counts["inputs"], n_articles, rejects.count, result.seconds, os.getpid())
    return result


# --- driving a run ------------------------------------------------------------------------------

class Pipeline:
    """One run over one output location.  Use ``run_pipeline`` unless you orchestrate yourself."""

    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.storage = Storage(settings.out)
        self.settings = settings.replace(state_dir=resolve_state_dir(settings))
        self.summary = Summary(run_id=self.run_id, output=self.storage.uri())
        self._existing_articles = IdSet()  # compact: 16 bytes per id already in the output
        self._existing_rejects = IdSet()
        self._counted_batch: int | None = None  # the batch being committed (a retried commit counts once)
        self._committed_parts: set[tuple[str, int]] = set()
        self._updates: list[StateUpdate] = []
        self._index = None
        self._lock = None
        self._date = datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def start(self) -> None:
        from ingest.dedup import StoryIndex
        from ingest.state import RunLock

        self.storage.check_writable()
        self._lock = RunLock(self.settings.state_dir)
        self._lock.acquire()
        # we hold the lock: staging and temporary files left by a run that was killed are stale
        # (its inputs are redone; rows it renamed into place are skipped as already present)
        self.storage.remove(STAGING_DIR, recursive=True)
        for directory in (ARTICLES_DIR, REJECTS_DIR):
            self.storage.remove_temp_files(directory)
        for ids in self.storage.iter_column_values(ARTICLES_DIR, "article_id"):
            self._existing_articles.update(ids)
        for ids in self.storage.iter_column_values(REJECTS_DIR, "reject_id"):
            self._existing_rejects.update(ids)
        self._index = StoryIndex(self.settings.state_dir, self.settings)
        logger.info("run %s: writing to %s (%d articles already there)", self.run_id, self.summary.output,
                    len(self._existing_articles))

    def batches(self, sources: Iterable[str]) -> Iterator[Batch]:
        items = plan(sources, self.settings)
        for number in itertools.count(1):
            chunk = list(itertools.islice(items, self.settings.batch_size))
            if not chunk:
                return
            self.summary.planned_items += len(chunk)
            yield Batch(number, chunk)

    def commit(self, result: BatchResult) -> None:
        """Take one processed batch (in batch order): stories, idempotency, final atomic write.
        Safe to call again for the same batch after a failure (a task retry): parts already
        committed are skipped and the batch is counted once."""
        if self._counted_batch != result.number:
            self.summary.count_batch(result)
            self._updates.extend(result.state_updates)
            self._counted_batch, self._committed_parts = result.number, set()
        for i, path in enumerate(result.articles_paths):
            if ("articles", i) not in self._committed_parts:
                self._commit_articles(path, self._final_name(ARTICLES_DIR, result.number, i))
                self._committed_parts.add(("articles", i))
        for i, path in enumerate(result.rejects_paths):
            if ("rejects", i) not in self._committed_parts:
                self._commit_rejects(path, self._final_name(REJECTS_DIR, result.number, i))
                self._committed_parts.add(("rejects", i))

    def _final_name(self, directory: str, number: int, part: int) -> str:
        suffix = f"-{part + 1:04d}" if part else ""  # most batches have one part: part-<run>-000001.parquet
        return f"{directory}/ingest_date={self._date}/part-{self.run_id}-{number:06d}{suffix}.parquet"

    def _commit_articles(self, staged: str, final: str) -> None:
        table = self.storage.read_table(staged)
        features = None
        if DEDUP_FEATURES in table.column_names:
            features = table.column(DEDUP_FEATURES).to_pylist()
            table = table.drop_columns([DEDUP_FEATURES]).replace_schema_metadata(ARTICLE_SCHEMA.metadata)
        articles = table_to_dedup_articles(table)
        self._index.assign(articles, features)  # also for rows already written: keeps the index whole
        del features
        table = with_story_columns(table, articles)
        del articles
        keep, new_ids, existing = self._split_new(table.column("article_id").to_pylist(), self._existing_articles)
        table = table.take(pa.array(keep, type=pa.int64()))
        try:
            if table.num_rows:
                self.storage.write_table(table, final, self.settings.row_group_size)
        except BaseException:
            self._index.rollback()  # a retry assigns these articles again from the last committed index
            raise
        self._index.commit()  # the index only ever holds what is written
        # recorded only once written: after a failed write a retry writes these rows, never skips them
        self._existing_articles.update(new_ids)
        self.summary.articles_existing += existing
        if table.num_rows:
            self.summary.count_articles(table)

    def _commit_rejects(self, staged: str, final: str) -> None:
        table = self.storage.read_table(staged)
        keep, new_ids, existing = self._split_new(table.column("reject_id").to_pylist(), self._existing_rejects)
        counted = table.select(["stage", "reason"])
        table = table.take(pa.array(keep, type=pa.int64()))
        if table.num_rows:
            self.storage.write_table(table, final, self.settings.row_group_size)
        self._existing_rejects.update(new_ids)
        self.summary.rejects_existing += existing
        self.summary.count_rejects(counted)

    @staticmethod
    def _split_new(ids: list[str], present: IdSet) -> tuple[list[int], set[str], int]:
        """Row numbers to write (ids neither in the output nor earlier in this part), those ids,
        and how many rows were already present."""
        keep, new_ids, existing = [], set(), 0
        for i, value in enumerate(ids):
            if value in new_ids or value in present:
                existing += 1
            else:
                new_ids.add(value)
                keep.append(i)
        return keep, new_ids, existing

    def finish(self) -> Summary:
        """Persist state (after all rows are written) and clean the staging area."""
        try:
            self._index.commit()
            if self._updates:
                from ingest.state import apply_state_updates

                apply_state_updates(self.settings.state_dir, self._updates)
            self.storage.remove(STAGING_DIR, recursive=True)  # we hold the lock: all staging is ours
        finally:
            self.close()
        self.summary.finished()
        return self.summary

    def close(self) -> None:
        from ingest.fetch_state import close_states
        from ingest.http import close_fetchers

        close_fetchers()  # connections and state handles of this process (workers end with theirs)
        close_states()
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def resolve_state_dir(settings: Settings) -> str:
    """Where persistent state lives: the setting, else ``<out>/_state`` for a local output."""
    if settings.state_dir:
        return settings.state_dir
    storage = Storage(settings.out)
    if storage.local:
        return storage.path("_state")
    import hashlib
    from pathlib import Path

    key = hashlib.sha256(settings.out.encode()).hexdigest()[:16]
    return str(Path("~/.cache/news-ingest/state").expanduser() / key)


Submit = Callable[[Batch, Settings, str], "Future[BatchResult]"]


def run_pipeline(sources: Iterable[str], settings: Settings, *, submit: Submit | None = None,
                 commit: Callable[[Pipeline, BatchResult], None] | None = None,
                 progress: Callable[[Summary], None] | None = None,
                 run_id: str | None = None) -> Summary:
    """Run the whole pipeline.  ``submit`` runs a batch somewhere and returns a future (default:
    the library's pool of ``settings.workers`` processes, ``ingest.workers``, which stays up for
    the next run in this process until ``workers.shutdown()``; inline for one worker); batches are committed in
    order with a bounded number in flight, so memory does not grow with the corpus."""
    pipeline = Pipeline(settings, run_id=run_id)
    pipeline.start()
    try:
        if submit is None:
            submit = _default_submit(pipeline.settings)
        do_commit = commit or (lambda p, r: p.commit(r))
        window = max(2, 2 * pipeline.settings.workers)
        in_flight: list[Future] = []
        for batch in pipeline.batches(sources):
            in_flight.append(submit(batch, pipeline.settings, pipeline.run_id))
            while len(in_flight) >= window:
                do_commit(pipeline, in_flight.pop(0).result())
                if progress:
                    progress(pipeline.summary)
        while in_flight:
            do_commit(pipeline, in_flight.pop(0).result())
            if progress:
                progress(pipeline.summary)
        return pipeline.finish()
    finally:
        pipeline.close()


def _default_submit(settings: Settings) -> Submit:
    """Inline for one worker, else the library's worker pool (``ingest.workers``)."""
    if settings.workers <= 1:
        def inline(batch: Batch, settings: Settings, run_id: str) -> Future:
            future: Future = Future()
            future.set_result(process_batch(batch, settings, run_id))
            return future
        return inline
    from ingest import workers

    return workers.submit
