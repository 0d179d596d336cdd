"""Lexical features for the keyword clusterer: normalised tokens, weighted term matrices and a dense embedding.

A keyword is represented by its tokens (weighted one-hot), its adjacent-token bigrams and the character n-grams of
its tokens (so "wordpres" and "wordpress" meet). Term weights are IDF times a *specificity* in [0, 1] that the
clusterer learns from its own previous round (see `specificity`): search modifiers such as "best", "near me" or
"in texas" spread over every topic and fade, head terms concentrate in a few clusters and keep their weight.
The sparse features are reduced to a dense `dims`-dimensional space by a randomized SVD fitted on a fixed sample
and applied per token, so no step ever holds an N×N matrix or an N×(all n-grams) dense matrix.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

_TOKEN = re.compile(r"\w+")
# English function and question words: they carry intent, not topic, and would otherwise join every topic.
STOP_WORDS = frozenset(
    "a an and are as at be been by can could do does for from has have how i if in into is it its me my near "
    "of on or our should so than that the their them then there these this those to vs was we what when where "
    "which who whom why will with would you your".split())
SVD_SAMPLE = 20_000


def stem(word: str) -> str:
    """A light, rule-based English stemmer: plurals and -ing only, so stems stay readable and rarely collide."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("ing") and len(word) >= 7:
        word = word[:-3]
        # "running" → "runn" → "run"; keep "ll"/"ss"/"zz" ("selling" → "sell")
        if word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """NFKC, case-folded word tokens (Unicode letters and digits)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold())


def surface(text: str) -> str:
    """NFKC, case-folded words joined by single spaces: what the text says, without normalising its words."""
    return " ".join(words(text))


def normalise(text: str) -> str:
    """NFKC, case-folded, stemmed tokens without stop words (kept when a keyword is nothing but stop words)."""
    tokens = words(text)
    kept = [stem(t) for t in tokens if t not in STOP_WORDS]
    return " ".join(kept or [stem(t) for t in tokens])


@dataclass
class TermSpace:
    """The sparse description of n distinct normalised keywords."""

    tokens: sp.csr_matrix      # n × V, 1 where the keyword has the token
    bigrams: sp.csr_matrix     # n × Vb, 1 where the keyword has the bigram (bigrams seen at least twice)
    bigram_pairs: np.ndarray   # Vb × 2 token indices of each bigram
    token_idf: np.ndarray
    bigram_idf: np.ndarray
    token_chars: sp.csr_matrix  # V × F, unit rows: character 3–5-grams of each token
    char_weight: float
    vocab: dict[str, int]      # token → column of `tokens`

    @property
    def n_tokens(self) -> int:
        return self.tokens.shape[1]


def _binary(rows: list[int], cols: list[int], shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _idf(matrix: sp.csr_matrix, n: int) -> np.ndarray:
    df = np.asarray(matrix.sum(axis=0)).ravel()
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def build_term_space(texts: list[str], *, char_weight: float = 0.25) -> TermSpace:
    """Token, bigram and character n-gram matrices of already normalised, distinct keywords."""
    vocab: dict[str, int] = {}
    bigram_vocab: dict[tuple[int, int], int] = {}
    rows, cols, brows, bcols = [], [], [], []
    for i, text in enumerate(texts):
        ids = [vocab.setdefault(w, len(vocab)) for w in text.split()]
        rows += [i] * len(ids)
        cols += ids
        for pair in zip(ids, ids[1:], strict=False):
            brows.append(i)
            bcols.append(bigram_vocab.setdefault(pair, len(bigram_vocab)))
    n = len(texts)
    tokens = _binary(rows, cols, (n, len(vocab)))
    bigrams = _binary(brows, bcols, (n, len(bigram_vocab)))
    pairs = np.array(list(bigram_vocab), dtype=np.int64).reshape(-1, 2)
    bigram_idf = _idf(bigrams, n)
    # a bigram seen once links nothing: drop its weight instead of its column (indices stay aligned)
    bigram_idf[np.asarray(bigrams.sum(axis=0)).ravel() < 2] = 0.0
    words = sorted(vocab, key=vocab.__getitem__)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float32, norm="l2",
                            sublinear_tf=True).fit_transform(words) if words else sp.csr_matrix((0, 0))
    return TermSpace(tokens, bigrams, pairs, _idf(tokens, n), bigram_idf, chars.tocsr(), char_weight, vocab)


def term_weights(space: TermSpace, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token and bigram weights: IDF × specificity; a bigram is only as specific as its vaguer token."""
    token_w = space.token_idf * spec
    if len(space.bigram_pairs):
        bigram_w = space.bigram_idf * np.minimum(spec[space.bigram_pairs[:, 0]], spec[space.bigram_pairs[:, 1]])
    else:
        bigram_w = np.zeros(0, np.float32)
    return token_w.astype(np.float32), bigram_w.astype(np.float32)


def _rows(space: TermSpace, token_w: np.ndarray, bigram_w: np.ndarray, idx: np.ndarray) -> sp.csr_matrix:
    """The full sparse rows [tokens | bigrams | char n-grams] of the keywords idx (used on the SVD sample only)."""
    u = space.tokens[idx] @ sp.diags(token_w)
    b = space.bigrams[idx] @ sp.diags(bigram_w)
    c = (u @ space.token_chars) * np.float32(space.char_weight)
    return sp.hstack([u, b, c], format="csr", dtype=np.float32)


def _orthonormal(y: np.ndarray) -> np.ndarray:
    """An orthonormal basis of y's columns via its Gram matrix (fast on 2 cores, unlike LAPACK QR), rank-safe."""
    gram = (y.T @ y).astype(np.float64)
    vals, vecs = np.linalg.eigh(gram)
    keep = vals > vals.max(initial=0.0) * 1e-8
    if not keep.any():
        return np.zeros((y.shape[0], 0), np.float32)
    return (y @ (vecs[:, keep] / np.sqrt(vals[keep])).astype(np.float32)).astype(np.float32)


def randomized_basis(x: sp.csr_matrix, dims: int, *, seed: int, power_iterations: int = 3) -> np.ndarray:
    """Top right singular vectors of x (dims × F), by a seeded randomized range finder (Halko et al.)."""
    rng = np.random.default_rng(seed)
    q = _orthonormal(np.asarray(x @ rng.standard_normal((x.shape[1], dims + 10)).astype(np.float32)))
    for _ in range(power_iterations):
        q = _orthonormal(np.asarray(x @ np.asarray(x.T @ q)))
    bt = np.asarray(x.T @ q)                                   # F × l, B = qᵀ x
    vals, vecs = np.linalg.eigh((bt.T @ bt).astype(np.float64))
    order = np.argsort(-vals, kind="stable")[:dims]
    order = order[vals[order] > vals.max(initial=0.0) * 1e-8]
    basis = bt @ (vecs[:, order] / np.sqrt(vals[order])).astype(np.float32)
    return basis.T.astype(np.float32)


def embed(space: TermSpace, spec: np.ndarray, *, dims: int = 128, seed: int = 0) -> np.ndarray:
    """Unit-length dense vectors (n × ≤dims) of the keywords under the given token specificity."""
    n = space.tokens.shape[0]
    token_w, bigram_w = term_weights(space, spec)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, SVD_SAMPLE), replace=False))
    x = _rows(space, token_w, bigram_w, sample)
    dims = max(1, min(dims, x.shape[0] - 1, x.shape[1] - 1))
    basis = randomized_basis(x, dims, seed=seed)              # d × (V + Vb + F)
    v, vb = space.n_tokens, len(bigram_w)
    # project per token (token column + its char n-grams) and per bigram, then sum per keyword: O(nnz · d)
    per_token = basis[:, :v].T + (space.token_chars @ basis[:, v + vb:].T) * np.float32(space.char_weight)
    z = (space.tokens @ sp.diags(token_w)) @ per_token + (space.bigrams @ sp.diags(bigram_w)) @ basis[:, v:v + vb].T
    z = np.asarray(z, dtype=np.float32)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)


def specificity(space: TermSpace, labels: np.ndarray, weights: np.ndarray, *, floor: float = 0.02,
                prior: float = 3.0) -> np.ndarray:
    """1 − normalised entropy of each token's spread over the clusters: 1 = one topic, ~0 = a modifier of all.

    This is cluster-based term weighting (as in iterative feature selection for text clustering): the first
    round clusters on IDF alone, each later round on the weights learned from the round before. Only clusters
    of two or more keywords count as evidence (a topic split into singletons must not look like a modifier),
    and a token seen in few keywords is pulled towards 1 by a prior worth `prior` keywords.
    """
    n = len(labels)
    k = int(labels.max()) + 1 if n else 0
    sizes = np.bincount(labels, weights=weights, minlength=k) if n else np.zeros(0)
    real = sizes[labels] >= 2 if n else np.zeros(0, dtype=bool)
    k_real = int((sizes >= 2).sum())
    if k_real < 2:
        return np.ones(space.n_tokens, np.float32)
    rows = np.flatnonzero(real)
    member = sp.csr_matrix((weights[rows].astype(np.float32), (rows, labels[rows])), shape=(n, k))
    counts = (space.tokens.T @ member).tocsr()                 # V × k, sparse: a token meets few clusters
    totals = np.asarray(counts.sum(axis=1)).ravel()
    p = counts.multiply(1.0 / np.maximum(totals, 1e-12)[:, None]).tocsr()
    p.data = -p.data * np.log(p.data)
    entropy = np.asarray(p.sum(axis=1)).ravel()
    raw = np.clip(1.0 - entropy / np.log(k_real), floor, 1.0)
    return ((totals * raw + prior) / (totals + prior)).astype(np.float32)
