"""Issue 9: property-based tests (hypothesis) on the loaders, the segmenter, text scrubbing and
the compact id set."""
from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.extract import extractor as extract_mod
from ingest.guard import clean_text, scrub
from ingest.output import idset as idset_mod
from ingest.records import Article, Reject
from ingest.settings import Settings
from ingest.sources.loaders import WorkItem, load

SETTINGS = Settings(workers=1, max_document_bytes=200_000)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = {".txt": "text", ".md": "text", ".html": "html", ".jsonl": "jsonl", ".html.gz": "html", ".bin": "sniff"}


def _load_bytes(data: bytes, suffix: str) -> tuple[str, list]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"input{suffix}"
        path.write_bytes(data)
        records = list(load(WorkItem(KINDS[suffix], str(path)), SETTINGS))
        return str(path), records


def _check_records(path: str, records: list) -> None:
    assert records or path.endswith(".jsonl"), "a file always gives at least one record"
    for record in records:
        assert isinstance(record, (Article, Reject))
        assert record.source_uri == path or record.source_uri.startswith(path + "#")
        if isinstance(record, Reject):
            assert record.stage == "load" and record.reason and record.reason.isidentifier()
        else:
            assert isinstance(record.html if record.content_type == "html" else record.raw_text, str)


@FAST
@given(data=st.binary(max_size=4000), suffix=st.sampled_from(sorted(KINDS)))
def test_arbitrary_bytes_never_raise_out_of_load(data, suffix):
    path, records = _load_bytes(data, suffix)
    _check_records(path, records)


@FAST
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".txt", ".html", ".jsonl"]))
def test_arbitrary_gzip_payloads_never_raise(data, suffix):
    packed = gzip.compress(data)
    path, records = _load_bytes(packed[: max(2, len(packed) * 2 // 3)], suffix)  # truncated gzip too
    _check_records(path, records)
    path, records = _load_bytes(packed, suffix)
    _check_records(path, records)


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3),
                            max_leaves=8)
_records = st.fixed_dictionaries({}, optional={"url": _json_values, "title": _json_values, "text": _json_values,
                                               "html": _json_values, "published_at": _json_values,
                                               "authors": _json_values, "language": _json_values})


@FAST
@given(lines=st.lists(st.one_of(_records.map(json.dumps), _json_values.map(json.dumps),
                                st.text(alphabet=st.characters(blacklist_characters="\n\r"), min_size=1)),
                      min_size=1, max_size=12))
def test_every_jsonl_line_gives_exactly_one_record_in_order(lines):
    lines = [line for line in lines if line.strip()]  # blank lines are not records
    path, records = _load_bytes("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl")
    _check_records(path, records)
    if not lines:  # a file of blank lines is still an input: one ``empty`` reject
        assert [(r.source_uri, r.reason) for r in records] == [(path, "empty")]
        return
    assert [r.source_uri for r in records] == [f"{path}#{n}" for n in range(1, len(lines) + 1)]


def _check_segments(article: Article) -> None:
    segments = article.segments
    assert [s.index for s in segments] == list(range(len(segments)))
    assert all(s.text and s.text.strip() == s.text for s in segments)
    assert [s.kind for s in segments].count("title") <= 1
    if any(s.kind == "title" for s in segments):
        assert segments[0].kind == "title" and segments[0].text == article.title
    assert article.text == "\n".join(s.text for s in segments if s.kind != "title")


@FAST
@given(text=st.text(max_size=3000))
def test_text_segmentation_invariants(text):
    article = Article("t", raw_text=text, content_type="text")
    try:
        extract_mod.extract(article, SETTINGS)
    except extract_mod.ExtractionError as exc:
        assert exc.reason in ("no_text", "too_large")
        return
    _check_segments(article)


_words = st.text(alphabet=st.characters(categories=["L", "N", "Zs", "P"]), min_size=1, max_size=80)
_blocks = st.lists(st.tuples(st.sampled_from(["p", "h2", "li", "blockquote", "div", "td", "pre"]), _words),
                   min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.one_of(st.none(), _words), blocks=_blocks)
def test_html_segmentation_invariants(title, blocks):
    from html import escape

    body = "".join(f"<ul><li>{escape(t)}</li></ul>" if tag == "li" else
                   f"<table><tr><td>{escape(t)}</td></tr></table>" if tag == "td" else
                   f"<{tag}>{escape(t)}</{tag}>" for tag, t in blocks)
    head = f"<title>{escape(title)}</title>" if title else ""
    article = Article("h", html=f"<html><head>{head}</head><body><article>{body}</article></body></html>",
                      content_type="html")
    try:
        extract_mod.extract(article, SETTINGS)
    except extract_mod.ExtractionError as exc:
        assert exc.reason in ("no_text", "too_large")
        return
    _check_segments(article)
    assert article.html is None  # the payload is not carried further


@FAST
@given(value=st.text())
def test_clean_text_always_writable_and_identity_when_already_valid(value):
    cleaned = clean_text(value)
    pa.array([cleaned])  # Arrow accepts it
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        assert "\ufffd" in cleaned
    else:
        assert cleaned is value


@FAST
@given(uri=st.text(), text=st.text(), authors=st.lists(st.text(), max_size=3))
def test_scrubbed_records_are_writable(uri, text, authors):
    from datetime import datetime, timezone

    from ingest.output.writer import articles_to_table, rejects_to_table

    article = scrub(Article(uri, raw_text=text, text=text, title=text or None, authors=authors, url=uri))
    articles_to_table([article], run_id="r", ingested_at=datetime.now(timezone.utc), target_language="en")
    rejects_to_table([scrub(Reject(uri, "load", "x", text))], run_id="r", rejected_at=datetime.now(timezone.utc))


@FAST
@given(added=st.lists(st.text(max_size=6), max_size=80), probes=st.lists(st.text(max_size=6), max_size=30))
def test_idset_behaves_like_a_set(added, probes):
    saved, idset_mod.MERGE_AT = idset_mod.MERGE_AT, 7  # merge often: exercise the sorted arrays
    try:
        ids, model = idset_mod.IdSet(), set()
        for value in added:
            ids.add(value)
            model.add(value)
            assert value in ids
        for value in probes + added:
            assert (value in ids) == (value in model)
        assert len(ids) == len(model)
    finally:
        idset_mod.MERGE_AT = saved


def test_idset_is_compact():
    ids = idset_mod.IdSet(f"{i:032x}" for i in range(200_000))
    assert len(ids) == 200_000
    assert ids.nbytes() < 200_000 * 40  # a set of 32-char str costs ~100 bytes per member
    assert f"{5:032x}" in ids and f"{200_001:032x}" not in ids


# --- the langdetect backend's n-grams are langdetect's own -----------------------------------

def _langdetect_reference_ngrams(backend, text: str) -> list[str]:
    detector = backend._factory.create()
    detector.append(text)
    detector.cleaning_text()
    return detector._extract_ngrams()


_TEXTS = st.text(alphabet=st.sampled_from(
    list("abcXYZ éÉßçøÆ  .,-'\t\n") + ["ș", "ț", "ệ", "Ạ", "д", "Ж", "ب", "ی", "क", "あ", "ア", "漢", "한", "\u00a0", "\u2014", "1", "@", "/"]),
    max_size=120)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_langdetect_backend_ngrams_equal_langdetects(text):
    from ingest.language.backends import get_backend

    backend = get_backend("langdetect")
    assert sorted(backend.ngrams(text)) == sorted(_langdetect_reference_ngrams(backend, text))


def test_langdetect_backend_ngrams_equal_langdetects_on_urls_mail_and_capitals():
    from ingest.language.backends import get_backend

    backend = get_backend("langdetect")
    for text in ("Visit https://example.org/a?b=1 or write to a.b@example.org today",
                 "NASA and the ESA said THE LAUNCH is ON", "Ünïcode ÀÉ ü  «quoted» — dash", "x",
                 "Nghệ An Việt Nam", "日本語のテキスト 漢字 한국어", "A" * 12_000 + " tail words"):
        assert sorted(backend.ngrams(text)) == sorted(_langdetect_reference_ngrams(backend, text))
