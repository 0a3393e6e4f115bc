"""URL canonicalisation decides article identity."""
from __future__ import annotations

import pytest

from ingest.sources.urls import canonicalize, is_http_url


@pytest.mark.parametrize("url, canonical", [
    ("HTTP://Example.COM:80/a/./b/../c?b=2&a=1#frag", "http://example.com/a/c?a=1&b=2"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("https://news.example/story?utm_source=rss&utm_medium=feed&id=7&fbclid=abc&gclid=x", "https://news.example/story?id=7"),
    ("https://news.example/story?UTM_Campaign=x&mc_cid=1&_ga=2", "https://news.example/story"),
    ("https://news.example/a b/ä?q=ä", "https://news.example/a%20b/%C3%A4?q=%C3%A4"),
    ("https://news.example/%7euser", "https://news.example/~user"),  # unreserved: unescaped
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("https://example.com./path", "https://example.com/path"),
])
def test_canonical_forms(url, canonical):
    assert canonicalize(url) == canonical


def test_same_article_different_links_are_one_identity():
    links = ["https://News.example/2026/06/harbour?utm_source=twitter",
             "https://news.example:443/2026/06/harbour#comments",
             "https://news.example/2026/06/harbour?fbclid=IwAR0"]
    assert len({canonicalize(u) for u in links}) == 1


def test_query_order_and_values_kept():
    assert canonicalize("https://x.example/?b=2&a=1&a=0") == "https://x.example/?a=0&a=1&b=2"
    assert canonicalize("https://x.example/?page=2") != canonicalize("https://x.example/?page=3")


def test_relative_urls_resolve_against_a_base():
    assert canonicalize("../b?utm_term=x", base="https://x.example/a/c/") == "https://x.example/a/b"


@pytest.mark.parametrize("url", ["ftp://x.example/f", "javascript:alert(1)", "mailto:a@b.c", "/relative", "https://"])
def test_non_http_urls_refused(url):
    assert not is_http_url(url)
    with pytest.raises(ValueError):
        canonicalize(url)


@pytest.mark.parametrize("value", ["N/A", "", "  ", "javascript:alert(1)", "file:///etc/passwd", "mailto:a@b.c",
                                   "/relative/only", None, 42, "https://"])
def test_only_http_urls_are_article_urls(value):
    from ingest.sources.urls import article_url

    assert article_url(value) is None


def test_article_url_canonicalises():
    from ingest.sources.urls import article_url

    assert article_url("HTTPS://NEWS.Example.com:443/a?utm_source=x#comments") == "https://news.example.com/a"


@pytest.mark.parametrize("link, page, trusted", [
    ("/2026/06/harbour", "https://news.example/2026/06/harbour?print=1", "https://news.example/2026/06/harbour"),
    ("https://www.news.example/2026/06/harbour", "https://news.example/x?id=1", "https://www.news.example/2026/06/harbour"),
    ("https://news.example/", "https://news.example/2026/06/harbour", None),  # the homepage
    ("https://news.example", None, None),
    ("https://news.example/world/", "https://news.example/2026/06/harbour", None),  # a section front
    ("https://news.example/tag/harbour", "https://news.example/2026/06/harbour", None),  # navigation
    ("https://other.example/2026/06/harbour", "https://news.example/2026/06/harbour", None),  # another site
    ("javascript:void(0)", "https://news.example/a", None),
    ("https://news.example/2026/06/harbour", None, "https://news.example/2026/06/harbour"),  # a saved page
])
def test_canonical_links_trusted_only_when_plausible(link, page, trusted):
    from ingest.sources.urls import trusted_canonical

    assert trusted_canonical(link, page) == trusted


def test_choose_url_falls_back_to_the_pages_own_url():
    from ingest.sources.urls import choose_url

    assert choose_url("https://news.example/a?print=1", "https://news.example/") == "https://news.example/a?print=1"
    assert choose_url("https://news.example/2026/a?print=1", "/2026/a") == "https://news.example/2026/a"
    assert choose_url("N/A", None) is None
