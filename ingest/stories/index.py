"""Deduplication at three levels: exact copies, near copies and same-story reports.

``StoryIndex(state_dir, settings).assign(articles)`` sets on every article ``content_hash``,
``story_id``, ``duplicate_of``, ``duplicate_level`` and ``story_similarity``; ``commit()`` makes
the index durable (call it only after the articles are written).  No article is ever dropped.

Stories are the connected components of a graph of **links** between articles, each decided by
the two articles alone (``similarity.link``), so the same articles give the same stories whatever
the batch size, the number of workers or the input order:

1. ``exact``: same normalised content hash (similarity 1.0);
2. ``near``: MinHash near-copy score >= ``settings.near_duplicate_threshold`` (any date);
3. ``story``: within ``settings.story_window_days`` of each other (an undated article is inside
   every window), a strong story link joins two stories on its own; weak links join two stories
   only when there are at least ``WEAK_LINKS_TO_JOIN`` of them between the two (an article must be
   close to several members of a story, not to one: this is what stops chaining).

When a new article links two existing stories they **merge**: the merged story keeps the id of
its canonical member (the first in the order: dated before undated, earliest ``published_at``,
longest text, smallest ``article_id``), the other id is recorded in the ``story_merges`` table
(``story_merges()``; the pipeline writes it next to the articles) so that any ``story_id`` ever
written resolves to the current story with one join.  Rows already written are never rewritten.

Candidates (sub-quadratic: bounded per article): the exact-hash lookup, MinHash LSH bands, an
inverted index of salient terms per time bucket, and the nearest neighbours of each embedding
(``store._Vectors``).  Re-assigning an ``article_id`` that is already indexed returns the stored
assignment and adds nothing.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import numpy as np

from ingest.records import Article, stable_id
from ingest.settings import Settings
from ingest.stories import embed
from ingest.stories.signatures import MIN_SHINGLES, StoryVector, band_keys, minhash, near_scores
from ingest.stories.similarity import STRONG, WEAK, Side, lexical_terms, lexical_vector, link
from ingest.stories.store import DedupStore
from ingest.stories.text import Features, hash_normalised, normalise

logger = logging.getLogger(__name__)

MIN_EXACT_WORDS = 8  # a shorter text is matched exactly only together with its title
BAND_CANDIDATES = 64
STORY_CANDIDATES = 48
POSTINGS_PER_TERM = 200
NEIGHBOURS = 32  # nearest neighbours per embedding model
WEAK_LINKS_TO_JOIN = 2
LEVELS = {"exact": 3, "near": 2, "story": 1}


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
    terms: dict  # term id -> tf
    use: np.ndarray | None = None
    e5: np.ndarray | None = None
    vec: StoryVector | None = None
    doc: int | None = None
    level: str | None = None
    similarity: float | None = None


class StoryIndex:
    def __init__(self, state_dir: str | None, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.window_s = settings.story_window_days * 86400.0
        self.store = DedupStore(state_dir, bucket_seconds=self.window_s, models=embed.model_versions())
        self.merges_changed = False  # a story id already written was merged since the last commit
        self._unwritten: set[str] = set()

    # -- public API ------------------------------------------------------------------------------
    def assign(self, articles: list[Article], features: list[str | None] | None = None) -> None:
        """Assign stories to ``articles`` (in place).  ``features``: for each article, its
        ``features_json`` computed beforehand (in a worker process) or None to compute it here."""
        seen: dict[str, Article] = {}
        fresh: list[_Item] = []
        missing: list[Article] = []
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
            if given:
                fresh.append(_item_from_json(article, given))
            else:
                missing.append(article)
        if missing:
            fresh.extend(featurise_many(missing, self.settings))
        for item in fresh:
            item.vec = lexical_vector(item.terms)
            item.terms = None
        fresh.sort(key=_canonical_order)
        self._unwritten: set[str] = set()
        now = time.time()
        for item in fresh:
            self._place(item, now)
        for item in fresh:  # the final story of each (later articles of the batch may have merged it)
            a = item.article
            story = self.store.story(self.store.current_story(item.doc))
            a.story_id = story.story_id
            if story.canonical_doc == item.doc:
                a.duplicate_of, a.duplicate_level, a.story_similarity = None, None, None
            else:
                a.duplicate_of = story.canonical
                a.duplicate_level = item.level or "story"
                a.story_similarity = None if item.similarity is None else round(item.similarity, 4)
            self.store.set_assignment(item.doc, a.story_id, a.duplicate_of, a.duplicate_level, a.story_similarity)
        for article in articles:
            first = seen[article.article_id]
            if first is not article:
                _copy_assignment(first, article)

    def story_merges(self) -> list[tuple[str, str, float]]:
        """(story_id, current_story_id, merged_at) for every story id merged into another one."""
        return self.store.merges()

    def commit(self) -> None:
        self.store.commit()
        self.merges_changed = False

    def rollback(self) -> None:
        """Forget the assignments made since the last commit (the articles keep their fields)."""
        self.store.rollback()
        self.merges_changed = False

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "StoryIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- steps -----------------------------------------------------------------------------------
    def _place(self, item: _Item, now: float) -> None:
        s = self.settings
        a = item.article
        strong: dict[str, tuple[int, float]] = {}  # story -> (level rank, similarity) of the best link
        weak_docs: list[int] = []
        weak_stories: dict[str, int] = {}
        hit = self.store.exact(item.exact_key)
        if hit is not None:
            strong[hit[1]] = (LEVELS["exact"], 1.0)
        cands = self._candidates(item)
        rows = self.store.docs(cands) if cands else []
        if rows:
            near = near_scores(item.minhash, item.n_shingles, np.stack([r.minhash for r in rows]),
                               np.array([r.n_shingles for r in rows]))
            me = Side(item.lang, item.vec, item.use, item.e5)
            for r, nscore in zip(rows, near):
                if nscore >= s.near_duplicate_threshold:
                    kind, level, score = STRONG, "near", float(nscore)
                elif self._in_window(item.ts, r.ts):
                    kind, score = link(me, Side(r.lang, r.vec, r.use, r.e5), s)
                    level = "story"
                else:
                    continue
                if kind == STRONG:
                    best = strong.get(r.story_id)
                    if best is None or (LEVELS[level], score) > best:
                        strong[r.story_id] = (LEVELS[level], score)
                elif kind == WEAK:
                    weak_docs.append(r.id)
                    weak_stories[r.story_id] = weak_stories.get(r.story_id, 0) + 1
        own = stable_id("story:" + a.article_id)
        item.doc = self.store.add(
            article_id=a.article_id, story_id=own, content_hash=item.content_hash, exact_key=item.exact_key,
            ts=item.ts, lang=item.lang, n_shingles=item.n_shingles, minhash=item.minhash, vec=item.vec,
            bands=item.bands, text_len=len(a.text or ""), use=item.use, e5=item.e5)
        self._unwritten.add(own)
        if weak_docs:
            self.store.add_weak_links(item.doc, weak_docs)
        join = set(strong) | {st for st, n in weak_stories.items() if n >= WEAK_LINKS_TO_JOIN}
        if strong:
            rank, sim = max(strong.values())
            item.level = {v: k for k, v in LEVELS.items()}[rank]
            item.similarity = sim
        elif join:
            item.level, item.similarity = "story", None
        if not join:
            return
        current = self._merge([own] + sorted(join), now)
        # two stories with one weak link each to what is now one story: check again until stable
        merged_many = len(join) > 1
        while True:
            if merged_many:
                counts = self.store.weak_counts(current)
            else:
                others = set(weak_stories) - join
                counts = self.store.weak_counts(current, only=others) if others else {}
            more = sorted(st for st, n in counts.items() if n >= WEAK_LINKS_TO_JOIN)
            if not more:
                break
            current = self._merge([current] + more, now)
            merged_many = True
            join |= set(more)

    def _merge(self, story_ids: list[str], now: float) -> str:
        parts = [self.store.story(st) for st in dict.fromkeys(story_ids)]
        into = min(parts, key=lambda p: self.store.canonical_key(p.canonical_doc))
        if self.store.merge(into, parts, now, self._unwritten):
            self.merges_changed = True
        return into.story_id

    def _candidates(self, item: _Item) -> list[int]:
        out = self.store.band_candidates(item.bands, BAND_CANDIDATES) if item.bands else []
        known = set(out)
        if item.vec.keys:
            if item.ts is None:
                buckets = None
            else:
                b = self.store.bucket(item.ts)
                span = int(np.ceil(self.window_s / self.store.bucket_seconds))
                buckets = (b - span, b + span)  # undated docs are always candidates too
            more = self.store.posting_candidates(item.vec.keys, buckets, POSTINGS_PER_TERM, STORY_CANDIDATES)
            out += [d for d in more if d not in known]
            known.update(more)
        for vec, vectors in ((item.use, self.store.use), (item.e5, self.store.e5)):
            if vec is not None:
                more = vectors.nearest(vec, NEIGHBOURS)
                out += [d for d in more if d not in known]
                known.update(more)
        return out

    def _in_window(self, ts: float | None, other: float | None) -> bool:
        return ts is None or other is None or abs(ts - other) <= self.window_s


def _comparison(article: Article, target_language: str, text: str, feats: Features) -> tuple[str, str, str | None, list | None]:
    """(language, body, title, body words) the lexical comparison uses: the translation when one exists."""
    if article.text_translated and article.text_translated != text:
        return target_language, article.text_translated, article.title_translated or article.title, None
    lang = article.language or "und"
    if article.text_translated:  # already in the target language
        lang = target_language
    return lang, text, article.title, feats.words


def featurise(article: Article, target_language: str, vectors: tuple | None = None) -> _Item:
    """What the index compares, computed from the article alone (no index state): content hash,
    exact key, MinHash signature and band keys, lexical terms, and (``vectors``, else none) its
    embeddings.  Sets ``article.content_hash``."""
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
    lang, body, title, body_words = _comparison(article, target_language, text, feats)
    terms = lexical_terms(body, title, lang, body_words)
    ts = article.published_at.timestamp() if article.published_at is not None else None
    use, e5 = vectors if vectors is not None else (None, None)
    return _Item(article, feats.content_hash, exact_key, ts, lang, len(shingles), sig,
                 band_keys(sig) if len(shingles) >= MIN_SHINGLES else [], terms, use, e5)


def article_vectors(articles: list[Article], settings: Settings) -> list[tuple]:
    """(USE, E5) vectors of each article: its title and text, or their translation where one exists
    (then in the target language, like the lexical comparison)."""
    items = []
    for a in articles:
        if a.text_translated and a.text_translated != (a.text or ""):
            items.append((embed.embedding_text(a.title_translated or a.title, a.text_translated),
                          settings.target_language))
        else:
            items.append((embed.embedding_text(a.title, a.text), a.language or "und"))
    return embed.embed(items, tuple(settings.story_bridge_languages))


def featurise_many(articles: list[Article], settings: Settings) -> list[_Item]:
    vectors = article_vectors(articles, settings)
    return [featurise(a, settings.target_language, v) for a, v in zip(articles, vectors)]


def _vec_json(v: np.ndarray | None) -> str | None:
    return None if v is None else np.asarray(v, dtype="<f2").tobytes().hex()


def _vec_from_json(v: str | None) -> np.ndarray | None:
    return None if v is None else np.frombuffer(bytes.fromhex(v), dtype="<f2").astype(np.float32)


def features_json_many(articles: list[Article], settings: Settings) -> list[str]:
    """``featurise`` as JSON, embeddings included: workers compute it next to the rest of an
    article's work and stage it with the article, so that the ordered commit (one process) only
    looks it up in the index."""
    return [_to_json(item) for item in featurise_many(articles, settings)]


def features_json(article: Article, settings: Settings) -> str:
    return features_json_many([article], settings)[0]


def _to_json(item: _Item) -> str:
    return json.dumps({"h": item.content_hash, "x": item.exact_key, "t": item.ts, "l": item.lang,
                       "n": item.n_shingles, "m": item.minhash.tolist(), "b": [int(b) for b in item.bands],
                       "w": [[t, tf] for t, tf in item.terms.items()], "u": _vec_json(item.use),
                       "e": _vec_json(item.e5)}, separators=(",", ":"))


def _item_from_json(article: Article, text: str) -> _Item:
    d = json.loads(text)
    article.content_hash = d["h"]
    return _Item(article, d["h"], d["x"], d["t"], d["l"], d["n"], np.asarray(d["m"], dtype=np.uint32),
                 d["b"], {t: tf for t, tf in d["w"]}, _vec_from_json(d.get("u")), _vec_from_json(d.get("e")))


def _copy_assignment(src: Article, dst: Article) -> None:
    dst.story_id, dst.duplicate_of = src.story_id, src.duplicate_of
    dst.duplicate_level, dst.story_similarity = src.duplicate_level, src.story_similarity


def _canonical_order(item: _Item):
    return (item.ts is None, item.ts or 0.0, -len(item.article.text or ""), item.article.article_id)
