"""Issue 19: Prefect-native operation: typed parameters validated by the server, readable runs,
events and an automation on an all-rejects run, unchanged inputs skipped on a rerun."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

from tests.conftest import ROOT
from tests.test_orchestration import prefect_server  # noqa: F401 - the module's server fixture

EXAMPLES = ROOT / "examples"


def _table(path):
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table()


# --- without a server ---------------------------------------------------------------------------

def test_prefect_yaml_passes_every_parameter_the_cli_defaults_imply():
    from flows.cli import build_parser
    from flows.cli_options import settings_from_args
    from flows.ingest_flow import TOP_LEVEL, flow_parameters, ingest_flow

    [deployment] = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    params = deployment["parameters"]
    flow_params = set(ingest_flow.parameters.properties)
    assert set(params) == flow_params  # every parameter, none unknown
    args = build_parser().parse_args(["run", "examples", "--out", "out/scheduled"])
    cli = flow_parameters(settings_from_args(args, environ={}))
    for name in TOP_LEVEL:
        if name in ("workers", "skip_unchanged", "argos_packages_dir"):
            continue  # null: resolved where the flow runs (CPUs, ARGOS_PACKAGES_DIR); scheduled runs skip
        assert params[name] == cli[name], name
    assert params["workers"] is None and params["argos_packages_dir"] is None and params["skip_unchanged"] is True
    assert params["settings"] == cli["settings"] == {}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "chown app:app /app/out" in dockerfile and "VOLUME /app/out" in dockerfile
    assert params["out"].startswith("out/")  # relative to /app in the image: the writable volume


def test_flow_parameter_defaults_are_the_settings_defaults():
    from flows.ingest_flow import TOP_LEVEL, ingest_flow
    from ingest.settings import Settings

    defaults = Settings()
    props = ingest_flow.parameters.properties
    for name in TOP_LEVEL:
        if name not in ("workers", "skip_unchanged"):  # workers: null (CPUs); deployments skip unchanged inputs
            assert props[name]["default"] == getattr(defaults, name), name
    assert props["skip_unchanged"]["default"] is True


def test_parameters_validate_when_the_flow_is_loaded_from_its_entrypoint(monkeypatch):
    """As a worker or runner loads it (``prefect.engine``): the typed parameters must resolve there."""
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)
    loaded = load_flow_from_entrypoint("flows/ingest_flow.py:ingest_flow")
    params = loaded.validate_parameters({"sources": ["examples"], "workers": 2, "settings": {"progress": False}})
    assert params["workers"] == 2 and params["settings"].progress is False and params["task_runner"] == "local"
    with pytest.raises(Exception, match="workers"):
        loaded.validate_parameters({"sources": ["examples"], "workers": 0})


def test_task_run_names_and_tags_say_which_batch():
    from flows.ingest_flow import batch_tags
    from ingest.runtime.batch import Batch
    from ingest.sources.loaders import WorkItem

    batch = Batch(7, [WorkItem("html", "/data/a.html"), WorkItem("feed", "https://news.example.org/rss"),
                      WorkItem("url", "https://news.example.org/a"), WorkItem("url", "http://other.example/b")])
    assert batch_tags(batch) == ["kind:feed", "kind:html", "kind:url", "host:news.example.org", "host:other.example"]


def _count_extractions(monkeypatch) -> list[str]:
    from ingest.runtime import batch as batch_mod

    calls: list[str] = []
    real = batch_mod.extract_mod.extract

    def counting(article, settings):
        calls.append(article.source_uri)
        return real(article, settings)

    monkeypatch.setattr(batch_mod.extract_mod, "extract", counting)
    return calls


def test_a_rerun_over_unchanged_files_processes_no_document(tmp_path, monkeypatch):
    import shutil

    from ingest.runtime.pipeline import run_pipeline
    from ingest.settings import Settings

    src = tmp_path / "src"
    for part in ("text", "html"):  # a small corpus: this machine is slow
        shutil.copytree(EXAMPLES / part, src / part)
    settings = Settings(out=str(tmp_path / "out"), workers=1, translate=False, progress=False, skip_unchanged=True,
                        batch_size=4)
    calls = _count_extractions(monkeypatch)
    started = time.monotonic()
    first = run_pipeline([str(src)], settings)
    first_s = time.monotonic() - started
    assert calls and first.articles_new > 0 and first.inputs_unchanged == 0
    documents = len(calls)
    rows = _table(tmp_path / "out" / "articles").num_rows

    calls.clear()
    started = time.monotonic()
    second = run_pipeline([str(src)], settings)
    second_s = time.monotonic() - started
    print(f"first run {first_s:.2f}s, rerun over unchanged files {second_s:.2f}s")
    assert calls == []  # no document loaded and extracted again
    assert second.inputs == second.articles_new == second.articles_existing == 0
    assert second.inputs_unchanged == first.planned_items
    assert _table(tmp_path / "out" / "articles").num_rows == rows

    # a changed file is processed again; so is every file under settings that shape other rows
    changed = next(p for p in sorted((src / "text").iterdir()) if p.is_file())
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA new closing sentence about the harbour.\n",
                       encoding="utf-8")
    third = run_pipeline([str(src)], settings)
    assert len(calls) == 1 and third.inputs == 1 and third.inputs_unchanged == first.planned_items - 1
    calls.clear()
    run_pipeline([str(src)], settings.replace(target_language="de"))
    assert len(calls) == documents
    # off: the library's default re-derives every row (and writes none twice)
    calls.clear()
    started = time.monotonic()
    again = run_pipeline([str(src)], settings.replace(skip_unchanged=False))
    print(f"rerun over unchanged files without skip_unchanged {time.monotonic() - started:.2f}s")
    assert calls and again.articles_new == 0 and again.inputs_unchanged == 0


# --- against a real server ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(prefect_server):  # noqa: F811 - the fixture imported above
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server}):
        yield prefect_server


@pytest.fixture(scope="module")
def client(api):
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api) as c:
        yield c


@pytest.mark.slow
def test_deployment_parameters_are_typed_merged_and_validated_by_the_server(client, tmp_path):
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.ingest_flow import ingest_flow

    [spec] = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    deployment_id = ingest_flow.to_deployment(name="typed", parameters=spec["parameters"]).apply()
    deployment = client.read_deployment(deployment_id)
    schema = deployment.parameter_openapi_schema
    props = schema["properties"]
    assert deployment.enforce_parameter_schema
    assert all(p.get("description") for p in props.values()), [n for n, p in props.items() if not p.get("description")]
    assert props["offline"]["type"] == props["translate"]["type"] == "boolean"
    assert props["task_runner"]["enum"] == ["local", "threads", "dask"]
    assert props["language_backend"]["enum"] == ["ensemble", "lingua", "langdetect"]
    assert "int8" in props["compute_type"]["enum"]
    assert {"type": "integer", "minimum": 1} in props["workers"]["anyOf"]
    assert props["batch_size"] == {**props["batch_size"], "type": "integer", "minimum": 1}
    assert props["sources"]["type"] == "array" and props["target_language"]["pattern"]
    advanced = schema["definitions"]["AdvancedSettings"]
    assert advanced["additionalProperties"] is False
    assert advanced["properties"]["story_threshold"]["type"] == "number"

    # one overridden parameter keeps the deployment's others
    run = client.create_flow_run_from_deployment(deployment_id, parameters={"offline": True})
    assert run.parameters["offline"] is True
    assert {k: v for k, v in run.parameters.items() if k != "offline"} == \
        {k: v for k, v in spec["parameters"].items() if k != "offline"}

    # invalid values are refused when the run is created, not inside it
    for bad in ({"workers": "two"}, {"workers": 0}, {"task_runner": "processes"}, {"target_language": "English"},
                {"settings": {"story_treshold": 0.5}}, {"settings": {"max_retries": "many"}}):
        with pytest.raises(PrefectHTTPStatusError) as refused:
            client.create_flow_run_from_deployment(deployment_id, parameters=bad)
        assert 400 <= refused.value.response.status_code < 500, bad


def _events(api: str, name: str, since: float) -> list[dict]:
    import datetime

    import httpx

    occurred = {"since": datetime.datetime.fromtimestamp(since, datetime.timezone.utc).isoformat()}
    r = httpx.post(f"{api}/events/filter", json={"filter": {"event": {"name": [name]}, "occurred": occurred},
                                                 "limit": 50}, timeout=10)
    r.raise_for_status()
    return r.json()["events"]


def _wait_events(api: str, name: str, since: float, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = _events(api, name, since)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.mark.slow
def test_an_all_rejects_run_fails_emits_its_counts_and_fires_the_automation(api, client, tmp_path):
    from prefect.events.schemas.automations import AutomationCore

    from flows.ingest_flow import ALL_REJECTED_EVENT, ingest_flow

    automation = AutomationCore.model_validate(
        yaml.safe_load((ROOT / "docs" / "automations" / "all-rejected.yaml").read_text()))
    automation_id = client.create_automation(automation)
    time.sleep(2)  # the triggers service loads automations when they change

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "broken.jsonl").write_text("{not json\n", encoding="utf-8")
    out = tmp_path / "out"
    since = time.time() - 5
    state = ingest_flow(sources=[str(bad)], out=str(out), task_runner="threads", workers=1, translate=False,
                        settings={"progress": False}, return_state=True)
    assert state.is_failed() and "inputs were rejected" in state.message, state
    run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.state.is_failed() and run.name.startswith("ingest bad -> out")

    # the Parquet's run_id is the Prefect flow run's id
    rejects = _table(out / "rejects")
    assert rejects.num_rows == 2 and set(rejects.column("run_id").to_pylist()) == {str(run.id)}

    [event] = _wait_events(api, ALL_REJECTED_EVENT, since)
    assert event["payload"]["inputs"] == event["payload"]["rejects"] == 2
    assert event["payload"]["articles"] == 0 and event["payload"]["rejects_ratio"] == 1.0
    assert sum(event["payload"]["rejects_by_reason"].values()) == 2
    assert {"prefect.resource.id": f"prefect.flow-run.{run.id}"}.items() <= \
        next(r for r in event["related"] if r["prefect.resource.id"].startswith("prefect.flow-run.")).items()

    fired = [e for e in _wait_events(api, "prefect.automation.triggered", since)
             if e["resource"]["prefect.resource.id"] == f"prefect.automation.{automation_id}"]
    assert fired, "the automation of docs/automations/all-rejected.yaml did not fire"
    print(json.dumps(event["payload"]))


def _processes_of_run(flow_run_id) -> list[str]:
    """Live processes (pid, command line) whose environment names this flow run: its flow-run
    process and whatever it started (pool workers, the fork server), orphaned or not."""
    marker = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name} {command[:120]}")
        except (OSError, ValueError):
            pass
    return found


@pytest.mark.slow
def test_cancelling_runs_through_the_api(api, client, tmp_path):
    """A multi-batch pool run and a one-batch run served by ``news-ingest serve`` are cancelled
    through the API: Cancelled within 10 s, no process left behind; the next run writes every row once."""
    import os
    import subprocess
    import sys

    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.states import Cancelling

    from tests.test_orchestration import _stop

    out = tmp_path / "out"
    log = open(tmp_path / "serve.log", "wb")
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "home"),
           "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "flows", "serve", str(EXAMPLES), "--out", str(out),
                             "--interval", "86400", "--name", "cancel", "--no-translate"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(what, check, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            value = check()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}\n" + (tmp_path / "serve.log").read_text()[-3000:])

    def deployment():
        try:
            return client.read_deployment_by_name("news-ingest/cancel")
        except Exception:  # noqa: BLE001 - not registered yet
            return None

    def task_running(run_id):
        state = client.read_flow_run(run_id).state
        assert not state.is_final(), f"{state}\n" + (tmp_path / "serve.log").read_text()[-3000:]
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        return any(t.name.startswith("process-batch") and t.state and t.state.is_running() for t in runs)

    try:
        dep = wait_for("the deployment", deployment, 180)
        latencies = {}
        for label, params in (("pool", {"task_runner": "local", "workers": 2, "batch_size": 1}),
                              ("one batch", {"task_runner": "threads", "workers": 1})):
            run = client.create_flow_run_from_deployment(dep.id, parameters=params)
            wait_for(f"a running batch of the {label} run", lambda: task_running(run.id), 300)
            time.sleep(1)
            started = time.monotonic()
            client.set_flow_run_state(run.id, Cancelling(message="cancelled by the test"), force=True)
            final = wait_for(f"the {label} run to end", lambda: (r := client.read_flow_run(run.id)).state.is_final() and r,
                             60)
            latencies[label] = time.monotonic() - started
            assert final.state.is_cancelled(), final.state
            time.sleep(2)
            assert _processes_of_run(run.id) == [], label  # no flow-run process, worker or fork server left
        print(f"cancel latency: {latencies}", file=sys.stderr)
        assert all(seconds < 10 for seconds in latencies.values()), latencies

        run = client.create_flow_run_from_deployment(dep.id, parameters={"task_runner": "threads"})
        final = wait_for("the next run", lambda: (r := client.read_flow_run(run.id)).state.is_final() and r, 400)
        assert final.state.is_completed(), final.state
    finally:
        _stop(proc, group=True)
        log.close()
    articles, ids = _table(out / "articles"), None
    ids = articles.column("article_id").to_pylist()
    assert len(ids) == len(set(ids))  # nothing written twice
    rejects = _table(out / "rejects").num_rows if (out / "rejects").exists() else 0
    assert len(ids) + rejects == 10  # examples/: 10 documents (9 files; the .jsonl holds two)
    assert not (out / "_staging").exists() or not any((out / "_staging").iterdir())
