"""URL canonicalisation: the canonical URL decides an article's identity.

``canonicalize`` lower-cases the scheme and host, drops the default port, the fragment and
tracking parameters (``utm_*``, ``fbclid``, ``gclid`` ...), sorts the query and normalises
percent-escapes, so that the same article reached through different links is one
article.  Only ``http`` and ``https`` URLs are canonicalised; anything else raises ``ValueError``.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

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

_PCT = re.compile(r"%[0-9a-fA-F]{2}")
# characters that need no escaping in a path (RFC 3986 pchar + "/")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


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
    host = _idna(host.rstrip("."))
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
    path = _normalise_path(parts.path or "/")
    query = _normalise_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _idna(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalise_path(path: str) -> str:
    # resolve "." and ".." segments the way a browser does
    if "/." in path or path.startswith("."):
        path = urlsplit(urljoin("http://x/", path)).path or "/"
    # escape what must be escaped (spaces, non-ASCII), keep existing escapes, upper-case their hex
    return _upper_escapes(quote(path, safe=_PATH_SAFE + "%"))


def _upper_escapes(text: str) -> str:
    return _PCT.sub(lambda m: m.group(0).upper(), text)


def _normalise_query(query: str) -> str:
    if not query:
        return ""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking_param(k)]
    pairs.sort()
    return urlencode(pairs, quote_via=quote, safe="/:@!$'()*,;-._~")
