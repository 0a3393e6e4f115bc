"""The account of one run: what came in, what was written, what was rejected and why.

The numbers add up: ``inputs == articles + rejects`` where ``articles`` counts this run's inputs
that became articles (newly written plus already present from an earlier run) and ``rejects``
counts this run's inputs that could not become articles.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.output.idset import IdSet


@dataclass
class Summary:
    run_id: str
    output: str
    planned_items: int = 0  # work items (files, URLs) planned
    inputs_unchanged: int = 0  # local input files skipped: their content was already committed here
    inputs: int = 0  # input records (a .jsonl line, a feed entry, a file) seen
    articles_new: int = 0
    articles_existing: int = 0  # already in the output from an earlier run: not written again
    rejects_by_reason: Counter = field(default_factory=Counter)  # "stage:reason" -> n
    rejects_existing: int = 0
    languages: Counter = field(default_factory=Counter)
    mixed: int = 0
    translation: Counter = field(default_factory=Counter)
    stories: IdSet = field(default_factory=IdSet)  # compact set: grows with the stories of the run
    stories_merged: int = 0  # of those, merged into another of them later in the run (not counted)
    duplicates: Counter = field(default_factory=Counter)  # duplicate_level -> n
    missing_pairs: Counter = field(default_factory=Counter)  # (src, tgt) -> segments
    batches: int = 0
    done_items: int = 0
    started_at: float = field(default_factory=time.time)
    seconds: float = 0.0
    interrupted: bool = False  # stopped early (SIGINT/SIGTERM): what is counted here is what was written

    # counting ----------------------------------------------------------------------------
    def count_batch(self, result: Any) -> None:
        self.batches += 1
        self.done_items += result.items
        self.inputs += result.counts.get("inputs", 0)
        self.missing_pairs.update(result.missing_pairs)

    def count_articles(self, table: pa.Table) -> None:
        self.articles_new += table.num_rows
        self.languages.update(table.column("language").to_pylist())
        self.mixed += int(pc.sum(table.column("is_mixed_language")).as_py() or 0)
        self.translation.update(table.column("translation_status").to_pylist())
        self.stories.update(v for v in table.column("story_id").to_pylist() if v)
        self.duplicates.update(v for v in table.column("duplicate_level").to_pylist() if v)

    def count_merges(self, merges: list[tuple[str, str, float]]) -> None:
        """Resolve the run's stories through ``merges`` (story_id -> current story, path-compressed):
        two story ids written by this run that are one story now count once."""
        currents: set[str] = set()
        merged = 0
        for story_id, current, _ in merges:
            if story_id in self.stories:
                if current in self.stories or current in currents:
                    merged += 1
                else:
                    currents.add(current)
        self.stories_merged = merged

    def count_rejects(self, table: pa.Table) -> None:
        stages, reasons = table.column("stage").to_pylist(), table.column("reason").to_pylist()
        self.rejects_by_reason.update(f"{s}:{r}" for s, r in zip(stages, reasons))

    def finished(self) -> None:
        self.seconds = time.time() - self.started_at

    # reading -----------------------------------------------------------------------------
    @property
    def articles(self) -> int:
        return self.articles_new + self.articles_existing

    @property
    def rejects(self) -> int:
        return sum(self.rejects_by_reason.values())

    @property
    def balanced(self) -> bool:
        return self.inputs == self.articles + self.rejects

    def install_hints(self) -> list[str]:
        return [f"news-ingest models install {src} {tgt}   # translate-{src}_{tgt}, {n} segment(s) waiting"
                for (src, tgt), n in sorted(self.missing_pairs.items())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "output": self.output,
            "inputs": self.inputs,
            "inputs_unchanged": self.inputs_unchanged,
            "articles": self.articles,
            "articles_new": self.articles_new,
            "articles_existing": self.articles_existing,
            "rejects": self.rejects,
            "rejects_new": self.rejects - self.rejects_existing,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
            "languages": dict(self.languages.most_common()),
            "mixed": self.mixed,
            "translation": dict(sorted(self.translation.items())),
            "stories": len(self.stories) - self.stories_merged,
            "duplicates": dict(sorted(self.duplicates.items())),
            "missing_translation_pairs": {f"{s}-{t}": n for (s, t), n in sorted(self.missing_pairs.items())},
            "seconds": round(self.seconds, 2),
            "planned_items": self.planned_items,
            "done_items": self.done_items,
            "interrupted": self.interrupted,
        }

    def lines(self) -> list[str]:
        d = self.to_dict()
        langs = ", ".join(f"{k} {v}" for k, v in d["languages"].items()) or "-"
        trans = ", ".join(f"{k} {v}" for k, v in d["translation"].items()) or "-"
        rej = ", ".join(f"{k} {v}" for k, v in d["rejects_by_reason"].items()) or "none"
        dups = ", ".join(f"{k} {v}" for k, v in d["duplicates"].items()) or "none"
        out = [
            f"run {self.run_id} finished in {d['seconds']:.1f}s -> {self.output}",
            f"inputs {d['inputs']}: articles {d['articles']} ({d['articles_new']} new, "
            f"{d['articles_existing']} already present), rejects {d['rejects']}",
            f"languages: {langs}",
            f"mixed-language: {d['mixed']}",
            f"translation: {trans}",
            f"stories: {d['stories']} (duplicates: {dups})",
            f"rejects by reason: {rej}",
        ]
        if self.missing_pairs:
            out.append("missing translation models; install with:")
            out.extend("  " + hint for hint in self.install_hints())
        return out
