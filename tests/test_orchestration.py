"""Issue 8: the flow against a real Prefect server: state, artifacts and logs read back through the
client, scheduled runs served by ``news-ingest serve``, ``prefect deploy`` with a process work pool,
a local Dask cluster, and an S3 output (moto's server)."""
from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.conftest import ROOT, run_cli

EXAMPLES = ROOT / "examples"
BATCH = 4  # examples/ holds 10 documents: several batches, so the runner really runs several tasks


# --- fixtures ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, group: bool = True, timeout: float = 30) -> int:
    """SIGTERM a process we started in its own session (``group``: with its children); SIGKILL
    the group if it does not end in ``timeout``.  Returns its exit code."""
    if proc.poll() is None:
        (os.killpg if group else os.kill)(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


def _planned(sources: list[str]) -> int:
    from ingest.settings import Settings
    from ingest.sources.loaders import plan

    return sum(1 for _ in plan(sources, Settings()))


def _batches(sources: list[str]) -> int:
    from ingest.runtime.batching import cut_batches
    from ingest.settings import Settings
    from ingest.sources.loaders import plan

    settings = Settings(batch_size=BATCH, workers=2)  # batches of documents (issue 16), as the CLI run
    return sum(1 for _ in cut_batches(list(plan(sources, settings)), settings))


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real ``prefect server start`` on a free 127.0.0.1 port with its own PREFECT_HOME (SQLite)."""
    import httpx

    home = tmp_path_factory.mktemp("prefect-server-home")
    port = _free_port()
    log = open(home / "server.log", "wb")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": ""}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 150:
                raise RuntimeError("prefect server did not start:\n" + (home / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        print(f"prefect server up in {time.monotonic() - started:.1f}s", file=sys.stderr)
        yield url
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def api_env(prefect_server, tmp_path_factory):
    """Environment for CLI subprocesses: report to the test server; a client-side PREFECT_HOME of
    their own, so we can see that nothing lands in Prefect's local result storage."""
    home = tmp_path_factory.mktemp("prefect-client-home")
    return {"PREFECT_API_URL": prefect_server, "PREFECT_HOME": str(home)}


@pytest.fixture(scope="module")
def client(prefect_server):
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(prefect_server) as c:
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    """examples/ plus inputs that become rejects, so every section of the artifacts has content."""
    bad = tmp_path_factory.mktemp("bad")
    good = gzip.compress(b"<html><body><p>" + b"Plain news text. " * 30 + b"</p></body></html>")
    (bad / "truncated.html.gz").write_bytes(good[: len(good) // 2])
    (bad / "empty.txt").write_bytes(b"")
    (bad / "broken.jsonl").write_text('{"text": "Der Stadtrat beschloss am Montag einen neuen Radweg entlang '
                                      'des Flusses."}\n{not json\n', encoding="utf-8")
    return [str(EXAMPLES), str(bad)]


def _flow_runs_for(client, out: Path | str):
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["news-ingest"])))
    return [r for r in runs if r.parameters.get("out") == str(out)]


def _artifacts(client, flow_run_id) -> dict:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    arts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a for a in arts}


def _counts(artifact) -> dict[tuple[str, str], int]:
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    return {(r["section"], r["item"]): r["count"] for r in rows}


def _section(counts: dict, section: str) -> dict[str, int]:
    return {item: n for (s, item), n in counts.items() if s == section}


def _table(path: Path | str, filesystem=None):
    return ds.dataset(str(path), format="parquet", partitioning="hive", filesystem=filesystem).to_table()


@pytest.fixture(scope="module")
def default_run(api_env, corpus, tmp_path_factory):
    """The flow through the CLI on the default runner (local process pool), against the server."""
    out = tmp_path_factory.mktemp("default") / "out"
    started = time.monotonic()
    r = run_cli("run", *corpus, "--out", str(out), "--json", "--batch-size", str(BATCH), "--workers", "2",
                env=api_env)
    print(f"default-runner CLI run: {time.monotonic() - started:.1f}s", file=sys.stderr)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, json.loads(r.stdout)


# --- tests -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_flow_run_on_server_reports_state_artifacts_and_logs(default_run, client, api_env, corpus):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    out, summary = default_run
    runs = _flow_runs_for(client, out)
    assert len(runs) == 1
    run = runs[0]
    assert run.state.is_completed(), run.state
    assert run.parameters["batch_size"] == BATCH and run.parameters["workers"] == 2
    assert re.fullmatch(r"ingest examples\+bad\d* -> out", run.name), run.name  # from the sources, not random

    arts = _artifacts(client, run.id)
    assert set(arts) == {"news-ingest-counts", "news-ingest-summary", "news-ingest-output"}
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in arts)

    # the counts table matches the Parquet
    counts = _counts(arts["news-ingest-counts"])
    articles, rejects = _table(out / "articles"), _table(out / "rejects")
    rows = articles.select(["language", "translation_status", "story_id", "duplicate_level",
                            "is_mixed_language"]).to_pylist()
    assert counts[("run", "articles written (new)")] == articles.num_rows == summary["articles_new"] > 0
    assert counts[("run", "rejects")] == rejects.num_rows == summary["rejects"] > 0
    assert counts[("run", "inputs")] == articles.num_rows + rejects.num_rows
    assert _section(counts, "language") == dict(Counter(r["language"] for r in rows))
    assert _section(counts, "translation") == dict(Counter(r["translation_status"] for r in rows))
    assert counts[("mixed-language", "documents with a segment in another language")] == sum(
        r["is_mixed_language"] for r in rows)
    merges = _table(out / "story_merges").to_pylist() if (out / "story_merges").exists() else []
    current = {m["story_id"]: m["current_story_id"] for m in merges}  # stories that merged in the run count once
    assert counts[("stories", "stories")] == len({current.get(r["story_id"], r["story_id"]) for r in rows})
    assert _section(counts, "duplicates") == dict(Counter(r["duplicate_level"] for r in rows if r["duplicate_level"]))
    assert _section(counts, "reject") == dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects.to_pylist()))

    # where the Parquet was written
    assert (out / "articles").as_uri() in arts["news-ingest-output"].data
    markdown = arts["news-ingest-summary"].data
    assert f"{out}/articles/" in markdown and "## Rejects by reason" in markdown
    assert all(f"`{reason}`" in markdown for reason in _section(counts, "reject"))

    # batches, not articles, are the unit of work
    task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    names = Counter(t.name.split("-batch-")[0] for t in task_runs)
    assert names["process"] == names["commit"] == _batches(corpus) > 1
    # ... named by batch number and counts, tagged by the kinds of input they hold
    assert any(re.fullmatch(r"process-batch-001: \d+ inputs", t.name) for t in task_runs), [t.name for t in task_runs]
    assert any(re.fullmatch(r"commit-batch-001: \d+ documents", t.name) for t in task_runs)
    assert all(any(tag.startswith("kind:") for tag in t.tags) for t in task_runs if t.name.startswith("process-"))
    # the Parquet's run_id is the flow run's id
    assert set(articles.column("run_id").to_pylist()) == {str(run.id)} == {summary["run_id"]}
    assert all(t.state.is_completed() for t in task_runs)

    # the library's log records reach the flow run's logs
    logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert any(log.name == "ingest.runtime.pipeline" and "writing to" in log.message for log in logs), \
        [(log.name, log.message) for log in logs]
    assert any(log.name == "prefect.flow_runs" and "Finished in state Completed" in log.message for log in logs)
    # ... including those of the worker processes, under the task run that handed them the batch
    batch_logs = [log for log in logs if log.name == "ingest.runtime.batch" and log.message.startswith("batch ")]
    assert len(batch_logs) == _batches(corpus) and all(log.task_run_id for log in batch_logs)
    assert 1 <= len({re.search(r"process (\d+)", log.message).group(1) for log in batch_logs}) <= 2  # --workers 2
    # ... and Prefect has nothing to warn about (e.g. serialising task inputs); warnings about the
    # broken inputs come from the library and are expected
    assert not [(log.name, log.message) for log in logs if log.level >= 30 and not log.name.startswith("ingest")]

    # no task results (article payloads or otherwise) in Prefect's local result storage
    storage = Path(api_env["PREFECT_HOME"]) / "storage"
    assert not storage.exists() or not any(storage.iterdir())


@pytest.mark.slow
def test_dask_runner_writes_the_same_rows_as_the_default_runner(default_run, corpus, api_env, client, tmp_path):
    out_default, _ = default_run
    out = tmp_path / "dask"
    started = time.monotonic()
    r = run_cli("run", *corpus, "--out", str(out), "--json", "--batch-size", str(BATCH), "--workers", "2",
                "--task-runner", "dask", env=api_env)
    print(f"dask CLI run: {time.monotonic() - started:.1f}s", file=sys.stderr)
    assert r.returncode == 0, r.stderr[-3000:]
    [run] = _flow_runs_for(client, out)
    assert run.state.is_completed() and run.parameters["task_runner"] == "dask"

    def key_rows(path, columns):
        return sorted(tuple(row.values()) for row in _table(path).select(columns).to_pylist())

    cols = ["article_id", "story_id", "language", "translation_status", "duplicate_of"]
    assert key_rows(out / "articles", cols) == key_rows(out_default / "articles", cols)
    assert key_rows(out / "rejects", ["reject_id", "reason"]) == key_rows(out_default / "rejects", ["reject_id", "reason"])


@pytest.mark.slow
def test_serve_runs_on_an_interval_without_duplicates(api_env, client, tmp_path):
    out = tmp_path / "served"
    log = open(tmp_path / "serve.log", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "flows", "serve", str(EXAMPLES), "--out", str(out),
                             "--interval", "5", "--name", "test-serve", "--task-runner", "threads"],
                            cwd=ROOT, env={**os.environ, **api_env}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        done = []
        while len(done) < 2:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() - started < 180, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(2)
            runs = _flow_runs_for(client, out)
            assert not [r for r in runs if r.state.is_final() and not r.state.is_completed()], \
                (tmp_path / "serve.log").read_text()[-3000:]
            done = sorted((r for r in runs if r.state.is_completed()), key=lambda r: r.start_time)
        print(f"serve: two scheduled runs completed after {time.monotonic() - started:.1f}s", file=sys.stderr)
    finally:
        code = _stop(proc, group=False)  # as a service manager would: the serve process only
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]

    deployment = client.read_deployment_by_name("news-ingest/test-serve")
    assert all(r.deployment_id == deployment.id for r in done)
    assert deployment.paused  # the schedule is paused when serving stops

    table = _table(out / "articles")
    ids = table.column("article_id").to_pylist()
    assert len(ids) == len(set(ids)) > 0
    first, second = (_counts(_artifacts(client, r.id)["news-ingest-counts"]) for r in done[:2])
    assert first[("run", "articles written (new)")] == len(ids)
    assert second[("run", "articles written (new)")] == 0
    # a scheduled rerun skips the files whose content this output holds: nothing loaded again
    assert second[("run", "inputs unchanged (skipped)")] == _planned([str(EXAMPLES)])
    assert second[("run", "inputs")] == 0


@pytest.mark.slow
def test_prefect_deploy_with_a_process_work_pool(api_env, client, tmp_path):
    """prefect.yaml at the root: `prefect deploy --all` creates the deployment, a process worker runs it."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    env = {**os.environ, **api_env}

    def prefect(*args, timeout=120):
        r = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=timeout)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return r

    prefect("work-pool", "create", "--type", "process", "news")
    prefect("--no-prompt", "deploy", "--all")
    deployment = client.read_deployment_by_name("news-ingest/examples-hourly")
    assert deployment.entrypoint == "flows/ingest_flow.py:ingest_flow"
    assert deployment.work_pool_name == "news" and deployment.schedules

    out = tmp_path / "deployed"
    flow_run = client.create_flow_run_from_deployment(
        deployment.id, parameters={"out": str(out), "task_runner": "threads"})
    prefect("worker", "start", "--pool", "news", "--run-once", timeout=180)
    [run] = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    assert run.state.is_completed(), run.state
    counts = _counts(_artifacts(client, run.id)["news-ingest-counts"])
    assert counts[("run", "articles written (new)")] == _table(out / "articles").num_rows > 0


@pytest.mark.slow
def test_s3_output_through_moto_server(api_env, tmp_path):
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
        fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=aws["AWS_ENDPOINT_URL"])
        fs.mkdir("news-bucket")
        args = ["run", str(EXAMPLES), "--out", "s3://news-bucket/news", "--json", "--state-dir", str(tmp_path / "state"),
                "--task-runner", "threads"]
        first = run_cli(*args, env={**api_env, **aws})
        assert first.returncode == 0, first.stderr[-3000:]
        second = run_cli(*args, env={**api_env, **aws})
        assert second.returncode == 0, second.stderr[-3000:]
        s1, s2 = json.loads(first.stdout), json.loads(second.stdout)
        assert s1["output"] == "s3://news-bucket/news"
        fs.invalidate_cache()
        table = _table("news-bucket/news/articles", filesystem=fs)
        assert table.num_rows == s1["articles_new"] > 0
        assert s2["articles_new"] == 0 and s2["articles_existing"] == s1["articles_new"]
        assert not fs.exists("news-bucket/news/_staging") or not fs.find("news-bucket/news/_staging")
    finally:
        server.stop()


def test_retries_are_for_io_errors_only():
    from prefect.states import Failed

    from flows.ingest_flow import commit_batch, process_batch, retry_on_io_error

    assert retry_on_io_error(None, None, Failed(data=ConnectionResetError("peer reset")))
    assert retry_on_io_error(None, None, Failed(data=TimeoutError("slow store")))
    assert not retry_on_io_error(None, None, Failed(data=ValueError("a bug fails again")))
    assert process_batch.retries >= 1 and process_batch.retry_condition_fn is retry_on_io_error
    assert commit_batch.retry_condition_fn is retry_on_io_error
    for t in (process_batch, commit_batch):
        assert t.persist_result is False


def test_serve_usage_errors_are_one_line(tmp_path):
    r = run_cli("serve", str(EXAMPLES), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--cron" in r.stderr
    r = run_cli("serve", str(EXAMPLES), "--out", str(tmp_path / "o"), "--cron", "every day")
    assert r.returncode == 1 and "invalid schedule" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("serve", str(EXAMPLES), "--out", str(tmp_path / "o"), "--interval", "60",
                env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert r.returncode == 1 and "not reachable" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("serve", "--help")
    assert r.returncode == 0 and "news-ingest serve" in r.stdout and "--interval" in r.stdout


def test_a_retried_commit_writes_every_row(tmp_path, monkeypatch):
    from ingest.output.storage import Storage
    from ingest.runtime import pipeline
    from ingest.settings import Settings

    run = pipeline.Pipeline(Settings(out=str(tmp_path / "out"), workers=1, translate=False, progress=False))
    run.start()
    try:
        [batch] = list(run.batches([str(EXAMPLES / "text")]))
        result = pipeline.process_batch(batch, run.settings, run.run_id)
        write = Storage.write_table
        failures = []

        def flaky(self, table, relpath, *args, **kwargs):
            if relpath.startswith("articles/") and not failures:
                failures.append(relpath)
                raise ConnectionResetError("transient failure of the output store")
            return write(self, table, relpath, *args, **kwargs)

        monkeypatch.setattr(Storage, "write_table", flaky)
        with pytest.raises(OSError):
            run.commit(result)
        run.commit(result)  # what a task retry does
        summary = run.finish()
    finally:
        run.close()
    assert failures
    assert _table(tmp_path / "out" / "articles").num_rows == summary.articles_new == len(batch.items)
