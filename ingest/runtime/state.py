"""Run-level state: the output lock and applying state updates after a run's rows are written."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ingest.records import StateUpdate

logger = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """Another run is writing to the same output."""


class RunLock:
    """An exclusive, crash-safe lock (flock: released by the OS when the process dies)."""

    def __init__(self, directory: str, name: str = "run.lock") -> None:
        self.path = Path(directory) / name
        self._fh = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            holder = _holder(self.path)
            raise RunLockedError(f"another run{holder} is writing to this output (lock {self.path} is held); "
                                 "wait for it to finish") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def apply_state_updates(state_dir: str, updates: list[StateUpdate]) -> None:
    """Record fetch state (feed validators, URLs done).  Called only after the rows are written."""
    try:
        from ingest.sources.fetch_state import FetchState
    except ImportError:  # fetching not available: nothing records state
        logger.debug("no fetch state module; %d state updates ignored", len(updates))
        return
    FetchState(state_dir).apply(updates)
