"""Work-item handlers for the web: kind ``url`` (a feed or an article page, told apart by content)
and kind ``feed`` (a local RSS/Atom/JSON Feed file).

A feed's entries become Articles: when the run is online, each new entry's page is fetched
(``content_origin="http"``); when that fails but the entry carries content, the feed's content is
kept (``content_origin="feed"``), otherwise the entry is rejected with the fetch reason.  Offline
(``Settings.offline``), entries use the feed's content and URL work items are rejected ``offline``.

Incremental runs: entries whose canonical URL the fetch state knows are skipped (counted in a log
line); handlers yield ``StateUpdate`` records that the pipeline applies after writing the
articles.  A feed's ETag/Last-Modified is recorded only when none of its entries failed for a
transient reason, so a 304 on the next run never hides an entry that still needs fetching.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Iterator

from ingest.records import Article, Reject, StateUpdate
from ingest.settings import Settings
from ingest.sources.declared import find_source
from ingest.sources.encoding import decode_html, decode_text
from ingest.sources.feeds import (
    FeedEntry,
    NotAFeed,
    ParsedFeed,
    describe_entry,
    entry_article,
    parse_feed,
    sniff_feed,
)
from ingest.sources.fetch_state import FetchState, current_run_id, open_state
from ingest.sources.http import FEED_TYPES, HTML_TYPES, TEXT_TYPES, FetchError, FetchResult, get_fetcher
from ingest.sources.loaders import WorkItem, read_bytes
from ingest.sources.urls import canonicalize

logger = logging.getLogger(__name__)

Record = Article | Reject | StateUpdate

# fetch failures worth trying again on a later run (not recorded as done)
TRANSIENT_REASONS = frozenset({"timeout", "http_5xx", "http_408", "http_429", "connect_error", "connection_error",
                               "robots_unavailable", "fetch_error"})


def load_url(item: WorkItem, settings: Settings) -> Iterator[Record]:
    """Fetch a URL: a feed yields its entries' articles, a page yields one article."""
    settings, hint, name = _with_source(item, settings)
    if settings.offline:
        yield Reject(item.location, "fetch", "offline", "offline run: URLs are not fetched")
        return
    try:
        key = canonicalize(item.location)
    except ValueError as exc:
        yield Reject(item.location, "fetch", "bad_url", str(exc))
        return
    state = open_state(settings.state_dir)
    if state is not None and state.is_done(key):
        logger.info("%s: already fetched by an earlier run, skipped", item.location)
        return
    validators = state.feed_validators(key) if state is not None else None
    try:
        result = get_fetcher(settings).fetch(item.location, etag=validators and validators[0],
                                             last_modified=validators and validators[1])
    except FetchError as exc:
        yield Reject(item.location, "fetch", exc.reason, exc.detail, url=key)
        return
    if result.not_modified:
        logger.info("%s: feed not modified since the last run (HTTP 304)", item.location)
        return
    kind = sniff_feed(result.content, result.content_type)
    if kind is None:
        yield from _page_records(result, item.location, key, state, hint, name)
        return
    try:
        feed = parse_feed(result.content, item.location, content_type=result.headers.get("content-type"),
                          base_url=result.final_url)
    except NotAFeed as exc:
        yield Reject(item.location, "load", exc.reason, str(exc), url=key)
        return
    transient = yield from feed_records(feed, settings, state, hint=hint, source_name=name,
                                        fetched_at=result.fetched_at)
    if not transient:  # for the driver to commit (state is the driver's, see feed_records)
        yield StateUpdate("feed", key, {"etag": result.etag, "last_modified": result.last_modified})


def load_feed_file(item: WorkItem, settings: Settings) -> Iterator[Record]:
    """A local feed file (.xml/.rss/.atom, JSON Feed .json; optionally .gz)."""
    settings, hint, name = _with_source(item, settings)
    data = read_bytes(item.location, settings.max_document_bytes)
    try:
        feed = parse_feed(data, item.location)
    except NotAFeed as exc:
        yield Reject(item.location, "load", exc.reason, str(exc))
        return
    yield from feed_records(feed, settings, open_state(settings.state_dir), hint=hint, source_name=name)


def feed_records(feed: ParsedFeed, settings: Settings, state: FetchState | None, *, hint: str | None = None,
                 source_name: str | None = None, fetched_at: datetime | None = None):
    """Articles, Rejects and StateUpdates for a parsed feed's entries, in entry order.
    Returns (as the generator's value) whether some entry failed for a transient reason."""
    yield from feed.problems
    fetch = not settings.offline and settings.fetch_feed_articles
    keys = {e.index: _canonical(e.link) for e in feed.entries}
    known = state.known([k for k in keys.values() if k]) if state is not None else set()
    todo, listed = [], set()
    for entry in feed.entries:
        key = keys[entry.index]
        if key in known or (fetch and key in listed):
            continue  # handled by an earlier run, or a page this feed lists twice (fetched once)
        todo.append(entry)
        if key:
            listed.add(key)
    counts = {"known": len(feed.entries) - len(todo), "other_feed": 0, "http": 0, "feed": 0, "rejected": 0}
    run_id = current_run_id()
    if fetch and state is not None and run_id is not None and listed:
        # a page that several feeds of this run list is fetched by the first feed to claim it
        mine = state.claim(sorted(listed), run_id, feed.location)
        if len(mine) < len(listed):
            before = len(todo)
            todo = [e for e in todo if keys[e.index] is None or keys[e.index] in mine]
            counts["other_feed"] = before - len(todo)
    transient = False

    def one(entry: FeedEntry) -> list[Record]:
        return _entry_records(entry, keys[entry.index], feed, settings, fetch, hint, source_name, fetched_at)

    workers = min(settings.feed_fetch_workers, len(todo)) if fetch else 1
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="feed-entry") as pool:
        results = pool.map(one, todo) if workers > 1 else map(one, todo)
        for records in results:
            for record in records:
                if isinstance(record, Article):
                    counts[record.content_origin] += 1
                elif isinstance(record, Reject):
                    counts["rejected"] += 1
                    transient |= record.reason in TRANSIENT_REASONS
                yield record  # a StateUpdate goes to the driver, which commits it (even when this
                # process has no state directory: a worker of a remote Dask cluster)
    logger.info("%s: %d entries: %d already fetched or repeated (skipped), %d fetched by another feed of this run, "
                "%d pages fetched, %d from feed content, %d rejected", feed.location, len(feed.entries),
                counts["known"], counts["other_feed"], counts["http"], counts["feed"], counts["rejected"])
    return transient


def _entry_records(entry: FeedEntry, key: str | None, feed: ParsedFeed, settings: Settings, fetch: bool,
                   hint: str | None, name: str | None, fetched_at: datetime | None) -> list[Record]:
    uri = f"{feed.location}#{entry.index}"
    embedded = entry_article(entry, feed, hint=hint, source_name=name)
    if embedded is not None:
        embedded.fetched_at = fetched_at
    if not fetch or key is None:
        if embedded is None:
            if key is not None:
                return [Reject(uri, "load", "no_content", "the entry carries no content (and pages are not fetched)",
                               url=key)]
            if feed.malformed:
                return [Reject(uri, "load", "malformed_entry", f"entry has no link and no content; {feed.malformed}")]
            return [Reject(uri, "load", "no_content", "entry has no link and no content")]
        return [embedded] + ([StateUpdate("url", key, {"status": "done", "origin": "feed"})] if key else [])
    try:
        result = get_fetcher(settings).fetch(entry.link, accept=HTML_TYPES | TEXT_TYPES)
        page = page_article(result, uri, hint=hint, source_name=name)
    except FetchError as exc:
        page = Reject(uri, "fetch", exc.reason, exc.detail, url=key)
    if isinstance(page, Reject):
        if embedded is not None:
            logger.info("%s: page not fetched (%s): keeping the feed's content", uri, page.reason)
            return [embedded, StateUpdate("url", key, {"status": "done", "origin": "feed", "reason": page.reason})]
        if page.reason in TRANSIENT_REASONS:
            return [page]  # try again next run
        return [page, StateUpdate("url", key, {"status": "rejected", "reason": page.reason})]
    describe_entry(page, entry, feed, hint=hint, source_name=name)
    updates = [StateUpdate("url", key, {"status": "done", "origin": "http"})]
    if page.url and page.url != key:  # redirected: the final URL is known too
        updates.append(StateUpdate("url", page.url, {"status": "done", "origin": "http"}))
    return [page, *updates]


def page_article(result: FetchResult, source_uri: str, *, hint: str | None = None,
                 source_name: str | None = None) -> Article | Reject:
    """An Article from a fetched page (HTML or plain text)."""
    url = _canonical(result.final_url)
    mime = result.content_type
    if not result.content.strip():
        return Reject(source_uri, "fetch", "empty", "the page is empty", url=url)
    article = Article(source_uri=source_uri, content_origin="http", url=url, fetched_at=result.fetched_at,
                      language_hint=hint, source_name=source_name)
    if mime in TEXT_TYPES:
        article.raw_text, article.content_type = decode_text(result.content, result.charset), "text"
    elif mime is None or mime in HTML_TYPES:
        article.html, article.content_type = decode_html(result.content, result.charset), "html"
    else:
        return Reject(source_uri, "fetch", "bad_content_type", f"{mime} is not an article page", url=url)
    return article


def _page_records(result: FetchResult, location: str, key: str, state: FetchState | None, hint,
                  name) -> Iterator[Record]:
    if result.content_type in FEED_TYPES:
        yield Reject(location, "load", "not_a_feed", f"{result.content_type} document is not a feed", url=key)
        return
    page = page_article(result, location, hint=hint, source_name=name)
    yield page
    if isinstance(page, Article):  # for the driver to commit
        yield StateUpdate("url", key, {"status": "done", "origin": "http"})
        if page.url and page.url != key:
            yield StateUpdate("url", page.url, {"status": "done", "origin": "http"})


def _with_source(item: WorkItem, settings: Settings) -> tuple[Settings, str | None, str | None]:
    source = find_source(settings.sources_file, item.location)
    if source is None:
        return settings, item.hint, None
    return source.apply(settings), item.hint or source.language, source.name


def _canonical(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return canonicalize(url)
    except ValueError:
        return None
