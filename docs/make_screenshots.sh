#!/usr/bin/env bash
# Regenerate the Prefect UI screenshots in docs/img/ from a real run against a local server.
#   docs/make_screenshots.sh            (needs: chromium from Debian's packages, the project's venv active)
# Starts `prefect server start` on a free port with a throw-away PREFECT_HOME, runs
# `news-ingest run` on examples/ plus three broken inputs, screenshots the run's Artifacts tab and
# two artifacts, the run's task runs and a deployment's custom-run form with headless Chromium,
# then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
work="$(mktemp -d)"
port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PREFECT_HOME="$work/home" PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_API_URL="http://127.0.0.1:$port/api" PREFECT_UI_API_URL="http://127.0.0.1:$port/api"

setsid "$PY" -m prefect server start --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill -TERM -- -"$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 180); do
  curl -sf "$PREFECT_API_URL/health" >/dev/null && break
  sleep 1
done

mkdir -p "$work/bad"
: >"$work/bad/empty.txt"
printf '{"text": "Der Stadtrat beschloss am Montag einen neuen Radweg entlang des Flusses."}\n{not json\n' \
  >"$work/bad/broken.jsonl"
"$PY" -c 'import gzip,sys; d=gzip.compress(b"<html><body><p>"+b"Plain news text. "*30+b"</p></body></html>"); open(sys.argv[1],"wb").write(d[:len(d)//2])' \
  "$work/bad/truncated.html.gz"
"$PY" -m flows run examples "$work/bad" --out "$work/out/news" --batch-size 4 -q

read -r run_id counts_id summary_id < <("$PY" - <<'PY'
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
with get_client(sync_client=True) as c:
    run = c.read_flow_runs(limit=1)[0]
    arts = {a.key: a.id for a in c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))}
    print(run.id, arts["news-ingest-counts"], arts["news-ingest-summary"])
PY
)

shot() {  # shot FILE URL WIDTH,HEIGHT
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d -p "$work")" --virtual-time-budget=15000 --hide-scrollbars \
    --screenshot="$1" --window-size="$3" "$2" 2>/dev/null
}
mkdir -p docs/img
ui="http://127.0.0.1:$port/v2"
shot docs/img/artifacts.png "$ui/runs/flow-run/$run_id?tab=Artifacts" 1400,1000
shot docs/img/artifact-counts.png "$ui/artifacts/artifact/$counts_id" 1400,1000
shot docs/img/artifact-summary.png "$ui/artifacts/artifact/$summary_id" 1400,1600
# a deployment with prefect.yaml's parameters: its custom-run form shows the typed fields
dep_id="$("$PY" - <<'PY'
import yaml
from flows.ingest_flow import ingest_flow
[spec] = yaml.safe_load(open("prefect.yaml"))["deployments"]
print(ingest_flow.to_deployment(name=spec["name"], parameters=spec["parameters"],
                                description=spec["description"]).apply())
PY
)"
shot docs/img/custom-run.png "$ui/deployments/deployment/$dep_id/run" 1400,2200
shot docs/img/task-runs.png "$ui/runs/flow-run/$run_id?tab=TaskRuns" 1400,1000
ls -l docs/img/
