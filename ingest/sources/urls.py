"""The URL policy, in one place: which URLs are URLs, their canonical form, which canonical links
to trust.  An article's identity starts from its canonical URL (``records.Article.assign_id``).

``canonicalize`` (w3lib's ``canonicalize_url`` plus what it leaves: default ports, a trailing dot
on the host, tracking parameters ``utm_*``, ``fbclid``, ``gclid`` ...) lower-cases the scheme and
host, drops the default port, the fragment and tracking parameters, sorts the query and
normalises percent-escapes, so that the same article reached through different links is one
article.  Only ``http`` and ``https`` URLs are URLs: ``canonicalize`` raises ``ValueError`` for
anything else, ``article_url`` returns None (``N/A``, ``javascript:``, ``file:``, relative paths).

``trusted_canonical`` decides whether a page's ``<link rel=canonical>`` (or ``og:url``) may replace
its own URL: only when it is plausible (an http(s) URL on the same site that is neither the
site's root nor a section front; courlan judges navigation pages).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

HTTP_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# exact names (lower-case) of query parameters that only track the reader
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
    "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi", "oly_anon_id", "oly_enc_id",
    "vero_id", "vero_conv", "rb_clickid", "s_cid", "wt_mc", "wt.mc_id", "cmpid", "ncid", "sr_share",
    "at_medium", "at_campaign", "ref_src", "ref_url", "spm", "share", "ito",
})
# prefixes (lower-case) of tracking parameters
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
# a path of one short word ("/world", "/sport/"): a section front, not an article
_SECTION_PATH = re.compile(r"^/[A-Za-z]{1,24}/?$")


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not url or not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)


def is_tracking_param(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def canonicalize(url: str, base: str | None = None) -> str:
    """The canonical form of an http(s) URL (resolved against ``base`` when relative).

    Raises ValueError for a URL that is not http(s) or has no host.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES:
        raise ValueError(f"not an http(s) URL: {url[:200]!r}")
    host = parts.hostname  # lower-cased by urllib, brackets of IPv6 removed
    if not host:
        raise ValueError(f"URL has no host: {url[:200]!r}")
    host = host.rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in URL: {url[:200]!r}") from exc
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    query = parts.query
    if query:
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking_param(k)]
        query = urlencode(pairs)
    try:
        return canonicalize_url(urlunsplit((scheme, netloc, parts.path or "/", query, "")))
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"URL cannot be canonicalised: {url[:200]!r} ({exc})") from exc


def article_url(url: object, base: str | None = None) -> str | None:
    """The canonical URL when ``url`` is an http(s) URL (relative ones resolved against ``base``),
    else None: placeholders (``N/A``), ``javascript:``, ``file:`` and other schemes are not URLs."""
    if not isinstance(url, str) or not url.strip():
        return None
    candidate = url.strip()
    if base and not is_http_url(candidate) and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", candidate):
        candidate = urljoin(base, candidate)
    if not is_http_url(candidate):
        return None
    try:
        return canonicalize(candidate)
    except ValueError:
        return None


def site_of(url: str) -> str:
    """The site of a URL: its host without ``www.`` (subdomains other than www are other sites)."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def is_front_page(url: str) -> bool:
    """The site's root, a section front (``/world/``) or a navigation page (tags, categories,
    pagination: courlan's rule)."""
    from courlan import is_navigation_page

    parts = urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return True
    if _SECTION_PATH.match(parts.path) and not parts.query:
        return True
    return is_navigation_page(url)


def trusted_canonical(link: str | None, page_url: str | None) -> str | None:
    """The page's declared canonical link, canonicalised, when it is plausible for an article:
    an http(s) URL on the page's own site (when the page's URL is known) that is not the site's
    root or a section front.  None: ignore it (keep the page's own URL)."""
    canonical = article_url(link, base=page_url)
    if canonical is None or is_front_page(canonical):
        return None
    if page_url and site_of(canonical) != site_of(page_url):
        return None
    return canonical


def choose_url(own: str | None, declared: str | None) -> str | None:
    """An article's ``url``: the page's trusted canonical link (``trusted_canonical``), else its
    own URL canonicalised (None when that is not an http(s) URL)."""
    page_url = article_url(own)
    return trusted_canonical(declared, page_url) or page_url
