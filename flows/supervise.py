"""Run a command as a child and end it when *our* parent dies, however it dies (even SIGKILL).

    python -I flows/supervise.py PARENT_PID COMMAND...

The CLI starts Prefect's temporary API server through this (``flows.cli``), in a session of its
own: a Ctrl-C in the terminal does not reach the server (the CLI stops the run in order and still
needs the API to record it), and a CLI that is killed does not leave the server behind.  SIGTERM
and SIGINT sent to this process are passed on to the command; its exit status is ours.

Standard library only, run by path with ``-I``: it must start fast and anywhere.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL_S = 0.2
GRACE_S = 1.5  # after SIGTERM, before SIGKILL (the caller may itself wait only a few seconds)


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    if os.getppid() != parent:
        return 1  # the parent died before we started
    child = subprocess.Popen(command)
    stopping: list[float] = []

    def forward(signum, frame) -> None:
        if not stopping:
            stopping.append(time.monotonic())
        try:
            child.send_signal(signal.SIGTERM)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            return child.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            pass
        if not stopping and os.getppid() != parent:
            forward(signal.SIGTERM, None)  # the parent is gone, however it went
        if stopping and time.monotonic() - stopping[0] > GRACE_S:
            child.kill()
            child.wait()
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
