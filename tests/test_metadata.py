"""Article metadata (issue 21): headline, dates, authors, image, section, tags, access flag, and
schema v2 read together with v1 files.  Pages written for these tests."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from trafilatura import load_html

from ingest.extract import extract
from ingest.extract.metadata import clean_authors, page_metadata, parse_date
from ingest.output.writer import articles_to_table
from ingest.records import Article
from ingest.settings import Settings
from schemas import ARTICLE_SCHEMA, METADATA_KEY, SCHEMA_VERSION, V2_COLUMNS

BODY = "<p>" + "The council met on Tuesday and agreed the new budget after a long debate. " * 12 + "</p>"
FETCHED = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def page(head: str = "", body: str = "", ld: dict | list | None = None) -> str:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld is not None else ""
    return f"<html><head>{head}{script}</head><body>{body}</body></html>"


def meta_of(html: str, url: str = "https://news.example.org/politics/budget-agreed", **kw):
    return page_metadata(load_html(html), url=url, fetched_at=kw.pop("fetched_at", FETCHED), **kw)


def test_title_with_site_suffix_and_section_affix():
    html = page('<title>Council agrees the budget | Politics | The Example Times</title>'
                '<meta property="og:site_name" content="The Example Times">',
                "<header><h1>The Example Times</h1></header><article>" + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget"
    # site name first, no og:site_name: the host names the site
    html = page("<title>Example News - Council agrees the budget</title>", "<article>" + BODY + "</article>")
    assert meta_of(html, url="https://www.examplenews.com/a/1").title == "Council agrees the budget"


def test_h1_is_the_headline_when_a_structured_title_names_it():
    html = page('<title>Council agrees the budget – The Example Times</title>'
                '<meta property="og:title" content="Council agrees the budget – The Example Times">',
                '<div class="logo"><h1>The Example Times</h1></div>'
                '<article><h1><span class="kicker">Town hall</span><span>Council agrees the budget</span></h1>'
                + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget"


def test_h1_made_of_a_label_and_a_headline_or_a_headline_and_a_subtitle():
    # a label element before the headline text; the page title names it as "Label - Headline"
    html = page('<title>Town hall - Council agrees the budget - The Example Times</title>',
                '<article><h1><a href="/a/1"><span class="label">Town hall</span> Council agrees the budget'
                "</a></h1>" + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget"
    # the headline then a subtitle: the structured title says which part is the headline
    html = page('<meta property="og:title" content="Council agrees the budget after a long debate">',
                '<article><h1><span>Council agrees the budget after a long debate</span>'
                "<small>What changes for schools and roads</small></h1>" + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget after a long debate"
    # an <h1> whose text simply continues in an inline element is left whole
    html = page('<meta property="og:title" content="Council agrees the budget">',
                "<article><h1>Council agrees <em>the</em> budget</h1>" + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget"


def test_short_h1_naming_a_section_or_the_site_is_not_the_headline():
    html = page('<meta property="og:title" content="Council agrees the budget | The Example Times">',
                "<div><h1>Politics</h1></div><article>" + BODY + "</article>")
    assert meta_of(html).title == "Council agrees the budget"
    html = page("<title>Council agrees the budget | Example Blog</title>",
                "<header><h1>Example Blog</h1></header><article>" + BODY + "</article>")
    assert meta_of(html, url="https://web.archive.org/web/2019/https://exampleblog.net/post/1").title \
        == "Council agrees the budget"


def test_a_meta_title_cut_at_a_quotation_mark_is_completed_from_the_page_title():
    html = page('<meta property="og:title" content="Senator calls the plan "reckless"">'
                '<title>Senator calls the plan "reckless"</title>', "<article>" + BODY + "</article>")
    assert meta_of(html).title == 'Senator calls the plan "reckless"'


def test_json_ld_author_object_array_and_references():
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "NewsArticle", "headline": "Council agrees the budget",
         "author": [{"@type": "Person", "name": "Ana Li"}, {"@type": "Person", "name": "Bo T. Chen"},
                    {"@id": "https://news.example.org/#/person/cara"},
                    {"@type": "Organization", "name": "The Example Times"}],
         "publisher": {"@type": "NewsMediaOrganization", "name": "The Example Times"}},
        {"@type": "Person", "@id": "https://news.example.org/#/person/cara", "name": "Cara Diaz"},
    ]}
    html = page("<title>Council agrees the budget</title>", "<article>" + BODY + "</article>", ld)
    assert meta_of(html).authors == ["Ana Li", "Bo T. Chen", "Cara Diaz"]


def test_bylines_are_cleaned():
    assert clean_authors("By Ana Li and Bo Chen") == ["Ana Li", "Bo Chen"]
    assert clean_authors("Von Max Muster, 12.03.2024, 10:15 Uhr") == ["Max Muster"]
    assert clean_authors("Ana Li ana.li@example.org") == ["Ana Li"]
    assert clean_authors("https://www.facebook.com/example") == []
    # "published by" in the languages of the blogs' themes, and German "vom" ("by the")
    assert clean_authors("Veröffentlicht von Max Muster") == ["Max Muster"]
    assert clean_authors("Publicado por Ana Gil") == ["Ana Gil"]
    assert clean_authors("Publié par Jean Roux") == ["Jean Roux"]
    assert clean_authors("vom Stadtschreiber") == ["Stadtschreiber"]
    html = page("<title>Council agrees the budget</title>",
                '<article><p class="byline">By Ana Li | November 29, 2026</p>' + BODY + "</article>")
    assert meta_of(html).authors == ["Ana Li"]


def test_json_ld_date_wins_over_a_sidebar_date():
    ld = {"@type": "NewsArticle", "headline": "Council agrees the budget",
          "datePublished": "2026-11-28T09:30:00+01:00", "dateModified": "2026-11-29T18:00:00+01:00"}
    html = page("<title>Council agrees the budget</title>",
                "<article>" + BODY + "</article>"
                '<aside class="sidebar"><h3>Most read</h3><p>Published 14 March 2026</p>'
                '<time datetime="2026-03-14">14 March 2026</time></aside>', ld)
    md = meta_of(html)
    assert md.published_at == datetime(2026, 11, 28, 8, 30, tzinfo=timezone.utc)
    assert md.published_source == "json-ld"
    assert md.modified_at == datetime(2026, 11, 29, 17, 0, tzinfo=timezone.utc)  # kept apart


def test_structured_dates_in_the_formats_pages_write():
    assert parse_date("Wed, 04 May 2022 02:41:00 GMT") == (datetime(2022, 5, 4, 2, 41, tzinfo=timezone.utc), True)
    assert parse_date("2022-5-5 22:17:36") == (datetime(2022, 5, 5, 22, 17, 36, tzinfo=timezone.utc), False)
    assert parse_date("2022/05/10 17:36:11")[0] == datetime(2022, 5, 10, 17, 36, 11, tzinfo=timezone.utc)
    assert parse_date("10/05/2022 05:22 pm") == (None, False)  # day or month first: not said
    ld = {"@type": "NewsArticle", "headline": "Council agrees the budget",
          "datePublished": "Tue, 24 Nov 2026 09:30:00 +0100"}
    md = meta_of(page(body='<aside>Updated 28.11.2026</aside><article>' + BODY + "</article>", ld=ld))
    assert md.published_at.date().isoformat() == "2026-11-24"


def test_future_dates_are_refused():
    # the structured date is after the fetch: refused, the next candidate (meta tag) is used
    ld = {"@type": "NewsArticle", "headline": "Council agrees the budget", "datePublished": "2027-01-05T10:00:00Z"}
    html = page('<title>Council agrees the budget</title>'
                '<meta property="article:published_time" content="2026-11-27T07:00:00Z">',
                "<article>" + BODY + "</article>", ld)
    assert meta_of(html).published_at == datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)
    # only a future date anywhere: no date rather than a wrong one
    html = page('<title>Council agrees the budget</title>'
                '<meta property="article:published_time" content="2027-01-05T10:00:00Z">',
                "<article><p>Event on 5 January 2027.</p>" + BODY + "</article>")
    md = meta_of(html)
    assert md.published_at is None or md.published_at <= FETCHED
    # without a fetch time, the ingest time (now) is the limit
    html = page('<meta property="article:published_time" content="2999-01-01T00:00:00Z">', BODY)
    md = page_metadata(load_html(html), url="https://news.example.org/x")
    assert md.published_at is None or md.published_at <= datetime.now(timezone.utc)


def test_paywalled_flag():
    ld = {"@type": "NewsArticle", "headline": "Council agrees the budget", "isAccessibleForFree": False,
          "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".paywall"}}
    html = page("<title>Council agrees the budget</title>", "<article>" + BODY + "</article>", ld)
    assert meta_of(html).is_accessible_for_free is False
    ld["isAccessibleForFree"] = "True"  # strings as some publishers write it
    del ld["hasPart"]
    assert meta_of(page("", "<article>" + BODY + "</article>", ld)).is_accessible_for_free is True
    assert meta_of(page("<title>Council agrees the budget</title>", BODY)).is_accessible_for_free is None


def test_relative_og_image_description_section_tags():
    head = ('<title>Council agrees the budget</title>'
            '<meta property="og:image" content="/media/council.jpg">'
            '<meta property="og:description" content="The council agreed the budget.">'
            '<meta property="article:section" content="Politics">'
            '<meta property="article:tag" content="budget"><meta property="article:tag" content="council">')
    md = meta_of(page(head, "<article>" + BODY + "</article>"))
    assert md.image_url == "https://news.example.org/media/council.jpg"
    assert md.description == "The council agreed the budget."
    assert md.section == "Politics"
    assert md.tags == ["budget", "council"]
    # protocol-relative and canonical-relative forms
    md = meta_of(page('<link rel="canonical" href="https://www.example.com/story/1">'
                      '<meta property="og:image" content="img/a.png">', BODY), url=None)
    assert md.image_url == "https://www.example.com/story/img/a.png"


def test_extract_fills_the_new_fields_and_keeps_source_metadata():
    ld = {"@type": "NewsArticle", "headline": "Council agrees the budget",
          "datePublished": "2026-11-28T09:30:00+01:00", "author": {"@type": "Person", "name": "Ana Li"},
          "isAccessibleForFree": False, "articleSection": "Politics", "keywords": "budget, council"}
    html = page('<title>Council agrees the budget | The Example Times</title>'
                '<meta property="og:image" content="/media/council.jpg">',
                "<article><h1>Council agrees the budget</h1>" + BODY + "</article>", ld)
    article = Article("page.html", html=html, content_type="html",
                      url="https://news.example.org/politics/budget-agreed", fetched_at=FETCHED)
    extract(article, Settings())
    assert article.title == "Council agrees the budget"
    assert article.published_at == datetime(2026, 11, 28, 8, 30, tzinfo=timezone.utc)
    assert article.authors == ["Ana Li"]
    assert article.is_accessible_for_free is False
    assert (article.section, article.tags) == ("Politics", ["budget", "council"])
    assert article.image_url == "https://news.example.org/media/council.jpg"
    assert "council met" in article.text
    # what the source (a feed entry) carried wins
    article = Article("feed#1", html=html, content_type="html", title="Feed title", authors=["Feed Author"])
    extract(article, Settings())
    assert (article.title, article.authors) == ("Feed title", ["Feed Author"])


# --- schema v2 next to v1 files ---------------------------------------------------------------

def _v1_schema() -> pa.Schema:
    """Exactly what schema version 1 wrote: the v2 schema without the appended columns."""
    return pa.schema([f for f in ARTICLE_SCHEMA if f.name not in V2_COLUMNS], metadata={METADATA_KEY: b"1"})


@pytest.fixture()
def mixed_dataset(tmp_path):
    root = tmp_path / "articles"
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    new = Article("b", text="Text b", article_id="id-v2", section="World", tags=["x", "y"],
                  is_accessible_for_free=False, image_url="https://e.org/i.jpg", modified_at=now)
    v2 = articles_to_table([new], run_id="r2", ingested_at=now, target_language=None)
    assert v2.schema.metadata[METADATA_KEY] == SCHEMA_VERSION.encode() == b"2"
    old = articles_to_table([Article("a", text="Text a", article_id="id-v1")], run_id="r1",
                            ingested_at=now, target_language=None)
    v1 = pa.Table.from_pylist(old.select([f.name for f in _v1_schema()]).to_pylist(), schema=_v1_schema())
    for day, table in (("2026-11-23", v1), ("2026-12-01", v2)):  # the v1 file sorts first
        os.makedirs(root / f"ingest_date={day}")
        pq.write_table(table, root / f"ingest_date={day}" / "part-0.parquet")
    return root


def test_pandas_reads_v1_and_v2_files(mixed_dataset):
    pd = pytest.importorskip("pandas")
    schema = ARTICLE_SCHEMA.append(pa.field("ingest_date", pa.string()))
    df = pd.read_parquet(mixed_dataset, schema=schema).sort_values("article_id")
    assert df["article_id"].tolist() == ["id-v1", "id-v2"]
    assert df["section"].isna().tolist() == [True, False] and df["section"].iloc[1] == "World"
    assert list(df["tags"].iloc[1]) == ["x", "y"]
    assert df["ingest_date"].tolist() == ["2026-11-23", "2026-12-01"]
    assert df["text"].tolist() == ["Text a", "Text b"]


def test_duckdb_reads_v1_and_v2_files(mixed_dataset):
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.sql(
        f"SELECT article_id, section, tags, is_accessible_for_free, CAST(ingest_date AS VARCHAR) "
        f"FROM read_parquet('{mixed_dataset}/**/*.parquet', hive_partitioning=true, union_by_name=true) "
        f"ORDER BY article_id").fetchall()
    assert rows == [("id-v1", None, None, None, "2026-11-23"), ("id-v2", "World", ["x", "y"], False, "2026-12-01")]


def test_polars_reads_v1_and_v2_files(mixed_dataset):
    pl = pytest.importorskip("polars")
    schema = pl.from_arrow(ARTICLE_SCHEMA.empty_table()).schema
    df = pl.scan_parquet(f"{mixed_dataset}/**/*.parquet", hive_partitioning=True, schema=schema,
                         missing_columns="insert").collect().sort("article_id")
    assert df["article_id"].to_list() == ["id-v1", "id-v2"]
    assert df["section"].to_list() == [None, "World"]
    assert df["tags"].to_list() == [None, ["x", "y"]]
    assert df["is_accessible_for_free"].to_list() == [None, False]
