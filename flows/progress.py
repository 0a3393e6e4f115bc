"""Progress display for long runs: a bar on a terminal, periodic log lines otherwise."""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Callable, Iterator

from ingest.output.summary import Summary

logger = logging.getLogger("news_ingest.progress")
LOG_EVERY_S = 10.0


@contextlib.contextmanager
def make_progress(total: int, enabled: bool = True) -> Iterator[Callable[[Summary], None] | None]:
    if not enabled:
        yield None
        return
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("ingest", total=total or None, info="")

            def update(summary: Summary) -> None:
                bar.update(task, completed=summary.done_items,
                           info=f"{summary.articles} articles, {summary.rejects} rejects")
            yield update
        return

    last = [time.monotonic()]

    def log_line(summary: Summary) -> None:
        now = time.monotonic()
        if now - last[0] >= LOG_EVERY_S or summary.done_items >= total:
            last[0] = now
            rate = summary.done_items / max(1e-6, time.time() - summary.started_at)
            print(f"progress: {summary.done_items}/{total} work items, {summary.articles} articles, "
                  f"{summary.rejects} rejects, {rate:.1f} items/s", file=sys.stderr, flush=True)
    yield log_line
