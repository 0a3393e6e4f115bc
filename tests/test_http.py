"""The HTTP client against a real server on 127.0.0.1: retries, timeouts, limits, redirects,
robots.txt, address checks, charsets."""
from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingest.extract.extractor import extract
from ingest.settings import Settings, SettingsError
from ingest.sources.http import Fetcher, FetchError, address_allowed, parse_content_type
from ingest.sources.web import page_article
from tests.httpserver import LocalServer, Reply, slow_drip

ARTICLE = ("<html><head><title>Harbour news</title></head><body><article><h1>Harbour news</h1>"
           "<p>The harbour reopened on Monday after three weeks of repairs to the old stone pier.</p>"
           "<p>Fishing boats returned at dawn, and the market was busy again by noon.</p>"
           "</article></body></html>")


@pytest.fixture()
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture()
def settings() -> Settings:
    return Settings(allow_private_addresses=True, connect_timeout_s=1.0, read_timeout_s=1.0, max_retries=2,
                    backoff_s=0.01, per_host_rate=0, max_body_bytes=200_000, user_agent="test-ingest/1.0 (+tests)")


@pytest.fixture()
def fetcher(settings):
    f = Fetcher(settings)
    yield f
    f.close()


def _error(fetcher: Fetcher, url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url, **kwargs)
    return info.value


def test_page_fetched_with_user_agent_and_robots_checked_once(server, fetcher):
    server.route("/a", Reply(body=ARTICLE.encode()))
    server.route("/b", Reply(body=ARTICLE.encode()))
    first = fetcher.fetch(server.url("/a"))
    fetcher.fetch(server.url("/b"))
    assert first.status == 200 and first.content == ARTICLE.encode()
    assert first.content_type == "text/html" and first.charset == "utf-8"
    assert server.count("/robots.txt") == 1  # cached per origin
    page_requests = [r for r in server.requests if r.path == "/a"]
    assert page_requests[0].headers["user-agent"] == "test-ingest/1.0 (+tests)"
    assert "gzip" in page_requests[0].headers["accept-encoding"]


def test_500_then_200_succeeds_after_a_retry(server, fetcher):
    server.route("/flaky", [Reply(status=500, body=b"oops"), Reply(body=ARTICLE.encode())])
    result = fetcher.fetch(server.url("/flaky"))
    assert result.status == 200 and result.attempts == 2
    assert server.count("/flaky") == 2


def test_persistent_5xx_gives_up_after_the_retries(server, fetcher, settings):
    server.route("/down", Reply(status=503))
    error = _error(fetcher, server.url("/down"))
    assert error.reason == "http_5xx"
    assert server.count("/down") == settings.max_retries + 1


@pytest.mark.parametrize("status", [404, 403, 410, 429])
def test_4xx_is_rejected_without_retry(server, fetcher, status):
    server.route("/gone", Reply(status=status, body=b"no"))
    error = _error(fetcher, server.url("/gone"))
    assert error.reason == f"http_{status}"
    assert server.count("/gone") == 1


def test_hanging_server_times_out(server, settings):
    fetcher = Fetcher(settings.replace(read_timeout_s=0.3, max_retries=1))
    server.route("/hang", Reply(hang=True))
    started = time.monotonic()
    error = _error(fetcher, server.url("/hang"))
    assert error.reason == "timeout"
    assert server.count("/hang") == 2  # timeouts are retried
    assert time.monotonic() - started < 5.0  # a hang without the timeout would never end


def test_slow_drip_stops_at_the_deadline(server, settings):
    fetcher = Fetcher(settings.replace(fetch_deadline_s=0.4, max_retries=0))
    server.route("/drip", Reply(stream=slow_drip(50, b"<p>x</p>", 0.05)))
    assert _error(fetcher, server.url("/drip")).reason == "timeout"


def test_redirects_followed_hop_by_hop(server, fetcher):
    server.route("/old", Reply(status=301, headers={"Location": "/new?utm_source=x"}))
    server.route("/new", Reply(body=ARTICLE.encode()))
    result = fetcher.fetch(server.url("/old"))
    assert result.final_url == server.url("/new?utm_source=x")
    assert result.redirects == [server.url("/new?utm_source=x")]


def test_redirect_loop_is_rejected(server, fetcher):
    server.route("/loop-a", Reply(status=302, headers={"Location": "/loop-b"}))
    server.route("/loop-b", Reply(status=302, headers={"Location": "/loop-a"}))
    assert _error(fetcher, server.url("/loop-a")).reason == "redirect_loop"
    assert server.count("/loop-a") == 1 and server.count("/loop-b") == 1


def test_redirect_chain_longer_than_the_limit(server, settings):
    fetcher = Fetcher(settings.replace(max_redirects=3))
    for i in range(10):
        server.route(f"/hop{i}", Reply(status=307, headers={"Location": f"/hop{i + 1}"}))
    assert _error(fetcher, server.url("/hop0")).reason == "too_many_redirects"
    assert server.count("/hop4") == 0


def test_redirect_to_another_scheme_is_refused(server, fetcher):
    server.route("/to-file", Reply(status=302, headers={"Location": "file:///etc/passwd"}))
    assert _error(fetcher, server.url("/to-file")).reason == "bad_scheme"
    assert _error(fetcher, "ftp://127.0.0.1/x").reason == "bad_scheme"


def test_oversized_body_refused_declared_and_streamed(server, fetcher):
    server.route("/big", Reply(body=b"x" * 300_000))
    server.route("/big-stream", Reply(stream=(b"y" * 50_000 for _ in range(10))))
    assert _error(fetcher, server.url("/big")).reason == "too_large"
    assert _error(fetcher, server.url("/big-stream")).reason == "too_large"


def test_gzip_bomb_refused_and_normal_gzip_decoded(server, fetcher):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire
    server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    server.route("/gz", Reply(body=ARTICLE.encode(), gzip=True))
    started = time.monotonic()
    assert _error(fetcher, server.url("/bomb")).reason == "too_large"
    assert time.monotonic() - started < 2.0  # stopped early, not after inflating 50 MB
    assert fetcher.fetch(server.url("/gz")).content == ARTICLE.encode()


def test_unexpected_content_type_rejected(server, fetcher):
    server.route("/file.pdf", Reply(body=b"%PDF-1.4", content_type="application/pdf"))
    assert _error(fetcher, server.url("/file.pdf")).reason == "bad_content_type"


def test_header_charset_decodes_a_windows_1251_page(server, fetcher):
    text = "Новости гавани: причал снова открыт после ремонта, и рыбаки вернулись на рассвете."
    body = f"<html><head><title>Гавань</title></head><body><article><p>{text}</p></article></body></html>"
    server.route("/ru", Reply(body=body.encode("windows-1251"), content_type="text/html; charset=windows-1251"))
    result = fetcher.fetch(server.url("/ru"))
    article = extract(page_article(result, result.url), Settings())
    assert text in article.text
    assert article.title == "Гавань"


def test_meta_charset_decodes_a_shift_jis_page(server, fetcher):
    text = "港の桟橋が三週間の修理を終えて月曜日に再開し、漁船が夜明けに戻ってきました。"
    body = (f'<html><head><meta charset="Shift_JIS"><title>港のニュース</title></head>'
            f"<body><article><p>{text}</p></article></body></html>")
    server.route("/ja", Reply(body=body.encode("shift_jis"), content_type="text/html"))
    result = fetcher.fetch(server.url("/ja"))
    assert result.charset is None
    article = extract(page_article(result, result.url), Settings())
    assert text in article.text


def test_robots_disallow_is_honoured(server, settings):
    server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private\n", content_type="text/plain"))
    server.route("/private/page", Reply(body=ARTICLE.encode()))
    server.route("/public", Reply(body=ARTICLE.encode()))
    polite = Fetcher(settings)
    assert _error(polite, server.url("/private/page")).reason == "robots_disallowed"
    assert server.count("/private/page") == 0
    assert polite.fetch(server.url("/public")).status == 200
    rude = Fetcher(settings.replace(respect_robots=False))
    assert rude.fetch(server.url("/private/page")).status == 200


def test_robots_for_our_agent_only(server, settings):
    server.route("/robots.txt", Reply(body=b"User-agent: test-ingest\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
                                      content_type="text/plain"))
    server.route("/x", Reply(body=ARTICLE.encode()))
    assert _error(Fetcher(settings), server.url("/x")).reason == "robots_disallowed"
    assert Fetcher(settings.replace(user_agent="other-bot/2")).fetch(server.url("/x")).status == 200


def test_unreachable_robots_means_no_fetching(server, settings):
    server.route("/robots.txt", Reply(status=503))
    server.route("/x", Reply(body=ARTICLE.encode()))
    assert _error(Fetcher(settings), server.url("/x")).reason == "robots_unavailable"
    assert server.count("/x") == 0


def test_crawl_delay_slows_the_host_down(server, settings):
    server.route("/robots.txt", Reply(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"))
    server.route("/x", Reply(body=ARTICLE.encode()))
    fetcher = Fetcher(settings)
    fetcher.fetch(server.url("/x"))
    started = time.monotonic()
    fetcher.fetch(server.url("/x"))
    assert time.monotonic() - started >= 0.9


def test_private_addresses_refused_by_default(server, settings):
    server.route("/a", Reply(body=ARTICLE.encode()))
    strict = Fetcher(settings.replace(allow_private_addresses=False))
    assert _error(strict, server.url("/a")).reason == "blocked_address"
    assert _error(strict, server.url("/a").replace("127.0.0.1", "localhost")).reason == "blocked_address"
    assert server.total() == 0  # not even robots.txt was asked for


@pytest.mark.parametrize("ip, allowed", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False),
    ("93.184.216.34", True), ("2606:4700:4700::1111", True),
])
def test_address_classification(ip, allowed):
    assert address_allowed(ip) is allowed
    assert address_allowed(ip, allow_private=True)


def test_conditional_get_answered_304(server, fetcher):
    def feed(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, content_type=None)
        return Reply(body=b"<rss/>", content_type="application/rss+xml", headers={"ETag": '"v1"'})

    server.route("/feed", feed)
    first = fetcher.fetch(server.url("/feed"))
    assert first.etag == '"v1"' and not first.not_modified
    assert fetcher.fetch(server.url("/feed"), etag=first.etag).not_modified


def test_per_host_concurrency_and_rate_limits(server, settings):
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def slow(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        return Reply(body=ARTICLE.encode())

    server.route("/slow", slow)
    fetcher = Fetcher(settings.replace(per_host_concurrency=2, respect_robots=False))
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: fetcher.fetch(server.url("/slow")), range(6)))
    assert state["max"] == 2

    server.route("/fast", Reply(body=b"ok"))
    limited = Fetcher(settings.replace(per_host_rate=20.0, per_host_concurrency=3, respect_robots=False))
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: limited.fetch(server.url("/fast")), range(6)))
    assert time.monotonic() - started >= 0.24  # 6 request starts spaced by 1/20 s


def test_content_type_parsing():
    assert parse_content_type('text/html; Charset="Shift_JIS"') == ("text/html", "Shift_JIS")
    assert parse_content_type("APPLICATION/RSS+XML") == ("application/rss+xml", None)
    assert parse_content_type(None) == (None, None)


def test_fetch_settings_are_validated():
    with pytest.raises(SettingsError):
        Settings(read_timeout_s=0)
    with pytest.raises(SettingsError):
        Settings(max_retries=-1)
    with pytest.raises(SettingsError):
        Settings(per_host_concurrency=0)


# --- RFC 9309 robots.txt, shared limits, the per-URL deadline, embedded IPv4 ------------------------

ROBOTS_9309 = (b"User-agent: *\n"
               b"Disallow: /*.html$\n"          # `$`: ends with .html
               b"Allow: /news/\n"
               b"Disallow: /news/private/\n"    # longer match wins over Allow: /news/
               b"Disallow: /docs/\n"
               b"Allow: /docs/public/\n"        # longer Allow wins over Disallow: /docs/
               b"Disallow: /shop/*/cart\n"      # wildcard in the middle
               b"Allow: /tie\n"
               b"Disallow: /tie\n")             # equal length: allow wins


@pytest.mark.parametrize("path, allowed", [
    ("/news/a.html", False), ("/news/a.htmlx", True), ("/news/a.html?x=1", True),
    ("/news/private/x", False), ("/news/public", True),
    ("/docs/public/y", True), ("/docs/other", False),
    ("/shop/42/cart", False), ("/shop/42/basket", True), ("/shop/cart", True),
    ("/tie", True),
])
def test_robots_txt_read_the_rfc_9309_way(server, settings, path, allowed):
    server.route("/robots.txt", Reply(body=ROBOTS_9309, content_type="text/plain"))
    server.route(urlsplit_path(path), Reply(body=ARTICLE.encode()))
    fetcher = Fetcher(settings)
    if allowed:
        assert fetcher.fetch(server.url(path)).status == 200
        assert server.count(urlsplit_path(path)) == 1
    else:
        assert _error(fetcher, server.url(path)).reason == "robots_disallowed"
        assert server.count(urlsplit_path(path)) == 0  # counted server-side: never asked for
    assert server.count("/robots.txt") == 1


def urlsplit_path(path: str) -> str:
    return path.split("?", 1)[0]


def _fetch_in_process(args) -> list[str]:
    """A worker process of its own: its own Fetcher, the run's state directory shared."""
    settings, urls = args
    fetcher = Fetcher(settings)
    reasons = []
    for url in urls:
        try:
            fetcher.fetch(url)
            reasons.append("ok")
        except FetchError as exc:
            reasons.append(exc.reason)
    return reasons


def test_rate_and_robots_shared_by_processes_through_the_state_dir(server, settings, tmp_path):
    import multiprocessing

    server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /no\n", content_type="text/plain"))
    server.route("/p", Reply(body=ARTICLE.encode()))
    shared = settings.replace(per_host_rate=2.0, per_host_concurrency=2, state_dir=str(tmp_path))
    urls = [server.url(f"/p?n={i}") for i in range(4)]
    ctx = multiprocessing.get_context("spawn")  # two fresh processes, as two workers of a run
    with ctx.Pool(2) as pool:
        results = pool.map(_fetch_in_process, [(shared, urls[:2] + [server.url("/no")]), (shared, urls[2:])],
                           chunksize=1)
    assert results == [["ok", "ok", "robots_disallowed"], ["ok", "ok"]]
    assert server.count("/robots.txt") == 1  # once for the run, not once per process
    assert server.max_in_window(1.0, "/p") <= 2
    times = sorted(r.at for r in server.requests if r.path.startswith("/p"))
    assert times[-1] - times[0] >= 1.4  # 4 starts, at least 0.5 s apart


def test_retry_after_holds_the_host_back(server, settings):
    server.route("/busy", [Reply(status=503, headers={"Retry-After": "1"}), Reply(body=ARTICLE.encode())])
    server.route("/other", Reply(body=ARTICLE.encode()))
    fetcher = Fetcher(settings.replace(respect_robots=False, backoff_s=0.01))
    started = time.monotonic()
    assert fetcher.fetch(server.url("/busy")).attempts == 2
    assert time.monotonic() - started >= 0.9
    server.route("/limited", Reply(status=429, headers={"Retry-After": "1"}))
    assert _error(fetcher, server.url("/limited")).reason == "http_429"
    started = time.monotonic()
    fetcher.fetch(server.url("/other"))  # another page of the host waits for the Retry-After too
    assert time.monotonic() - started >= 0.8


def test_dripping_server_rejected_timeout_within_the_url_deadline(server, settings):
    assert Settings().url_deadline_s <= 90  # the default total per URL, retries included
    fetcher = Fetcher(settings.replace(respect_robots=False, fetch_deadline_s=1.0, url_deadline_s=2.5,
                                       max_retries=5, backoff_s=0.05))
    server.route("/drip", lambda request: Reply(stream=slow_drip(600, b"x", 0.1)))  # 1 byte per 0.1 s, 60 s
    started = time.monotonic()
    error = _error(fetcher, server.url("/drip"))
    elapsed = time.monotonic() - started
    assert error.reason == "timeout"
    assert elapsed < 2.5 + 1.5, elapsed  # the deadline, plus a loaded machine's slack; never 6 x 1 s
    assert 2 <= server.count("/drip") <= 3  # retried while time was left, not 6 times


@pytest.mark.parametrize("ip", [
    "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::",       # 6to4 of 127.0.0.1, 10.0.0.1, 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",                   # Teredo, client 127.0.0.1 (obfuscated)
    "2001:0:7f00:1::1",                                       # Teredo, server 127.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",  # NAT64 (well-known and local-use)
    "::127.0.0.1", "::10.0.0.1", "::169.254.169.254",         # IPv4-compatible
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",  # IPv4-mapped
])
def test_ipv6_forms_embedding_a_private_ipv4_are_refused(ip):
    assert address_allowed(ip) is False
    assert address_allowed(ip, allow_private=True)


def test_ipv6_embedding_a_public_ipv4_is_judged_by_it():
    assert address_allowed("64:ff9b::5db8:d822")  # NAT64 of 93.184.216.34
    assert address_allowed("::ffff:93.184.216.34")
