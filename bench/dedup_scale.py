"""Scale of deduplication: time and peak memory for 100,000 synthetic articles.

Synthetic news: a Zipf-distributed vocabulary of made-up words, made-up names and numbers.
Articles come as singletons, as several differently worded reports of one story (shared names,
numbers, topic words and sometimes a quote), and as near copies of an earlier article
(boilerplate, small edits, truncation).  They are spread over 60 days and indexed in runs
(``--batch`` articles per ``assign`` + ``commit``, like scheduled pipeline runs) into an index
on disk.  Prints time per block of articles (flat = sub-quadratic candidate generation), peak
RSS (``resource.getrusage``), optionally the Python heap peak (``--tracemalloc``, slower), the
index size on disk, and pairwise precision/recall against the generator's truth as a sanity check.

The story features (signatures, lexical terms, embeddings) are computed first, as the workers do,
and are not in the indexing time (it is the ordered commit's cost that must stay flat): the
embeddings are synthetic (a random direction per story plus noise, 512 dimensions like USE and
384 like E5), since the real models cost 15-60 ms per article in the workers
(``bench/stories_bench.py`` measures that on real text).

Run: ``python bench/dedup_scale.py [--n 100000] [--batch 1000] [--tracemalloc]``
"""
from __future__ import annotations

import argparse
import itertools
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.records import Article, stable_id  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.stories.index import StoryIndex, _to_json, featurise  # noqa: E402

BOILER = ["Subscribe to our newsletter for the top stories of the day.", "Advertisement",
          "Share this article with your friends.", "All rights reserved. Do not redistribute."]
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


class Generator:
    def __init__(self, seed: int, vocab: int = 60_000, names: int = 20_000) -> None:
        self.rng = np.random.default_rng(seed)
        self.py = random.Random(seed)
        letters = np.array(list("abcdefghiklmnoprstuvwyz"))
        lens = self.rng.integers(3, 10, size=vocab + names)
        words = ["".join(self.rng.choice(letters, size=n)) for n in lens]
        self.words = np.array(words[:vocab])
        self.names = np.array([w.capitalize() for w in words[vocab:]])
        p = 1.0 / np.arange(1, vocab + 1) ** 1.05
        self.cdf = np.cumsum(p / p.sum())

    def filler(self, n: int) -> list[str]:
        idx = np.minimum(np.searchsorted(self.cdf, self.rng.random(n)), len(self.words) - 1)
        return self.words[idx].tolist()

    def story(self) -> dict:
        r = self.rng
        return {"names": self.names[r.choice(len(self.names), 6, replace=False)].tolist(),
                "numbers": [f"${r.integers(2, 999)} million", f"{r.integers(11, 99)}%", str(r.integers(100, 99999))],
                "topic": self.words[r.choice(np.arange(2000, len(self.words)), 40, replace=False)].tolist(),
                "quote": " ".join(self.filler(12)) if r.random() < 0.5 else None,
                "day": float(r.uniform(0, 60))}

    def report(self, st: dict) -> tuple[str, str]:
        r = self.py
        n_paras = r.randint(4, 7)
        filler = iter(self.filler(n_paras * 3 * 15))
        paras = []
        for _ in range(n_paras):
            sents = []
            for _ in range(3):
                toks = [next(filler) for _ in range(r.randint(8, 15))]
                for _ in range(3):
                    toks.insert(r.randrange(len(toks)), r.choice(st["topic"]))
                toks.insert(r.randrange(len(toks)), r.choice(st["names"]))
                if r.random() < 0.4:
                    toks.insert(r.randrange(len(toks)), r.choice(st["numbers"]))
                sents.append(toks[0].capitalize() + " " + " ".join(toks[1:]) + ".")
            paras.append(" ".join(sents))
        if st["quote"]:
            paras.insert(r.randrange(len(paras)), f'"{st["quote"]}," said {st["names"][0]}.')
        title = " ".join([st["names"][1]] + r.sample(st["topic"], 5))
        return title.capitalize(), "\n".join(paras)

    def near_copy(self, title: str, text: str) -> tuple[str, str]:
        r = self.rng
        paras = text.split("\n")
        kind = r.integers(0, 3)
        if kind == 0:
            paras = [BOILER[0]] + paras + BOILER[1:]
        elif kind == 1:
            toks = "\n".join(paras).split(" ")
            for i in r.choice(len(toks), size=max(1, len(toks) // 40), replace=False):
                toks[i] = str(self.filler(1)[0])
            paras = " ".join(toks).split("\n")
        else:
            paras = paras[: max(2, int(len(paras) * 0.7))]
        return title, "\n".join(paras)


def generate(n: int, seed: int, story_of: dict, copy_of: dict):
    """Yield articles (uri, title, text, published_at) one by one (memory stays flat) and fill
    ``story_of``/``copy_of`` with the generator's truth."""
    g = Generator(seed)
    recent: dict[int, tuple] = {}  # the last 5,000 articles, for near copies
    stories: list[dict] = []
    for i in range(n):
        r = g.rng.random()
        if r < 0.15 and i:  # near copy of a recent article
            j = int(g.rng.integers(max(0, i - 5000), i))
            _, title, text, published, _ = recent[j]
            title, text = g.near_copy(title, text)
            published = published + timedelta(hours=float(g.rng.uniform(0, 48)))
            copy_of[i] = copy_of.get(j, j)
            story_of[i] = story_of[j]
        else:
            if r < 0.45 and stories:  # another report of a recent story
                s = int(g.rng.integers(max(0, len(stories) - 300), len(stories)))
            else:
                stories.append(g.story())
                s = len(stories) - 1
            title, text = g.report(stories[s])
            published = T0 + timedelta(days=stories[s]["day"] + float(g.rng.uniform(0, 2)))
            story_of[i] = s
        item = (f"synthetic:{i}", title, text, published, s if i not in copy_of else story_of[i])
        recent[i] = item
        recent.pop(i - 5000, None)
        yield item


def pairs_of(labels: dict[int, object]) -> set[tuple[int, int]]:
    groups = defaultdict(list)
    for i, lab in labels.items():
        groups[lab].append(i)
    return {(a, b) for g in groups.values() for k, a in enumerate(g) for b in g[k + 1:]}


def prf(pred: set, gold: set) -> str:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold) if gold else 1.0
    return f"precision {p:.3f} recall {r:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000, help="articles per assign+commit (one pipeline run)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap peak (slower)")
    ap.add_argument("--state-dir", default=None, help="index directory (default: a temporary one, removed)")
    args = ap.parse_args()

    story_of: dict[int, int] = {}
    copy_of: dict[int, int] = {}
    stream = generate(args.n, args.seed, story_of, copy_of)
    state = args.state_dir or tempfile.mkdtemp(prefix="dedup-scale-")
    if args.tracemalloc:
        tracemalloc.start()
    settings = Settings()
    assigned = {}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_gen = c_gen = 0.0
    t_all, c_all = time.perf_counter(), time.process_time()
    t_block, c_block, block = time.perf_counter(), time.process_time(), max(args.n // 10, args.batch)
    index = StoryIndex(state, settings)
    n_words = 0
    vec_rng = np.random.default_rng(args.seed + 1)
    directions: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def synthetic_vectors(story: int) -> tuple[np.ndarray, np.ndarray]:
        if story not in directions:
            if len(directions) > 50_000:
                directions.clear()
            directions[story] = (vec_rng.standard_normal(512), vec_rng.standard_normal(384))
        out = []
        for d in directions[story]:
            v = d / np.linalg.norm(d) + 0.8 * vec_rng.standard_normal(len(d)) / np.sqrt(len(d))
            out.append((v / np.linalg.norm(v)).astype(np.float16).astype(np.float32))
        return out[0], out[1]

    for start in range(0, args.n, args.batch):
        t, c = time.perf_counter(), time.process_time()
        articles, features = [], []
        for uri, title, text, published, story in itertools.islice(stream, args.batch):
            a = Article(source_uri=uri, url=uri, title=title, text=text, language="en", published_at=published)
            a.article_id = stable_id(uri)
            n_words += len(text.split())
            articles.append(a)
            features.append(_to_json(featurise(a, settings.target_language, synthetic_vectors(story))))
        t_gen += time.perf_counter() - t
        c_gen += time.process_time() - c
        index.assign(articles, features)
        index.commit()
        for k, a in enumerate(articles):
            assigned[start + k] = (a.story_id, a.duplicate_level)
        done = start + len(articles)
        if done % block == 0 or done == args.n:
            dt, dc = time.perf_counter() - t_block, time.process_time() - c_block
            print(f"  {done:>7,} indexed: last {block:,} in {dt:.1f}s wall, {dc:.1f}s CPU "
                  f"({1000 * dc / block:.2f} ms CPU per article, generation and features included)", flush=True)
            t_block, c_block = time.perf_counter(), time.process_time()
    # a story id written earlier may have been merged into another since: resolve it, as a reader
    # of the Parquet does with story_merges (README)
    current = {old: new for old, new, _ in index.story_merges()}
    assigned = {i: (current.get(s, s), level) for i, (s, level) in assigned.items()}
    index.close()
    total = time.perf_counter() - t_all - t_gen
    cpu = time.process_time() - c_all - c_gen
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(f"{args.n:,} synthetic articles ({n_words / args.n:.0f} words on average, {len(set(story_of.values())):,} "
          f"stories, {len(copy_of):,} near copies), runs of {args.batch:,} (assign + commit)")
    print(f"indexing: {total:.0f}s wall = {args.n / total:.0f} articles/s; {cpu:.0f}s CPU = "
          f"{1000 * cpu / args.n:.2f} ms CPU per article (generating the text and the features: another {c_gen:.0f}s CPU)")
    print(f"peak RSS of the process: {peak_rss:.0f} MiB (before indexing: {rss0:.0f} MiB)")
    if args.tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        print(f"peak Python heap (tracemalloc): {peak / 2**20:.0f} MiB")
    size = sum(p.stat().st_size for p in Path(state).iterdir())
    print(f"index on disk: {size / 2**20:.0f} MiB ({size / args.n / 1024:.1f} KiB per article)")

    levels = defaultdict(int)
    for _, level in assigned.values():
        levels[level] += 1
    print(f"levels: {dict(levels)}")
    pred = pairs_of({i: s for i, (s, _) in assigned.items()})
    near_truth = {i: copy_of.get(i, i) for i in range(args.n)}
    print(f"sanity vs generator truth: near-copy pairs found {len(pairs_of(near_truth) & pred)}/"
          f"{len(pairs_of(near_truth))}; story pairs: {prf(pred, pairs_of(story_of))}")
    if args.state_dir is None:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
