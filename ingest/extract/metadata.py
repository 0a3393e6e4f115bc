"""Article metadata from a parsed page: headline, dates, authors, description, image, section,
tags and the access flag (issue 21).

Structured data first (JSON-LD ``NewsArticle``/``Article``/``BlogPosting``..., OpenGraph, Twitter
cards, ``<meta>``), reconciled with ``<title>`` and the ``<h1>`` headings: the headline is the
``<h1>`` that one of the structured titles names (site-name and section affixes removed, a kicker
element in the ``<h1>`` dropped), else the structured title without its affixes.  Dates: JSON-LD
and meta tags are read first (a full date in the URL path overrides one more than a day away);
htmldate (which reads the same markup before its text patterns) then decides the day, and the
structured value gives the time and offset when it names that day; never later than the fetch (or
ingest) time; the modification date is kept apart.  Authors come from JSON-LD ``author`` (objects, arrays,
``@id`` references), then author meta tags, then trafilatura's byline XPaths, cleaned of "By",
dates, e-mail addresses, handles and the publisher's own name.

Works on the lxml tree the extractor parses once for trafilatura, and never modifies it
(htmldate and the byline search work on their own copies).  ``python bench/metadata_bench.py``
measures it against the old extraction.
"""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import urljoin, urlsplit

from ingest.compat import trafilatura_byline

logger = logging.getLogger(__name__)

ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle",
    "liveblogposting", "socialmediaposting", "scholarlyarticle", "techarticle", "report",
    "satiricalarticle", "advertisercontentarticle", "posting", "medicalscholarlyarticle",
}
PAGE_TYPES = {"webpage", "itempage", "collectionpage", "aboutpage", "profilepage"}
_WS = re.compile(r"\s+")
# separators between a headline and a site or section name in <title>/og:title
_SEPARATORS = re.compile(r"\s+(?:[|•·»«›‹/~—–\-]{1,2}|::|:)\s+")
_DATE_META_PUBLISHED = (
    "article:published_time", "og:published_time", "og:article:published_time", "article:published",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date", "publication_date",
    "date", "dc.date", "dc.date.issued", "dc.date.created", "dcterms.date", "dcterms.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "originalpublicationdate", "created",
    "date.available", "published_time", "article_date_original", "cxenseparse:recs:publishtime",
    "citation_publication_date", "citation_date",
)
_DATE_META_MODIFIED = (
    "article:modified_time", "og:updated_time", "og:modified_time", "article:modified", "datemodified",
    "lastmod", "last-modified", "dcterms.modified", "dc.date.modified", "article.updated", "modified_time",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "byl", "parsely-author",
                "sailthru.author", "citation_author", "og:article:author", "cxenseparse:author")
_SECTION_META = ("article:section", "section", "og:article:section", "parsely-section", "article.section")
_TAG_META = ("article:tag", "news_keywords", "keywords", "parsely-tags", "og:article:tag")
_DESCRIPTION_META = ("og:description", "description", "twitter:description", "dc.description")
_IMAGE_META = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
_TITLE_META = ("og:title", "twitter:title", "title", "dc.title", "headline", "parsely-title")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_DATEISH = re.compile(r"\b(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}|(?:19|20)\d{2})\b.*$")
_NAME_JUNK = re.compile(r"^(?:https?://|www\.)|[<>{}@*]|^(?:name|datum|date|admin|unbenannt|anonymous)$", re.I)
_ISO = re.compile(r"^\s*(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?)?")
_ISO_STRICT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
_FUTURE_SLACK = timedelta(minutes=5)
_NAIVE_SLACK = timedelta(hours=14)  # a value without its offset can be up to 14 h "ahead" of UTC


@dataclass
class PageMetadata:
    title: str | None = None
    title_source: str | None = None
    site_name: str | None = None
    url: str | None = None
    published_at: datetime | None = None  # aware, in the offset the page gave (UTC when none)
    published_source: str | None = None
    modified_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    description: str | None = None
    image_url: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    is_accessible_for_free: bool | None = None


def clean_text(value) -> str | None:
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = unescape(value)
    value = _WS.sub(" ", value.replace("\x00", "")).strip()
    return value or None


# --- structured data -------------------------------------------------------------------------

def _types(obj: dict) -> set[str]:
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    out = set()
    for v in values:
        if isinstance(v, str):
            out.add(v.rsplit("/", 1)[-1].lower())
    return out


def _walk(node, out: list, depth: int = 0) -> None:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            _walk(item, out, depth + 1)
    elif isinstance(node, dict):
        out.append(node)
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in node:
                _walk(node[key], out, depth + 1)


_TAGS = ("meta", "link", "script", "h1", "title", "time")


def _collect(tree) -> dict[str, list]:
    """The elements metadata looks at, in one walk filtered by libxml2 (proxies only for those)."""
    out: dict[str, list] = {"meta": [], "link": [], "script": [], "h1": [], "title": [], "date": []}
    for elem in tree.iter(_TAGS):
        tag = elem.tag
        if tag == "time":
            if elem.get("itemprop") == "datePublished" or elem.get("pubdate") is not None:
                out["date"].append(elem)
        elif tag == "script":
            if (elem.get("type") or "").strip().lower() == "application/ld+json":
                out["script"].append(elem)
        elif tag == "link":
            if elem.get("rel") and elem.get("href"):
                out["link"].append(elem)
        else:
            out[tag].append(elem)
    return out


def json_ld_objects(scripts) -> list[dict]:
    objects: list[dict] = []
    for script in scripts:
        text = script.text
        if not text or len(text) > 2_000_000:
            continue
        text = text.strip().removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
        try:
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):  # broken or hostile (deeply nested) JSON-LD: ignored
            continue
        _walk(data, objects)
    return objects


def _meta_map(metas) -> dict[str, list[str]]:
    """Lower-cased name/property/itemprop -> contents, in page order (head and body)."""
    out: dict[str, list[str]] = {}
    for elem in metas:
        content = elem.get("content")
        if content is None:
            continue
        content = clean_text(content)
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = elem.get(attr)
            if key:
                out.setdefault(key.strip().lower(), []).append(content)
    return out


def _first(meta: dict[str, list[str]], keys) -> tuple[str | None, str | None]:
    for key in keys:
        values = meta.get(key)
        if values:
            return values[0], key
    return None, None


def _name_of(value) -> str | None:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, list):
            name = name[0] if name else None
        if isinstance(name, dict):
            name = name.get("@value")
        if not name and (value.get("givenName") or value.get("familyName")):
            name = " ".join(str(value.get(k) or "") for k in ("givenName", "familyName"))
        return clean_text(name) if isinstance(name, str) else None
    return None


def _url_of(value) -> str | None:
    if isinstance(value, list):
        for item in value:
            url = _url_of(item)
            if url:
                return url
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _url_of(value.get("url") or value.get("contentUrl") or value.get("@id"))
    return None


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- dates -----------------------------------------------------------------------------------

def parse_date(value) -> tuple[datetime | None, bool]:
    """An ISO-8601-ish value -> (aware datetime, had an explicit offset).  Naive values are read as UTC."""
    if not isinstance(value, str):
        return None, False
    match = _ISO.match(value)
    if not match:
        return _rfc2822(value)
    year, _, month, day, hour, minute, second, tz = match.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None, False
    explicit = bool(tz)
    if tz in (None, "Z", "UTC", "GMT"):
        offset = timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        try:
            offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
        except ValueError:
            return None, False
    if year < "1990":
        return None, False
    return dt.replace(tzinfo=offset), explicit


def _rfc2822(value: str) -> tuple[datetime | None, bool]:
    """``Wed, 04 May 2022 02:41:00 GMT`` (the RSS and e-mail format, also found in JSON-LD)."""
    from email.utils import parsedate_to_datetime

    if not re.match(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d", value):
        return None, False
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None, False
    if dt.year < 1990:
        return None, False
    explicit = dt.tzinfo is not None
    return (dt if explicit else dt.replace(tzinfo=timezone.utc)), explicit


_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/_-](\d{1,2})[/_-](\d{1,2})(?:/|[_-]|$)")


_WAYBACK = re.compile(r"^https?://(?:web\.)?archive\.org/web/\d+[a-z_]*/(https?://.+)$", re.I)


def _archived_url(url: str) -> str:
    """The original address of a Wayback Machine copy (its site name is the original site's)."""
    m = _WAYBACK.match(url)
    return m.group(1) if m else url


def _url_date(url: str | None) -> datetime | None:
    match = _URL_DATE.search(urlsplit(url).path) if url else None
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=timezone.utc)
    except ValueError:
        return None


def _plausible(dt: datetime | None, explicit: bool, limit: datetime) -> bool:
    if dt is None:
        return False
    return dt <= limit + (_FUTURE_SLACK if explicit else _NAIVE_SLACK)


# --- titles ----------------------------------------------------------------------------------

def _key(text: str | None) -> str:
    """Comparison key: case, accents of separators, punctuation and spacing ignored."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


def _site_keys(site_names: list[str], host: str | None) -> set[str]:
    keys = {_key(s) for s in site_names if s}
    if host:
        host = host.lower().removeprefix("www.")
        parts = host.split(".")
        keys.add(_key(host))
        if len(parts) >= 2:
            keys.add(_key(parts[-2] if len(parts[-2]) > 3 or len(parts) < 3 else parts[-3]))
            keys.add(_key(".".join(parts[:-1])))
    keys.discard("")
    return keys


_DOMAIN_LIKE = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}$", re.I)


def _is_site_part(part: str, site_keys: set[str]) -> bool:
    key = _key(part)
    if not key or _DOMAIN_LIKE.match(part.strip()):
        return True
    for site in site_keys:
        if key == site or (len(site) >= 4 and (site in key and len(key) <= len(site) + 12)) or \
                (len(key) >= 4 and key in site):
            return True
    return False


def strip_affixes(title: str | None, site_keys: set[str]) -> str | None:
    """Remove site-name parts from a ``Headline | Site`` / ``Site - Headline`` title."""
    if not title:
        return None
    parts = _SEPARATORS.split(title)
    if len(parts) == 1:
        return title
    site = [_is_site_part(p, site_keys) for p in parts]
    if all(site) or not any(site):
        return title
    # the headline is before the first site part ("Headline | Site | Slogan"), else after it
    first = site.index(True)
    kept = parts[:first] or [p for p, is_site in zip(parts[first:], site[first:]) if not is_site]
    # the separators inside the headline itself are kept: re-cut the original string
    first, last = kept[0], kept[-1]
    start = title.find(first)
    end = title.rfind(last) + len(last)
    result = title[start:end].strip() if start >= 0 and end > start else " ".join(kept)
    # a section name between headline and site ("Headline - Politik - Site"): keep the longest part
    inner = _SEPARATORS.split(result)
    if len(inner) > 1:
        longest = max(inner, key=len)
        if len(longest) >= 0.6 * len(result) or all(len(p) <= 25 for p in inner if p is not longest):
            return longest.strip()
    return result


def _h1_texts(h1_elems) -> tuple[list[str], dict[str, str], dict[str, tuple]]:
    """The <h1> texts; for an <h1> made of a kicker element then the headline element
    ("<h1><span>Kicker</span><span>Headline</span></h1>") its text without the kicker; and for an
    <h1> of exactly two parts split by elements (a label ``<span>`` then text, a headline then a
    ``<small>`` subtitle) those two parts, for ``_choose_title`` to match against the page's titles."""
    out: list[str] = []
    kickers: dict[str, str] = {}
    pieces: dict[str, tuple] = {}
    for h1 in h1_elems:
        text = clean_text(h1.text_content())
        if not text or len(text) > 400:
            continue
        kids = [k for k in h1 if isinstance(k.tag, str) and k.tag not in ("br", "img", "svg")]
        if len(kids) >= 2 and not (h1.text or "").strip():
            kicker = clean_text(kids[0].text_content()) or ""
            rest = clean_text(" ".join(k.text_content() for k in kids[1:]) + " " + (kids[-1].tail or ""))
            if kicker and rest and len(kicker) < 80 and len(rest) > len(kicker):
                kickers[text] = rest.lstrip(":|-–— ").strip()
        parts, first_is_element = _h1_pieces(h1)
        if len(parts) == 2:
            pieces[text] = (*parts, first_is_element)
        out.append(text)
    return out, kickers, pieces


def _h1_pieces(h1) -> tuple[list[str], bool]:
    """The texts of an <h1> cut at its child elements (through one wrapping ``<a>`` or ``<span>``),
    and whether the first of them is an element's (a label) rather than the heading's own text."""
    node = h1
    for _ in range(3):
        kids = [k for k in node if isinstance(k.tag, str)]
        if len(kids) == 1 and not (node.text or "").strip() and not (kids[0].tail or "").strip():
            node = kids[0]
        else:
            break
    raw = [node.text or ""]
    for kid in node:
        if isinstance(kid.tag, str) and kid.tag not in ("br", "img", "svg"):
            raw.append(kid.text_content())
        raw.append(kid.tail or "")
    return [t for t in (clean_text(r) for r in raw) if t], not clean_text(raw[0])


_QUOTES = frozenset('"«»„“”‹›‚‘’「')


def _choose_title(candidates: list[tuple[str, str]], h1s: list[str], kickers: dict[str, str],
                  site_keys: set[str], pieces: dict[str, tuple] | None = None) -> tuple[str | None, str | None]:
    """The headline and where it came from.  ``candidates``: (source, text) from structured data
    and ``<title>``, best source first; ``h1s``: the page's ``<h1>`` texts (``kickers`` and
    ``pieces`` from ``_h1_texts``)."""
    pieces = pieces or {}
    full: set[str] = set()
    first_parts: set[str] = set()
    other_parts: set[str] = set()
    texts = []
    for source, text in candidates:
        full.add(_key(text))
        stripped = strip_affixes(text, site_keys)
        if stripped:
            full.add(_key(stripped))
        parts = _SEPARATORS.split(text)
        if len(parts) > 1:
            first_parts.add(_key(parts[0]))
            other_parts.update(_key(p) for p in parts[1:])
        texts.append(unicodedata.normalize("NFKC", text).casefold())
    # an <h1> that is one of the structured titles (or one part of one) is the headline as shown
    best, best_rank = None, 0
    for h1 in h1s:
        k = _key(h1)
        if len(k) < 3 or _is_site_part(h1, site_keys) and k not in full:
            continue
        if k in full:
            rank = 4
        elif k in first_parts:
            rank = 3
        elif len(h1) >= 12 and any(t.startswith(unicodedata.normalize("NFKC", h1).casefold()) and
                                   len(h1) >= 0.6 * len(t) for t in texts):
            rank = 2
        elif k in other_parts and len(h1.split()) >= 4:  # "Site: Section / Headline"
            rank = 1
        else:  # a short later part ("Headline | Site", "Site | Section | Headline") names the
            continue  # site or a section, not the article
        if rank > best_rank or (rank == best_rank and len(h1) > len(best)):
            best, best_rank = h1, rank
    if best:
        part = _part_of_h1(best, pieces, full, first_parts)
        if part:
            return part, "h1-part"
        return (kickers[best], "h1-kicker") if best in kickers else (strip_affixes(best, site_keys), "h1")
    h1s_real = [h for h in h1s if not _is_site_part(h, site_keys)]
    # an <h1> holding a kicker before the structured title ("Kicker: Headline"): the title
    for h1 in h1s_real:
        k = _key(h1)
        for source, text in candidates:
            stripped = strip_affixes(text, site_keys) or ""
            ck = _key(stripped)
            if len(ck) >= 12 and k.endswith(ck) and k != ck:
                return stripped, "h1-kicker"
    # one <h1> that is not the site's name: the heading as shown is the headline
    if len(h1s_real) == 1 and (len(h1s_real[0]) >= 12 or not candidates):
        part = _part_of_h1(h1s_real[0], pieces, full, first_parts)
        if part:
            return part, "h1-part"
        return kickers.get(h1s_real[0], strip_affixes(h1s_real[0], site_keys)), "h1-single"
    stripped_all = [(source, strip_affixes(text, site_keys)) for source, text in candidates]
    for source, stripped in stripped_all:
        if stripped:
            # a meta value cut at a quotation mark by broken markup (content="... de "incapacitado"")
            for other_source, other in stripped_all:
                if other and len(other) > len(stripped) and other.startswith(stripped) and \
                        other[len(stripped):].lstrip()[:1] in _QUOTES:
                    return other, other_source
            return stripped, source
    if len(h1s) == 1:
        return h1s[0], "h1-only"
    return None, None


def _part_of_h1(h1: str, pieces: dict[str, tuple], full: set[str], first_parts: set[str]) -> str | None:
    """One of an <h1>'s two element-separated parts when the page's titles say which is the
    headline: the first part is the first part of a title ("Kicker - Headline") and so a kicker;
    or one part is a whole title (the other is a subtitle)."""
    parts = pieces.get(h1)
    if not parts:
        return None
    first, second, first_is_element = parts
    if first_is_element and _key(first) in first_parts and len(second) >= 12 and len(first) < len(second):
        return second
    if _key(h1) not in full:
        for part in (first, second):
            if len(part) >= 12 and _key(part) in full:
                return part
    return None


# --- the step --------------------------------------------------------------------------------

def page_metadata(tree, url: str | None = None, fetched_at: datetime | None = None,
                  now: datetime | None = None, date_search: bool = True, byline_search: bool = True) -> PageMetadata:
    """Metadata of a parsed page (an lxml ``HtmlElement``, e.g. from ``trafilatura.utils.load_html``).

    ``url``: the page's URL (resolves relative links, gives the host and a date in the path);
    ``fetched_at``/``now``: no date later than the earlier of the two is accepted (``now``
    defaults to the current time); ``date_search``/``byline_search``: fall back to htmldate's
    heuristics / trafilatura's byline XPaths when the structured data has no date / author."""
    limit = min(d if d.tzinfo else d.replace(tzinfo=timezone.utc)
                for d in (fetched_at, now or datetime.now(timezone.utc)) if d is not None)
    md = PageMetadata()
    nodes = _collect(tree)
    meta = _meta_map(nodes["meta"])
    objects = json_ld_objects(nodes["script"])
    article = None
    publisher_names: list[str] = []
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str) and len(o) > 1}
    for obj in objects:
        types = _types(obj)
        if article is None and types & ARTICLE_TYPES:
            article = obj
        pub = obj.get("publisher")
        if isinstance(pub, dict) and "@id" in pub and len(pub) == 1:
            pub = by_id.get(pub["@id"], pub)
        if isinstance(pub, (dict, str)) and not (isinstance(pub, dict) and "person" in _types(pub)):
            name = _name_of(pub)
            if name:
                publisher_names.append(name)
        if types & {"website", "newsmediaorganization", "organization"} and "person" not in types and _name_of(obj):
            publisher_names.append(_name_of(obj))
    page_obj = None
    if article is None:
        page_obj = next((o for o in objects if _types(o) & PAGE_TYPES), None)
    # site name
    site = meta.get("og:site_name", [None])[0]
    md.site_name = site or (publisher_names[0] if publisher_names else None)
    host = None
    canonical = None
    for link in nodes["link"]:
        if link.get("rel", "").lower() == "canonical":
            canonical = link.get("href").strip()
            break
    og_url = meta.get("og:url", [None])[0]
    base = url or canonical or og_url
    page_url = canonical or og_url or url
    if page_url and base:
        page_url = urljoin(base, page_url)
    md.url = page_url if page_url and page_url.startswith(("http://", "https://")) else None
    for candidate in (url, md.url):
        if candidate:
            host = urlsplit(_archived_url(candidate)).hostname
            if host:
                break
    site_names = [n for n in [site, *publisher_names, *(meta.get("application-name") or []),
                              *(meta.get("apple-mobile-web-app-title") or [])] if n]
    site_keys = _site_keys(site_names, host)

    # headline
    candidates: list[tuple[str, str]] = []
    src = article or page_obj
    if src is not None:
        for key in ("headline", "name", "alternativeHeadline"):
            value = clean_text(src.get(key)) if isinstance(src.get(key), str) else None
            if value:
                candidates.append(("json-ld", value))
                break
    for key in _TITLE_META:
        for value in meta.get(key, [])[:1]:
            candidates.append((key, value))
    title_elem = nodes["title"][0] if nodes["title"] else None
    if title_elem is not None:
        value = clean_text(title_elem.text_content())
        if value:
            candidates.append(("title", value))
    h1s, kickers, pieces = _h1_texts(nodes["h1"])
    md.title, md.title_source = _choose_title(candidates, h1s, kickers, site_keys, pieces)

    # dates
    published = []
    modified = []
    if article is not None:
        published.extend(("json-ld", v) for v in (article.get("datePublished"), article.get("dateCreated")))
        modified.append(("json-ld", article.get("dateModified")))
    for key in _DATE_META_PUBLISHED:
        for value in meta.get(key, [])[:1]:
            published.append((key, value))
    for elem in nodes["date"]:
        published.append(("itemprop", elem.get("datetime") or elem.get("content")))
    if page_obj is not None:
        published.append(("json-ld-page", page_obj.get("datePublished")))
        modified.append(("json-ld-page", page_obj.get("dateModified")))
    for key in _DATE_META_MODIFIED:
        for value in meta.get(key, [])[:1]:
            modified.append((key, value))
    htmldate_reads_it = True
    for source, value in published:
        dt, explicit = parse_date(value)
        if _plausible(dt, explicit, limit):
            md.published_at, md.published_source = dt, source
            htmldate_reads_it = bool(_ISO_STRICT.match(value))
            break
    url_date = _url_date(url or md.url)
    if url_date is not None and url_date <= limit and (
            md.published_at is None or abs((md.published_at.date() - url_date.date()).days) > 1):
        # a full date in the URL path beats a structured date more than a day away from it
        md.published_at, md.published_source = url_date, "url"
    for _, value in modified:
        dt, explicit = parse_date(value)
        if _plausible(dt, explicit, limit):
            md.modified_at = dt
            break
    if date_search:
        # htmldate decides the day: it reads the same markup (meta tags, JSON-LD, <time>) before
        # its text patterns, with rules measured slightly better on the dev pages (314 against 313
        # of 362 days right; bench/metadata_bench.py); the structured value, when it names the same
        # day, gives the time and offset htmldate's answer lacks.
        # A structured date in a format htmldate does not read (``Wed, 04 May 2022 02:41:00 GMT``,
        # ``2022-5-5``) is kept: htmldate would fall back to the page's text for it.
        found = _htmldate(tree, md.url or url, limit) if htmldate_reads_it else None
        if found is not None and (md.published_at is None or md.published_at.date() != found.date()):
            md.published_at, md.published_source = found, "htmldate"

    # authors
    authors: list[str] = []
    if article is not None:
        items = [by_id.get(i.get("@id"), i) if isinstance(i, dict) and "@id" in i and len(i) == 1 else i
                 for i in _as_list(article.get("author")) + _as_list(article.get("creator"))]
        for item in items:
            if isinstance(item, dict) and _types(item) & {"organization", "newsmediaorganization"} and \
                    any(isinstance(x, dict) and _types(x) & {"person"} for x in _as_list(article.get("author"))):
                continue
            name = _name_of(item)
            if name:
                authors.extend(clean_authors(name, site_keys))
    if not authors:
        for key in _AUTHOR_META:
            for value in meta.get(key, []):
                authors.extend(clean_authors(value, site_keys))
            if authors:
                break
    if not authors and byline_search:
        byline = trafilatura_byline(tree)
        if byline:
            authors.extend(clean_authors(byline, site_keys))
    md.authors = _dedupe(authors)

    # description, image, section, tags, access
    description = None
    if src is not None and isinstance(src.get("description"), str):
        description = clean_text(src["description"])
    md.description = _first(meta, _DESCRIPTION_META)[0] or description
    image, _ = _first(meta, _IMAGE_META)
    if not image and src is not None:
        image = _url_of(src.get("image") or src.get("thumbnailUrl"))
    if not image:
        image = next((link.get("href") for link in nodes["link"] if link.get("rel") == "image_src"), None)
    if image:
        image = urljoin(md.url or url or "", image.strip())
        md.image_url = image if image.startswith(("http://", "https://")) else None
    section = None
    if src is not None:
        value = src.get("articleSection")
        value = value[0] if isinstance(value, list) and value else value
        section = clean_text(value) if isinstance(value, str) else None
    md.section = section or _first(meta, _SECTION_META)[0]
    tags: list[str] = []
    if src is not None:
        value = src.get("keywords")
        for item in _as_list(value):
            if isinstance(item, str):
                tags.extend(item.split(","))
    if not tags:
        for key in _TAG_META:
            for value in meta.get(key, []):
                tags.extend(value.split(",") if key != "article:tag" else [value])
            if tags:
                break
    md.tags = _dedupe([t for t in (clean_text(t) for t in tags) if t and len(t) <= 100])[:50]
    md.is_accessible_for_free = _free_flag(article, objects, meta)
    return md


def _free_flag(article, objects, meta) -> bool | None:
    values = []
    if article is not None:
        values.append(article.get("isAccessibleForFree"))
        for part in _as_list(article.get("hasPart")):
            if isinstance(part, dict) and "isAccessibleForFree" in part:
                values.append(part.get("isAccessibleForFree"))
    values.extend(o.get("isAccessibleForFree") for o in objects if o is not article)
    for value in values:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
            return value.strip().lower() in ("true", "yes")
    tier = meta.get("article:content_tier", [None])[0]
    if tier:
        if tier.lower() in ("free", "metered"):
            return True
        if tier.lower() in ("locked", "premium", "paid", "subscriber"):
            return False
    return None


_AUTHOR_SPLIT = re.compile(r"\s*(?:[;|/&•·]|,(?!\s*(?:jr|sr|phd|md|ii|iii)\b)|\s(?:and|und|y|et)\s)\s*", re.I)
_AUTHOR_PREFIX = re.compile(
    r"^(?:(?:written|text|words|reported|posted|geschrieben|verfasst|erstellt|artikel|beitrag|ein beitrag|zeige alle beiträge|"
    r"alle beiträge|mehr von|more from|articles|story|interview|fotos?|photos?|bilder?|auteure?s?|autor(?:in|en)?|"
    r"authors?|redakteur(?:in)?|reporter|zum profil|veröffentlicht|publiziert|published|publicado|escrito|publié|écrit|"
    r"pubblicato|scritto)\s*(?:[:\-]\s*)?)?(?:(?:by|von|vom|por|par|di|da|door|av|af|przez|de)\b\s*[:\-]?\s*)?",
    re.I)
_AUTHOR_SUFFIX = re.compile(r"\s+(?:says|schreibt|staff|writer|am|on|at|le|el|il|vom|\||-|–|—)(?:\s.*)?$", re.I)
_TWITTER = re.compile(r"(?<!\w)@\w+")
_NUMBER = re.compile(r"(?<!\w)\d+(?!\w)")  # "November 29" (a date part), not "Marianne1" (a user name)


def clean_authors(value: str, site_keys: set[str] | None = None) -> list[str]:
    """A byline or author field -> names: no "By"/"Von"/"Text:", no dates, e-mail addresses,
    URLs or handles, no publisher name posing as an author; initials keep their dots."""
    value = clean_text(value)
    if not value or value.lower().startswith(("http://", "https://", "www.")):
        return []
    value = _TWITTER.sub(" ", _EMAIL.sub(" ", value))
    out = []
    for name in _AUTHOR_SPLIT.split(value):
        name = _AUTHOR_PREFIX.sub("", name.strip(" \t,;:-–—|()[]\"'«»„“”"))
        name = _DATEISH.sub("", name)
        name = _AUTHOR_SUFFIX.sub("", name).strip(" \t,;:-–—|()[]\"'«»„“”")
        if not name or _NAME_JUNK.search(name) or _NUMBER.search(name) or len(name) > 60 or len(name.split()) > 6:
            continue
        if not any(c.isalpha() for c in name):
            continue
        if site_keys and _key(name) in site_keys:
            continue
        out.append(name)
    return out


def _dedupe(values: list[str]) -> list[str]:
    seen, out = set(), []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _htmldate(tree, url, limit: datetime) -> datetime | None:
    """htmldate's search (markup, then text patterns), original date rather than the latest one."""
    from htmldate import find_date

    try:
        found = find_date(tree, url=url, original_date=True, extensive_search=True,
                          outputformat="%Y-%m-%dT%H:%M:%S%z", max_date=limit.strftime("%Y-%m-%d"))
    except Exception as exc:  # noqa: BLE001 - a date heuristic must never fail the article
        logger.debug("htmldate failed: %s", exc)
        return None
    dt, _ = parse_date(found)
    return dt
