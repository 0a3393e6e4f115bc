"""Issue 9: hostile and malformed input.  Every item is accounted for, pathological pages are cut
off by per-document limits, decompression bombs are refused without inflating them, nothing is
written outside the output directory and no input content is ever executed."""
from __future__ import annotations

import json
import os
import pickle
import re
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ingest.extract import extractor as extract_mod
from ingest.guard import DocumentTimeout, call_with_time_limit, clean_text
from ingest.language import detect as language_mod
from ingest.output.storage import Storage, StorageError
from ingest.records import Article, Reject
from ingest.runtime.pipeline import run_pipeline
from ingest.settings import Settings
from ingest.sources.loaders import HANDLERS, WorkItem, load
from tests.conftest import ROOT, run_cli
from tests.hostile import (
    CLI_ENV,
    PARAGRAPH,
    billion_laughs,
    flat_html,
    gzip_bomb,
    html_page,
    make_corpus,
    nested_html,
)


def _rows(out: Path, kind: str, columns: list[str]) -> list[dict]:
    if not (out / kind).exists():
        return []
    return ds.dataset(out / kind, format="parquet", partitioning="hive").to_table(columns=columns).to_pylist()


def _tree(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """Every file below ``root`` (except below ``skip``) with its size and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath).resolve().is_relative_to(skip.resolve()):
            dirnames[:] = []
            continue
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return found


# --- the whole malformed corpus through the CLI ------------------------------------------------

@pytest.fixture(scope="module")
def cli_corpus_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    expected = make_corpus(base / "in")
    laughs_xml = base / "laughs.xml"  # an entity-expansion feed, named explicitly
    laughs_xml.write_text(billion_laughs("rss"), encoding="utf-8")
    expected.prefixes.add(str(laughs_xml.resolve()))
    hidden = base / "..%2F..%2Fetc%2Fpasswd.txt"  # a hidden name is not walked, but can be named
    hidden.write_text("Hidden traversal title\n" + PARAGRAPH, encoding="utf-8")
    expected.uris.add(str(hidden.resolve()))
    out = base / "out"
    before = _tree(base, skip=out)
    proc = run_cli("run", str(base / "in"), str(laughs_xml), str(hidden), "--out", str(out),
                   "--json", "--workers", "1", "--no-translate", timeout=300, env=CLI_ENV)
    after = _tree(base, skip=out)
    return out, expected, proc, before, after


def test_cli_completes_on_malformed_corpus_with_exit_0_and_no_traceback(cli_corpus_run):
    out, _, proc, _, _ = cli_corpus_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    summary = json.loads(proc.stdout)
    assert summary["inputs"] == summary["articles"] + summary["rejects"]
    assert summary["rejects"] == sum(summary["rejects_by_reason"].values())


def test_every_item_is_an_article_or_a_reject(cli_corpus_run):
    out, expected, proc, _, _ = cli_corpus_run
    summary = json.loads(proc.stdout)
    articles = _rows(out, "articles", ["source_uri", "text", "title"])
    rejects = _rows(out, "rejects", ["source_uri", "stage", "reason"])
    # the numbers of the summary are the rows on disk (fresh output: nothing was already there)
    assert len(articles) == summary["articles_new"] == summary["articles"]
    assert len(rejects) == summary["rejects"]
    by_reason: dict[str, int] = {}
    for r in rejects:
        by_reason[f"{r['stage']}:{r['reason']}"] = by_reason.get(f"{r['stage']}:{r['reason']}", 0) + 1
    assert by_reason == summary["rejects_by_reason"]

    article_uris = {a["source_uri"] for a in articles}
    reject_uris = {r["source_uri"] for r in rejects}
    assert not article_uris & reject_uris, "an item is both an article and a reject"
    seen = article_uris | reject_uris
    assert expected.uris <= seen, sorted(expected.uris - seen)
    for prefix in expected.prefixes:
        assert any(u == prefix or u.startswith(prefix + "#") for u in seen), prefix
    assert expected.articles <= article_uris, sorted(expected.articles - article_uris)
    reasons = {r["source_uri"]: f"{r['stage']}:{r['reason']}" for r in rejects}
    for uri, reason in expected.reasons.items():
        assert reasons.get(uri) == reason, (uri, reasons.get(uri))
    # entities were never expanded, markup saved as .txt was extracted, not kept
    for a in articles:
        assert "lollollol" not in a["text"]
        assert "<article>" not in a["text"] and "<p>" not in a["text"]


def test_cli_corpus_writes_only_below_the_output(cli_corpus_run):
    out, _, _, before, after = cli_corpus_run
    assert before == after  # inputs untouched, nothing new beside the output
    for dirpath, _, filenames in os.walk(out):
        for name in filenames:
            assert Path(dirpath, name).resolve().is_relative_to(out.resolve())
    for f in sorted(out.rglob("*.parquet")):
        if not f.name.startswith((".", "_")):
            pq.read_table(f)  # every visible file opens


# --- per-document time limits ------------------------------------------------------------------

def _extract_reason(article: Article, settings: Settings) -> str:
    try:
        extract_mod.extract(article, settings)
    except extract_mod.ExtractionError as exc:
        return exc.reason
    return "ok"


@pytest.mark.parametrize("where", ["main-thread", "worker-thread"])
def test_slow_page_is_cut_off_by_the_extraction_time_limit(where):
    # 20,000 flat elements: ~10 s of trafilatura work on these machines without a limit
    settings = Settings(extraction_timeout_s=0.5, workers=1)
    result: dict = {}

    def work():
        started = time.perf_counter()
        result["reason"] = _extract_reason(Article("slow", html=flat_html(20_000), content_type="html"), settings)
        result["seconds"] = time.perf_counter() - started
        # the same thread carries on normally afterwards
        result["next"] = _extract_reason(Article("ok", html=html_page("After"), content_type="html"), settings)

    if where == "main-thread":
        work()
    else:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join(60)
    assert result["reason"] == "timeout"
    assert result["seconds"] < 5
    assert result["next"] == "ok"


def test_pipeline_rejects_the_slow_page_and_keeps_the_rest(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a-slow.html").write_text(flat_html(20_000))
    (src / "b-good.html").write_text(html_page("Good page"))
    started = time.perf_counter()
    summary = run_pipeline([str(src)], Settings(out=str(tmp_path / "out"), workers=1, translate=False,
                                                extraction_timeout_s=0.5))
    assert time.perf_counter() - started < 15
    assert summary.rejects_by_reason == {"extract:timeout": 1}
    assert summary.articles == 1 and summary.balanced


def test_language_identification_has_a_time_limit(tmp_path, monkeypatch):
    real = language_mod.annotate

    def slow(article, settings):
        if "stall" in article.text:
            while True:  # a pathological document: pure-Python work that never ends
                sum(range(1000))
        return real(article, settings)

    monkeypatch.setattr(language_mod, "annotate", slow)
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("Title\nThis text would stall the language step forever.")
    (src / "b.txt").write_text("Title\n" + PARAGRAPH)
    summary = run_pipeline([str(src)], Settings(out=str(tmp_path / "out"), workers=1, translate=False,
                                                extraction_timeout_s=0.5))
    assert summary.rejects_by_reason == {"language:timeout": 1}
    assert summary.articles == 1


def test_language_identification_is_bounded_by_max_chars():
    """A 5 MB paragraph costs language ID no more than ``language_max_chars`` characters' worth."""
    settings = Settings(workers=1, language_max_chars=1000)
    article = Article("big", raw_text="Title line\n" + PARAGRAPH * 40_000, content_type="text")
    extract_mod.extract(article, settings)
    language_mod.warm_up(settings)  # the models' one-off load is not what is bounded here
    started = time.perf_counter()
    language_mod.annotate(article, settings)
    assert time.perf_counter() - started < 5
    assert article.language == "en"


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _spin_forever() -> None:
    while True:
        sum(range(1000))


@pytest.mark.timeout(120)  # a broken watchdog hangs: fail in minutes, not at the suite's limit
def test_time_limit_never_fires_outside_its_block():
    # The watchdog thread needs the GIL to fire, which a busy thread hands over only every
    # sys.getswitchinterval() (5 ms by default): a short switch interval makes deliveries land
    # right at the edges of the guarded calls, where a leak would happen, also inside the guard's
    # own bookkeeping (CI once hung: a delivery right after ``with lock:`` acquired the watchdog's
    # lock left it held for ever).  Calls run from 0 to 12 ms against a 2 ms limit, so some finish
    # in time and some certainly do not; after every round a fresh call must still time out.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    fired = 0
    try:
        for round_ in range(5):
            for i in range(300):
                try:
                    call_with_time_limit(0.002, _busy, (i % 7) * 0.002)
                except DocumentTimeout:
                    fired += 1
                for _ in range(200):  # a leaked DocumentTimeout would surface here and fail the test
                    sum(range(50))
            started = time.perf_counter()
            with pytest.raises(DocumentTimeout):  # the watchdog still works, neither early nor late
                call_with_time_limit(0.05, _busy, 5)
            took = time.perf_counter() - started
            assert took >= 0.049, f"round {round_}: a stray timeout arrived after {took:.3f} s"
            assert took < 5, f"round {round_}: the watchdog is stuck"
    finally:
        sys.setswitchinterval(previous)
    assert 0 < fired < 1500


def test_time_limit_returns_the_result_and_passes_exceptions_through():
    assert call_with_time_limit(5, lambda a, b=0: a + b, 1, b=2) == 3
    assert call_with_time_limit(None, lambda: "no limit") == "no limit"
    with pytest.raises(ValueError):
        call_with_time_limit(5, int, "not a number")


@pytest.mark.timeout(120)  # a broken watchdog hangs: fail in minutes, not at the suite's limit
def test_timeout_is_not_swallowed_by_except_exception():
    swallowed = []

    def libraryish() -> None:
        while True:
            try:
                sum(range(1000))
            except Exception:  # noqa: BLE001 - what libraries do; must not catch the timeout
                swallowed.append(True)

    with pytest.raises(DocumentTimeout):
        call_with_time_limit(0.2, libraryish)
    assert not swallowed


@pytest.mark.timeout(120)  # a broken watchdog hangs: fail in minutes, not at the suite's limit
def test_a_timeout_swallowed_inside_the_call_is_raised_at_its_end():
    """Python drops an exception delivered during a ``__del__`` or a garbage-collector callback
    (seen once in CI: a slow page's extraction "succeeded" half-way); the call still times out."""
    def swallows() -> str:
        try:
            _spin_forever()
        except DocumentTimeout:  # stands for a library that swallowed it
            pass
        return "half-made"

    with pytest.raises(DocumentTimeout):
        call_with_time_limit(0.05, swallows)


def test_calls_that_end_in_time_are_not_kept_until_their_deadline():
    from ingest import guard

    for _ in range(20_000):  # an hour's limit: without compaction all 20,000 would wait an hour
        call_with_time_limit(3600, int)
    time.sleep(0.2)
    watchdog = guard._WATCHDOG
    assert len(watchdog._new) < guard._COMPACT_AT
    assert len(watchdog.heap) < 8 * guard._COMPACT_AT


@pytest.mark.timeout(120)  # a broken watchdog hangs: fail in minutes, not at the suite's limit
def test_time_limits_in_many_threads_fire_only_where_due():
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> str:
        try:
            call_with_time_limit(0.05 if i % 2 else 5, _busy if i % 2 == 0 else lambda s: _spin_forever(), 0.01)
        except DocumentTimeout:
            return "timeout"
        return "done"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(40)))
    assert results == ["done" if i % 2 == 0 else "timeout" for i in range(40)]


# --- size limits and decompression bombs -------------------------------------------------------

def _load_all(path: Path, kind: str, settings: Settings) -> list:
    return list(load(WorkItem(kind, str(path)), settings))


def test_html_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    bomb = tmp_path / "bomb.html.gz"
    gzip_bomb(bomb, 200_000_000)  # 200 MB of zeros in ~200 KB
    assert bomb.stat().st_size < 1_000_000
    settings = Settings(max_document_bytes=1_000_000, workers=1)
    tracemalloc.start()
    try:
        records = _load_all(bomb, "html", settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(r.stage, r.reason) for r in records] == [("load", "too_large")]
    assert peak < 8_000_000  # the limit plus change, not 200 MB


def test_jsonl_gzip_bomb_line_is_refused_and_not_inflated_to_the_end(tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    gzip_bomb(bomb, 300_000_000, b"a")  # one 300 MB line
    settings = Settings(max_document_bytes=1_000_000, workers=1)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        records = _load_all(bomb, "jsonl", settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(records) == 1 and isinstance(records[0], Reject)
    assert records[0].reason == "too_large" and "rest of the file" in records[0].error
    assert peak < 10_000_000
    assert time.perf_counter() - started < 10


def test_over_long_jsonl_line_is_rejected_and_the_next_lines_still_load(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(json.dumps({"text": "first " + PARAGRAPH}).encode() + b"\n"
                     + b'{"text": "' + b"z" * 3_000_000 + b'"}\n'
                     + json.dumps({"text": "third " + PARAGRAPH}).encode() + b"\n")
    records = _load_all(path, "jsonl", Settings(max_document_bytes=1_000_000, workers=1))
    kinds = [(r.source_uri.rsplit("#", 1)[1], type(r).__name__) for r in records]
    assert kinds == [("1", "Article"), ("2", "Reject"), ("3", "Article")]
    assert records[1].reason == "too_large"


def test_extraction_refuses_a_payload_over_the_size_limit():
    settings = Settings(max_document_bytes=10_000, workers=1)
    assert _extract_reason(Article("big", html="<p>" + "x" * 20_000 + "</p>", content_type="html"),
                           settings) == "too_large"
    assert _extract_reason(Article("big", raw_text="y" * 20_000, content_type="text"), settings) == "too_large"


def test_html_nested_100000_levels_is_rejected_quickly():
    started = time.perf_counter()
    reason = _extract_reason(Article("deep", html=nested_html(100_000), content_type="html"), Settings(workers=1))
    assert reason in ("no_text", "too_deep")
    assert time.perf_counter() - started < 10


def test_entity_expansion_is_never_performed_in_html():
    article = Article("laughs", html=billion_laughs("html"), content_type="html")
    extract_mod.extract(article, Settings(workers=1))
    assert "lollol" not in article.text
    assert len(article.text) < 10_000


def test_entity_expansion_feed_is_refused_or_unexpanded(tmp_path):
    if "feed" not in HANDLERS:
        pytest.skip("no feed loader on this branch (ingest.sources.web adds it); .xml is covered by the CLI corpus")
    path = tmp_path / "laughs.xml"
    path.write_text(billion_laughs("rss"), encoding="utf-8")
    started = time.perf_counter()
    records = _load_all(path, "feed", Settings(workers=1, offline=True))
    assert time.perf_counter() - started < 10
    assert records
    for r in records:
        if isinstance(r, Article):
            assert "lollol" not in (r.html or "") + (r.raw_text or "") + (r.title or "")


# --- security ----------------------------------------------------------------------------------

def test_storage_keeps_every_path_below_the_output(tmp_path):
    storage = Storage(str(tmp_path / "out"))
    for bad in ("../x.parquet", "a/../../x", "articles/../../../etc/passwd", "/etc/passwd", "..\\..\\x",
                "a/./../../../b"):
        try:
            full = storage.path(bad)
        except StorageError:
            continue
        assert Path(full).resolve().is_relative_to(Path(storage.root)), (bad, full)
    with pytest.raises(StorageError):
        storage.path("x\x00y")


def test_hostile_names_and_urls_write_nothing_outside_the_output(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "x..%2F..%2Fetc%2Fpasswd.html").write_text(html_page("Traversal"))
    (src / "line\nbreak\r.txt").write_text("Title\n" + PARAGRAPH)
    (src / "名前 ünï \u202e.md").write_text("Title\n" + PARAGRAPH)
    with open(os.path.join(os.fsencode(src), b"\xff\xfe-bytes.txt"), "wb") as fh:
        fh.write(b"Title\n" + PARAGRAPH.encode())
    urls = ["../../../../etc/passwd", "file:///etc/passwd", "/../../../tmp/owned", "..\\..\\windows",
            "https://x.example/a/../../../etc/passwd?q=\n../../", "javascript:alert(1)", "\x00/etc"]
    (src / "urls.jsonl").write_text("\n".join(json.dumps({"url": u, "text": f"{u} {PARAGRAPH}"}) for u in urls))
    out = tmp_path / "deep" / "out"
    before = _tree(tmp_path, skip=out)
    passwd = os.stat("/etc/passwd").st_mtime_ns if os.path.exists("/etc/passwd") else None
    summary = run_pipeline([str(src)], Settings(out=str(out), workers=1, translate=False))
    assert summary.balanced and summary.inputs == 4 + len(urls)
    assert _tree(tmp_path, skip=out) == before
    if passwd is not None:
        assert os.stat("/etc/passwd").st_mtime_ns == passwd
    assert not Path("/tmp/owned").exists()
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    uris = {r["source_uri"] for r in _rows(out, "articles", ["source_uri"]) + _rows(out, "rejects", ["source_uri"])}
    assert {f"{(src / 'urls.jsonl').resolve()}#{n}" for n in range(1, len(urls) + 1)} <= uris
    assert clean_text(str((src / "\udcff\udcfe-bytes.txt").resolve())) in uris  # readable, not the raw bytes


class _Exploit:
    def __reduce__(self):  # unpickling this would run a shell command
        return (os.system, (f"touch {self.marker}",))


def test_input_content_is_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    _Exploit.marker = str(marker)
    src = tmp_path / "in"
    src.mkdir()
    (src / "pickle.txt").write_bytes(pickle.dumps(_Exploit(), protocol=0))
    (src / "pickle.bin.html").write_bytes(pickle.dumps(_Exploit(), protocol=4))
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}} ${{jndi:ldap://x.example/a}} $(touch {marker}) `touch {marker}`",
        f"eval(compile('open(\"{marker}\", \"w\")', 'x', 'exec'))",
    ]
    lines = [json.dumps({"text": p, "title": "payload"}) for p in payloads]
    lines.append(json.dumps({"__reduce__": ["os.system", [f"touch {marker}"]], "py/object": "os.system",
                             "text": "reduce-looking payload", "title": "payload"}))
    lines.append(json.dumps({"html": f"<html><body><script>require('child_process').exec('touch {marker}')</script>"
                                     f"<img src=x onerror=\"alert(1)\"><article><p>{PARAGRAPH}</p></article></body></html>"}))
    (src / "payloads.jsonl").write_text("\n".join(lines), encoding="utf-8")
    summary = run_pipeline([str(src)], Settings(out=str(tmp_path / "out"), workers=1, translate=False))
    assert summary.balanced
    assert not marker.exists()
    texts = {a["text"] for a in _rows(tmp_path / "out", "articles", ["text"])}
    for p in payloads:
        assert p in texts  # stored verbatim, as text
    assert "reduce-looking payload" in texts
    assert not any("child_process" in t or "onerror" in t for t in texts)  # scripts are not article text


# builtins eval/exec/compile, deserialisers that run code, shells, XML parsers told to expand entities
DANGEROUS = re.compile(r"(?<![.\w])(eval|exec|compile)\(|pickle\.loads?\(|marshal\.loads?\(|yaml\.load\(|"
                       r"yaml\.unsafe_load|shell\s*=\s*True|os\.system\(|os\.popen\(|__import__\(|jsonpickle|"
                       r"resolve_entities\s*=\s*True|huge_tree\s*=\s*True")
ALLOWED = {("flows/cli.py", '__import__(f"flows.{name}"')}  # fixed module names, not input


def test_no_code_path_evaluates_or_unpickles_data():
    hits = []
    for folder in ("ingest", "flows", "schemas"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                match = DANGEROUS.search(code)
                if match and not any(rel == f and snippet in code for f, snippet in ALLOWED):
                    hits.append(f"{rel}:{lineno}: {line.strip()}")
    assert not hits, "\n".join(hits)


@pytest.mark.timeout(120)  # a broken watchdog hangs: fail in minutes, not at the suite's limit
def test_time_limit_works_in_a_forked_child():
    """A child forked while the watchdog is busy gets its own watchdog (no inherited lock)."""
    import multiprocessing

    def fork_and_ask() -> str:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            return pool.apply(_child_times_out)

    # the parent's watchdog is armed while forking
    assert call_with_time_limit(5, fork_and_ask) == "timeout"


def _child_times_out() -> str:
    try:
        call_with_time_limit(0.2, _spin_forever)
    except DocumentTimeout:
        return "timeout"
    return "no timeout"
