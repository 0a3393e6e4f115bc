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

import logging
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from ingest.output.idset import IdSet
from ingest.output.storage import Storage
from ingest.output.summary import Summary
from ingest.output.writer import (
    rejects_to_table,
    table_to_dedup_articles,
    with_story_columns,
)
from ingest.records import Reject, StateUpdate
from ingest.runtime import stop, workers
from ingest.runtime.batch import (
    ARTICLES_DIR,
    DEDUP_FEATURES,
    REJECTS_DIR,
    STAGING_DIR,
    Batch,
    BatchResult,
    process_batch,
)
from ingest.runtime.batching import cut_batches, estimate_documents, input_bytes
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
    """Plan a run once (lists files; reads the first 64 KB of a multi-record file to estimate
    its documents; raises SourceError for a missing path).  A run that fits in one batch runs in
    threads: worker processes would cost more than they save."""
    items = list(plan(sources, settings))
    if settings.task_runner == "local" and _fits_one_batch(items, settings):
        settings = settings.replace(task_runner="threads")
    return RunPlan(items, settings)


def _fits_one_batch(items: list[WorkItem], settings: Settings) -> bool:
    return len(items) <= settings.batch_size and \
        estimate_documents(items, settings.batch_size) <= settings.batch_size and \
        input_bytes(items, settings.batch_bytes) <= settings.batch_bytes


# --- driving a run ------------------------------------------------------------------------------

class Pipeline:
    """One run over one output location.  Use ``run_pipeline`` unless you orchestrate yourself."""

    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.storage = Storage(settings.out)
        self.settings = settings.replace(state_dir=resolve_state_dir(settings))
        # what batches run with: the state directory is the driver's (it alone commits state); a
        # worker of a remote Dask cluster (--dask-address) gets it only when it was named
        # explicitly (--state-dir: a shared store), never the driver's local default path
        remote = settings.task_runner == "dask" and bool(settings.dask_address)
        self.batch_settings = self.settings.replace(state_dir=None) if remote and not settings.state_dir \
            else self.settings
        self.summary = Summary(run_id=self.run_id, output=self.storage.uri())
        self._existing_articles = IdSet()  # compact: 16 bytes per id already in the output
        self._run_articles = IdSet()  # ids this run wrote or found present: a later input with one is a repeat
        self._existing_rejects = IdSet()
        self._counted_batch: int | None = None  # the batch being committed (a retried commit counts once)
        self._committed_parts: set[tuple[str, int]] = set()
        self._updates: list[StateUpdate] = []
        self._batch_updates: list[StateUpdate] = []
        self._index = None
        self._locks: list = []
        self._inputs = None  # CommittedInputs: content hashes of committed local inputs
        self._batch_hashes: dict[int, list[tuple[str, str]]] = {}
        self._date = datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def start(self) -> None:
        from ingest.runtime.state import RunLock
        from ingest.stories.index import StoryIndex

        self.storage.check_writable()
        # the run lock lives with the output (OUT/_run.lock), so another --state-dir cannot bypass
        # it; the state directory's own lock also keeps two outputs from sharing one state.  An
        # object store has no lock of its own: runs into it are serialised only by the state
        # directory's lock (docs/reliability.md).
        locks = [RunLock(self.storage.path(""), OUTPUT_LOCK)] if self.storage.local else []
        locks.append(RunLock(self.settings.state_dir))
        for lock in locks:
            try:
                lock.acquire()
            except BaseException:
                while self._locks:  # release the locks taken so far
                    self._locks.pop().release()
                raise
            self._locks.append(lock)
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
        if self.settings.skip_unchanged:
            from ingest.runtime.unchanged import CommittedInputs

            self._inputs = CommittedInputs(self.settings.state_dir, self.settings)
        if not self.storage.exists(MERGES_FILE):  # so that a reader's join always finds the table
            self._write_merges()
        logger.info("run %s: writing to %s (%d articles already there)", self.run_id, self.summary.output,
                    len(self._existing_articles))

    def batches(self, sources: "Iterable[str] | RunPlan") -> Iterator[Batch]:
        """Batches of documents (``ingest.runtime.batching``): small files grouped, large
        multi-record files cut into record ranges; local files whose content was already committed
        here are skipped (``skip_unchanged``, ``ingest.runtime.unchanged``)."""
        items = sources.items if isinstance(sources, RunPlan) else list(plan(sources, self.settings))
        digests: dict[str, str] = {}
        if self._inputs is not None:
            fresh = list(self._inputs.fresh(items))
            self.summary.inputs_unchanged = self._inputs.skipped
            items = [item for item, _ in fresh]
            digests = {item.location: digest for item, digest in fresh if digest}
        for number, cut in enumerate(cut_batches(items, self.settings), 1):
            self.summary.planned_items += cut.finished
            # an input is done when the batch holding its last range is committed
            self._batch_hashes[number] = [(it.location, digests[it.location]) for it in cut.items
                                          if it.location in digests and (it.span is None or it.span.final)]
            yield Batch(number, cut.items)

    def commit(self, result: BatchResult) -> None:
        """Take one processed batch (in batch order): stories, idempotency, final atomic write.
        Safe to call again for the same batch after a failure (a task retry): parts already
        committed are skipped and the batch is counted once."""
        if self._counted_batch != result.number:
            self.summary.count_batch(result)
            self._batch_updates = list(result.state_updates)
            self._counted_batch, self._committed_parts = result.number, set()
        for i, path in enumerate(result.articles_paths):
            if ("articles", i) not in self._committed_parts:
                self._commit_articles(path, self._final_name(ARTICLES_DIR, result.number, i))
                self._committed_parts.add(("articles", i))
        for i, path in enumerate(result.rejects_paths):
            if ("rejects", i) not in self._committed_parts:
                self._commit_rejects(path, self._final_name(REJECTS_DIR, result.number, i))
                self._committed_parts.add(("rejects", i))
        hashes = self._batch_hashes.pop(result.number, None)
        if hashes and self._inputs is not None:  # the batch's rows are written: its inputs are done
            self._inputs.record(hashes)
        # the batch's state updates count once all its parts are written (a run stopped between two
        # commits applies exactly these)
        self._updates.extend(self._batch_updates)
        self._batch_updates = []

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
        keep, new_ids, existing, repeats = self._split_new(table.column("article_id").to_pylist())
        duplicates = self._duplicate_rejects(table, repeats)
        table = table.take(pa.array(keep, type=pa.int64()))
        try:
            if duplicates is not None:  # first: a retry rewrites the same file, never counts twice
                self.storage.write_table(duplicates, final.replace(ARTICLES_DIR + "/", REJECTS_DIR + "/", 1)
                                         .replace(".parquet", "-duplicates.parquet"), self.settings.row_group_size)
            if table.num_rows:
                self.storage.write_table(table, final, self.settings.row_group_size)
            if self._index.merges_changed:  # before the index commits: a crash in between redoes the batch
                self._write_merges()
        except BaseException:
            self._index.rollback()  # a retry assigns these articles again from the last committed index
            raise
        self._index.commit()  # the index only ever holds what is written
        # recorded only once written: after a failed write a retry writes these rows, never skips them
        self._run_articles.update(new_ids | existing)
        self.summary.articles_existing += len(existing)
        if table.num_rows:
            self.summary.count_articles(table)
        if duplicates is not None:
            self._existing_rejects.update(duplicates.column("reject_id").to_pylist())
            self.summary.count_rejects(duplicates)

    def _duplicate_rejects(self, table: pa.Table, repeats: list[int]) -> pa.Table | None:
        """A ``duplicate`` reject for each true repeat of this run (same canonical URL or source
        and same content as an article this run already wrote), naming the kept article."""
        if not repeats:
            return None
        rows = table.take(pa.array(repeats, type=pa.int64())).select(["article_id", "source_uri", "url"]).to_pylist()
        rejects = [Reject(r["source_uri"], "dedup", "duplicate",
                          f"duplicate of article {r['article_id']} (same URL and content, already in this run)",
                          url=r["url"]) for r in rows]
        fresh = [r for r in rejects if r.reject_id not in self._existing_rejects]  # a rerun's own
        self.summary.rejects_existing += len(rejects) - len(fresh)
        self.summary.rejects_by_reason["dedup:duplicate"] += len(rejects) - len(fresh)
        rejects = fresh
        if not rejects:
            return None
        return rejects_to_table(rejects, run_id=self.run_id, rejected_at=datetime.now(timezone.utc))

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
        keep, new_ids, existing = self._split_new_rejects(table.column("reject_id").to_pylist())
        counted = table.select(["stage", "reason"])
        table = table.take(pa.array(keep, type=pa.int64()))
        if table.num_rows:
            self.storage.write_table(table, final, self.settings.row_group_size)
        self._existing_rejects.update(new_ids)
        self.summary.rejects_existing += existing
        self.summary.count_rejects(counted)

    def _split_new(self, ids: list[str]) -> tuple[list[int], set[str], set[str], list[int]]:
        """Row numbers to write (ids neither in the output nor seen by this run), those ids, the ids
        already present from an earlier run (counted, not written), and the row numbers of true
        repeats within this run (an id this run already wrote or counted, or earlier in this part;
        so a rerun after a crash rejects the same repeats as an uninterrupted run)."""
        keep, new_ids, existing, repeats = [], set(), set(), []
        for i, value in enumerate(ids):
            if value in new_ids or value in existing or value in self._run_articles:
                repeats.append(i)
            elif value in self._existing_articles:
                existing.add(value)
            else:
                new_ids.add(value)
                keep.append(i)
        return keep, new_ids, existing, repeats

    def _split_new_rejects(self, ids: list[str]) -> tuple[list[int], set[str], int]:
        keep, new_ids, existing = [], set(), 0
        for i, value in enumerate(ids):
            if value in new_ids or value in self._existing_rejects:
                existing += 1
            else:
                new_ids.add(value)
                keep.append(i)
        return keep, new_ids, existing

    def finish(self) -> Summary:
        """Persist state (after all rows are written) and clean the staging area."""
        try:
            self.summary.count_merges(self._index.story_merges())
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
        from ingest.sources.loaders import close_parked

        close_fetchers()  # connections and state handles of this process (workers end with theirs)
        close_states()
        close_parked()
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._inputs is not None:
            self._inputs.close()
            self._inputs = None
        while self._locks:
            self._locks.pop().release()


OUTPUT_LOCK = "_run.lock"  # inside a local output; "_" names are skipped by Parquet readers


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
    in_flight: list[Future] = []
    try:
        if submit is None:
            submit = _default_submit(pipeline.settings)
        do_commit = commit or (lambda p, r: p.commit(r))
        window = max(2, 2 * pipeline.settings.workers)
        try:
            for batch in pipeline.batches(sources):
                if stop.stop_requested():
                    raise stop.Interrupted()
                in_flight.append(submit(batch, pipeline.batch_settings, pipeline.run_id))
                while len(in_flight) >= window:
                    do_commit(pipeline, _result(in_flight.pop(0)))
                    if progress:
                        progress(pipeline.summary)
            while in_flight:
                do_commit(pipeline, _result(in_flight.pop(0)))
                if progress:
                    progress(pipeline.summary)
        except stop.Interrupted:
            return _stopped(pipeline, in_flight)
        except BaseException:
            if stop.stop_requested():  # a batch failed because the run is stopping
                return _stopped(pipeline, in_flight)
            raise
        return pipeline.finish()
    finally:
        pipeline.close()


def _result(future: Future) -> BatchResult:
    """The batch's result, unless the run is asked to stop meanwhile (then ``stop.Interrupted``)."""
    while True:
        if stop.stop_requested():
            raise stop.Interrupted()
        try:
            return future.result(timeout=0.2)
        except (TimeoutError, FutureTimeout):
            continue


def _stopped(pipeline: Pipeline, in_flight: list[Future]) -> Summary:
    """End a run asked to stop: batches not committed are abandoned (the next run redoes their
    inputs), the workers end, what was committed keeps its state."""
    logger.warning("run %s stopping: %d batch(es) committed, %d abandoned", pipeline.run_id,
                   pipeline.summary.batches, len(in_flight))
    for future in in_flight:
        cancel = getattr(future, "cancel", None)  # a Prefect future has none: abort() ends its work
        if cancel is not None:
            cancel()
    workers.abort()
    pipeline.summary.interrupted = True
    pipeline._index.commit()
    if pipeline._updates:
        from ingest.runtime.state import apply_state_updates

        apply_state_updates(pipeline.settings.state_dir, pipeline._updates)  # of committed batches only
    pipeline.summary.finished()
    return pipeline.summary


def _default_submit(settings: Settings) -> Submit:
    """Inline for one worker, else the library's worker pool (``ingest.runtime.workers``)."""
    if settings.workers <= 1:
        def inline(batch: Batch, settings: Settings, run_id: str) -> Future:
            future: Future = Future()
            future.set_result(process_batch(batch, settings, run_id))
            return future
        return inline
    return workers.submit
