"""Prefect artifacts that tell a run's story in the UI at a glance."""
from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ingest.summary import Summary


def _key(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:100] or "run"


def publish_run_artifacts(summary: Summary) -> None:
    d = summary.to_dict()
    rows = [
        {"metric": "inputs", "value": d["inputs"]},
        {"metric": "articles (new)", "value": d["articles_new"]},
        {"metric": "articles (already present)", "value": d["articles_existing"]},
        {"metric": "rejects", "value": d["rejects"]},
        {"metric": "mixed-language articles", "value": d["mixed"]},
        {"metric": "stories", "value": d["stories"]},
    ]
    rows += [{"metric": f"language: {k}", "value": v} for k, v in d["languages"].items()]
    rows += [{"metric": f"translation: {k}", "value": v} for k, v in d["translation"].items()]
    rows += [{"metric": f"duplicates: {k}", "value": v} for k, v in d["duplicates"].items()]
    rows += [{"metric": f"reject: {k}", "value": v} for k, v in d["rejects_by_reason"].items()]
    create_table_artifact(key="news-ingest-counts", table=rows,
                          description=f"Counts of run {summary.run_id}")
    lines = [f"# news-ingest run `{summary.run_id}`", "", f"Parquet written to `{summary.output}`:", "",
             f"- articles: `{summary.output}/articles/`", f"- rejects: `{summary.output}/rejects/`", "",
             "```", *summary.lines(), "```"]
    create_markdown_artifact(key="news-ingest-summary", markdown="\n".join(lines),
                             description=f"Summary of run {summary.run_id}")
