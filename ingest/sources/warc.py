"""WARC input (``.warc``, ``.warc.gz``; Common Crawl CC-NEWS layout), streamed with warcio.

Each HTML ``response`` record with status 200 becomes an Article: ``source_uri`` is
``<path>#<1-based record index>`` (counting every record of the file), ``url`` the canonical
WARC-Target-URI, ``fetched_at`` the WARC-Date, and the HTTP charset is honoured when decoding.
Other records (warcinfo, request, metadata, non-HTML, non-200) are skipped and counted in one log
line per file; a record whose body cannot be read or is cut short, a file that breaks off, or a
file that is not WARC at all becomes a Reject.
"""
from __future__ import annotations

import logging
import zlib
from collections import Counter
from typing import Iterator

from ingest.records import Article, Reject, parse_datetime
from ingest.settings import Settings
from ingest.sources.encoding import decode_html
from ingest.sources.http import HTML_TYPES, parse_content_type
from ingest.sources.loaders import WorkItem
from ingest.sources.urls import canonicalize, is_http_url

logger = logging.getLogger(__name__)


def load_warc(item: WorkItem, settings: Settings) -> Iterator[Article | Reject]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    skipped: Counter[str] = Counter()
    span = item.span  # a range of the file's records (ingest.sources.split): from its offset, its count
    first = span.first if span else 1
    count = span.count if span else None
    index = first - 1
    articles = 0
    with open(item.location, "rb") as fh:
        if span is not None and span.offset:
            fh.seek(span.offset)
        records = iter(ArchiveIterator(fh))
        while count is None or index - (first - 1) < count:
            try:
                record = next(records)
            except StopIteration:
                break
            except (ArchiveLoadFailed, zlib.error, EOFError, ValueError, OSError) as exc:
                yield Reject(f"{item.location}#{index + 1}", "load", "corrupt_warc",
                             f"{type(exc).__name__}: {exc}"[:500])
                break
            index += 1
            if not str(record.format).startswith("warc"):
                yield Reject(f"{item.location}#{index}", "load", "not_warc",
                             f"record {index} is not a WARC record (format {record.format!r})")
                break
            result = _record(record, f"{item.location}#{index}", settings, item.hint, skipped)
            if result is not None:
                articles += isinstance(result, Article)
                yield result
    logger.info("%s%s: %d records, %d HTML articles, skipped: %s", item.location,
                f" (records {first}-{index})" if span else "", index - first + 1, articles,
                ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())) or "none")


def _record(record, uri: str, settings: Settings, hint: str | None, skipped: Counter) -> Article | Reject | None:
    if record.rec_type != "response":
        skipped[record.rec_type or "unknown"] += 1
        return None
    if record.http_headers is None:
        skipped["non-http response"] += 1
        return None
    status = record.http_headers.get_statuscode()
    if status != "200":
        skipped[f"status {status}"] += 1
        return None
    mime, charset = parse_content_type(record.http_headers.get_header("Content-Type"))
    if mime is not None and mime not in HTML_TYPES:
        skipped["not html"] += 1
        return None
    target = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    url = canonicalize(target) if is_http_url(target) else None
    try:
        body = record.content_stream().read(settings.max_body_bytes + 1)
    except (zlib.error, EOFError, ValueError, OSError) as exc:
        return Reject(uri, "load", "corrupt_record", f"{type(exc).__name__}: {exc}"[:500], url=url)
    if len(body) > settings.max_body_bytes:
        return Reject(uri, "load", "too_large", f"record body exceeds {settings.max_body_bytes:,} bytes", url=url)
    if getattr(record.raw_stream, "limit", 0) > 0:  # the file ended before the record's Content-Length
        return Reject(uri, "load", "truncated_record", "the record is cut short (truncated file?)", url=url)
    if not body.strip():
        return Reject(uri, "load", "empty", "response record has an empty body", url=url)
    if mime is None and not body.lstrip()[:1] == b"<":
        skipped["not html"] += 1
        return None
    return Article(source_uri=uri, html=decode_html(body, charset), content_type="html", content_origin="warc",
                   url=url, fetched_at=parse_datetime(record.rec_headers.get_header("WARC-Date")),
                   language_hint=hint)
