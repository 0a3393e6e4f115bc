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
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from ingest.output.idset import IdSet
from ingest.output.storage import Storage
from ingest.output.summary import Summary
from ingest.output.writer import (
    table_to_dedup_articles,
    with_story_columns,
)
from ingest.records import StateUpdate
from ingest.runtime import workers
from ingest.runtime.batch import (
    ARTICLES_DIR,
    DEDUP_FEATURES,
    REJECTS_DIR,
    STAGING_DIR,
    Batch,
    BatchResult,
    process_batch,
)
from ingest.settings import Settings
from ingest.sources.loaders import WorkItem, plan
from schemas import ARTICLE_SCHEMA

logger = logging.getLogger(__name__)

MERGES_DIR = "story_merges"
MERGES_FILE = f"{MERGES_DIR}/story_merges.parquet"  # story_id -> current_story_id (README, "Stories that merge")

def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


@dataclass
class RunPlan:
    """The work items of a run, planned once, and the settings fitted to them."""
    items: list[WorkItem]
    settings: Settings


def plan_run(sources: Iterable[str], settings: Settings) -> RunPlan:
    """Plan a run once (lists files, reads none; raises SourceError for a missing path).  A run that
    fits in one batch runs in threads: worker processes would cost more than they save."""
    items = list(plan(sources, settings))
    if settings.task_runner == "local" and len(items) <= settings.batch_size:
        settings = settings.replace(task_runner="threads")
    return RunPlan(items, settings)


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
        from ingest.runtime.state import RunLock
        from ingest.stories.index import StoryIndex

        self.storage.check_writable()
        self._lock = RunLock(self.settings.state_dir)
        self._lock.acquire()
        # we hold the lock: staging and temporary files left by a run that was killed are stale
        # (its inputs are redone; rows it renamed into place are skipped as already present)
        self.storage.remove(STAGING_DIR, recursive=True)
        for directory in (ARTICLES_DIR, REJECTS_DIR, MERGES_DIR):
            self.storage.remove_temp_files(directory)
        for ids in self.storage.iter_column_values(ARTICLES_DIR, "article_id"):
            self._existing_articles.update(ids)
        for ids in self.storage.iter_column_values(REJECTS_DIR, "reject_id"):
            self._existing_rejects.update(ids)
        self._index = StoryIndex(self.settings.state_dir, self.settings)
        if not self.storage.exists(MERGES_FILE):  # so that a reader's join always finds the table
            self._write_merges()
        logger.info("run %s: writing to %s (%d articles already there)", self.run_id, self.summary.output,
                    len(self._existing_articles))

    def batches(self, sources: "Iterable[str] | RunPlan") -> Iterator[Batch]:
        items = iter(sources.items) if isinstance(sources, RunPlan) else plan(sources, self.settings)
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
            if self._index.merges_changed:  # before the index commits: a crash in between redoes the batch
                self._write_merges()
        except BaseException:
            self._index.rollback()  # a retry assigns these articles again from the last committed index
            raise
        self._index.commit()  # the index only ever holds what is written
        # recorded only once written: after a failed write a retry writes these rows, never skips them
        self._existing_articles.update(new_ids)
        self.summary.articles_existing += existing
        if table.num_rows:
            self.summary.count_articles(table)

    def _write_merges(self) -> None:
        """Rewrite ``story_merges/story_merges.parquet`` (atomically) from the index: every story id
        ever written that was merged into another story -> the story it is part of now."""
        rows = self._index.story_merges()
        table = pa.table({
            "story_id": pa.array([r[0] for r in rows], pa.string()),
            "current_story_id": pa.array([r[1] for r in rows], pa.string()),
            "merged_at": pa.array([datetime.fromtimestamp(r[2], timezone.utc) for r in rows],
                                  pa.timestamp("us", tz="UTC")),
        })
        self.storage.write_table(table, MERGES_FILE, self.settings.row_group_size)

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
                from ingest.runtime.state import apply_state_updates

                apply_state_updates(self.settings.state_dir, self._updates)
            self.storage.remove(STAGING_DIR, recursive=True)  # we hold the lock: all staging is ours
        finally:
            self.close()
        self.summary.finished()
        return self.summary

    def close(self) -> None:
        from ingest.sources.fetch_state import close_states
        from ingest.sources.http import close_fetchers

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


def run_pipeline(sources: "Iterable[str] | RunPlan", settings: Settings, *, submit: Submit | None = None,
                 commit: Callable[[Pipeline, BatchResult], None] | None = None,
                 progress: Callable[[Summary], None] | None = None,
                 run_id: str | None = None) -> Summary:
    """Run the whole pipeline over ``sources`` (or a ``RunPlan`` made by ``plan_run``).  ``submit`` runs a batch somewhere and returns a future (default:
    the library's pool of ``settings.workers`` processes, ``ingest.runtime.workers``, which stays up for
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
    """Inline for one worker, else the library's worker pool (``ingest.runtime.workers``)."""
    if settings.workers <= 1:
        def inline(batch: Batch, settings: Settings, run_id: str) -> Future:
            future: Future = Future()
            future.set_result(process_batch(batch, settings, run_id))
            return future
        return inline
    return workers.submit
