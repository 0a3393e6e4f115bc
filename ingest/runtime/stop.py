"""Stopping a run early, in order: the edge (the CLI's SIGINT/SIGTERM handler) calls
``request_stop()``; ``run_pipeline`` then takes no new work, lets the commit in flight finish,
abandons the batches not yet committed (their inputs are redone by the next run: nothing of them
is written and their fetch state is not recorded), ends the worker processes, and returns the
summary of what was written with ``interrupted`` set."""
from __future__ import annotations

import threading

_stop = threading.Event()


class Interrupted(Exception):
    """A batch was abandoned because the run is stopping (never retried)."""


def request_stop() -> None:
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def reset() -> None:
    """Forget a stop request (a new run in the same process)."""
    _stop.clear()
