"""Issue 9: crash safety.  A run killed at any moment leaves no corrupt or partial file readable;
the next run loses nothing and duplicates nothing.

``test_sigkill_of_the_cli_mid_run`` kills the real CLI (Prefect flow, thread task runner) with
SIGKILL; the parametrised test kills a library run at chosen points (half-way through writing a
staged or a final file, right after a final file, before the state commit) to cover every window
deterministically."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ingest.runtime.pipeline import run_pipeline
from ingest.settings import Settings
from tests.conftest import ROOT, run_cli
from tests.hostile import CLI_ENV, write_articles


def _visible_parquet(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.parquet")
            if not any(part.startswith((".", "_")) for part in p.relative_to(out).parts)]


def _ids(out: Path, kind: str = "articles", column: str = "article_id") -> list[str]:
    if not (out / kind).exists() or not _visible_parquet(out / kind):
        return []
    return ds.dataset(out / kind, format="parquet", partitioning="hive").to_table(columns=[column]) \
        .column(column).to_pylist()


def _assert_readable(out: Path) -> None:
    """What a reader sees is whole: every visible file opens, the datasets read."""
    for path in _visible_parquet(out):
        pq.read_table(path)
    for kind in ("articles", "rejects"):
        if (out / kind).exists():
            ds.dataset(out / kind, format="parquet", partitioning="hive").to_table()


def _assert_clean_and_complete(out: Path, clean: Path) -> None:
    _assert_readable(out)
    ids = _ids(out)
    assert len(ids) == len(set(ids)), "an article was written twice"
    assert set(ids) == set(_ids(clean)), "an article was lost (or invented)"
    rejects = _ids(out, "rejects", "reject_id")
    assert len(rejects) == len(set(rejects)) and set(rejects) == set(_ids(clean, "rejects", "reject_id"))
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "temporary files left behind"
    assert not (out / "_staging").exists()


# --- the real CLI, killed with SIGKILL -----------------------------------------------------------

def test_sigkill_of_the_cli_mid_run_then_rerun(tmp_path):
    src = tmp_path / "in"
    write_articles(src, 200)
    (src / "empty.txt").write_text("")
    out = tmp_path / "out"
    args = ["run", str(src), "--out", str(out), "--workers", "1", "--batch-size", "5", "--no-translate"]
    proc = subprocess.Popen([sys.executable, "-m", "flows", *args, "-q"], cwd=ROOT, env={**os.environ, **CLI_ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "articles").exists() and _visible_parquet(out / "articles"):
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]!r}"
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and whatever it started (Prefect's server)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    _assert_readable(out)
    written_before = _ids(out)
    assert 0 < len(written_before) < 200, "the kill did not land mid-run"
    assert len(written_before) == len(set(written_before))

    rerun = run_cli(*args, "--json", timeout=300, env=CLI_ENV)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads(rerun.stdout)
    assert summary["inputs"] == summary["articles"] + summary["rejects"] == 201
    assert summary["articles_existing"] == len(written_before)
    assert summary["articles_new"] == 200 - len(written_before)

    clean = tmp_path / "clean"
    run_pipeline([str(src)], Settings(out=str(clean), workers=1, batch_size=5, translate=False))
    _assert_clean_and_complete(out, clean)


# --- a library run killed at chosen points ----------------------------------------------------

CRASH_SCRIPT = r"""
import os, posixpath, sys, uuid
from ingest.runtime import pipeline
from ingest.output import storage
from ingest.settings import Settings

point, k, src, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
real = storage.Storage.write_table
count = {"staged": 0, "final": 0}

def write_table(self, table, relpath, row_group_size=50_000):
    kind = "staged" if relpath.startswith("_staging") else "final"
    count[kind] += 1
    if point == kind and count[kind] == k:  # die half-way through writing this file
        final = self.path(relpath)
        os.makedirs(posixpath.dirname(final), exist_ok=True)
        tmp = posixpath.join(posixpath.dirname(final), "." + posixpath.basename(final) + "." + uuid.uuid4().hex[:8] + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(b"PAR1" + b"\0" * 100)
        os._exit(137)
    result = real(self, table, relpath, row_group_size)
    if point == "after-" + kind and count[kind] == k:
        os._exit(137)
    return result

storage.Storage.write_table = write_table
if point == "finish":
    pipeline.Pipeline.finish = lambda self: os._exit(137)
pipeline.run_pipeline([src], Settings(out=out, workers=1, batch_size=3, translate=False))
os._exit(3)  # the crash point was never reached
"""


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    src = base / "in"
    write_articles(src, 14)
    (src / "empty.txt").write_text("")
    (src / "broken.jsonl").write_text('{"text": "Ein kurzer Bericht über das Wetter."}\n{nope\n', encoding="utf-8")
    clean = base / "clean"
    run_pipeline([str(src)], Settings(out=str(clean), workers=1, batch_size=3, translate=False))
    return src, clean


@pytest.mark.parametrize("point,k", [("staged", 3), ("final", 1), ("final", 4), ("after-final", 2),
                                     ("after-final", 5), ("finish", 0)])
def test_killed_at_any_point_then_rerun(crash_corpus, tmp_path, point, k):
    src, clean = crash_corpus
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, point, str(k), str(src), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    _assert_readable(out)  # the half-written file is hidden: no reader sees it
    if point in ("staged", "final"):
        assert [p for p in out.rglob("*.tmp")], "the simulated half-written file should exist"
    before = _ids(out)
    assert len(before) == len(set(before))

    summary = run_pipeline([str(src)], Settings(out=str(out), workers=1, batch_size=3, translate=False))
    assert summary.balanced and summary.articles_existing == len(before)
    _assert_clean_and_complete(out, clean)
