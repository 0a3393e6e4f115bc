"""Write ingest/stories/e5_centre.py: the mean E5 vector of the project's own example texts.

    python scripts/make_e5_centre.py

multilingual-e5-small's cosines are compressed (unrelated passages 0.75-0.85); subtracting a
fixed mean vector spreads them (docs/dedup.md).  The mean comes from ``examples/`` (written for
this project, six languages), paragraph by paragraph, each cut to ``embed.E5_CHARS`` characters
like the articles.  Fixed, so every process and every run centres the same way.
"""
from __future__ import annotations

import base64
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def paragraphs() -> list[str]:
    out = []
    for path in sorted((ROOT / "examples").rglob("*.*")):
        text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
        for line in text.split("\n"):
            line = " ".join(line.split())
            if len(line) > 40:
                out.append(line)
    return out


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from ingest.stories import embed

    paras = [p[:embed.E5_CHARS] for p in paragraphs()]
    vecs = np.asarray(embed.e5_model().passage(paras), dtype=np.float32)
    mean = vecs.mean(axis=0).astype("<f4")
    blob = base64.b64encode(mean.tobytes()).decode()
    lines = [blob[i:i + 100] for i in range(0, len(blob), 100)]
    body = "\n".join(f'    "{line}"' for line in lines)
    (ROOT / "ingest/stories/e5_centre.py").write_text(
        '"""Mean multilingual-e5-small vector of the project\'s example texts (written by\n'
        f'scripts/make_e5_centre.py from {len(paras)} paragraphs of examples/; do not edit by hand)."""\n'
        "from __future__ import annotations\n\n"
        "import base64\nfrom functools import lru_cache\n\nimport numpy as np\n\n"
        f"_B64 = (\n{body}\n)\n\n\n"
        "@lru_cache(maxsize=1)\n"
        "def centre() -> np.ndarray:\n"
        "    return np.frombuffer(base64.b64decode(_B64), dtype=\"<f4\").astype(np.float32)\n",
        encoding="utf-8")
    print(f"{len(paras)} paragraphs -> ingest/stories/e5_centre.py")


if __name__ == "__main__":
    main()
