"""Sources files (TOML and YAML): validation with readable errors."""
from __future__ import annotations

import pytest

from ingest.settings import Settings
from ingest.sources.declared import SourcesError, find_source, load_sources
from ingest.sources.loaders import WorkItem, plan

TOML = """
[[feeds]]
name = "Heise"
url = "https://www.heise.example/rss/news-atom.xml"
language = "de"
[feeds.settings]
per_host_rate = 1
respect_robots = true

[[feeds]]
url = "local/wire.json"
"""

YAML = """
feeds:
  - name: Harbour
    url: https://harbour.example/feed.xml
    language: en
    settings:
      max_retries: 5
"""


def test_toml_and_yaml(tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "wire.json").write_text("{}")
    toml = tmp_path / "sources.toml"
    toml.write_text(TOML)
    heise, local = load_sources(toml)
    assert (heise.name, heise.language, heise.settings) == ("Heise", "de", {"per_host_rate": 1.0,
                                                                           "respect_robots": True})
    assert heise.apply(Settings()).per_host_rate == 1.0
    assert not local.is_remote and local.url == str((tmp_path / "local" / "wire.json").resolve())
    yaml_path = tmp_path / "sources.yaml"
    yaml_path.write_text(YAML)
    [harbour] = load_sources(yaml_path)
    assert harbour.settings == {"max_retries": 5} and harbour.apply(Settings()).max_retries == 5
    items = list(plan([], Settings(sources_file=str(toml))))
    assert items == [WorkItem("url", heise.url, hint="de"), WorkItem("feed", local.url, hint=None)]
    assert find_source(str(toml), "HTTPS://www.heise.example/rss/news-atom.xml#x") == heise


@pytest.mark.parametrize("text, message", [
    ("feeds = []", "non-empty list"),
    ("[[feeds]]\nname = 'x'", "'url' is required"),
    ("[[feeds]]\nurl = 'ftp://x.example/f'", "must be an http(s) URL"),
    ("[[feeds]]\nurl = 'https://x.example/f'\nlanguage = 'german'", "'language' must be an ISO 639 code"),
    ("[[feeds]]\nurl = 'https://x.example/f'\ncolour = 'red'", "unknown key(s): colour"),
    ("[[feeds]]\nurl = 'https://x.example/f'\n[feeds.settings]\nout = '/tmp'", "cannot be set per source"),
    ("[[feeds]]\nurl = 'https://x.example/f'\n[feeds.settings]\nmax_retries = 'many'", "settings.max_retries must be int"),
    ("[[feeds]]\nurl = 'https://x.example/f'\n[feeds.settings]\nread_timeout_s = -1", "read_timeout_s must be a positive"),
    ("[[feeds]]\nurl = 'https://x.example/f'\n[[feeds]]\nurl = 'https://X.example/f#a'", "already listed as feeds[1]"),
    ("[[feeds]]\nurl = 'missing.xml'", "does not exist"),
    ("feeds = [", "invalid TOML"),
    ("[feed]\nurl = 'https://x.example/'", "unknown top-level key(s): feed"),
])
def test_readable_errors(tmp_path, text, message):
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(SourcesError, match="no such sources file"):
        load_sources(tmp_path / "nope.toml")
    (tmp_path / "s.ini").write_text("x")
    with pytest.raises(SourcesError, match=".toml, .yaml or .yml"):
        load_sources(tmp_path / "s.ini")
