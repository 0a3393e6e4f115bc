"""Issue 17: nothing lost, nothing doubled.  Article identity (canonical URL and content) and the
accounting of every input, met the way a user meets them: files and servers in, Parquet out."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.runtime.pipeline import Pipeline, run_pipeline
from ingest.runtime.state import RunLockedError
from ingest.settings import Settings
from tests.httpserver import LocalServer, Reply

pytestmark = pytest.mark.timeout(300)

WORDS = ("harbour council ferry bridge tide market school library river museum station garden "
         "winter summer budget vote mayor street storm rail").split()


def body(n: int, sentences: int = 4) -> str:
    """A distinct text for each n (word order depends on n), long enough for extraction."""
    out = []
    for s in range(sentences):
        words = [WORDS[(n * 7 + s * 3 + i * (n % 5 + 1)) % len(WORDS)] for i in range(14)]
        out.append(f"Report {n} part {s}: " + " ".join(words) + ".")
    return " ".join(out)


def page(title: str, text: str, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in text.split(".") if s.strip())
    return (f"<!doctype html><html><head><title>{title}</title>{link}</head><body><article>"
            f"<h1>{title}</h1>{paragraphs}</article></body></html>")


def settings(out: Path, **changes) -> Settings:
    return Settings(out=str(out), translate=False, workers=1, language_backend="langdetect", **changes)


def rows(out: Path, dataset: str) -> list[dict]:
    root = out / dataset
    if not root.is_dir():
        return []
    return pq.read_table(root).to_pylist()


# --- distinct articles are never merged ---------------------------------------------------------

def test_homepage_canonical_links_and_placeholder_urls_keep_every_article(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for n in range(5):  # a CMS that points every page's canonical link at the homepage
        (src / f"page{n}.html").write_text(page(f"Story {n}", body(n), "https://news.example/"), encoding="utf-8")
    lines = [{"url": url, "title": f"Line {n}", "text": body(10 + n)}
             for n, url in enumerate(["N/A", "N/A", "javascript:alert(1)"])]
    (src / "lines.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = run_pipeline([str(src)], settings(out, offline=True))
    articles = rows(out, "articles")
    assert summary.inputs == 8 and summary.articles_new == 8 and summary.rejects == 0
    assert len(articles) == 8 and len({a["article_id"] for a in articles}) == 8
    assert all(a["url"] is None for a in articles)  # neither the homepage nor a placeholder is the URL


def test_same_url_different_text_keeps_both_versions(tmp_path):
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps({"url": "https://news.example/a", "text": body(n)}) for n in (1, 2)) + "\n",
                    encoding="utf-8")
    out = tmp_path / "out"
    run_pipeline([str(path)], settings(out, offline=True))
    articles = rows(out, "articles")
    assert sorted(a["source_uri"] for a in articles) == [f"{path}#1", f"{path}#2"]
    assert {a["url"] for a in articles} == {"https://news.example/a"}
    assert len({a["article_id"] for a in articles}) == 2


# --- one article, every route -------------------------------------------------------------------

def test_same_article_by_jsonl_feed_fetched_page_and_canonical_link_is_one_row(tmp_path):
    with LocalServer() as server:
        canonical = server.url("/news/2026/harbour-opens")
        html = page("Harbour opens", body(42), canonical="/news/2026/harbour-opens")
        server.route("/news/2026/harbour-opens", Reply(body=html.encode()))
        server.route("/robots.txt", Reply(status=404))
        src = tmp_path / "in"
        src.mkdir()
        # 1. JSONL with tracking parameters, an upper-case host, a default port and a fragment
        messy = canonical.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "?utm_source=x&fbclid=y#comments"
        (src / "a.jsonl").write_text(json.dumps({"url": messy, "html": html}) + "\n", encoding="utf-8")
        # 2. a feed entry (its page fetched), 3. a local copy of the page: its canonical link decides
        (src / "feed.rss").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{server.base}/</link>'
            f"<item><title>Harbour opens</title><link>{canonical}?utm_medium=rss</link></item></channel></rss>",
            encoding="utf-8")
        (src / "saved.html").write_text(page("Harbour opens", body(42), canonical=canonical), encoding="utf-8")
        out = tmp_path / "out"
        # 4. the page fetched by its print URL: the page's canonical link wins
        summary = run_pipeline([str(src), canonical + "?print=1"],
                               settings(out, allow_private_addresses=True, respect_robots=False))
    articles, rejects = rows(out, "articles"), rows(out, "rejects")
    assert len(articles) == 1, [(a["source_uri"], a["url"], a["content_hash"]) for a in articles]
    kept = articles[0]
    assert kept["url"] == canonical
    assert [r["reason"] for r in rejects] == ["duplicate"] * 3
    assert all(kept["article_id"] in r["error"] and r["url"] == canonical for r in rejects)
    assert summary.inputs == 4 and summary.balanced


def test_a_true_repeat_is_one_article_and_one_duplicate_reject_naming_it(tmp_path):
    line = json.dumps({"url": "https://news.example/b?utm_campaign=z", "text": body(7)})
    other = json.dumps({"url": "https://news.example/b", "text": body(7)})
    path = tmp_path / "repeat.jsonl"
    path.write_text(f"{line}\n{other}\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = run_pipeline([str(path)], settings(out, offline=True))
    articles, rejects = rows(out, "articles"), rows(out, "rejects")
    assert [a["source_uri"] for a in articles] == [f"{path}#1"]
    assert [(r["source_uri"], r["stage"], r["reason"]) for r in rejects] == [(f"{path}#2", "dedup", "duplicate")]
    assert articles[0]["article_id"] in rejects[0]["error"]
    assert summary.inputs == 2 and summary.articles_new == 1 and summary.rejects == 1
    # the same inputs again: nothing new, nothing lost
    again = run_pipeline([str(path)], settings(out, offline=True))
    assert len(rows(out, "articles")) == 1 and len(rows(out, "rejects")) == 1
    assert again.balanced and again.articles_new == 0


# --- every input accounted ----------------------------------------------------------------------

def test_empty_jsonl_office_files_and_a_symlink_loop_are_rejects_and_the_run_completes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "empty.jsonl").write_bytes(b"")
    (src / "blank.jsonl").write_bytes(b"\n  \n")
    (src / "report.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (src / "paper.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (src / "loop").symlink_to(src / "loop")
    (src / "ok.txt").write_text("A title\n" + body(3), encoding="utf-8")
    (src / "_notes.bak").write_text("skipped by name", encoding="utf-8")
    (src / ".hidden.html").write_text("skipped by name", encoding="utf-8")
    out = tmp_path / "out"
    summary = run_pipeline([str(src)], settings(out, offline=True))
    reasons = {Path(r["source_uri"]).name: r["reason"] for r in rows(out, "rejects")}
    assert reasons == {"empty.jsonl": "empty", "blank.jsonl": "empty", "report.docx": "unsupported_type",
                       "paper.pdf": "unsupported_type", "loop": "symlink_loop"}
    assert [Path(a["source_uri"]).name for a in rows(out, "articles")] == ["ok.txt"]
    assert summary.inputs == 6 and summary.balanced


def test_a_directory_with_nothing_to_ingest_is_warned_about(tmp_path, caplog):
    from ingest.sources.loaders import plan

    empty, hidden, full = tmp_path / "empty", tmp_path / "hidden", tmp_path / "full"
    for d in (empty, hidden, full):
        d.mkdir()
    (hidden / "_notes.bak").write_text("skipped by name", encoding="utf-8")
    (hidden / ".cache").write_text("skipped by name", encoding="utf-8")
    (full / "ok.txt").write_text("A title\n" + body(3), encoding="utf-8")
    with caplog.at_level("WARNING", logger="ingest.sources.loaders"):
        items = list(plan([str(empty), str(hidden), str(full)], settings(tmp_path / "out")))
    assert [Path(i.location).name for i in items] == ["ok.txt"]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [f"{empty}: nothing to ingest in this directory (it is empty)",
                      f"{hidden}: nothing to ingest in this directory (only hidden or _-prefixed entries)"]


# --- one writer per output ----------------------------------------------------------------------

def test_a_second_run_with_another_state_dir_fails_clearly_and_writes_nothing(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("A title\n" + body(5), encoding="utf-8")
    out = tmp_path / "out"
    first = Pipeline(settings(out, state_dir=str(tmp_path / "state-a")))
    first.start()  # holds the output's lock, as a long run would
    try:
        assert (out / "_run.lock").is_file()
        with pytest.raises(RunLockedError, match="another run"):
            run_pipeline([str(path)], settings(out, offline=True, state_dir=str(tmp_path / "state-b")))
        assert rows(out, "articles") == []
    finally:
        first.close()
    run_pipeline([str(path)], settings(out, offline=True, state_dir=str(tmp_path / "state-b")))
    assert len(rows(out, "articles")) == 1


def test_empty_out_is_a_usage_error(capsys):
    from flows.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "examples", "--out", ""])
    assert exc.value.code == 2
    assert "--out" in capsys.readouterr().err


# --- the property: every input exactly once -----------------------------------------------------

_URL_VARIANTS = ("https://news.example/{n}", "HTTPS://NEWS.example:443/{n}#c", "https://news.example/{n}?utm_source=x",
                 "N/A", "", "javascript:alert(1)", "file:///etc/passwd")


def _line(kind: str, n: int, variant: int) -> str:
    if kind == "broken":
        return '{"url": "https://news.example/broken", "text": '  # cut short
    url = _URL_VARIANTS[variant].format(n=n)
    if kind == "empty":
        return json.dumps({"url": url, "text": "  "})
    return json.dumps({"url": url, "title": f"T{n}", "text": body(n)})


def test_every_input_is_in_articles_or_rejects_exactly_once(tmp_path_factory):
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    line = st.tuples(st.sampled_from(["article", "article", "article", "broken", "empty"]),
                     st.integers(0, 3), st.integers(0, len(_URL_VARIANTS) - 1))

    @hsettings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(files=st.lists(st.lists(line, max_size=6), min_size=1, max_size=3))
    def check(files):
        root = tmp_path_factory.mktemp("mix")
        inputs = []
        for f, lines in enumerate(files):
            path = root / "in" / f"part{f}.jsonl"
            path.parent.mkdir(exist_ok=True)
            path.write_text("".join(_line(*spec) + "\n" for spec in lines), encoding="utf-8")
            inputs += [f"{path}#{i}" for i in range(1, len(lines) + 1)] if lines else [str(path)]
        out = root / "out"
        summary = run_pipeline([str(root / "in")], settings(out, offline=True))
        articles, rejects = rows(out, "articles"), rows(out, "rejects")
        assert sorted(r["source_uri"] for r in articles + rejects) == sorted(inputs)
        assert summary.inputs == len(inputs) and summary.balanced
        assert len({a["article_id"] for a in articles}) == len(articles)
        kept = {a["article_id"] for a in articles}
        for r in rejects:
            if r["reason"] == "duplicate":
                assert any(k in r["error"] for k in kept)
        assert all(a["url"] is None or a["url"].startswith("https://news.example/") for a in articles)

    check()


def test_a_repeat_of_an_article_already_present_is_still_a_duplicate_reject(tmp_path):
    """A rerun (say after a crash) over inputs whose first copy is already written rejects the
    later copies exactly as an uninterrupted run does, and writes nothing twice."""
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps({"url": "https://news.example/c", "text": body(9)}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run_pipeline([str(first)], settings(out, offline=True))
    both = tmp_path / "b.jsonl"
    both.write_text((json.dumps({"url": "https://news.example/c?utm_source=y", "text": body(9)}) + "\n") * 2,
                    encoding="utf-8")
    summary = run_pipeline([str(both)], settings(out, offline=True))
    assert summary.articles_existing == 1 and summary.rejects_by_reason == {"dedup:duplicate": 1}
    assert len(rows(out, "articles")) == 1
    assert [r["source_uri"] for r in rows(out, "rejects")] == [f"{both}#2"]
