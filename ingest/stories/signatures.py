"""Signatures for deduplication: MinHash + LSH band keys (near copies), typed term ids and the
sparse story vector they make (``similarity.lexical_vector``).  Pure computation with numpy; no
storage.

Near copies: a datasketch ``MinHash`` (128 permutations, affine32 scheme) over the paragraph
5-shingles of the original text.  LSH cuts the signature into 32 bands of 4 values; two
articles become candidates when one band is equal (probability 1-(1-J^4)^32: 0.87 at Jaccard
0.5, 0.99 at 0.6).  The near-copy score of a candidate pair is the larger of the estimated
Jaccard and the estimated containment of the shorter text in the longer one (so a truncated
copy or a copy with added boilerplate still scores high).

Term ids: a typed token (``w:`` content word, ``e:`` name, ``n:`` number, ``t:`` title word; see
``similarity.lexical_tokens``) hashed to a signed 32-bit id whose two low bits hold its type.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

NUM_PERM = 128
MINHASH_SEED = 1
BANDS = 32
ROWS = NUM_PERM // BANDS
MIN_SHINGLES = 8  # fewer shingles than this: no near-copy detection (exact hash only)
MIN_LENGTH_RATIO = 0.3  # containment counts only when the shorter text is >= 30% of the longer

TYPE_CODES = {"w": 0, "e": 1, "n": 2, "t": 3}
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
    _parts: tuple | None = field(default=None, repr=False, compare=False)

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights as float64, type code of each id, squared norm per type code), computed once:
        a stored vector is compared with many articles."""
        if self._parts is None:
            w = self.weights.astype(np.float64)
            kind = (self.ids & 3).astype(np.intp)
            self._parts = (w, kind, np.bincount(kind, weights=w * w, minlength=4))
        return self._parts

    def to_blob(self) -> bytes:
        return self.ids.astype("<i4").tobytes() + self.weights.astype("<f2").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes) -> "StoryVector":
        n = len(blob) // 6
        ids = np.frombuffer(blob, dtype="<i4", count=n)
        weights = np.frombuffer(blob, dtype="<f2", offset=4 * n, count=n)
        return cls(ids, weights, [])
