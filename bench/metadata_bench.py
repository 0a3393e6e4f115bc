"""Metadata quality and cost: the metadata step (issue 21) beside the extraction before it.

    python bench/metadata_bench.py                 # both datasets, both splits
    python bench/metadata_bench.py --split dev --show title,date,author   # and the misses

Data: ``../shared/datasets/trafilatura_eval`` (evaldata.json: title, date and author gold where
present) and ``../shared/datasets/newspaper4k_testdata`` (metadata/*.json: newspaper's own
expected title, publish_date and authors).  trafilatura_eval is cut in two by a hash of the URL:
``dev`` (the pages the rules were developed on) and ``test`` (held out); newspaper4k is all
held out.

Measures, per dataset and split:
- title: exact match after HTML unescaping, NFKC and whitespace collapsing (pages with gold);
  ``title_ci`` the same ignoring case (some gold titles are copied as the page displays them,
  upper-cased by CSS);
- date: calendar day of the publication date as the page states it (in its own offset) equals the
  gold day (pages with a gold date); ``date_utc`` the same for the UTC day that is stored;
- authors: the set of names (split on , ; | & and/und/y/et, case-folded) equals the gold set
  (pages with gold authors); ``authors_all`` also counts pages whose gold says "no author";
- ``--date-ceiling``: how often the gold day is among *any* date the page's machine-readable
  signals give (every JSON-LD date field, every date/time ``<meta>``, every ``datetime``
  attribute, each read in any offset within 12 hours, plus htmldate's original and latest date
  and a date in the URL): the score of a rule that always picked the right one of them;
- ms/page: CPU time (``time.process_time``) of the whole HTML extraction (parse, body, metadata)
  in one process: ``old`` is trafilatura.bare_extraction with its metadata, as before issue 21;
  ``new`` is ``ingest.extract``'s HTML path.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import html as htmlmod
import json
import os
import re
import sys
import time
import unicodedata
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ingest.extract.extractor import _extract_html  # noqa: E402
from ingest.extract.metadata import page_metadata  # noqa: E402
from ingest.records import Article, parse_datetime  # noqa: E402
from ingest.sources.encoding import decode_html  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "datasets")


def split_of(key: str) -> str:
    return "dev" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def _gold_day(value: str | None) -> str | None:
    """The gold date as YYYY-MM-DD: a few gold values are written ``2022-29-11`` (day and month
    swapped) or ``2022-11-1`` (no zero padding); an impossible one is left as it is."""
    if not value:
        return value
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value.strip())
    if not m:
        return value
    year, a, b = (int(x) for x in m.groups())
    month, day = (b, a) if a > 12 >= b else (a, b)
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else value


def load_pages(data: str):
    ev = json.load(open(f"{data}/trafilatura_eval/evaldata.json", encoding="utf-8"))
    for url, rec in ev.items():
        if not any(k in rec for k in ("title", "date", "author")):
            continue
        raw = gzip.open(f"{data}/trafilatura_eval/html/{rec['file']}.gz").read()
        author = rec.get("author")
        if isinstance(author, list):
            author = "; ".join(author)
        yield {"dataset": "trafilatura_eval", "split": split_of(url), "url": url, "raw": raw, "name": rec["file"],
               "title": rec.get("title"), "date": _gold_day(rec.get("date")), "author": author}
    base = f"{data}/newspaper4k_testdata"
    for fn in sorted(os.listdir(f"{base}/metadata")):
        name = fn[:-5]
        path = f"{base}/html/{name}.html.gz"
        if not os.path.exists(path):
            continue
        meta = json.load(open(f"{base}/metadata/{fn}", encoding="utf-8"))
        date = meta.get("publish_date")
        yield {"dataset": "newspaper4k", "split": "test", "url": meta.get("url"), "raw": gzip.open(path).read(),
               "name": name, "title": meta.get("title"), "date": date[:10] if date else "",
               "author": meta.get("authors") or []}


def norm_title(value) -> str:
    if not value:
        return ""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", htmlmod.unescape(value))).strip()


_SPLIT = re.compile(r"\s*(?:;|,|\||&|\band\b|\bund\b|\by\b|\bet\b)\s*", re.I)


def author_set(value) -> frozenset:
    if not value:
        return frozenset()
    parts = []
    for item in [value] if isinstance(value, str) else value:
        parts.extend(_SPLIT.split(unicodedata.normalize("NFKC", item)))
    return frozenset(p.strip().casefold() for p in parts if p.strip())


def _days(dt: datetime | None) -> tuple[str | None, str | None]:
    if dt is None:
        return None, None
    return dt.date().isoformat(), dt.astimezone(timezone.utc).date().isoformat()


def old_metadata(html: str, url: str | None) -> dict:
    """The extraction before issue 21: trafilatura's metadata, as ingest/extract.py used it."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True, deduplicate=False,
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True,
                                "extensive_search": True})
    if doc is None:
        return {"title": None, "day": None, "day_utc": None, "authors": []}
    authors = [a.strip() for a in re.split(r";|\|", doc.author) if a.strip()] if doc.author else []
    utc = parse_datetime(doc.date) if doc.date else None
    return {"title": re.sub(r"\s+", " ", doc.title).strip() if doc.title else None,
            "day": doc.date[:10] if doc.date else None, "day_utc": utc.date().isoformat() if utc else None,
            "authors": authors}


def new_metadata(html: str, url: str | None, now: datetime) -> dict:
    from trafilatura import load_html

    md = page_metadata(load_html(html), url=url, now=now)
    day, day_utc = _days(md.published_at)
    return {"title": md.title, "day": day, "day_utc": day_utc, "authors": md.authors,
            "title_source": md.title_source, "date_source": md.published_source}


def _markup_dates(tree) -> list[tuple[str, datetime]]:
    """(field, value) for every date the page's markup states: JSON-LD keys holding "date",
    ``<meta>`` whose name/property/itemprop holds date/time/published/modified, ``datetime``
    attributes."""
    from ingest.extract.metadata import parse_date

    found: list[tuple[str, str]] = []

    def walk(node, depth=0):
        if depth > 12:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and "date" in key.lower():
                    found.append((key, value))
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    for script in tree.xpath('//script[contains(@type, "ld+json")]'):
        try:
            walk(json.loads(script.text or ""))
        except ValueError:
            continue
    for meta in tree.xpath("//meta[@content]"):
        key = " ".join(meta.get(a) or "" for a in ("name", "property", "itemprop")).lower()
        if re.search(r"date|time|published|modified|created", key):
            found.append((key, meta.get("content")))
    found.extend(("datetime", e.get("datetime")) for e in tree.xpath("//*[@datetime]"))
    out = []
    for key, value in found:
        dt, _ = parse_date(value)
        if dt is not None:
            out.append((key, dt))
    return out


def date_ceiling(pages: list[dict]) -> None:
    """Print how often the gold day is among the page's machine-readable dates (see the module doc)."""
    from datetime import timedelta

    from htmldate import find_date
    from trafilatura import load_html

    from ingest.extract.metadata import _url_date

    n = hit = only_modified = 0
    for p in pages:
        if p["dataset"] != "trafilatura_eval" or not p["date"]:
            continue
        n += 1
        tree = load_html(p["html"])
        marked = _markup_dates(tree)
        days = {(dt + timedelta(hours=h)).date().isoformat() for _, dt in marked for h in (-12, 0, 12)}
        for original in (True, False):
            try:
                found = find_date(load_html(p["html"]), url=p["url"], original_date=original, extensive_search=True)
            except Exception:  # noqa: BLE001 - a heuristic's failure is a miss here
                found = None
            if found:
                days.add(found)
        url_day = _url_date(p["url"])
        if url_day is not None:
            days.add(url_day.date().isoformat())
        hit += p["date"] in days
        gold_fields = {k for k, dt in marked if dt.date().isoformat() == p["date"]}
        if gold_fields and all("modif" in k.lower() for k in gold_fields):
            only_modified += 1
    print(f"date ceiling over {n} pages with a gold date: the gold day is among the page's machine-readable "
          f"dates on {hit} ({hit / n:.3f}); on {only_modified} of them only a modification-date field names it")


def time_old(html: str, url: str | None) -> None:
    old_metadata(html, url)


def time_new(html: str, url: str | None) -> None:
    try:
        _extract_html(Article("bench", html=html, content_type="html", url=url))
    except ValueError:
        pass


def score(rows: list[tuple[dict, dict]]) -> dict[str, tuple[int, int]]:
    def frac(pairs):
        pairs = list(pairs)
        return sum(pairs), len(pairs)

    return {
        "title": frac(norm_title(p["title"]) == norm_title(r["title"]) for p, r in rows if p["title"]),
        "title_ci": frac(norm_title(p["title"]).casefold() == norm_title(r["title"]).casefold()
                         for p, r in rows if p["title"]),
        "date": frac(r["day"] == p["date"] for p, r in rows if p["date"]),
        "date_utc": frac(r["day_utc"] == p["date"] for p, r in rows if p["date"]),
        "authors": frac(author_set(p["author"]) == author_set(r["authors"]) for p, r in rows if p["author"]),
        "authors_all": frac(author_set(p["author"]) == author_set(r["authors"])
                            for p, r in rows if p["author"] is not None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--split", choices=("dev", "test", "all"), default="all")
    ap.add_argument("--show", default="", help="print the new code's misses: title,date,author")
    ap.add_argument("--no-timing", action="store_true", help="skip the ms/page measurement")
    ap.add_argument("--new-only", action="store_true", help="score only the new code (no timing)")
    ap.add_argument("--timing-only", action="store_true", help="only the ms/page measurement")
    ap.add_argument("--every", type=int, default=1, help="use every Nth page (a quicker measurement)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--date-ceiling", action="store_true",
                    help="also print how often any machine-readable date of the page is the gold day")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # trafilatura's "discarding data" lines
    now = datetime.now(timezone.utc)
    pages = [p for p in load_pages(args.data) if args.split == "all" or p["split"] == args.split][::args.every]
    for p in pages:
        p["html"] = decode_html(p["raw"])
    time_old(pages[0]["html"], pages[0]["url"])  # first imports and caches outside the timing
    time_new(pages[0]["html"], pages[0]["url"])
    new_metadata(pages[0]["html"], pages[0]["url"], now)
    codes = ("new",) if args.new_only else ("old", "new")
    results: dict[str, list] = {code: [] for code in codes}
    for p in [] if args.timing_only else pages:
        if not args.new_only:
            results["old"].append((p, old_metadata(p["html"], p["url"])))
        results["new"].append((p, new_metadata(p["html"], p["url"], now)))
    timing = {}
    if not (args.no_timing or args.new_only):
        for name, fn in (("old", time_old), ("new", time_new), ("old", time_old), ("new", time_new)):
            start = time.process_time()
            for p in pages:
                fn(p["html"], p["url"])
            ms = (time.process_time() - start) / len(pages) * 1000
            timing[name] = min(timing.get(name, ms), ms)  # the better of two passes each
    report = {"pages": len(pages), "ms_per_page": timing, "scores": {}}
    print(f"{len(pages)} pages" + (f"; extraction CPU ms/page: old {timing['old']:.1f}, new {timing['new']:.1f}"
                                   if timing else ""))
    print(f"{'dataset':17s} {'split':5s} {'code':4s} " + " ".join(f"{k:>18s}" for k in
                                                               ("title", "title_ci", "date", "date_utc", "authors", "authors_all")))
    for ds in ("trafilatura_eval", "newspaper4k"):
        for sp in ("dev", "test", "all"):
            for code in codes:
                rows = [(p, r) for p, r in results[code] if p["dataset"] == ds and (sp == "all" or p["split"] == sp)]
                if not rows or (ds == "newspaper4k" and sp != "test"):
                    continue
                s = score(rows)
                report["scores"][f"{ds}/{sp}/{code}"] = s
                cells = " ".join(f"{(a / n if n else 0):7.3f} ({a:3d}/{n:3d})" for a, n in s.values())
                print(f"{ds:17s} {sp:5s} {code:4s} {cells}")
    if args.show:
        for p, r in results["new"]:
            if "title" in args.show and p["title"] and norm_title(p["title"]) != norm_title(r["title"]):
                print("TITLE ", p["split"], p["name"], repr(p["title"]), "->", repr(r["title"]), r["title_source"])
            if "date" in args.show and p["date"] and r["day"] != p["date"]:
                print("DATE  ", p["split"], p["name"], p["date"], "->", r["day"], r["date_source"])
            if "author" in args.show and p["author"] and author_set(p["author"]) != author_set(r["authors"]):
                print("AUTHOR", p["split"], p["name"], repr(p["author"]), "->", r["authors"])
    if args.date_ceiling:
        date_ceiling(pages)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
