"""The story level works offline: the embedding models' weights come with their packages.

The network is blocked (a socket guard) before the models load in a fresh process; a German
report and an English report of the same (invented) event must still share a story, an
unrelated report must not.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import socket

    def blocked(*args, **kwargs):
        raise OSError("network blocked by the test")

    socket.socket.connect = blocked
    socket.socket.connect_ex = blocked
    socket.create_connection = blocked
    socket.getaddrinfo = blocked

    from datetime import datetime, timezone
    from ingest.records import Article
    from ingest.settings import Settings
    from ingest.stories.index import StoryIndex

    EN = """Harbour city opens floating solar farm on old dock basin
    The port city of Velmar switched on a floating solar farm on its former dock basin on Thursday.
    The 4,200 panels rest on pontoons and are expected to supply about 1,900 households with electricity.
    Mayor Ilse Brandt said the project cost 11 million euros and was paid for partly by the regional energy fund.
    Engineers chose the sheltered basin because ships no longer use it and the water cools the panels.
    Environmental groups welcomed the farm but asked the city to monitor fish in the basin."""
    DE = """Hafenstadt eröffnet schwimmende Solaranlage im alten Dockbecken
    Die Hafenstadt Velmar hat am Donnerstag eine schwimmende Solaranlage auf ihrem früheren Dockbecken in Betrieb genommen.
    Die 4.200 Module liegen auf Pontons und sollen rund 1.900 Haushalte mit Strom versorgen.
    Bürgermeisterin Ilse Brandt sagte, das Projekt habe 11 Millionen Euro gekostet und sei teilweise aus dem regionalen Energiefonds bezahlt worden.
    Die Ingenieure wählten das geschützte Becken, weil Schiffe es nicht mehr nutzen und das Wasser die Module kühlt.
    Umweltverbände begrüßten die Anlage, forderten aber, die Fische im Becken zu beobachten."""
    OTHER = """Mountain village celebrates cheese festival despite early snow
    Hundreds of visitors came to the village of Orsa on Saturday for its yearly cheese festival.
    Early snow had closed the pass road, so many walked the last kilometres from the valley.
    Dairy farmers sold more than two tonnes of cheese, the organisers said."""

    t0 = datetime(2026, 5, 14, 9, tzinfo=timezone.utc)
    arts = []
    for uri, text, lang in (("en", EN, "en"), ("de", DE, "de"), ("other", OTHER, "en")):
        title, _, body = text.partition("\\n")
        a = Article(f"offline-{uri}", title=title, text=body, language=lang, published_at=t0)
        a.assign_id()
        arts.append(a)
    StoryIndex(None, Settings()).assign(arts)
    en, de, other = arts
    assert de.story_id == en.story_id, (de.story_id, en.story_id, de.story_similarity)
    assert other.story_id != en.story_id
    print("OK", en.duplicate_level, de.duplicate_level)
''')


def test_german_english_pair_grouped_with_the_network_blocked():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=str(ROOT),
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(ROOT),
                               "HF_HUB_OFFLINE": "0"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OK")
