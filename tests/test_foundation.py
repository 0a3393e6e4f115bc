"""Issue 3: the whole pipeline end to end through the CLI on the bundled demo corpus."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from schemas import ARTICLE_SCHEMA, CONTRACT_COLUMNS, METADATA_KEY, REJECT_SCHEMA, SCHEMA_VERSION
from tests.conftest import ROOT, run_cli

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    good = gzip.compress(b"<html><body><p>" + b"A perfectly fine paragraph of news text. " * 20 + b"</p></body></html>")
    (d / "truncated.html.gz").write_bytes(good[: len(good) // 2])
    (d / "junk.html").write_bytes(bytes(range(256)) * 40)
    (d / "empty.txt").write_bytes(b"")
    (d / "broken.jsonl").write_text('{"text": "Eine kurze Meldung aus Berlin über das Wetter am Wochenende."}\n'
                                    '{this is not json\n'
                                    '[1, 2, 3]\n', encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, bad_inputs):
    out = tmp_path_factory.mktemp("out") / "demo"
    first = run_cli("run", str(EXAMPLES), str(bad_inputs), "--out", str(out), "--json")
    second = run_cli("run", str(EXAMPLES), str(bad_inputs), "--out", str(out), "--json")
    return out, first, second


def _articles(out: Path) -> pa.Table:
    return ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table()


def test_cli_run_succeeds_and_reports(demo_run):
    out, first, _ = demo_run
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["articles_new"] == 11  # 10 demo files (one .jsonl holds 2) + the good .jsonl line
    assert summary["inputs"] == summary["articles"] + summary["rejects"]
    assert {"de", "es", "fr", "hi", "ja", "en"} <= set(summary["languages"])
    assert "Traceback" not in first.stderr


def test_the_three_lumora_reports_are_one_story_in_the_rows_and_the_summary(demo_run):
    """The HTML report is written (its own batch) before the wire copies join it: the story ids it
    was written with resolve through story_merges, and the summary counts the resolved stories."""
    out, first, _ = demo_run
    rows = _articles(out).select(["source_uri", "story_id"]).to_pylist()
    merges = {r["story_id"]: r["current_story_id"]
              for r in pq.read_table(out / "story_merges" / "story_merges.parquet").to_pylist()}
    current = {r["source_uri"]: merges.get(r["story_id"], r["story_id"]) for r in rows}
    lumora = {v for k, v in current.items() if "lumora" in k or "wire-2026-11-02" in k}
    assert len(lumora) == 1
    assert json.loads(first.stdout)["stories"] == len(set(current.values()))


def test_schema_and_contract_columns(demo_run):
    out, _, _ = demo_run
    files = sorted((out / "articles").rglob("*.parquet"))
    assert files and all("ingest_date=" in f.parent.name for f in files)
    for f in files:
        meta = pq.read_metadata(f)
        assert meta.schema.to_arrow_schema().metadata[METADATA_KEY] == SCHEMA_VERSION.encode()
        assert meta.row_group(0).column(0).compression == "ZSTD"
        schema = pq.read_schema(f)
        for name in CONTRACT_COLUMNS:
            assert schema.field(name).type == ARTICLE_SCHEMA.field(name).type, name
    table = _articles(out)
    rows = table.to_pylist()
    assert len({r["article_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["language"] and r["text"]
        assert 0.0 <= r["language_confidence"] <= 1.0
        assert r["translation_status"] in {"not_needed", "translated", "partial", "no_model", "failed", "disabled"}
        assert [s["index"] for s in r["segments"]] == list(range(len(r["segments"])))
        assert Path(r["source_uri"].split("#")[0]).is_absolute()
    jsonl = [r for r in rows if r["source_uri"].endswith(("wire-2026-11-02.jsonl#1", "wire-2026-11-02.jsonl#2"))]
    assert len(jsonl) == 2
    by_title = {r["title"]: r for r in rows}
    de = by_title["Neue Bahnstrecke verbindet die Täler im Süden"]
    assert de["language"] == "de" and de["authors"] == ["Jonas Weber"]
    assert de["published_at"].year == 2026
    assert de["url"] == "https://tagesblatt.example.de/verkehr/neue-bahnstrecke"


def test_rejects_have_reasons_and_every_input_is_accounted_for(demo_run):
    out, first, _ = demo_run
    rejects = ds.dataset(out / "rejects", format="parquet", partitioning="hive").to_table()
    assert rejects.schema.remove_metadata().equals(
        REJECT_SCHEMA.remove_metadata().append(rejects.schema.field("ingest_date")), check_metadata=False
    ) or set(REJECT_SCHEMA.names) <= set(rejects.schema.names)
    by_uri = {r["source_uri"]: r for r in rejects.to_pylist()}
    names = {Path(u.split("#")[0]).name + ("#" + u.split("#")[1] if "#" in u else ""): r for u, r in by_uri.items()}
    assert names["truncated.html.gz"]["reason"] == "corrupt_gzip"
    assert names["junk.html"]["stage"] in {"load", "extract"}
    assert names["empty.txt"]["reason"] == "empty"
    assert names["broken.jsonl#2"]["reason"] == "invalid_json"
    assert names["broken.jsonl#3"]["reason"] == "invalid_json"
    assert all(r["error"] for r in by_uri.values())
    summary = json.loads(first.stdout)
    assert summary["rejects"] == len(by_uri)


def test_second_identical_run_adds_no_rows(demo_run):
    out, first, second = demo_run
    assert second.returncode == 0, second.stderr
    s2 = json.loads(second.stdout)
    assert s2["articles_new"] == 0 and s2["articles_existing"] == json.loads(first.stdout)["articles_new"]
    table = _articles(out)
    assert table.num_rows == json.loads(first.stdout)["articles_new"]
    rejects = ds.dataset(out / "rejects", format="parquet", partitioning="hive").to_table()
    assert rejects.num_rows == json.loads(first.stdout)["rejects"]


def test_duckdb_reads_the_dataset(demo_run):
    duckdb = pytest.importorskip("duckdb")
    out, first, _ = demo_run
    con = duckdb.connect()
    n, langs = con.execute(
        f"select count(*), count(distinct language) from read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchone()
    assert n == json.loads(first.stdout)["articles_new"] and langs >= 6
    dates = con.execute(
        f"select distinct ingest_date from read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert len(dates) == 1


def test_no_temporary_or_staging_files_left(demo_run):
    out, _, _ = demo_run
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or "_staging" in p.parts]
    assert leftovers == []


def test_bad_arguments_give_one_line_errors(tmp_path):
    r = run_cli("run", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "no such file or directory" in r.stderr and "Traceback" not in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("run", str(EXAMPLES), "--out", str(blocker / "sub"))
    assert r.returncode == 1 and "not writable" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("run", str(EXAMPLES))
    assert r.returncode == 2 and "--out" in r.stderr
    r = run_cli("run", str(EXAMPLES), "--out", str(tmp_path / "o"), "--target-language", "english")
    assert r.returncode == 2 and "--target-language" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_help_has_examples():
    r = run_cli("run", "--help")
    assert r.returncode == 0 and "news-ingest run examples/ --out out/" in r.stdout
    r = run_cli("--help")
    assert r.returncode == 0 and "example" in r.stdout


def test_fast_extraction_is_trafilaturas_fast_mode_and_still_extracts(monkeypatch):
    import trafilatura

    from flows.cli import build_parser, settings_from_args
    from ingest.extract.extractor import extract
    from ingest.records import Article
    from ingest.settings import Settings

    calls = []
    real = trafilatura.bare_extraction

    def spy(*args, **kwargs):
        calls.append(kwargs.get("fast"))
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    page = next((ROOT / "examples" / "html").glob("*.html")).read_text(encoding="utf-8")
    for fast in (False, True):
        article = extract(Article("p.html", html=page, content_type="html"), Settings(extraction_fast=fast))
        assert article.title and len(article.text) > 200
    assert calls[-2:] == [False, True]  # (a first call may be the process's warm-up)
    args = build_parser().parse_args(["run", "x", "--out", "o", "--fast-extraction"])
    assert settings_from_args(args).extraction_fast is True


def test_story_thresholds_from_the_command_line_take_their_weak_links_along():
    """A strong threshold below its weak link's default is not an error: the weak one follows it."""
    from flows.cli import build_parser, settings_from_args

    args = build_parser().parse_args(["run", "x", "--out", "o", "--story-threshold", "0.3",
                                      "--story-bridge-threshold", "0.4"])
    s = settings_from_args(args)
    assert (s.story_threshold, s.story_weak_threshold) == (0.3, 0.3)
    assert (s.story_bridge_threshold, s.story_bridge_weak_threshold) == (0.4, 0.4)
    s = settings_from_args(build_parser().parse_args(["run", "x", "--out", "o", "--story-threshold", "0.6"]))
    assert s.story_threshold == 0.6 and s.story_weak_threshold < 0.6
