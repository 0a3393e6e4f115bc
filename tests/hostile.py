"""Generators of hostile and malformed inputs shared by the reliability tests (written here, no
third-party data).  ``make_corpus(dir)`` writes the corpus and returns what must come out of it."""
from __future__ import annotations

import gzip
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

# the CLI starts Prefect's ephemeral server; on a loaded 2-core machine that takes longer than
# Prefect's default 20 s start-up timeout
CLI_ENV = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}

PARAGRAPH = ("The regional council approved the new harbour budget on Tuesday after a long debate "
             "about ferry prices, school buses and the repair of the old sea wall. ")


def html_page(title: str, paragraphs: int = 3) -> str:
    body = "".join(f"<p>{PARAGRAPH * 2}Paragraph {i} of the report on {title}.</p>" for i in range(paragraphs))
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{body}</article></body></html>")


def nested_html(depth: int) -> str:
    return "<html><body>" + "<div>" * depth + f"<p>{PARAGRAPH}</p>" + "</div>" * depth + "</body></html>"


def flat_html(elements: int) -> str:
    """A page that costs trafilatura seconds of pure-Python work per ~10,000 elements."""
    return "<html><body>" + "<div><span>a</span>b</div>" * elements + "</body></html>"


def billion_laughs(root: str = "html") -> str:
    entities = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else f"lol{i - 1}"
        entities.append(f'<!ENTITY lol{i} "{("&" + prev + ";") * 10}">')
    doctype = f"<!DOCTYPE {root} [\n" + "\n".join(entities) + "\n]>"
    if root == "rss":
        return (f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>&lol9;</title>'
                f"<item><title>Laughs</title><description>&lol9;</description></item></channel></rss>")
    return f'<?xml version="1.0"?>\n{doctype}\n<html><body><p>&lol9;</p><p>{PARAGRAPH * 3}</p></body></html>'


def gzip_bomb(path: Path, inflated: int, chunk: bytes = b"\0") -> None:
    """A gzip file inflating to ``inflated`` bytes of ``chunk`` (written without holding them)."""
    block = chunk * (1 << 20 // len(chunk))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        left = inflated
        while left > 0:
            gz.write(block[: min(left, len(block))])
            left -= len(block)


@dataclass
class Expected:
    """``uris``: every record that must appear in articles or rejects; ``prefixes``: files whose
    record count is not known in advance (truncated archives) that must appear at least once;
    ``reasons``: source_uri -> the "stage:reason" its reject must have."""

    uris: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)
    articles: set[str] = field(default_factory=set)


def make_corpus(d: Path, *, big: bool = True) -> Expected:
    """Write the malformed-input corpus into ``d``; ``big`` adds the 20-30 MB files."""
    rng = random.Random(9)
    d.mkdir(parents=True, exist_ok=True)
    exp = Expected()

    def one(name: str, data: bytes, reason: str | None = None, article: bool = False) -> Path:
        path = d / name
        path.write_bytes(data)
        uri = str(path.resolve())
        exp.uris.add(uri)
        if reason:
            exp.reasons[uri] = reason
        if article:
            exp.articles.add(uri)
        return path

    one("empty.txt", b"", "load:empty")
    one("empty.html", b"", "load:empty")
    one("blank.md", b" \n\t\r\n  ", "load:empty")
    one("junk.html", rng.randbytes(40_000), "load:binary")
    one("junk.txt", bytes(range(256)) * 64)
    good_gz = gzip.compress(html_page("Harbour budget").encode())
    one("truncated.html.gz", good_gz[: len(good_gz) // 2], "load:corrupt_gzip")
    one("gzip-named.html", good_gz, article=True)  # gzip named .html: sniffed by magic bytes
    one("invalid-utf8.txt", "Ein Bericht aus Köln über die Straßenbahn. ".encode("latin-1") * 20 + b"\xff\xfe\xc3\x28 end")
    one("invalid-utf8.html", b"<html><body><article><p>" + PARAGRAPH.encode() * 3 + b"\xc3\x28\xa0\xa1 "
        + b"\xe2\x28\xa1</p></article></body></html>")
    one("nul-bytes.txt", b"Title line\n" + b"Text with a NUL \x00 byte inside it. " * 3)
    one("nested-100000.html", nested_html(100_000).encode())
    one("laughs.html", billion_laughs("html").encode())
    one("page-named.txt", html_page("HTML saved as text").encode(), article=True)
    one("json-named.md", json.dumps({"title": "not markdown", "text": PARAGRAPH}).encode(), article=True)
    one("not-json.jsonl", b"", None)  # empty jsonl: no records at all (nothing to account for)
    exp.uris.discard(str((d / "not-json.jsonl").resolve()))

    lines = [
        json.dumps({"url": "https://news.example/a", "title": "Fine", "text": PARAGRAPH}),
        "{this is not json",
        "[1, 2, 3]",
        json.dumps({"title": "no body"}),
        json.dumps({"text": ["not", "a", "string"]}),
        json.dumps({"text": "lone surrogate \ud800 inside " + PARAGRAPH}),  # json.dumps writes "\\ud800"
        json.dumps({"html": "<p>" + PARAGRAPH + "</p>", "published_at": "not a date", "authors": "x"}),
        '{"text": "truncated',
        "\x00\x01\x02 binary junk",
        json.dumps({"text": PARAGRAPH, "url": "../../../../etc/passwd"}),
    ]
    path = d / "broken.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not utf-8\n")
    for n in range(1, len(lines) + 2):
        exp.uris.add(f"{path.resolve()}#{n}")
    for n in (2, 3, 8, 11):
        exp.reasons[f"{path.resolve()}#{n}"] = "load:invalid_json"
    exp.reasons[f"{path.resolve()}#4"] = "load:empty"

    body = "\n".join(json.dumps({"text": f"Line {i}. {PARAGRAPH}"}) for i in range(200)).encode()
    path = d / "truncated.jsonl.gz"
    packed = gzip.compress(body)
    path.write_bytes(packed[: len(packed) // 2])
    exp.prefixes.add(str(path.resolve()))

    if big:
        one("huge-20mb.html", b"<html><body>" + (b"<p>" + PARAGRAPH.encode() + b"</p>\n") * 110_000
            + b"</body></html>", "load:too_large")
        one("huge-line-30mb.txt", b"x" * 30_000_000, "load:too_large")
        gzip_bomb(d / "bomb.html.gz", 50_000_000)
        uri = str((d / "bomb.html.gz").resolve())
        exp.uris.add(uri)
        exp.reasons[uri] = "load:too_large"
        path = d / "huge-line.jsonl"
        with open(path, "wb") as fh:
            fh.write(json.dumps({"text": "before " + PARAGRAPH}).encode() + b"\n")
            fh.write(b'{"text": "' + b"y" * 30_000_000 + b'"}\n')
            fh.write(json.dumps({"text": "after " + PARAGRAPH}).encode() + b"\n")
        for n in (1, 2, 3):
            exp.uris.add(f"{path.resolve()}#{n}")
        exp.reasons[f"{path.resolve()}#2"] = "load:too_large"
        exp.articles.update({f"{path.resolve()}#1", f"{path.resolve()}#3"})

    # hostile names: traversal-looking, newline, unicode, bytes that are not UTF-8
    one("x..%2F..%2Fetc%2Fpasswd.txt", b"Traversal title\n" + PARAGRAPH.encode(), article=True)
    one("new\nline.txt", b"Newline title\n" + PARAGRAPH.encode(), article=True)
    one("ünïcødé 記事 \u202e.html", html_page("Unicode name").encode(), article=True)
    raw_name = os.path.join(os.fsencode(d), b"latin1-\xe9\xff.txt")
    with open(raw_name, "wb") as fh:
        fh.write(b"Bytes name title\n" + PARAGRAPH.encode())
    exp.uris.add(os.fsdecode(os.path.realpath(raw_name)).encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    return exp


# --- small generated multilingual corpora (own sentences) --------------------------------------

SENTENCES = {
    "en": ["The city council opened a new library near the river on {day}.",
           "Engineers said the bridge repairs would finish before the winter storms.",
           "Local farmers expect a larger apple harvest than last year."],
    "de": ["Der Stadtrat hat am {day} eine neue Bibliothek am Fluss eröffnet.",
           "Die Ingenieure sagen, dass die Brücke vor dem Winter fertig repariert wird.",
           "Die Bauern in der Region erwarten eine größere Apfelernte als im letzten Jahr."],
    "fr": ["Le conseil municipal a ouvert une nouvelle bibliothèque près de la rivière le {day}.",
           "Les ingénieurs affirment que les travaux du pont seront terminés avant l'hiver.",
           "Les agriculteurs de la région attendent une récolte de pommes plus abondante."],
    "es": ["El ayuntamiento abrió una nueva biblioteca junto al río el {day}.",
           "Los ingenieros dijeron que las obras del puente terminarán antes del invierno.",
           "Los agricultores de la zona esperan una cosecha de manzanas mayor que la del año pasado."],
}


def article_text(i: int) -> tuple[str, str, str]:
    """(language, title, body) of generated article ``i`` (distinct for every i)."""
    lang = sorted(SENTENCES)[i % len(SENTENCES)]
    lines = SENTENCES[lang]
    title = f"{lines[0].split(' ')[1].capitalize()} {i}: " + lines[i % 3].format(day=f"day {i}")[:60]
    body = "\n".join(lines[(i + k) % 3].format(day=f"day {i}") + f" ({i}-{k})" for k in range(3))
    return lang, title, body


def write_articles(d: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` small articles as .txt, .md and .html files in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        lang, title, body = article_text(i)
        if i % 3 == 2:
            paras = "".join(f"<p>{line}</p>" for line in body.split("\n"))
            path = d / f"article-{i:05d}.html"
            path.write_text(f"<!DOCTYPE html><html lang='{lang}'><head><title>{title}</title></head><body>"
                            f"<article><h1>{title}</h1>{paras}</article></body></html>", encoding="utf-8")
        else:
            path = d / f"article-{i:05d}.{'md' if i % 3 else 'txt'}"
            path.write_text(f"{title}\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths
