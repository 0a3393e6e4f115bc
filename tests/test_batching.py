"""Issue 16: batches of documents.  A large .jsonl / .jsonl.gz / WARC is cut into record ranges that
different workers process; many small files are grouped; rows, ``#N`` numbers and accounting are
exactly those of an unsplit run."""
from __future__ import annotations

import gzip
import io
import json
import os
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from ingest.runtime import pipeline, workers
from ingest.runtime.batching import cut_batches, estimate_documents
from ingest.settings import Settings
from ingest.sources.loaders import load, plan
from tests.hostile import PARAGRAPH

FAST = dict(translate=False, language_backend="langdetect", progress=False)
VOLATILE = {"run_id", "ingested_at", "ingest_date", "fetched_at"}


def _rows(out: Path, kind: str = "articles", ignore: frozenset = frozenset()) -> list[dict]:
    path = out / kind
    if not path.exists():
        return []
    table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table()
    drop = VOLATILE | {"rejected_at"} | ignore
    rows = table.select([c for c in table.column_names if c not in drop]).to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _jsonl(path: Path, n: int, broken: set[int] = frozenset(), compress: bool = False) -> None:
    lines = [("{broken" if i in broken else
              json.dumps({"url": f"https://news.example/{i}", "title": f"Story {i}",
                          "text": f"Story number {i} of the day. {PARAGRAPH}"}))
             for i in range(1, n + 1)]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)


def _run(sources: list[str], out: Path, **settings) -> tuple[object, list]:
    results = []

    def commit(run, result):
        results.append(result)
        run.commit(result)

    summary = pipeline.run_pipeline(sources, Settings(out=str(out), **{**FAST, **settings}), commit=commit)
    return summary, results


@pytest.fixture(autouse=True)
def _fresh_pool():
    yield
    workers.shutdown()


def test_one_jsonl_is_processed_by_more_than_one_worker_process(tmp_path):
    _jsonl(tmp_path / "export.jsonl", 300)
    settings = Settings(out=str(tmp_path / "out"), workers=2, batch_size=20, **FAST)
    workers.start(settings).join()  # both workers up (a warm pool, as in a CLI run)
    summary, results = _run([str(tmp_path / "export.jsonl")], tmp_path / "out", workers=2, batch_size=20)
    assert summary.balanced and summary.inputs == summary.articles_new == 300
    assert summary.planned_items == summary.done_items == 1  # one input, whatever its ranges
    assert len(results) > 2
    pids = {r.pid for r in results}
    assert len(pids) > 1 and os.getpid() not in pids, pids  # ranges of one file ran in several workers
    ids = [r["source_uri"].rsplit("#", 1)[1] for r in _rows(tmp_path / "out")]
    assert sorted(map(int, ids)) == list(range(1, 301))  # line numbers of the whole file


@pytest.mark.parametrize("compress", [False, True])
def test_a_broken_line_inside_a_range_is_accounted_once(tmp_path, compress):
    name = "wire.jsonl.gz" if compress else "wire.jsonl"
    _jsonl(tmp_path / name, 100, broken={57}, compress=compress)
    settings = Settings(out=str(tmp_path / "out"), workers=1, batch_size=20, **FAST)
    [item] = plan([str(tmp_path / name)], settings)
    spans = [i.span for cut in cut_batches([item], settings) for i in cut.items]
    assert any(s.first <= 57 < s.first + (s.count or 10**9) and s.first < 57 for s in spans)  # mid-range
    assert len(spans) > 2

    summary, results = _run([str(tmp_path / name)], tmp_path / "out", workers=1, batch_size=20)
    assert summary.balanced and summary.inputs == 100
    assert summary.articles_new == 99 and dict(summary.rejects_by_reason) == {"load:invalid_json": 1}
    [reject] = _rows(tmp_path / "out", "rejects")
    assert reject["source_uri"].endswith(f"{name}#57")
    uris = Counter(r["source_uri"].rsplit("#", 1)[1] for r in _rows(tmp_path / "out"))
    assert sorted(map(int, uris)) == [i for i in range(1, 101) if i != 57] and set(uris.values()) == {1}

    again = pipeline.run_pipeline([str(tmp_path / name)], settings)  # idempotent rerun: nothing new
    assert again.inputs == 100 and again.articles_new == 0 and again.articles_existing == 99


def _warc(path: Path, pages: int, compress: bool) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for i in range(pages):
            uri = f"https://news.example/{i}"
            body = (f"<html><head><title>Page {i}</title></head><body><article><h1>Page {i}</h1>"
                    f"<p>Report number {i}. {PARAGRAPH}</p></article></body></html>").encode()
            if i % 7 == 3:
                body = b""  # an empty response: a reject, in its range
            writer.write_record(writer.create_warc_record(uri, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))


@pytest.mark.parametrize("compress", [True, False])
def test_a_warc_split_into_ranges_gives_the_same_rows_as_unsplit(tmp_path, compress):
    path = tmp_path / ("crawl.warc.gz" if compress else "crawl.warc")
    _warc(path, 30, compress)
    settings = Settings(out=str(tmp_path / "x"), workers=2, batch_size=4, **FAST)
    [item] = plan([str(path)], settings)
    cuts = list(cut_batches([item], settings))
    assert len(cuts) > 4 and all(i.span is not None for cut in cuts for i in cut.items)
    split = [(r.source_uri, getattr(r, "html", None), getattr(r, "reason", None))
             for cut in cuts for i in cut.items for r in load(i, settings)]
    whole = [(r.source_uri, getattr(r, "html", None), getattr(r, "reason", None)) for r in load(item, settings)]
    assert split == whole and len(whole) == 30

    one, _ = _run([str(path)], tmp_path / "whole", workers=1, batch_size=1000)
    many, results = _run([str(path)], tmp_path / "split", workers=2, batch_size=4)
    assert len(results) > 4
    assert one.balanced and many.balanced and one.inputs == many.inputs == 30
    # every column equal except the story columns: which near copy or story an article joins still
    # depends on how the articles were cut into commits (issue 15's known limit: its order test
    # keeps batches of 7 as a strict xfail; docs/dedup.md), so they are compared as a partition
    # only where the grouping is arrangement-free (tests/test_story_order.py)
    stories = frozenset({"story_similarity", "story_id", "duplicate_of", "duplicate_level"})
    assert _rows(tmp_path / "whole", ignore=stories) == _rows(tmp_path / "split", ignore=stories)
    assert _rows(tmp_path / "whole", "rejects") == _rows(tmp_path / "split", "rejects")


def test_small_files_are_grouped_by_documents_and_batches_shrink_at_the_end(tmp_path):
    for i in range(50):
        (tmp_path / f"a{i:02d}.txt").write_text(f"Story {i}. {PARAGRAPH}")
    _jsonl(tmp_path / "z.jsonl", 200)
    settings = Settings(out=str(tmp_path / "out"), workers=2, batch_size=40)
    items = list(plan([str(tmp_path)], settings))
    cuts = list(cut_batches(items, settings))
    sizes = []
    for cut in cuts:
        docs = 0
        for i in cut.items:
            docs += 1 if i.kind != "jsonl" else (i.span.count if i.span and i.span.count else sum(
                1 for _ in load(i, settings)))
        sizes.append(docs)
    assert sum(sizes) == 250 and max(sizes) <= 40
    assert sizes[0] == 40 and sizes[-1] < 40  # full batches first, smaller ones at the end
    assert sum(cut.finished for cut in cuts) == len(items) == 51
    assert any({i.kind for i in cut.items} == {"text", "jsonl"} for cut in cuts)  # files and a range share one


def test_workers_of_a_remote_dask_cluster_get_no_local_state_directory_of_the_driver(tmp_path):
    out = str(tmp_path / "out")
    remote = pipeline.Pipeline(Settings(out=out, task_runner="dask", dask_address="tcp://10.0.0.5:8786"))
    assert remote.settings.state_dir == str(tmp_path / "out" / "_state")  # the driver's own
    assert remote.batch_settings.state_dir is None  # not sent to a machine where it means nothing
    shared = pipeline.Pipeline(Settings(out=out, task_runner="dask", dask_address="tcp://10.0.0.5:8786",
                                        state_dir="/shared/news-state"))
    assert shared.batch_settings.state_dir == "/shared/news-state"  # named explicitly: a shared store
    local = pipeline.Pipeline(Settings(out=out, task_runner="dask"))  # a local cluster: same machine
    assert local.batch_settings.state_dir == local.settings.state_dir


def test_a_run_of_one_batch_runs_in_threads_and_one_large_file_on_the_pool(tmp_path):
    examples = Path(__file__).resolve().parents[1] / "examples"
    assert pipeline.plan_run([str(examples)], Settings(out=str(tmp_path / "a"))).settings.task_runner == "threads"
    _jsonl(tmp_path / "export.jsonl", 300)  # one work item, 300 documents: worker processes
    run = pipeline.plan_run([str(tmp_path / "export.jsonl")], Settings(out=str(tmp_path / "b"), workers=2))
    assert len(run.items) == 1 and run.settings.task_runner == "local"


@pytest.mark.parametrize("compress", [False, True])
def test_a_jsonl_of_long_lines_is_estimated_from_more_than_its_first_line(tmp_path, compress):
    """Real pages as ``{url, html}`` lines run to 150 KB each: a probe that ended inside the first
    line counted 1,000 of them as one document, and the run went to one thread."""
    path = tmp_path / ("pages.jsonl.gz" if compress else "pages.jsonl")
    line = json.dumps({"url": "https://news.example/x", "html": "<p>" + "x" * 150_000 + "</p>"}) + "\n"
    data = (line * 300).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    settings = Settings(out=str(tmp_path / "out"), **FAST)
    run = pipeline.plan_run([str(path)], settings)
    assert run.settings.task_runner == "local"  # the pool, not one batch in threads
    assert 200 < estimate_documents(run.items) < 450
