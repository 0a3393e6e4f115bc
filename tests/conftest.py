"""Shared fixtures.  ``shared_dir`` is ``../shared`` beside the checkout; tests that need it skip
cleanly when it is absent (a fresh clone has none)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Isolate Prefect from the user's ~/.prefect (its SQLite database, settings) for the whole session,
# including CLI subprocesses that inherit the environment.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="news-ingest-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# NEWS_INGEST_NO_SHARED=1 runs the suite as a fresh clone would (without ../shared), e.g. to check
# that the translation tests then build their own tiny models instead of skipping
NO_SHARED_ENV = "NEWS_INGEST_NO_SHARED"


def shared_available() -> bool:
    return SHARED.is_dir() and os.environ.get(NO_SHARED_ENV, "") in ("", "0")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not shared_available():
        pytest.skip("../shared is absent (fresh clone): skipping tests on shared corpora")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir: Path) -> Path:
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is absent")
    return seeds


def run_cli(*args: str, timeout: float = 300, env: dict | None = None):
    """Run ``python -m flows ARGS`` in a subprocess; returns the CompletedProcess."""
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "flows", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
