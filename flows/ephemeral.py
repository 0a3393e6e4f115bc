"""Prefect's temporary API server for ``news-ingest run``, started at the beginning of the run.

Without a configured API (no ``PREFECT_API_URL``), Prefect starts a temporary server the first
time a flow needs it: it imports its whole server package into the calling process (~1,000
modules) only to launch ``uvicorn`` in a subprocess, then waits for that subprocess to import the
same package again and answer, all of it after the CLI has planned the run, between the flow
call and its first task.  ``start()`` launches the same subprocess, with the same command and
environment as Prefect's ``SubprocessASGIServer`` (checked by ``tests/test_compat.py``), before
this process imports Prefect, and points ``PREFECT_API_URL`` at it: the server boots on the other
core while the CLI imports Prefect and the workers load their models, and the CLI never imports
the server package.  The runs land in the same database (``PREFECT_HOME``) as Prefect's own
temporary server would have used; the server stops when the CLI exits.

Anything that may configure an API elsewhere (``PREFECT_API_URL`` in the environment, a Prefect
profile, ``prefect.toml``, ``.env`` or ``[tool.prefect]`` in ``pyproject.toml`` in the working
directory) leaves Prefect to do as it always does.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}

_process: subprocess.Popen | None = None
_url: str | None = None


def command(port: int) -> list[str]:
    """The command line Prefect's ``SubprocessASGIServer`` runs (prefect 3.8)."""
    spec = importlib.util.find_spec("prefect")
    app_dir = Path(next(iter(spec.submodule_search_locations))).parent
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on"]


def _configured_elsewhere() -> bool:
    env = os.environ
    if env.get("PREFECT_API_URL") or env.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "").lower() in ("0", "false"):
        return True
    home = Path(env.get("PREFECT_HOME") or "~/.prefect").expanduser()
    files = [Path(env.get("PREFECT_PROFILES_PATH") or home / "profiles.toml"), Path("prefect.toml"), Path(".env")]
    for path in files:
        try:
            if "PREFECT_API" in path.read_text(errors="replace").upper() or path.name == "prefect.toml":
                return True
        except OSError:
            continue
    try:
        return "[tool.prefect" in Path("pyproject.toml").read_text(errors="replace")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process (Linux): end it when the CLI ends in any way, SIGKILL included,
    so that no server outlives its run (Prefect's own temporary server does when its parent is
    killed: it stops it only at a normal exit)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start() -> bool:
    """Start the temporary server now and set ``PREFECT_API_URL`` (True), or leave it to Prefect
    (False).  Call before Prefect is imported."""
    global _process, _url
    if _process is not None or "prefect" in sys.modules or _configured_elsewhere():
        return False
    if importlib.util.find_spec("uvicorn") is None:
        return False
    port = _free_port()
    try:
        # a session of its own: a Ctrl-C to the CLI's process group must not kill it mid-run (the CLI
        # stops it); the parent-death signal ends it when the CLI dies however it dies
        _process = subprocess.Popen(command(port), env={**os.environ, **SERVER_ENV}, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    except OSError:
        return False
    _url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = _url
    atexit.register(stop)
    return True


def wait_ready(timeout: float | None = None) -> None:
    """Wait until the server answers (no-op when ``start`` did not start one)."""
    if _process is None:
        return
    limit = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _process.poll() is not None:
            raise RuntimeError(f"Prefect's temporary API server exited with code {_process.returncode}")
        try:
            with urllib.request.urlopen(f"{_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"Prefect's temporary API server did not answer within {limit:g} s")


def stop() -> None:
    """Stop the server (idempotent; also at exit), as Prefect stops its own."""
    global _process
    process, _process = _process, None
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if os.environ.get("PREFECT_API_URL") == _url:
        del os.environ["PREFECT_API_URL"]
