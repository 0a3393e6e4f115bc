"""Issue 18, a good citizen, with real processes: Ctrl-C stops a run in order (exit 130, summary,
exact rows, a rerun completes the rest), a SIGKILLed CLI leaves no process behind, two worker
processes keep one request rate per host, bad options exit 2 naming the flag.

Servers on 127.0.0.1 only; every wait is bounded."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.dataset as ds
import pytest

from tests.conftest import ROOT, run_cli
from tests.hostile import CLI_ENV, html_page
from tests.httpserver import LocalServer, Reply

START_S = 300  # Prefect's start-up on a loaded 2-core machine: generous, still bounded
FAST = ["--no-translate", "--language-backend", "langdetect", "--allow-private-addresses", "--per-host-rate", "0"]


def _ids(out: Path) -> list[str]:
    files = [p for p in (out / "articles").rglob("*.parquet")] if (out / "articles").exists() else []
    if not files:
        return []
    return ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table(
        columns=["article_id"]).column("article_id").to_pylist()


def _committed(out: Path) -> bool:
    return (out / "articles").exists() and any((out / "articles").rglob("*.parquet"))


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows", *args], cwd=ROOT, env={**os.environ, **CLI_ENV},
                            stdout=open(tmp_path / "stdout.txt", "w"), stderr=open(tmp_path / "stderr.txt", "w"),
                            start_new_session=True)  # a process group of its own, as a terminal's job


def _wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(step)
    return False


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture()
def slow_site():
    """40 article pages, each answered after 0.4 s: a run of them lasts long enough to interrupt."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(status=404, content_type="text/plain"))
        for i in range(40):
            server.route(f"/news/{i}.html", Reply(body=html_page(f"Harbour report number {i}").encode(), delay=0.4))
        yield server


def test_ctrl_c_stops_in_order_then_a_rerun_completes(slow_site, tmp_path):
    urls = [slow_site.url(f"/news/{i}.html") for i in range(40)]
    out = tmp_path / "out"
    args = ["run", *urls, "--out", str(out), "--workers", "2", "--batch-size", "2", "--json", *FAST]
    proc = _start(args, tmp_path)
    try:
        assert _wait_for(lambda: _committed(out), START_S, proc), (tmp_path / "stderr.txt").read_text()[-3000:]
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group
        sent = time.monotonic()
        proc.wait(30)
        elapsed = time.monotonic() - sent
    finally:
        _kill_group(proc)
        proc.wait(30)
    stderr = (tmp_path / "stderr.txt").read_text()
    print(f"exit {proc.returncode} {elapsed:.2f} s after SIGINT at {time.strftime('%H:%M:%S')}\n{stderr}")
    assert proc.returncode == 130, stderr[-3000:]
    assert elapsed < 10, elapsed
    assert len(stderr.splitlines()) <= 5, stderr[-3000:]  # no traceback, no retry chatter
    summary = json.loads((tmp_path / "stdout.txt").read_text())
    assert summary["interrupted"] is True
    written = _ids(out)
    assert 0 < len(written) < 40, "the interrupt did not land mid-run"
    assert summary["articles_new"] == len(written) == len(set(written))  # the summary is what is on disk
    assert not (out / "_state" / "run.lock").exists() or _lock_free(out / "_state" / "run.lock")

    rerun = run_cli(*[a for a in args if a != "--json"], "--json", timeout=START_S + 120, env=CLI_ENV)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = json.loads(rerun.stdout)
    assert again["interrupted"] is False
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 40  # the rest, and nothing twice
    assert again["articles_new"] == 40 - len(written)


def _lock_free(path: Path) -> bool:
    import fcntl

    with open(path) as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_sigkill_of_the_cli_leaves_no_process_behind(slow_site, tmp_path):
    urls = [slow_site.url(f"/news/{i}.html") for i in range(40)]
    out = tmp_path / "out"
    proc = _start(["run", *urls, "--out", str(out), "--workers", "2", "--batch-size", "2", "-q", *FAST], tmp_path)
    cli = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {}

    def started() -> bool:  # the fork server, two workers, the resource tracker, Prefect's server
        for child in cli.children(recursive=True):
            seen.setdefault(child.pid, child)
        lines = " ".join(" ".join(p.cmdline()) for p in seen.values() if p.is_running())
        return _committed(out) and "uvicorn" in lines and "forkserver" in lines and len(seen) >= 5

    try:
        assert _wait_for(started, START_S, proc, step=0.2), (
            (tmp_path / "stderr.txt").read_text()[-3000:], [p.cmdline() for p in seen.values()])
        for child in cli.children(recursive=True):
            seen.setdefault(child.pid, child)
        proc.send_signal(signal.SIGKILL)  # the CLI alone, as the out-of-memory killer would
        proc.wait(30)
        deadline = time.monotonic() + 10
        alive = list(seen.values())
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            time.sleep(0.2)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        for p in seen.values():
            try:
                p.kill()
            except psutil.Error:
                pass
        _kill_group(proc)


def test_two_workers_keep_one_rate_per_host(tmp_path):
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
        for feed in ("world", "local"):
            items = "".join(f"<item><title>{feed} story {i}</title><link>{server.url(f'/{feed}/{i}.html')}</link>"
                            f"<description>Short {feed} story {i}.</description></item>" for i in range(5))
            server.route(f"/{feed}.xml", Reply(body=f"<rss version='2.0'><channel><title>{feed}</title>{items}"
                                                   "</channel></rss>".encode(), content_type="application/rss+xml"))
            for i in range(5):
                server.route(f"/{feed}/{i}.html", Reply(body=html_page(f"{feed} story number {i}").encode()))
        out = tmp_path / "out"
        result = run_cli("run", server.url("/world.xml"), server.url("/local.xml"), "--out", str(out), "--workers", "2",
                         "--batch-size", "1", "--json", "--no-translate", "--language-backend", "langdetect",
                         "--allow-private-addresses", "--per-host-rate", "2", timeout=START_S + 120, env=CLI_ENV)
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads(result.stdout)
        # (once seen with 5 under a loaded CI machine, not reproduced: the summary, the log and the
        # server's requests say which feed or pages went missing and why)
        t0 = min(r.at for r in server.requests)
        assert summary["articles"] == 10, (summary, result.stderr[-3000:],
                                           [(round(r.at - t0, 3), r.path) for r in server.requests])
        worst = server.max_in_window(1.0)
        print(f"most requests in one second: {worst} of {server.total()}")
        assert worst <= 2, [(round(r.at - t0, 3), r.path) for r in sorted(server.requests, key=lambda r: r.at)]
        assert server.count("/robots.txt") == 1  # once for the run, not once per worker


@pytest.mark.parametrize("argv, flag", [
    (["examples/", "--target-language", "english"], "--target-language"),
    (["examples/", "--target-language", "zzz"], "--target-language"),
    ([], "SOURCE"),
    (["examples/", "--per-host-rate", "-1"], "--per-host-rate"),
    (["examples/", "--per-host-rate", "nan"], "--per-host-rate"),
    (["examples/", "--per-host-rate", "inf"], "--per-host-rate"),
    (["examples/", "--story-threshold", "1.5"], "--story-threshold"),
    (["examples/", "--extraction-timeout", "0"], "--extraction-timeout"),
    (["examples/", "--workers", "0"], "--workers"),
    (["examples/", "--batch-size", "two"], "--batch-size"),
])
def test_bad_options_exit_2_with_one_line_naming_the_flag(argv, flag, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "flows", "run", *argv, "--out", str(tmp_path / "o")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0], proc.stderr


def test_language_options_are_case_folded():
    from flows.cli import build_parser

    args = build_parser().parse_args(["run", "x", "--out", "o", "--target-language", " DE "])
    assert args.target_language == "de"


def test_a_held_lock_is_one_line_exit_1(tmp_path):
    import fcntl

    (tmp_path / "o" / "_state").mkdir(parents=True)
    with open(tmp_path / "o" / "_state" / "run.lock", "w") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        proc = run_cli("run", "examples/", "--out", str(tmp_path / "o"), timeout=120)
    assert proc.returncode == 1
    assert re.fullmatch(r"news-ingest: error: .*lock .* is held\).*\n", proc.stderr), proc.stderr
