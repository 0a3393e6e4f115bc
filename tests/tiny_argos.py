"""A tiny argos translation package built in seconds, for tests that must run without ../shared.

``build_package(path, from_code, to_code)`` trains a sentencepiece model on a few lines, fills a
one-layer CTranslate2 transformer with random weights (seeded: the same package every time) and
zips both in argos' package layout (``metadata.json``, ``model/``, ``sentencepiece.model``).
It translates nothing: its output is arbitrary tokens.  Tests built on it assert on statuses,
segment alignment and model management, never on words.
"""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

LINES = [
    "Der Hafen wurde heute wieder geöffnet.", "Die Polizei hat zwei Verdächtige festgenommen.",
    "La policía detuvo a dos sospechosos.", "El puerto volvió a abrir hoy.",
    "पुलिस ने दो संदिग्धों को गिरफ्तार किया।", "बंदरगाह आज फिर से खुल गया।",
    "The harbour opened again today.", "Police arrested two suspects.",
    "Le port a rouvert aujourd'hui.", "Der Stadtrat stimmte dem Haushalt zu.",
]
D_MODEL, FFN, HEADS = 16, 32, 2
SCALE = 1.0  # weights ~ N(0, SCALE): decisive logits, so batching noise never changes a decision
EOS_BIAS = 4.0  # outputs end after a few tokens
NAMES = {"hi": "Hindi", "de": "German", "es": "Spanish", "en": "English", "fr": "French"}


def _sentencepiece(directory: Path) -> list[str]:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(LINES * 4), model_writer=model, vocab_size=120,
                                   model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
                                   minloglevel=2, bos_id=-1, eos_id=-1, unk_id=0)
    (directory / "sentencepiece.model").write_bytes(model.getvalue())
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _linear(spec, rng, out_dim: int, in_dim: int) -> None:
    spec.weight = (rng.standard_normal((out_dim, in_dim)) * SCALE / np.sqrt(in_dim)).astype(np.float32)
    spec.bias = np.zeros(out_dim, dtype=np.float32)


def _norm(spec) -> None:
    spec.gamma = np.ones(D_MODEL, dtype=np.float32)
    spec.beta = np.zeros(D_MODEL, dtype=np.float32)


def _model(directory: Path, vocabulary: list[str], seed: int) -> None:
    from ctranslate2.specs import TransformerSpec

    tokens = ["<unk>", "<s>", "</s>"] + [t for t in vocabulary if t not in ("<unk>", "<s>", "</s>")]
    rng = np.random.default_rng(seed)
    spec = TransformerSpec.from_config(num_layers=1, num_heads=HEADS, pre_norm=True)
    for stack in (spec.encoder, spec.decoder):
        embeddings = stack.embeddings[0] if isinstance(stack.embeddings, list) else stack.embeddings
        embeddings.weight = (rng.standard_normal((len(tokens), D_MODEL)) * SCALE).astype(np.float32)
        _norm(stack.layer_norm)
        for layer in stack.layer:
            _norm(layer.self_attention.layer_norm)
            _linear(layer.self_attention.linear[0], rng, 3 * D_MODEL, D_MODEL)
            _linear(layer.self_attention.linear[1], rng, D_MODEL, D_MODEL)
            if getattr(layer, "attention", None) is not None:
                _norm(layer.attention.layer_norm)
                _linear(layer.attention.linear[0], rng, D_MODEL, D_MODEL)
                _linear(layer.attention.linear[1], rng, 2 * D_MODEL, D_MODEL)
                _linear(layer.attention.linear[2], rng, D_MODEL, D_MODEL)
            _norm(layer.ffn.layer_norm)
            _linear(layer.ffn.linear_0, rng, FFN, D_MODEL)
            _linear(layer.ffn.linear_1, rng, D_MODEL, FFN)
    _linear(spec.decoder.projection, rng, len(tokens), D_MODEL)
    spec.decoder.projection.weight *= 4.0  # peaked output distribution
    spec.decoder.projection.bias[tokens.index("</s>")] = EOS_BIAS
    spec.register_source_vocabulary(tokens)
    spec.register_target_vocabulary(tokens)
    spec.config.add_source_bos = False
    spec.config.add_source_eos = False
    spec.validate()
    spec.optimize(quantization=None)
    (directory / "model").mkdir()
    spec.save(str(directory / "model"))


def build_package(path: Path, from_code: str, to_code: str = "en", version: str = "0.0.1") -> Path:
    """Write a package (top directory ``translate-<from>_<to>-toy``) at ``path``; returns it."""
    name = f"translate-{from_code}_{to_code}-toy"  # the shared toys' layout, so tests find either
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        root.mkdir()
        vocabulary = _sentencepiece(root)
        _model(root, vocabulary, seed=sum(map(ord, from_code + to_code)))
        (root / "metadata.json").write_text(json.dumps({
            "package_version": version, "argos_version": "1.0", "from_code": from_code,
            "from_name": NAMES.get(from_code, from_code), "to_code": to_code, "to_name": NAMES.get(to_code, to_code), "type": "translate", "links": []}), encoding="utf-8")
        (root / "README.md").write_text("tiny random test package: translates nothing\n", encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(root.rglob("*")):
                archive.write(file, file.relative_to(root.parent).as_posix())
    return path


def build_packages(directory: Path, languages=("hi", "de", "es")) -> Path:
    """Tiny packages ``translate-<lang>_en-toy.argosmodel`` for each language (the shared toys'
    names, so tests written for them find these)."""
    directory.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        build_package(directory / f"translate-{lang}_en-toy.argosmodel", lang)
    return directory


if __name__ == "__main__":  # python -m tests.tiny_argos DIR
    import sys
    import time

    started = time.perf_counter()
    out = build_packages(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-packages"))
    print(f"built {sorted(p.name for p in out.iterdir())} in {time.perf_counter() - started:.1f}s")
