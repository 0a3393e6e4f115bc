"""The five reference documents in ../shared/seeds (skipped when ../shared is absent)."""
from __future__ import annotations

import pyarrow.dataset as ds

from ingest.runtime.pipeline import run_pipeline
from ingest.settings import Settings


def test_seeds_load_as_five_english_articles(seeds_dir, tmp_path):
    summary = run_pipeline([str(seeds_dir)], Settings(out=str(tmp_path / "out"), workers=1, translate=False))
    assert summary.articles_new == 5 and summary.rejects == 0
    rows = ds.dataset(tmp_path / "out" / "articles", partitioning="hive").to_table().to_pylist()
    assert len(rows) == 5
    assert {r["language"] for r in rows} == {"en"}
    assert all(r["text"] and r["translation_status"] == "disabled" for r in rows)
