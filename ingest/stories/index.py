"""Deduplication at two levels: near-identical copies and same-story reports.

``StoryIndex(state_dir, settings).assign(articles)`` sets on every article ``content_hash``,
``story_id``, ``duplicate_of``, ``duplicate_level`` and ``story_similarity``; ``commit()`` makes
the index durable (call it only after the articles are written).  No article is ever dropped.

How an article joins a story (first rule that matches):

1. ``exact``: same normalised content hash as an indexed article (similarity 1.0).
2. ``near``: MinHash near-copy score >= ``settings.near_duplicate_threshold`` (any date).
3. ``story``: story similarity >= ``settings.story_threshold`` (same comparison language) or
   >= ``settings.story_crosslingual_threshold`` (different languages, numbers and names only),
   with publication times at most ``settings.story_window_days`` apart; an article without a
   date counts as inside every window.
Otherwise it starts a new story and is its canonical member.  When several indexed articles
match at the same level the most similar wins (ties: the earliest indexed).

Canonical member: within one ``assign`` call articles are processed in the order (dated before
undated, earliest ``published_at``, longest text, smallest ``article_id``), whatever order they
came in, so the first member of a new story is its canonical one.  Story ids are
``stable_id("story:" + canonical article_id)`` and never change: an article that arrives in a
later run joins the existing story (and points to its existing canonical member) even when it
was published earlier.  Stories are never merged.  Re-assigning an ``article_id`` that is
already indexed returns the stored assignment and adds nothing.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np

from ingest.records import Article, stable_id
from ingest.settings import Settings
from ingest.stories.signatures import (
    MIN_SHINGLES,
    StoryVector,
    band_keys,
    minhash,
    near_scores,
    story_scores,
    story_vector,
    term_id,
)
from ingest.stories.store import DedupStore
from ingest.stories.text import Features, hash_normalised, normalise, story_tokens

logger = logging.getLogger(__name__)

MIN_EXACT_WORDS = 8  # a shorter text is matched exactly only together with its title
BAND_CANDIDATES = 64
STORY_CANDIDATES = 48
POSTINGS_PER_TERM = 200


def content_hash(text: str) -> str:
    """Hash of the normalised text (NFKC, case-folded, punctuation and spacing ignored)."""
    return hash_normalised(normalise(text))


@dataclass
class _Item:
    article: Article
    content_hash: str
    exact_key: str
    ts: float | None
    lang: str
    n_shingles: int
    minhash: np.ndarray
    bands: list[int]
    terms: dict | None  # term id -> (tf, kind)
    vec: StoryVector | None = None


class StoryIndex:
    def __init__(self, state_dir: str | None, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.window_s = settings.story_window_days * 86400.0
        self.store = DedupStore(state_dir, bucket_seconds=self.window_s)
        self._canonical: dict[str, str] = {}

    # -- public API ------------------------------------------------------------------------------
    def assign(self, articles: list[Article], features: list[str | None] | None = None) -> None:
        """Assign stories to ``articles`` (in place).  ``features``: for each article, its
        ``features_json`` computed beforehand (in a worker process) or None to compute it here."""
        seen: dict[str, Article] = {}
        fresh: list[_Item] = []
        for i, article in enumerate(articles):
            if article.article_id in seen:  # the same article twice in one batch: same answer
                continue
            seen[article.article_id] = article
            stored = self.store.assignment(article.article_id)
            if stored is not None:
                article.content_hash = content_hash(article.text or "")
                (article.story_id, article.duplicate_of, article.duplicate_level,
                 article.story_similarity) = stored
                continue
            given = features[i] if features is not None else None
            fresh.append(_item_from_json(article, given) if given
                         else featurise(article, self.settings.target_language))
        if not fresh:
            self._finish_duplicates(articles, seen)
            return
        # document frequencies first (the whole batch), so the order inside the batch does not matter
        for item in fresh:
            self.store.add_document_terms(item.terms)
        df = self.store.document_frequencies({t for item in fresh for t in item.terms})
        for item in fresh:
            item.vec = story_vector(item.terms, df, self.store.n_docs)
            item.terms = None
        fresh.sort(key=_canonical_order)
        for item in fresh:
            self._place(item)
        self._finish_duplicates(articles, seen)

    def commit(self) -> None:
        self.store.commit()

    def rollback(self) -> None:
        """Forget the assignments made since the last commit (the articles keep their fields)."""
        self.store.rollback()
        self._canonical.clear()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "StoryIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- steps -----------------------------------------------------------------------------------
    def _place(self, item: _Item) -> None:
        s = self.settings
        a = item.article
        match = None  # (level, similarity, story_id)
        hit = self.store.exact(item.exact_key)
        if hit is not None:
            match = ("exact", 1.0, hit[1])
        else:
            cands = self._candidates(item)
            rows = self.store.docs(cands) if cands else []
            if rows:
                near = near_scores(item.minhash, item.n_shingles, np.stack([r.minhash for r in rows]),
                                   np.array([r.n_shingles for r in rows]))
                best = int(np.argmax(near))
                if near[best] >= s.near_duplicate_threshold:
                    match = ("near", float(near[best]), rows[best].story_id)
                else:
                    in_window = [r for r in rows if self._in_window(item.ts, r.ts)]
                    if in_window:
                        same = np.array([r.lang == item.lang for r in in_window])
                        sim = story_scores(item.vec, [r.vec for r in in_window], same)
                        need = np.where(same, s.story_threshold, s.story_crosslingual_threshold)
                        ok = sim >= need
                        if ok.any():
                            best = int(np.argmax(np.where(ok, sim, -1.0)))
                            match = ("story", float(sim[best]), in_window[best].story_id)
        if match is None:
            story_id = stable_id("story:" + a.article_id)
            a.story_id, a.duplicate_of, a.duplicate_level, a.story_similarity = story_id, None, None, None
            self._canonical[story_id] = a.article_id
        else:
            level, sim, story_id = match
            a.story_id, a.duplicate_level, a.story_similarity = story_id, level, round(sim, 4)
            a.duplicate_of = self._canonical_of(story_id)
        self.store.add(article_id=a.article_id, story_id=a.story_id, duplicate_of=a.duplicate_of,
                       level=a.duplicate_level, similarity=a.story_similarity, content_hash=item.content_hash,
                       exact_key=item.exact_key, ts=item.ts, lang=item.lang, n_shingles=item.n_shingles,
                       minhash=item.minhash, vec=item.vec, bands=item.bands, new_story=match is None)

    def _candidates(self, item: _Item) -> list[int]:
        out = self.store.band_candidates(item.bands, BAND_CANDIDATES) if item.bands else []
        if item.vec.keys:
            if item.ts is None:
                buckets = None
            else:
                b = self.store.bucket(item.ts)
                span = int(np.ceil(self.window_s / self.store.bucket_seconds))
                buckets = (b - span, b + span)  # undated docs are always candidates too
            more = self.store.posting_candidates(item.vec.keys, buckets, POSTINGS_PER_TERM, STORY_CANDIDATES)
            known = set(out)
            out += [d for d in more if d not in known]
        return out

    def _in_window(self, ts: float | None, other: float | None) -> bool:
        return ts is None or other is None or abs(ts - other) <= self.window_s

    def _canonical_of(self, story_id: str) -> str:
        if len(self._canonical) > 100_000:
            self._canonical.clear()
        if story_id not in self._canonical:
            self._canonical[story_id] = self.store.canonical(story_id)
        return self._canonical[story_id]

    def _finish_duplicates(self, articles: list[Article], seen: dict[str, Article]) -> None:
        for article in articles:
            first = seen[article.article_id]
            if first is not article:
                _copy_assignment(first, article)


def featurise(article: Article, target_language: str) -> _Item:
    """What the index compares, computed from the article alone (no index state): content hash,
    exact key, MinHash signature and band keys, story terms.  Sets ``article.content_hash``."""
    text = article.text or ""
    feats = Features.of(text)
    article.content_hash = feats.content_hash
    if len(feats.words) >= MIN_EXACT_WORDS:
        exact_key = feats.content_hash
    else:  # short text: the title must match too; (almost) nothing at all matches nothing
        with_title = normalise((article.title or "") + "\n" + text)
        exact_key = hash_normalised(with_title) if len(with_title.split()) >= 3 else "unique:" + article.article_id
    shingles = feats.shingles
    sig = minhash(shingles)
    if article.text_translated and article.text_translated != text:
        lang = target_language
        body, title, body_words = article.text_translated, article.title_translated or article.title, None
    else:
        lang = article.language or "und"
        if article.text_translated:  # already in the target language
            lang = target_language
        body, title, body_words = text, article.title, feats.words
    terms = {term_id(token): (tf, token[0])
             for token, tf in story_tokens(body, title, lang, body_words).items()}
    ts = article.published_at.timestamp() if article.published_at is not None else None
    return _Item(article, feats.content_hash, exact_key, ts, lang, len(shingles), sig,
                 band_keys(sig) if len(shingles) >= MIN_SHINGLES else [], terms)


def features_json(article: Article, target_language: str) -> str:
    """``featurise`` as JSON: workers compute it next to the rest of an article's work and stage
    it with the article, so that the ordered commit (one process) only looks it up in the index."""
    item = featurise(article, target_language)
    return json.dumps({"h": item.content_hash, "x": item.exact_key, "t": item.ts, "l": item.lang,
                       "n": item.n_shingles, "m": item.minhash.tolist(), "b": [int(b) for b in item.bands],
                       "w": [[t, tf, kind] for t, (tf, kind) in item.terms.items()]},
                      separators=(",", ":"))


def _item_from_json(article: Article, text: str) -> _Item:
    d = json.loads(text)
    article.content_hash = d["h"]
    return _Item(article, d["h"], d["x"], d["t"], d["l"], d["n"], np.asarray(d["m"], dtype=np.uint32),
                 d["b"], {t: (tf, kind) for t, tf, kind in d["w"]})


def _copy_assignment(src: Article, dst: Article) -> None:
    dst.story_id, dst.duplicate_of = src.story_id, src.duplicate_of
    dst.duplicate_level, dst.story_similarity = src.duplicate_level, src.story_similarity


def _canonical_order(item: _Item):
    return (item.ts is None, item.ts or 0.0, -len(item.article.text or ""), item.article.article_id)
