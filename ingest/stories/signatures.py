"""Signatures for deduplication: MinHash + LSH band keys (near copies) and sparse TF-IDF story
vectors (same story).  Pure computation with numpy; no storage.

Near copies: a datasketch ``MinHash`` (128 permutations, affine32 scheme) over the paragraph
5-shingles of the original text.  LSH cuts the signature into 32 bands of 4 values; two
articles become candidates when one band is equal (probability 1-(1-J^4)^32: 0.87 at Jaccard
0.5, 0.99 at 0.6).  The near-copy score of a candidate pair is the larger of the estimated
Jaccard and the estimated containment of the shorter text in the longer one (so a truncated
copy or a copy with added boilerplate still scores high).

Story vectors: typed tokens (see ``dedup_text``) weighted ``(1 + ln tf) * idf``, the ``TOP_TERMS``
heaviest kept and L2-normalised.  A token id is a 64-bit hash whose two low bits hold its type.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

NUM_PERM = 128
MINHASH_SEED = 1
BANDS = 32
ROWS = NUM_PERM // BANDS
MIN_SHINGLES = 8  # fewer shingles than this: no near-copy detection (exact hash only)
MIN_LENGTH_RATIO = 0.3  # containment counts only when the shorter text is >= 30% of the longer
TOP_TERMS = 400  # story vector length (caps very long texts only)
KEY_TERMS = 24  # heaviest terms posted in the inverted index, plus
KEY_NAMES_NUMBERS = 8  # the heaviest names/numbers (if not among them already) and
KEY_QUOTES = 4  # the heaviest quote shingles
CROSSLINGUAL_NEEDS_NUMBER = True
QUOTE_BONUS = 0.3  # story score = cosine + QUOTE_BONUS * cosine of the quoted-speech shingles

TYPE_CODES = {"w": 0, "e": 1, "n": 2, "q": 3}
_TYPE_MASK = np.int32(3)

_template = None


def _identity(value):
    return value


def minhash(shingles: list[int]) -> np.ndarray:
    """uint32[NUM_PERM] MinHash signature of 32-bit shingle hashes (datasketch, affine32)."""
    global _template
    from datasketch import MinHash

    if _template is None:
        _template = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=_identity,
                permutations=_template.permutations, scheme="affine32")
    if shingles:
        m.update_batch(shingles)
    return np.asarray(m.hashvalues, dtype=np.uint32)


_BAND_MUL = np.uint64(0x9E3779B97F4A7C15)


def band_keys(signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per LSH band (band index mixed in, so bands never collide)."""
    rows = signature.astype(np.uint64).reshape(BANDS, ROWS)
    key = np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    for j in range(ROWS):
        key = (key ^ rows[:, j]) * _BAND_MUL
        key ^= key >> np.uint64(29)
    return key.view(np.int64).tolist()


def near_scores(sig: np.ndarray, size: int, cand_sigs: np.ndarray, cand_sizes: np.ndarray) -> np.ndarray:
    """Near-copy score against each candidate: max(Jaccard, containment of the shorter)."""
    if len(cand_sizes) == 0:
        return np.zeros(0)
    jac = (cand_sigs == sig[None, :]).mean(axis=1)
    small = np.minimum(cand_sizes, size).astype(float)
    large = np.maximum(cand_sizes, size).astype(float)
    inter = jac * (small + large) / (1.0 + jac)
    contain = np.where(small >= MIN_LENGTH_RATIO * large, np.minimum(1.0, inter / np.maximum(small, 1)), 0.0)
    score = np.maximum(jac, contain)
    score[(cand_sizes < MIN_SHINGLES) | (size < MIN_SHINGLES)] = 0.0
    return score


# ---------------------------------------------------------------------------------------------
# story vectors


_TERM_IDS: dict[str, int] = {}


def term_id(token: str) -> int:
    """Signed 32-bit id of a typed token (crc32 with the type in the two low bits)."""
    tid = _TERM_IDS.get(token)
    if tid is None:
        if len(_TERM_IDS) > 200_000:  # bounded memory
            _TERM_IDS.clear()
        value = (zlib.crc32(token.encode("utf-8", "surrogatepass")) & ~3) | TYPE_CODES[token[0]]
        tid = _TERM_IDS[token] = value - (1 << 32) if value >= 1 << 31 else value
    return tid


@dataclass
class StoryVector:
    ids: np.ndarray  # int32 term ids, sorted
    weights: np.ndarray  # L2 norm 1 over all kept terms
    keys: list[int]  # ids to post in / query the inverted index

    def to_blob(self) -> bytes:
        return self.ids.astype("<i4").tobytes() + self.weights.astype("<f2").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes) -> "StoryVector":
        n = len(blob) // 6
        ids = np.frombuffer(blob, dtype="<i4", count=n)
        weights = np.frombuffer(blob, dtype="<f2", offset=4 * n, count=n)
        return cls(ids, weights, [])


def story_vector(terms: dict[int, tuple[int, str]], df: dict[int, int], n_docs: int) -> StoryVector:
    """Weighted, truncated, normalised vector of ``terms`` (term id -> (tf, kind letter))."""
    if not terms:
        return StoryVector(np.zeros(0, np.int32), np.zeros(0, np.float32), [])
    tids = np.fromiter(terms.keys(), dtype=np.int64, count=len(terms))
    tf = np.fromiter((v[0] for v in terms.values()), dtype=np.float64, count=len(terms))
    dfs = np.fromiter((df.get(t, 1) for t in terms), dtype=np.float64, count=len(terms))
    w = (1.0 + np.log(tf)) * (np.log((n_docs + 1) / (dfs + 1)) + 1.0)
    order = np.lexsort((tids, -w))[:TOP_TERMS]
    ranked = tids[order]
    kind = ranked & 3
    keys = ranked[kind != 3][:KEY_TERMS].tolist()
    # language-independent keys too, so an untranslated report in another language is found
    keys += [t for t in ranked[(kind == 1) | (kind == 2)][:KEY_NAMES_NUMBERS].tolist() if t not in keys]
    keys += ranked[kind == 3][:KEY_QUOTES].tolist()
    kept = np.sort(order)
    kept = kept[np.argsort(tids[kept], kind="stable")]
    weights = w[kept]
    weights /= np.linalg.norm(weights) or 1.0
    return StoryVector(tids[kept].astype(np.int32), weights.astype(np.float32), keys)


def story_scores(query: StoryVector, cands: list[StoryVector], same_language: np.ndarray) -> np.ndarray:
    """Story similarity of ``query`` with each candidate.

    Same language: cosine + QUOTE_BONUS * cosine over quote shingles (capped at 1).
    Different languages, no shared translation: cosine over the language-independent tokens
    (names, numbers, amounts) only, and 0 unless at least one number or amount is shared.
    """
    k = len(cands)
    if k == 0 or len(query.ids) == 0:
        return np.zeros(k)
    lens = np.array([len(c.ids) for c in cands])
    if lens.sum() == 0:
        return np.zeros(k)
    owner = np.repeat(np.arange(k), lens)
    ids = np.concatenate([c.ids for c in cands])
    w = np.concatenate([c.weights for c in cands]).astype(np.float64)
    pos = np.searchsorted(query.ids, ids)
    pos = np.minimum(pos, len(query.ids) - 1)
    hit = query.ids[pos] == ids
    prod = np.where(hit, w * query.weights[pos], 0.0)
    kind = ids & _TYPE_MASK
    qkind = query.ids & _TYPE_MASK
    qw = query.weights.astype(np.float64)

    def sub(mask_c: np.ndarray, mask_q: np.ndarray) -> np.ndarray:
        dot = np.bincount(owner, weights=np.where(mask_c, prod, 0.0), minlength=k)
        nc = np.sqrt(np.bincount(owner, weights=np.where(mask_c, w * w, 0.0), minlength=k))
        nq = math.sqrt(float((qw[mask_q] ** 2).sum()))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((nc > 0) & (nq > 0), dot / (nc * nq), 0.0)
        return out

    full = np.bincount(owner, weights=prod, minlength=k)
    quote = sub(kind == 3, qkind == 3)
    # names alone say "same companies/people", not "same event": across languages a join also
    # needs at least one shared number or amount
    shared_number = np.bincount(owner, weights=(hit & (kind == 2)).astype(float), minlength=k) > 0
    if not CROSSLINGUAL_NEEDS_NUMBER:
        shared_number[:] = True
    li = np.where(shared_number, sub((kind == 1) | (kind == 2), (qkind == 1) | (qkind == 2)), 0.0)
    same = np.minimum(1.0, full + QUOTE_BONUS * quote)
    return np.where(same_language, same, li)
