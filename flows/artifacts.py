"""Prefect artifacts that tell a run's story in the UI at a glance.

Every run publishes three artifacts (keys are stable, so the Artifacts page keeps one versioned
collection per key and each run's page shows its own):

- ``news-ingest-counts`` (table): one row per count, grouped by section: run totals, languages,
  mixed-language documents, translations by status, stories and duplicates, rejects by reason.
- ``news-ingest-summary`` (markdown): the same story in prose and small tables, the output
  location, the commands that install missing translation models, and how to read the output.
- ``news-ingest-output`` (link): where the Parquet was written.

Language, mixed, translation, story and duplicate counts describe the rows this run wrote
(``articles_new``); reject counts describe every input of this run that became a reject.
"""
from __future__ import annotations

from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from ingest.output.summary import Summary

COUNTS_KEY = "news-ingest-counts"
SUMMARY_KEY = "news-ingest-summary"
OUTPUT_KEY = "news-ingest-output"


def count_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the counts table, from ``Summary.to_dict()``."""
    rows = [
        ("run", "inputs", d["inputs"]),
        ("run", "inputs unchanged (skipped)", d["inputs_unchanged"]),
        ("run", "articles written (new)", d["articles_new"]),
        ("run", "articles already present", d["articles_existing"]),
        ("run", "rejects", d["rejects"]),
        ("run", "rejects written (new)", d["rejects_new"]),
    ]
    rows += [("language", lang, n) for lang, n in d["languages"].items()]
    rows.append(("mixed-language", "documents with a segment in another language", d["mixed"]))
    rows += [("translation", status, n) for status, n in d["translation"].items()]
    rows.append(("stories", "stories", d["stories"]))
    rows += [("duplicates", level, n) for level, n in d["duplicates"].items()]
    rows += [("reject", reason, n) for reason, n in d["rejects_by_reason"].items()]
    rows += [("missing model", pair, n) for pair, n in d.get("missing_translation_pairs", {}).items()]
    return [{"section": s, "item": i, "count": int(n)} for s, i, n in rows]


def _md_table(header: tuple[str, str], items: dict[str, Any], empty: str = "_none_") -> list[str]:
    if not items:
        return [empty, ""]
    lines = [f"| {header[0]} | {header[1]} |", "|---|---:|"]
    lines += [f"| `{k}` | {v} |" for k, v in items.items()]
    return lines + [""]


def summary_markdown(summary: Summary) -> str:
    d = summary.to_dict()
    out = summary.output
    balanced = "adds up" if summary.balanced else "DOES NOT add up"
    lines = [
        f"# news-ingest run {summary.run_id}",
        "",
        f"**{d['inputs']} inputs → {d['articles']} articles "
        f"({d['articles_new']} new, {d['articles_existing']} already present) + {d['rejects']} rejects** "
        f"({balanced}) in {d['seconds']:.1f} s.",
        "",
        "## Output",
        "",
        f"- articles: `{out}/articles/`",
        f"- rejects: `{out}/rejects/`",
        "",
        "## Languages (new articles)", "", *_md_table(("language", "articles"), d["languages"]),
        f"**Mixed-language documents:** {d['mixed']}", "",
        "## Translations by status", "", *_md_table(("status", "articles"), d["translation"]),
        "## Stories and duplicates", "",
        f"{d['stories']} stories among the new articles.", "",
        *_md_table(("duplicate level", "articles"), d["duplicates"], "_no duplicates_"),
        "## Rejects by reason", "", *_md_table(("stage:reason", "inputs"), d["rejects_by_reason"], "_no rejects_"),
    ]
    if summary.missing_pairs:
        lines += ["## Missing translation models", "", "```", *summary.install_hints(), "```", ""]
    lines += ["## Read it", "", "```sql",
              f"SELECT language, count(*) FROM read_parquet('{out}/articles/**/*.parquet', "
              "hive_partitioning=true) GROUP BY 1;", "```"]
    return "\n".join(lines)


def output_link(output: str) -> str:
    """A URL for the output location (``file://`` for a local directory)."""
    if "://" in output:
        return output
    from pathlib import Path

    return Path(output).absolute().as_uri()


def publish_run_artifacts(summary: Summary) -> None:
    d = summary.to_dict()
    create_table_artifact(key=COUNTS_KEY, table=count_rows(d),
                          description=f"Counts of run {summary.run_id}: {d['articles_new']} new articles, "
                                      f"{d['rejects']} rejects")
    create_markdown_artifact(key=SUMMARY_KEY, markdown=summary_markdown(summary),
                             description=f"What run {summary.run_id} did")
    create_link_artifact(key=OUTPUT_KEY, link=output_link(f"{summary.output}/articles"),
                         link_text=f"{summary.output}/articles",
                         description=f"Parquet written by run {summary.run_id}")
