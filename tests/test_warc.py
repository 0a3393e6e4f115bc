"""WARC input: a WARC written here with warcio (CC-NEWS layout: warcinfo, then request/response
pairs), loaded, streamed record by record, and extracted."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from ingest.extract.extractor import extract
from ingest.records import Article, Reject
from ingest.settings import Settings
from ingest.sources.loaders import WorkItem, load, plan

SETTINGS = Settings(offline=True)

EN = "The harbour reopened on Monday after three weeks of repairs to the old stone pier."
RU = "Порт снова открыт после ремонта старого каменного причала, и рыбаки вернулись."
DE = "Der Fischmarkt war am Morgen so voll wie seit Jahren nicht mehr, sagten die Händler."


def html(title: str, text: str, meta: str = "") -> str:
    return (f"<html><head>{meta}<title>{title}</title></head><body><article><h1>{title}</h1><p>{text}</p>"
            f"<p>A second paragraph follows here.</p></article></body></html>")


def write_warc(path: Path, *, compress: bool = True) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests", "format": "WARC 1.0"}))

        def response(uri: str, body: bytes, status: str = "200 OK", ctype: str = "text/html; charset=utf-8",
                     extra=()):
            headers = StatusAndHeaders(status, [("Content-Type", ctype), *extra], protocol="HTTP/1.1")
            request = writer.create_warc_record(uri, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
            writer.write_record(request)
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))

        response("https://News.Example/en/harbour?utm_source=cc#top", html("Harbour", EN).encode())  # records 2, 3
        response("https://news.example/ru/port", html("Порт", RU).encode("windows-1251"),
                 ctype="text/html; charset=windows-1251")  # 4, 5
        response("https://news.example/missing", b"<html>gone</html>", status="404 Not Found")  # 6, 7
        response("https://news.example/logo.png", b"\x89PNG\r\n\x1a\n", ctype="image/png")  # 8, 9
        response("https://news.example/de/markt", gzip.compress(html("Markt", DE).encode("utf-8")),
                 extra=[("Content-Encoding", "gzip")])  # 10, 11
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        response("https://news.example/de/meta", html("Händler", DE, meta).encode("latin-1"),
                 ctype="text/html")  # 12, 13


@pytest.mark.parametrize("compress", [True, False])
def test_html_responses_become_articles(tmp_path, compress, caplog):
    path = tmp_path / ("crawl.warc.gz" if compress else "crawl.warc")
    write_warc(path, compress=compress)
    items = list(plan([str(tmp_path)], SETTINGS))
    assert items == [WorkItem("warc", str(path.resolve()))]
    caplog.set_level("INFO", logger="ingest.sources.warc")
    records = list(load(items[0], SETTINGS))
    assert all(isinstance(r, Article) for r in records)
    assert [r.source_uri.rsplit("#", 1)[1] for r in records] == ["3", "5", "11", "13"]
    assert [r.url for r in records] == ["https://news.example/en/harbour", "https://news.example/ru/port",
                                        "https://news.example/de/markt", "https://news.example/de/meta"]
    assert all(r.content_origin == "warc" and r.fetched_at is not None for r in records)
    texts = [extract(r, Settings()).text for r in records]
    assert EN in texts[0] and RU in texts[1] and DE in texts[2] and DE in texts[3]
    assert records[3].title == "Händler"
    assert "13 records, 4 HTML articles" in caplog.text and "6 request" in caplog.text
    assert "1 status 404" in caplog.text and "1 not html" in caplog.text and "1 warcinfo" in caplog.text


def test_truncated_warc_keeps_the_records_before_the_break(tmp_path):
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole)
    data = whole.read_bytes()
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(data[: int(len(data) * 0.8)])
    records = list(load(WorkItem("warc", str(broken)), SETTINGS))
    articles = [r for r in records if isinstance(r, Article)]
    rejects = [r for r in records if isinstance(r, Reject)]
    assert len(articles) >= 2 and articles[0].url == "https://news.example/en/harbour"
    assert [r.reason for r in rejects] == ["truncated_record"]
    html_urls = ["https://news.example/en/harbour", "https://news.example/ru/port",
                 "https://news.example/de/markt", "https://news.example/de/meta"]
    assert [a.url for a in articles] == html_urls[: len(articles)]
    assert rejects[0].url == html_urls[len(articles)]  # the record the file breaks off in


def test_not_a_warc_is_rejected(tmp_path):
    path = tmp_path / "junk.warc"
    path.write_bytes(b"this is not a WARC file at all\n" * 10)
    records = list(load(WorkItem("warc", str(path)), SETTINGS))
    assert [(type(r).__name__, r.reason) for r in records] == [("Reject", "not_warc")]


def test_oversized_record_rejected(tmp_path):
    path = tmp_path / "big.warc.gz"
    write_warc(path)
    records = list(load(WorkItem("warc", str(path)), Settings(offline=True, max_body_bytes=150)))
    assert {r.reason for r in records if isinstance(r, Reject)} == {"too_large"}
