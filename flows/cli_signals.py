"""How ``news-ingest run`` stops when asked, and what it leaves behind (nothing).

- The first SIGINT (Ctrl-C) or SIGTERM asks the run to stop (``ingest.runtime.stop``): no new
  batch starts, the commit in flight finishes, the batches not committed are abandoned (the next
  run redoes them), the workers end; the summary of what was written is printed and the exit
  status is 130 (SIGINT) or 143 (SIGTERM).  Should the run not have ended ``GRACE_S`` seconds
  later (Prefect's API not answering, a batch running in a thread), the summary counted so far is
  printed and the process exits anyway.  A second signal exits at once.
- Prefect's temporary API server (started when no ``PREFECT_API_URL`` is set) runs in a session of
  its own, so the terminal's Ctrl-C does not kill it under the run, and under
  ``flows/supervise.py``, which ends it when the CLI dies, however it dies.  The worker processes
  and their fork server watch their parent themselves (``ingest.runtime.workers``).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from flows.cli_options import EXIT_SIGINT, EXIT_SIGTERM

GRACE_S = 7.0  # after the first signal; the promise is an exit within 10 s
SUPERVISOR = Path(__file__).with_name("supervise.py")


class Stopper:
    """Installs the SIGINT/SIGTERM handlers of a run (use as a context manager)."""

    def __init__(self, print_summary: Callable[[dict[str, Any]], None]) -> None:
        self.print_summary = print_summary
        self.signum: int | None = None
        self.summary = None  # the run's live ingest Summary (set by the progress hook)
        self._timer: threading.Timer | None = None
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT

    def __enter__(self) -> "Stopper":
        from ingest.runtime import stop

        stop.reset()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame) -> None:
        from ingest.runtime import stop

        if self.signum is not None:
            print("news-ingest: stopped at once (second signal); uncommitted batches are redone by the next run",
                  file=sys.stderr, flush=True)
            self._exit_now()
        self.signum = signum
        stop.request_stop()
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        print(f"news-ingest: {name}: stopping after the commit in flight (again to quit at once)",
              file=sys.stderr, flush=True)
        self._timer = threading.Timer(GRACE_S, self._give_up)
        self._timer.daemon = True
        self._timer.start()

    def _give_up(self) -> None:
        """The run did not end in time: report what was written and exit without waiting more."""
        if self.summary is not None:
            self.summary.interrupted = True
            self.summary.finished()
            self.print_summary(self.summary.to_dict())
        print(f"news-ingest: stopped without waiting for the run to end (not ended {GRACE_S:g} s after the "
              "signal; Prefect's API may be gone): its final state is not recorded there",
              file=sys.stderr, flush=True)
        self._exit_now()

    def _exit_now(self) -> None:
        from ingest.runtime import workers

        try:
            workers.abort()
        except Exception:  # noqa: BLE001 - exiting anyway; the workers also watch this process
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(self.exit_code)


def supervise_temporary_server() -> bool:
    """Start Prefect's temporary API server (if the run needs one) in its own session, under
    ``flows/supervise.py``.  False when Prefect's code changed and this could not be arranged."""
    if os.environ.get("PREFECT_API_URL"):
        return False  # a real server: nothing of ours to start
    from prefect.server.api import server as prefect_server

    from ingest.compat import redirect_popen

    def rewrite(command: list[str], kwargs: dict[str, Any]):
        kwargs["start_new_session"] = True
        return [sys.executable, "-I", str(SUPERVISOR), str(os.getpid()), *command], kwargs

    return redirect_popen(prefect_server, rewrite)
