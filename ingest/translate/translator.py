"""Offline translation of the segments that need it, with argos packages run through CTranslate2.

``Translator(settings).translate(articles)`` translates, in one batched pass over all the given
articles, every segment whose ``language`` is neither ``settings.target_language`` nor ``und``,
and fills:

- ``segment.translated_text`` for every segment: the translation, or the original text for a
  segment already in the target language (or ``und``); None for a segment that needed a
  translation it could not get (no model, engine error);
- ``article.title_translated`` (from the ``title`` segment, else ``article.title``) and
  ``article.text_translated`` (the non-title segments' translated texts joined by ``"\\n"``,
  mirroring ``article.text``; a segment without a translation contributes its original text);
- ``article.translation_status``: ``not_needed`` (nothing foreign), ``translated``, ``partial``
  (some segments had no model), ``no_model`` (none had one), ``failed`` (the engine raised for a
  segment; the run goes on), ``disabled`` (``settings.translate`` is False).  With ``no_model``,
  ``failed`` and ``disabled`` the two ``*_translated`` fields are None;
- ``article.translation_model``: the packages that translated it, e.g. ``translate-hi_en@1.9``;
  a pivot reads ``translate-de_en@1.0+translate-en_fr@1.1``; several routes are joined by ``,``.

Engine: each package's CTranslate2 ``model/`` plus its tokenizer, loaded once per process
(module cache keyed by package path, content fingerprint and compute type).  Segments are split
into sentences (``ingest.translate.sentences``), deduplicated, looked up in the translation cache, and the
rest is translated with ``translate_batch`` grouped by package and sorted by length.  Decoding
matches argostranslate 1.11 (``apply_packaged_translation``): sentencepiece pieces in, beam 4,
length penalty 0.2, ``replace_unknowns``, a paragraph's sentence outputs decoded together,
``▁``/``_`` turned into spaces, one leading space dropped.  No pair: pivot through English.
Nothing is ever downloaded here; missing pairs are counted in ``missing_pairs``.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.records import Article, Segment
from ingest.settings import Settings
from ingest.text import split_sentences
from ingest.translate import cache as tcache
from ingest.translate import models as argos_models
from ingest.translate.models import PackageInfo

logger = logging.getLogger(__name__)

BEAM_SIZE = 4  # argostranslate's default (ARGOS_BEAM_SIZE)
LENGTH_PENALTY = 0.2  # as argostranslate
DEVICE = "cpu"

_models: dict[tuple[str, str, str], _Model] = {}
_models_lock = threading.Lock()


class _SentencePieceTokenizer:
    def __init__(self, path: Path) -> None:
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(path))

    def encode(self, text: str) -> list[str]:
        return self.processor.encode(text, out_type=str)

    def decode(self, tokens: Sequence[str]) -> str:
        # as argostranslate.tokenizer.SentencePieceTokenizer.decode
        return self.processor.decode_pieces(list(tokens)).replace("▁", " ").replace("_", " ")


class _Model:
    """A loaded package: CTranslate2 translator + tokenizer."""

    def __init__(self, pkg: PackageInfo, compute_type: str) -> None:
        import ctranslate2

        self.translator = ctranslate2.Translator(
            str(pkg.model_dir), device=DEVICE, compute_type=compute_type, inter_threads=1, intra_threads=0
        )
        if pkg.tokenizer == "sentencepiece":
            self.tokenizer: Any = _SentencePieceTokenizer(pkg.path / "sentencepiece.model")
        else:  # old packages: Moses + BPE, exactly as argos does it (needs sacremoses)
            from argostranslate.tokenizer import BPETokenizer

            self.tokenizer = BPETokenizer(pkg.path / "bpe.model", pkg.from_code, pkg.to_code)
        self.prefix = pkg.target_prefix or None


def model_fingerprint(pkg: PackageInfo) -> str:
    """Changes when the package's files change (a reinstalled or different model)."""
    digest = hashlib.sha256()
    for rel in ("metadata.json", "model/model.bin", "sentencepiece.model", "bpe.model"):
        path = pkg.path / rel
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{rel}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    digest.update((pkg.path / "metadata.json").read_bytes() if (pkg.path / "metadata.json").is_file() else b"")
    return digest.hexdigest()[:16]


def load_model(pkg: PackageInfo, compute_type: str) -> _Model:
    """The package's model, loaded once per process and compute type."""
    key = (str(pkg.path.resolve()), compute_type, model_fingerprint(pkg))
    with _models_lock:
        model = _models.get(key)
        if model is None:
            logger.info("loading translation model %s (%s)", pkg.label, compute_type)
            model = _models[key] = _Model(pkg, compute_type)
        return model


@dataclass
class _Job:
    """One segment to translate along a route of one or two packages."""

    segment: Segment
    route: tuple[PackageInfo, ...]
    text: str
    error: str | None = None


class Translator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.packages_dir = argos_models.packages_dir_for(settings.argos_packages_dir)
        self.missing_pairs: Counter[tuple[str, str]] = Counter()
        self.stats: Counter[str] = Counter()
        self._available: dict[tuple[str, str], PackageInfo] | None = None
        self._routes: dict[str, tuple[PackageInfo, ...] | None] = {}
        self._model_keys: dict[Path, str] = {}
        self._disk = (tcache.DiskCache(settings.state_dir)
                      if settings.translation_cache and settings.state_dir else None)
        self._lock = threading.Lock()

    # --- public -----------------------------------------------------------------------------

    def translate(self, articles: list[Article]) -> None:
        """Translate what needs translating in ``articles`` (mutated in place); never raises for
        a missing model or an engine error: those become statuses."""
        if not self.settings.translate:
            for article in articles:
                _clear(article)
                article.translation_status = "disabled"
            self._count(Counter(disabled=len(articles)))
            return
        plans = [self._plan(article) for article in articles]
        jobs = [job for _, _, article_jobs, _ in plans for job in article_jobs]
        if jobs:
            self._run(jobs)
        statuses: Counter[str] = Counter()
        for article, segments, article_jobs, missing in plans:
            statuses[self._finish(article, segments, article_jobs, missing)] += 1
        self._count(statuses)

    def install_hint(self, pair: tuple[str, str]) -> str:
        """The command that installs a model for ``pair`` (names argos' package)."""
        return install_hint(pair)

    def summary(self) -> dict[str, Any]:
        """Counts for the run summary: statuses, segments, sentences, missing pairs with hints."""
        with self._lock:
            stats = dict(self.stats)
            missing = sorted(self.missing_pairs.items())
        return {
            "statuses": {k.removeprefix("status:"): v for k, v in sorted(stats.items()) if k.startswith("status:")},
            "counts": {k: v for k, v in sorted(stats.items()) if not k.startswith("status:")},
            "packages_dir": str(self.packages_dir),
            "missing_pairs": [
                {"from": s, "to": t, "segments": n, "package": argos_models.package_name(s, t),
                 "install": install_hint((s, t))}
                for (s, t), n in missing
            ],
        }

    def summary_lines(self) -> list[str]:
        lines = []
        for item in self.summary()["missing_pairs"]:
            lines.append(f"no translation model for {item['from']}->{item['to']} ({item['segments']} segment(s)); "
                         f"install with: {item['install']}")
        return lines

    # --- planning ---------------------------------------------------------------------------

    def _plan(self, article: Article) -> tuple[Article, list[Segment], list[_Job], list[Segment]]:
        target = self.settings.target_language
        segments = list(article.segments)
        if not segments and article.text:
            segments = [Segment(index=0, text=article.text, language=article.language)]  # not attached
        if article.title and not any(s.kind == "title" for s in segments):
            segments.insert(0, Segment(index=-1, text=article.title, kind="title", language=article.language))
        jobs, missing = [], []
        for segment in segments:
            segment.translated_text = None
            if segment.language in (target, "und") or not segment.text.strip():
                segment.translated_text = segment.text
                continue
            route = self._route(segment.language)
            if route is None:
                missing.append(segment)
            else:
                jobs.append(_Job(segment, route, segment.text))
        return article, segments, jobs, missing

    def _route(self, source: str) -> tuple[PackageInfo, ...] | None:
        if source not in self._routes:
            if self._available is None:
                self._available = argos_models.translation_packages(self.packages_dir)
                logger.info("translation packages in %s: %s", self.packages_dir,
                            ", ".join(p.label for p in self._available.values()) or "none")
            self._routes[source] = argos_models.find_route(self._available, source, self.settings.target_language)
        return self._routes[source]

    # --- engine -----------------------------------------------------------------------------

    def _run(self, jobs: list[_Job]) -> None:
        for stage in range(max(len(job.route) for job in jobs)):
            groups: dict[Path, list[_Job]] = {}
            packages: dict[Path, PackageInfo] = {}
            for job in jobs:
                if len(job.route) > stage and job.error is None:
                    pkg = job.route[stage]
                    groups.setdefault(pkg.path, []).append(job)
                    packages[pkg.path] = pkg
            for path, group in groups.items():
                self._run_package(packages[path], group)

    def _run_package(self, pkg: PackageInfo, jobs: list[_Job]) -> None:
        layout = []  # per job: paragraphs -> sentences
        unique: dict[str, None] = {}
        for job in jobs:
            paragraphs = [split_sentences(p, pkg.from_code) for p in job.text.split("\n")]
            layout.append(paragraphs)
            for sentences in paragraphs:
                unique.update(dict.fromkeys(sentences))
        results, error, model = self._translate_sentences(pkg, list(unique))
        for job, paragraphs in zip(jobs, layout):
            out = []
            for sentences in paragraphs:
                tokens: list[str] = []
                for sentence in sentences:
                    found = results.get(sentence)
                    if found is None:
                        job.error = error or "translation failed"
                        break
                    tokens.extend(found)
                if job.error:
                    break
                out.append(_decode(model, tokens) if tokens and model is not None else "")
            if job.error is None:
                job.text = "\n".join(out)

    def _translate_sentences(self, pkg: PackageInfo, sentences: list[str]
                             ) -> tuple[dict[str, tuple[str, ...]], str | None, _Model | None]:
        """Sentence -> output tokens (cached or fresh); a sentence absent from the result failed."""
        use_cache = self.settings.translation_cache
        key = self._model_key(pkg)
        results: dict[str, tuple[str, ...]] = {}
        digests = {s: tcache.sentence_key(s) for s in sentences} if use_cache else {}
        todo = []
        for sentence in sentences:
            hit = tcache.memory_get(key, digests[sentence]) if use_cache else None
            if hit is not None:
                results[sentence] = hit
            else:
                todo.append(sentence)
        stats = Counter(sentences_memory_cache=len(results))
        if todo and self._disk is not None:
            found = self._disk.get_many(key, [digests[s] for s in todo])
            still = []
            for sentence in todo:
                hit = found.get(digests[sentence])
                if hit is None:
                    still.append(sentence)
                else:
                    results[sentence] = hit
                    tcache.memory_put(key, digests[sentence], hit)
                    stats["sentences_disk_cache"] += 1
            todo = still
        try:
            model = load_model(pkg, self.settings.compute_type)  # needed to decode cache hits too
        except Exception as exc:  # noqa: BLE001  (a corrupt or incompatible package must not stop the run)
            error = f"cannot load {pkg.label}: {type(exc).__name__}: {exc}"[:300]
            logger.warning("%s", error)
            self._count(Counter(sentences_failed=len(sentences)))
            return {}, error, None
        error = None
        if todo:
            fresh, error = self._engine(model, pkg, todo)
            stats["sentences_translated"] += len(fresh)
            stats["sentences_failed"] += len(todo) - len(fresh)
            results.update(fresh)
            if use_cache:
                for sentence, tokens in fresh.items():
                    tcache.memory_put(key, digests[sentence], tokens)
                if self._disk is not None:
                    self._disk.put_many(key, [(digests[s], t) for s, t in fresh.items()])
        self._count(stats)
        return results, error, model

    def _engine(self, model: _Model, pkg: PackageInfo, sentences: list[str]
                ) -> tuple[dict[str, tuple[str, ...]], str | None]:
        batch_size = self.settings.translation_batch_size
        error = None
        encoded = []
        for sentence in sentences:
            try:
                encoded.append((sentence, model.tokenizer.encode(sentence)))
            except Exception as exc:  # noqa: BLE001  (one bad input never kills a run)
                error = f"{pkg.label} could not tokenize a sentence: {type(exc).__name__}: {exc}"[:300]
                logger.warning("%s", error)
        encoded.sort(key=lambda item: len(item[1]))
        out: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            try:
                hypotheses = self._translate_batch(model, [tokens for _, tokens in chunk])
            except Exception as exc:  # noqa: BLE001  (one bad input never kills a run)
                logger.warning("%s: batch of %d failed (%s); retrying one by one", pkg.label, len(chunk), exc)
                hypotheses = []
                for sentence, tokens in chunk:
                    try:
                        hypotheses.append(self._translate_batch(model, [tokens])[0])
                    except Exception as exc2:  # noqa: BLE001
                        error = f"{pkg.label} failed: {type(exc2).__name__}: {exc2}"[:300]
                        logger.warning("%s (sentence of %d chars)", error, len(sentence))
                        hypotheses.append(None)
            for (sentence, _), hyp in zip(chunk, hypotheses):
                if hyp is not None:
                    out[sentence] = hyp
        return out, error

    def _translate_batch(self, model: _Model, batch: list[list[str]]) -> list[tuple[str, ...]]:
        prefix = [[model.prefix]] * len(batch) if model.prefix else None
        results = model.translator.translate_batch(
            batch, target_prefix=prefix, max_batch_size=len(batch), beam_size=BEAM_SIZE,
            num_hypotheses=1, length_penalty=LENGTH_PENALTY, replace_unknowns=True,
        )
        out = []
        for result in results:
            tokens = list(result.hypotheses[0])
            if model.prefix and tokens and tokens[0] == model.prefix:
                tokens = tokens[1:]  # per sentence, so multi-sentence paragraphs stay clean
            out.append(tuple(tokens))
        return out

    def _model_key(self, pkg: PackageInfo) -> str:
        key = self._model_keys.get(pkg.path)
        if key is None:
            key = self._model_keys[pkg.path] = (
                f"{pkg.label}#{model_fingerprint(pkg)}/{self.settings.compute_type}/b{BEAM_SIZE}")
        return key

    # --- assembly ---------------------------------------------------------------------------

    def _finish(self, article: Article, segments: list[Segment], jobs: list[_Job], missing: list[Segment]) -> str:
        target = self.settings.target_language
        failed = [job for job in jobs if job.error is not None]
        done = [job for job in jobs if job.error is None]
        for job in done:
            job.segment.translated_text = job.text
        for segment in missing:
            self.missing_pairs[(segment.language, target)] += 1
        if failed:
            logger.warning("translation failed for %s: %s", article.source_uri, failed[0].error)
        self._count(Counter(segments_translated=len(done), segments_failed=len(failed),
                            segments_no_model=len(missing)))
        routes = sorted({"+".join(p.label for p in job.route) for job in done})
        article.translation_model = ",".join(routes) or None
        if not jobs and not missing:
            status = "not_needed"
        elif failed:
            status = "failed"
        elif missing:
            status = "partial" if done else "no_model"
        else:
            status = "translated"
        article.translation_status = status
        if status in ("failed", "no_model"):
            article.title_translated = article.text_translated = None
            return status
        title = next((s for s in segments if s.kind == "title"), None)
        article.title_translated = _shown(title) if title is not None else article.title
        body = [_shown(s) for s in segments if s.kind != "title"]
        article.text_translated = "\n".join(body) if body else article.text
        return status

    def _count(self, counts: Counter[str]) -> None:
        with self._lock:
            for name, value in counts.items():
                if value:
                    key = f"status:{name}" if name in _STATUSES else name
                    self.stats[key] += value


_STATUSES = frozenset(("not_needed", "translated", "partial", "no_model", "failed", "disabled"))


def _shown(segment: Segment) -> str:
    return segment.translated_text if segment.translated_text is not None else segment.text


def _decode(model: _Model, tokens: list[str]) -> str:
    value = model.tokenizer.decode(tokens)
    if model.prefix and value.startswith(model.prefix):
        value = value[len(model.prefix):]
    value = value.removeprefix(" ")
    return value


def _clear(article: Article) -> None:
    for segment in article.segments:
        segment.translated_text = None
    article.title_translated = article.text_translated = None
    article.translation_model = None


def install_hint(pair: tuple[str, str]) -> str:
    """``news-ingest models install hi en   # argos package translate-hi_en``."""
    source, target = pair
    return f"news-ingest models install {source} {target}   # argos package {argos_models.package_name(source, target)}"
