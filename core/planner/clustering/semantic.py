"""Semantic mode of the clusterer: sentence embeddings of each keyword's topical words, blended with the lexical.

A sentence model embeds "top rated prime lens in california" mostly as "… in california", which is the wrong
axis for topic clusters. So the lexical rounds first learn which words are modifiers (low specificity); the model
then embeds only the keyword's topical words ("prime lens"), which also makes many keywords share one phrase and
cuts the model's work to the distinct phrases. The final vector concatenates the lexical and the semantic parts,
so cosine similarity is their weighted average.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.planner.clustering import embedder as local_embedder
from core.planner.clustering import features

SEMANTIC_WEIGHT = 0.9     # share of the semantic part in the blended cosine similarity
KEEP_RELATIVE = 0.6       # a word is topical when its specificity is at least this share of the keyword's best


def core_phrase(text: str, space: features.TermSpace, spec: np.ndarray) -> str:
    """The keyword's topical words in their original order and spelling (all words when none stands out)."""
    tokens = [t for t in features.words(text) if t not in features.STOP_WORDS] or features.words(text)
    scores = [float(spec[space.vocab[s]]) if (s := features.stem(t)) in space.vocab else 0.0 for t in tokens]
    best = max(scores, default=0.0)
    if best <= 0:
        return " ".join(tokens)
    return " ".join(t for t, s in zip(tokens, scores, strict=True) if s >= KEEP_RELATIVE * best)


def hybrid(z_lex: np.ndarray, texts: list[str], space: features.TermSpace, spec: np.ndarray,
           on_fraction: Callable[[float], None] | None = None) -> np.ndarray:
    """Unit rows [√(1−w)·lexical, √w·semantic] for the keywords `texts` (one original text per row of z_lex)."""
    phrases = [core_phrase(t, space, spec) for t in texts]
    distinct = sorted(set(phrases))
    index = {p: i for i, p in enumerate(distinct)}
    z_distinct = local_embedder.encoder().encode(distinct, on_batch=on_fraction)
    rows = np.fromiter((index[p] for p in phrases), dtype=np.int64, count=len(phrases))
    blended = np.empty((len(texts), z_lex.shape[1] + z_distinct.shape[1]), dtype=np.float32)
    np.multiply(z_lex, np.float32(np.sqrt(1 - SEMANTIC_WEIGHT)), out=blended[:, :z_lex.shape[1]])
    for start in range(0, len(rows), 8192):     # gathered in slices: no second n × 384 copy
        chunk = slice(start, start + 8192)
        np.multiply(z_distinct[rows[chunk]], np.float32(np.sqrt(SEMANTIC_WEIGHT)), out=blended[chunk, z_lex.shape[1]:])
    # in place: at 100k keywords each extra copy of this matrix is 200 MB
    blended /= np.maximum(np.linalg.norm(blended, axis=1, keepdims=True), np.float32(1e-12))
    return blended
