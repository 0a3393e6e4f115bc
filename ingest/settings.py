"""The one configuration object of a run.

Built once at the edge (the CLI or a Prefect flow's parameters) and passed down.  Nothing in
``ingest/`` reads environment variables: the edge resolves them into fields here.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

LANGUAGE_BACKENDS = ("ensemble", "lingua", "langdetect")
TASK_RUNNERS = ("local", "threads", "dask")
COMPUTE_TYPES = ("int8", "int8_float32", "float32", "float16", "default")


# ISO 639-1 (the two-letter codes), plus argos-translate's own "zt" (Chinese, traditional) and "pb"
# (Portuguese, Brazil), which its models use as target codes
ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik
io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml
mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd
se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi
vo wa wo xh yi yo za zh zu
""".split())
TRANSLATION_CODES = ISO_639_1 | {"zt", "pb"}


def language_code(value: object) -> str | None:
    """The ISO 639-1 code ``value`` names (case-folded, trimmed), or None when it names none."""
    if not isinstance(value, str):
        return None
    code = value.strip().casefold()
    return code if code in TRANSLATION_CODES else None


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot work with."""


@dataclass(frozen=True)
class Settings:
    # where output goes: a local directory or an fsspec URL
    out: str = "out"
    # local directory for state (fetch state, dedup index); default: <out>/_state when out is local
    state_dir: str | None = None

    # stages
    translate: bool = True
    target_language: str = "en"
    offline: bool = False

    # language identification
    # ensemble (langdetect + fastText + py3langid + lingua low-accuracy + word lists, ~300 MB), lingua (~1.2 GB),
    # langdetect (~110 MB, fastest); see docs/language.md
    language_backend: str = "ensemble"
    # ISO 639-1 codes the ensemble tells apart (empty: all 75 of lingua's); lingua's models are
    # loaded for these only
    language_candidates: tuple[str, ...] = ()
    language_max_chars: int = 1000  # characters sampled per segment
    language_split: bool = True  # split long segments where the language switches between sentences
    language_low_accuracy: bool = False  # lingua: trigram models only (~90 MB instead of ~1.1 GB)
    min_segment_chars: int = 2

    # extraction
    # trafilatura's fast mode: no fallback extractors (readability, jusText).  Measured on the 990
    # trafilatura_eval pages: 27% less extraction time, snippet F1 0.918 instead of 0.923.
    extraction_fast: bool = False

    # translation
    argos_packages_dir: str | None = None  # None: argos' own default (~/.local/share/argos-translate/packages)
    compute_type: str = "int8"
    translation_batch_size: int = 32
    translation_cache: bool = True

    # extraction limits (per document)
    max_document_bytes: int = 10_000_000
    extraction_timeout_s: float = 30.0
    min_text_chars: int = 1

    # dedup
    near_duplicate_threshold: float = 0.6  # MinHash max(Jaccard, containment) for a near copy
    # same comparison language: score = w * lexical cosine + (1 - w) * embedding cosine (docs/dedup.md)
    story_threshold: float = 0.46  # a link on its own joins two stories (one embedding model, or none)
    story_weak_threshold: float = 0.44  # a weak link: two of them between two stories join them
    # the same, for two articles of one bridge language, compared with both models (their mean)
    story_bridge_threshold: float = 0.49
    story_bridge_weak_threshold: float = 0.465
    story_lexical_weight: float = 0.6  # w above
    story_title_weight: float = 0.1  # the titles' share of a same-language score (their cosine, 0 if one has none)
    # different languages: embedding cosine + 0.1 * names/numbers cosine (strong links only)
    story_crosslingual_threshold: float = 0.68  # USE, both languages outside CJK
    story_crosslingual_cjk_threshold: float = 0.55  # USE, Chinese/Japanese/Korean on one side
    story_crosslingual_e5_threshold: float = 0.42  # centred multilingual-e5 (Hindi, Czech, ... <-> bridge)
    story_names_numbers_threshold: float = 0.6  # no shared model: names+numbers cosine and a shared number
    story_bridge_languages: tuple = ("en",)  # also get the E5 vector (linkable to languages USE lacks)
    story_window_days: float = 7.0  # max publication-time distance within a story (undated: any)

    # fetching
    user_agent: str = "news-ingest/0.1 (+https://example.org/news-ingest)"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    max_retries: int = 3
    backoff_s: float = 0.5
    max_redirects: int = 5
    max_body_bytes: int = 10_000_000
    respect_robots: bool = True
    per_host_concurrency: int = 2
    per_host_rate: float = 2.0  # requests per second per host (0: no rate limit)
    allow_private_addresses: bool = False
    sources_file: str | None = None
    fetch_deadline_s: float = 60.0  # wall-clock limit for one response (slow-drip servers)
    url_deadline_s: float = 90.0  # wall-clock limit for one URL, all attempts and backoff included
    fetch_feed_articles: bool = True  # fetch each feed entry's page (False: use the feed's content)
    feed_fetch_workers: int = 4  # threads fetching one feed's article pages (per-host limits still apply)

    # execution
    # documents per batch (one task): many small files are grouped, a large .jsonl/.jsonl.gz/WARC
    # is cut into record ranges; batches shrink towards the end of a run (ingest.runtime.batching)
    batch_size: int = 100
    batch_bytes: int = 32_000_000  # ... and about this many input bytes at most
    # records (articles, rejects) a batch holds in memory at once; a batch whose inputs hold more
    # (a .jsonl of a million lines) is processed and staged in parts of this size
    max_batch_records: int = 1000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    task_runner: str = "local"
    dask_address: str | None = None
    row_group_size: int = 50_000
    progress: bool = True
    # skip local input files whose content was already committed to this output under the same
    # row-shaping settings (ingest.runtime.unchanged): a rerun over unchanged files reads, not processes.
    # Off by default in the library (a rerun re-derives every row); on for Prefect deployments.
    skip_unchanged: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.story_bridge_languages, str):
            object.__setattr__(self, "story_bridge_languages", (self.story_bridge_languages,))
        object.__setattr__(self, "story_bridge_languages", tuple(self.story_bridge_languages))
        if self.language_backend not in LANGUAGE_BACKENDS:
            raise SettingsError(
                f"language_backend must be one of {', '.join(LANGUAGE_BACKENDS)}, got {self.language_backend!r}"
            )
        codes = self.language_candidates
        if not isinstance(codes, (tuple, list, frozenset, set)) or any(
                not (isinstance(c, str) and len(c) == 2 and c.isalpha() and c.islower()) for c in codes):
            raise SettingsError(f"language_candidates must be ISO 639-1 codes such as ('en', 'de'), got {codes!r}")
        object.__setattr__(self, "language_candidates", tuple(sorted(set(codes))))  # hashable, one order
        if len(set(codes)) == 1:
            raise SettingsError("language_candidates needs two or more languages (or none: all)")
        if self.task_runner not in TASK_RUNNERS:
            raise SettingsError(f"task_runner must be one of {', '.join(TASK_RUNNERS)}, got {self.task_runner!r}")
        if self.compute_type not in COMPUTE_TYPES:
            raise SettingsError(f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, got {self.compute_type!r}")
        code = language_code(self.target_language)
        if code is None:
            raise SettingsError(f"target_language must be an ISO 639-1 code such as 'en', got {self.target_language!r}")
        if code != self.target_language:
            object.__setattr__(self, "target_language", code)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(f"{f.name} must be a finite number, got {value}")
        for name in ("near_duplicate_threshold", "story_threshold", "story_weak_threshold", "story_bridge_threshold",
                     "story_bridge_weak_threshold", "story_lexical_weight", "story_title_weight",
                     "story_crosslingual_threshold", "story_crosslingual_cjk_threshold",
                     "story_crosslingual_e5_threshold", "story_names_numbers_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise SettingsError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for weak, strong in (("story_weak_threshold", "story_threshold"),
                             ("story_bridge_weak_threshold", "story_bridge_threshold")):
            if getattr(self, weak) > getattr(self, strong):
                raise SettingsError(f"{weak} ({getattr(self, weak)}) must not exceed {strong} ({getattr(self, strong)})")
        if not self.story_window_days > 0:
            raise SettingsError(f"story_window_days must be positive, got {self.story_window_days}")
        if not self.extraction_timeout_s > 0:
            raise SettingsError(f"extraction_timeout_s must be a positive number of seconds, got {self.extraction_timeout_s}")
        for name in ("batch_size", "workers", "translation_batch_size", "row_group_size", "max_document_bytes",
                     "language_max_chars", "max_batch_records", "batch_bytes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        self._check_fetching()

    def _check_fetching(self) -> None:
        for name in ("max_body_bytes", "per_host_concurrency", "feed_fetch_workers"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("connect_timeout_s", "read_timeout_s", "fetch_deadline_s", "url_deadline_s"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be a positive number of seconds, got {getattr(self, name)}")
        for name in ("max_retries", "max_redirects", "backoff_s", "per_host_rate"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative, got {getattr(self, name)}")
        if not (isinstance(self.user_agent, str) and self.user_agent.strip()):
            raise SettingsError("user_agent must be a non-empty string")

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        """Build from a mapping, rejecting unknown keys with a readable message."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{k: v for k, v in values.items() if v is not None or k in ("state_dir",)})
