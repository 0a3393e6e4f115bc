"""Language-identification backends: lingua and langdetect, each loaded once per process.

Both return ``scores(text) -> {ISO 639-1 code: probability}`` (normalised, calibrated on the dev
half of lingua_words so that a probability of p is right about p of the time on short text).
Callers must not modify the returned dict: short texts are memoised.
"""
from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)

ALIASES = {"zh-cn": "zh", "zh-tw": "zh", "no": "nb", "iw": "he", "in": "id", "ji": "yi"}


class _Backend:
    """Common part: ``scores(text)`` memoises short texts (repeated headings, credits and boiler-
    plate lines across the documents of a run); callers must not modify the returned dict."""

    CACHE_CHARS = 64
    CACHE_SIZE = 50_000
    supported: frozenset = frozenset()

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, float]] = {}

    def scores(self, text: str) -> dict[str, float]:
        if len(text) > self.CACHE_CHARS:
            return self._scores(text)
        hit = self._cache.get(text)
        if hit is None:
            hit = self._scores(text)
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = hit
        return hit

    def _scores(self, text: str) -> dict[str, float]:
        raise NotImplementedError


class LinguaBackend(_Backend):
    """lingua (models shipped inside the wheel), all 75 languages.  Models are loaded lazily, per
    script, the first time text in that script is seen: about 1.1 GB and 5-10 s for the Latin-script
    models in high-accuracy mode, ~90 MB and <1 s in low-accuracy mode.  High accuracy (1- to
    5-gram models) is what makes lingua good on short text; lingua itself uses only trigrams from
    120 characters on.  Low-accuracy mode is much worse below 120 characters (and over-confident:
    "Buscan apropiarse ilegalmente de avión ..." comes out Italian), so it is only an option for
    memory-starved runs (``Settings.language_low_accuracy``)."""

    name = "lingua"
    SHARPEN = 1.75  # lingua's values are under-confident on short text: p**1.75, renormalised,
    # minimises the log-loss on the dev half of lingua_words (bench/language_bench.py --split dev)

    def __init__(self, low_accuracy: bool = False) -> None:
        from lingua import Language, LanguageDetectorBuilder

        super().__init__()
        builder = LanguageDetectorBuilder.from_all_languages()
        self._detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()
        self._codes = {lang: lang.iso_code_639_1.name.lower() for lang in Language.all()}
        self.supported = frozenset(self._codes.values())

    def _scores(self, text: str) -> dict[str, float]:
        try:
            values = self._detector.compute_language_confidence_values(text)
        except UnicodeEncodeError:  # lone surrogates cannot cross into Rust
            values = self._detector.compute_language_confidence_values(
                text.encode("utf-8", "replace").decode("utf-8"))
        out: dict[str, float] = {}
        total = 0.0
        for value in values:
            p = value.value
            if p <= 0.0:
                break
            out[self._codes[value.language]] = p
            total += p
            if total >= 0.9995:
                break
        sharp = {code: p ** self.SHARPEN for code, p in out.items()}
        norm = sum(sharp.values())
        return {code: p / norm for code, p in sharp.items()} if norm > 0 else {}


class LangdetectBackend(_Backend):
    """langdetect's n-gram profiles (55 languages), scored exhaustively instead of by random
    sampling: every 1-3-gram of the text adds log(p(ngram|lang) + alpha), exactly the update
    langdetect samples from, so the result is deterministic without a seed and ~30x faster.  The
    sum is divided by ``TEMPERATURE`` because overlapping 1-, 2- and 3-grams are not independent
    (3.75 minimises the log-loss on the dev half of lingua_words)."""

    name = "langdetect"
    TEMPERATURE = 3.75

    def __init__(self) -> None:
        import numpy as np
        from langdetect import DetectorFactory, detector_factory
        from langdetect.detector import Detector

        super().__init__()
        DetectorFactory.seed = 0  # deterministic for anyone who calls langdetect's own API
        detector_factory.init_factory()
        self._np = np
        self._factory = detector_factory._factory
        self._codes = [ALIASES.get(code, code) for code in self._factory.langlist]
        prob_map = self._factory.word_lang_prob_map
        self._row = {gram: i for i, gram in enumerate(prob_map)}
        matrix = np.array(list(prob_map.values()), dtype=np.float32)
        self._logp = np.log(matrix + Detector.ALPHA_DEFAULT / Detector.BASE_FREQ)
        self.supported = frozenset(self._codes)

    def _scores(self, text: str) -> dict[str, float]:
        np = self._np
        detector = self._factory.create()
        detector.append(f" {text} ")  # word boundaries at both ends carry information
        detector.cleaning_text()
        grams = detector._extract_ngrams()
        if not grams:
            return {}
        row = self._row
        loglik = self._logp[[row[g] for g in grams]].sum(axis=0, dtype=np.float64) / self.TEMPERATURE
        p = np.exp(loglik - loglik.max())
        p /= p.sum()
        out: dict[str, float] = {}
        for code, value in zip(self._codes, p.tolist()):
            if value > 1e-6:
                out[code] = out.get(code, 0.0) + value
        return out


_backends: dict[tuple[str, bool], object] = {}
_backend_lock = threading.Lock()
LOAD_SECONDS: dict[str, float] = {}  # backend name -> seconds its constructor took (this process)


def clear_caches() -> None:
    """Forget memoised scores (benchmarks time cold work)."""
    for backend in _backends.values():
        backend._cache.clear()


def get_backend(name: str, low_accuracy: bool = False):
    """The process-wide backend instance (built on first use)."""
    key = (name, low_accuracy)
    backend = _backends.get(key)
    if backend is None:
        with _backend_lock:
            backend = _backends.get(key)
            if backend is None:
                started = time.perf_counter()
                if name == "lingua":
                    backend = LinguaBackend(low_accuracy)
                elif name == "langdetect":
                    backend = LangdetectBackend()
                else:
                    raise ValueError(f"unknown language backend {name!r}")
                LOAD_SECONDS[name] = time.perf_counter() - started
                logger.info("language backend %s ready in %.2fs", name, LOAD_SECONDS[name])
                _backends[key] = backend
    return backend
