"""Feeds and pages end to end against a local server: load -> extract, feed-content fallback,
offline runs, and incremental runs (state applied between runs as the pipeline does)."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from ingest.extract.extractor import extract
from ingest.records import Article, Reject, StateUpdate
from ingest.settings import Settings
from ingest.sources.fetch_state import FetchState, close_states
from ingest.sources.http import close_fetchers
from ingest.sources.loaders import WorkItem, load, plan
from tests.httpserver import LocalServer, Reply

STORIES = {
    1: ("Harbour reopens", "The old stone pier reopened on Monday after three weeks of repairs."),
    2: ("Fish market busy", "Traders at the fish market reported the busiest morning of the year."),
    3: ("Ferry timetable", "The island ferry returns to its summer timetable from the first of June."),
}


def page(n: int, title: str, text: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><nav>Home | News</nav><article><h1>{title}</h1>"
            f"<p>{text}</p><p>Story number {n} continues with a second paragraph of plain reporting.</p>"
            f"</article><footer>(c) Harbour Times</footer></body></html>").encode()


def feed_xml(base: str, numbers, *, with_content: bool = True) -> bytes:
    items = []
    for n in numbers:
        title, text = STORIES.get(n, (f"Story {n}", f"Text of story {n}."))
        content = f"<content:encoded><![CDATA[<p>Feed summary: {text}</p>]]></content:encoded>" if with_content else ""
        when = format_datetime(datetime(2026, 6, n % 28 + 1, 8, tzinfo=timezone.utc), usegmt=True)
        items.append(f"<item><title>{title}</title><link>{base}/news/{n}?utm_source=rss</link>"
                     f"<pubDate>{when}</pubDate>{content}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Harbour Times</title>'
            f"<link>{base}/</link>{''.join(items)}</channel></rss>").encode()


class Site:
    """A news site: a feed with ETag / Last-Modified and one page per story."""

    def __init__(self, server: LocalServer, numbers=(1, 2, 3), with_content: bool = True) -> None:
        self.server = server
        self.version = 0
        self.set_feed(numbers, with_content)
        for n, (title, text) in STORIES.items():
            server.route(f"/news/{n}", Reply(body=page(n, title, text)))
        server.route("/feed.xml", self._feed)

    def set_feed(self, numbers, with_content: bool = True) -> None:
        self.version += 1
        self.body = feed_xml(self.server.base, numbers, with_content=with_content)

    def _feed(self, request) -> Reply:
        etag = f'"v{self.version}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304, content_type=None, headers={"ETag": etag})
        return Reply(body=self.body, content_type="application/rss+xml; charset=utf-8",
                     headers={"ETag": etag, "Last-Modified": "Mon, 01 Jun 2026 08:00:00 GMT"})

    @property
    def url(self) -> str:
        return self.server.url("/feed.xml")


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    close_fetchers()
    close_states()


@pytest.fixture()
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(allow_private_addresses=True, connect_timeout_s=1.0, read_timeout_s=1.0, max_retries=1,
                    backoff_s=0.01, per_host_rate=0, state_dir=str(tmp_path / "_state"))


def run(sources, settings: Settings, *, commit: bool = True):
    """One run as the pipeline does it: plan, load, then apply the state updates after 'writing'."""
    articles, rejects, updates = [], [], []
    for item in plan(sources, settings):
        for record in load(item, settings):
            {Article: articles, Reject: rejects, StateUpdate: updates}[type(record)].append(record)
    if commit and settings.state_dir:
        FetchState(settings.state_dir).apply(updates)
    return articles, rejects, updates


def test_feed_with_three_pages_fetched_and_extracted(server, settings):
    site = Site(server)
    articles, rejects, updates = run([site.url], settings)
    assert rejects == []
    assert [a.source_uri for a in articles] == [f"{site.url}#{n}" for n in (1, 2, 3)]
    for n, article in zip((1, 2, 3), articles):
        assert article.content_origin == "http" and article.content_type == "html"
        assert article.url == server.url(f"/news/{n}")  # canonical: utm_source dropped
        assert article.title == STORIES[n][0] and article.source_name == "Harbour Times"
        assert article.fetched_at is not None and article.published_at.month == 6
        extract(article, Settings())
        assert STORIES[n][1] in article.text
        assert "Feed summary" not in article.text and "Harbour Times" not in article.text  # the page, not the feed
        assert server.count(f"/news/{n}") == 1
    assert {(u.kind, u.key) for u in updates} == {("url", server.url(f"/news/{n}")) for n in (1, 2, 3)} | {
        ("feed", site.url)}


def test_second_run_fetches_nothing_again_and_new_entries_only(server, settings):
    site = Site(server)
    first, _, _ = run([site.url], settings)
    assert len(first) == 3
    second, rejects, updates = run([site.url], settings)
    assert second == [] and rejects == [] and updates == []
    assert server.count("/feed.xml") == 2
    assert [r.headers.get("if-none-match") for r in server.requests if r.path == "/feed.xml"] == [None, '"v1"']
    assert all(server.count(f"/news/{n}") == 1 for n in (1, 2, 3))
    # the feed changes (a new entry, a new ETag): only the new page is fetched
    server.route("/news/4", Reply(body=page(4, "New pier lights", "New lights were fitted on the pier.")))
    site.set_feed((4, 1, 2, 3))
    third, _, _ = run([site.url], settings)
    assert [a.url for a in third] == [server.url("/news/4")]
    assert all(server.count(f"/news/{n}") == 1 for n in (1, 2, 3, 4))


def test_crash_before_state_is_applied_loses_nothing(server, settings):
    site = Site(server)
    first, _, _ = run([site.url], settings, commit=False)  # the run died before its rows were written
    again, _, _ = run([site.url], settings)
    assert [a.url for a in again] == [a.url for a in first]
    assert server.count("/feed.xml") == 2 and server.requests[-1].headers.get("if-none-match") is None


def test_page_failures_fall_back_to_feed_content_or_reject(server, settings):
    site = Site(server)
    server.route("/news/2", Reply(status=404))
    server.route("/news/3", Reply(status=500))
    articles, rejects, updates = run([site.url], settings)
    assert [(a.url.rsplit("/", 1)[1], a.content_origin) for a in articles] == [("1", "http"), ("2", "feed"),
                                                                              ("3", "feed")]
    assert rejects == []
    assert "Feed summary" in extract(articles[1], Settings()).text
    assert server.count("/news/3") == 2  # retried once
    # without content in the feed the entries are rejected with the fetch reason
    no_content = Site(server, with_content=False)
    server.route("/news/2", Reply(status=404))
    server.route("/news/3", Reply(status=500))
    state_dir = settings.state_dir + "-2"
    articles, rejects, updates = run([no_content.url], settings.replace(state_dir=state_dir))
    assert [a.content_origin for a in articles] == ["http"]
    assert [(r.source_uri, r.stage, r.reason) for r in rejects] == [
        (f"{no_content.url}#2", "fetch", "http_404"), (f"{no_content.url}#3", "fetch", "http_5xx")]
    state = FetchState(state_dir)
    assert state.url_record(server.url("/news/2"))["status"] == "rejected"  # permanent: not asked again
    assert not state.is_done(server.url("/news/3"))  # transient: tried again next run ...
    assert state.feed_validators(no_content.url) is None  # ... so the feed is not marked unchanged
    server.route("/news/3", Reply(body=page(3, *STORIES[3])))
    articles, rejects, _ = run([no_content.url], settings.replace(state_dir=state_dir))
    assert [a.url for a in articles] == [server.url("/news/3")] and rejects == []
    assert server.count("/news/2") == 2  # once per site run above, never again


def test_offline_uses_feed_content_and_never_touches_the_network(server, settings, tmp_path):
    site = Site(server)
    local = tmp_path / "harbour.rss"
    local.write_bytes(site.body)
    offline = settings.replace(offline=True)
    articles, rejects, _ = run([site.url, str(local)], offline)
    assert [(r.source_uri, r.reason) for r in rejects] == [(site.url, "offline")]
    assert [a.content_origin for a in articles] == ["feed"] * 3
    assert [a.source_uri for a in articles] == [f"{local}#{n}" for n in (1, 2, 3)]
    assert STORIES[1][1] in extract(articles[0], Settings()).text
    assert server.total() == 0


def test_local_feed_file_online_fetches_pages(server, settings, tmp_path):
    site = Site(server)
    local = tmp_path / "harbour.xml"
    local.write_bytes(site.body)
    articles, rejects, _ = run([str(local)], settings)
    assert rejects == [] and [a.content_origin for a in articles] == ["http"] * 3


def test_direct_urls_page_feed_and_non_feed(server, settings):
    site = Site(server)
    server.route("/data.json", Reply(body=b'{"a": 1}', content_type="application/json"))
    server.route("/missing", Reply(status=404))
    articles, rejects, _ = run([server.url("/news/1#comments"), server.url("/data.json"), server.url("/missing")],
                               settings)
    assert [(a.source_uri, a.url, a.content_origin) for a in articles] == [
        (server.url("/news/1#comments"), server.url("/news/1"), "http")]
    assert [(r.reason, r.stage) for r in rejects] == [("not_a_feed", "load"), ("http_404", "fetch")]
    again, _, _ = run([server.url("/news/1")], settings)
    assert again == [] and server.count("/news/1") == 1
    assert site.url  # the feed itself was not needed


def test_sources_file_declares_feeds_with_hints_and_overrides(server, settings, tmp_path):
    site = Site(server)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[feeds]]\nname = "Harbour desk"\nurl = "{site.url}"\nlanguage = "en"\n'
                       "[feeds.settings]\nfetch_feed_articles = false\n", encoding="utf-8")
    with_sources = settings.replace(sources_file=str(sources))
    items = list(plan([], with_sources))
    assert items == [WorkItem("url", site.url, hint="en")]
    articles, rejects, _ = run([], with_sources)
    assert rejects == [] and len(articles) == 3
    assert {(a.source_name, a.language_hint, a.content_origin) for a in articles} == {("Harbour desk", "en", "feed")}
    assert all(server.count(f"/news/{n}") == 0 for n in (1, 2, 3))  # the per-source override applied


def test_redirected_entry_records_both_urls(server, settings):
    site = Site(server, numbers=(1,))
    server.route("/news/1", Reply(status=301, headers={"Location": "/stories/harbour-reopens"}))
    server.route("/stories/harbour-reopens", Reply(body=page(1, *STORIES[1])))
    articles, _, updates = run([site.url], settings)
    assert articles[0].url == server.url("/stories/harbour-reopens")
    assert {u.key for u in updates if u.kind == "url"} == {server.url("/news/1"),
                                                           server.url("/stories/harbour-reopens")}


def test_feed_served_as_html_is_recognised_by_content(server, settings):
    site = Site(server)
    server.route("/mislabelled", Reply(body=site.body, content_type="text/html; charset=utf-8"))
    articles, rejects, _ = run([server.url("/mislabelled")], settings.replace(fetch_feed_articles=False))
    assert rejects == [] and [a.title for a in articles] == [STORIES[n][0] for n in (1, 2, 3)]


def _batch(settings: Settings, number: int, url: str, run_id: str):
    from ingest.runtime import pipeline

    return pipeline.process_batch(pipeline.Batch(number, [WorkItem("url", url)]), settings, run_id)


def test_page_listed_by_two_feeds_is_fetched_once_per_run(server, settings, tmp_path):
    # a site's section feeds overlap; the feeds may run in different batches and processes, and
    # the first batch's state is not committed yet when the second runs
    Site(server, numbers=(1, 2))
    server.route("/world.xml", Reply(body=feed_xml(server.base, (2, 3, 3)),
                                     content_type="application/rss+xml; charset=utf-8"))
    settings = settings.replace(out=str(tmp_path / "out"), translate=False, language_backend="langdetect")
    first = _batch(settings, 1, server.url("/feed.xml"), "run-a")
    second = _batch(settings, 2, server.url("/world.xml"), "run-a")
    assert [server.count(f"/news/{n}") for n in (1, 2, 3)] == [1, 1, 1]  # 3 is listed twice in /world.xml
    assert first.counts["inputs"] == 2 and second.counts["inputs"] == 1
    urls = lambda result: {u.key for u in result.state_updates if u.kind == "url"}  # noqa: E731
    assert urls(first) == {server.url("/news/1"), server.url("/news/2")} and urls(second) == {server.url("/news/3")}
    # a retried batch (same run, same feed) fetches its pages again: nothing is left unfetched
    _batch(settings, 1, server.url("/feed.xml"), "run-a")
    assert [server.count(f"/news/{n}") for n in (1, 2)] == [2, 2]
    # the run crashed before committing: the next run takes the claims over, whichever feed comes first
    again = _batch(settings, 1, server.url("/world.xml"), "run-b")
    assert urls(again) == {server.url("/news/2"), server.url("/news/3")}
    # once committed, a page is no longer claimed but known
    FetchState(settings.state_dir).apply(again.state_updates)
    assert FetchState(settings.state_dir).counts()["claims"] == 1  # only run-a's stale claim on /news/1 is left
    rest = _batch(settings, 2, server.url("/feed.xml"), "run-b")
    assert urls(rest) == {server.url("/news/1")}  # /news/2 is known now
    assert [server.count(f"/news/{n}") for n in (1, 2, 3)] == [3, 3, 2]
