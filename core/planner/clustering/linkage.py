"""Threshold clustering of unit vectors without k: neighbour smoothing, micro-clusters and average linkage.

`average_linkage` is weighted UPGMA by the nearest-neighbour chain (Murtagh 1983): two groups merge while the mean
cosine similarity over all pairs of their members is at least `tau`, so the number of clusters follows from the
threshold. The mean pairwise similarity of two groups is the dot product of their mean vectors, so groups
(micro-clusters) can stand in for their members exactly; only the m × m similarity matrix of the nodes is held.
`smooth` averages each vector with its few nearest neighbours (a denoising step that lets groups of short texts
hold together); `micro_clusters` is a seeded spherical k-means that bounds m for large inputs.
Everything is deterministic for the same rows in the same order.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from core.planner.clustering.dpmeans import unit_means

CELLS = 1 << 23       # similarity cells per block (32 MB of float32): blocks of rows, never an n × n matrix


def _rows_per_block(n: int) -> int:
    return max(16, CELLS // max(n, 1))


def top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of the k largest entries per row; k argmax sweeps beat argpartition's select for small k."""
    rows = np.arange(len(sims))
    idx = np.empty((len(sims), k), dtype=np.int64)
    top = np.empty((len(sims), k), dtype=sims.dtype)
    for j in range(k):
        idx[:, j] = sims.argmax(axis=1)
        top[:, j] = sims[rows, idx[:, j]]
        sims[rows, idx[:, j]] = -np.inf
    return idx, top


def _smooth_rows(out: np.ndarray, rows: np.ndarray, z: np.ndarray, weights: np.ndarray, k: int, floor: float) -> None:
    """out[rows] = Σ similarity · weight · z over each row's k + 1 most similar rows (itself included) above floor."""
    idx, top = top_k(z[rows] @ z.T, min(k + 1, len(z)))
    w = np.where(top >= floor, top, np.float32(0)) * weights[idx]
    out[rows] = np.einsum("bk,bkd->bd", w, z[idx])


def smooth(z: np.ndarray, weights: np.ndarray, *, k: int, floor: float,
           on_fraction: Callable[[float], None] | None = None) -> np.ndarray:
    """Unit rows: each row's similarity-weighted mean with its k nearest rows that are at least `floor` similar.

    Exact, in blocks of rows: n² · d multiply-adds, which stays below the sentence model's own cost per text up to
    about 200k texts, in memory bounded by CELLS.
    """
    n = len(z)
    out = np.empty_like(z)
    w = weights.astype(np.float32)
    everyone = np.arange(n)
    step = _rows_per_block(n)
    for start in range(0, n, step):
        _smooth_rows(out, everyone[start:start + step], z, w, k, floor)
        if on_fraction:
            on_fraction(min(start + step, n) / n)
    out /= np.linalg.norm(out, axis=1, keepdims=True)    # never 0: each row counts itself (similarity 1 > floor)
    return out


def _assign(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    labels = np.empty(len(z), dtype=np.int64)
    step = _rows_per_block(len(centres))
    for start in range(0, len(z), step):
        labels[start:start + step] = (z[start:start + step] @ centres.T).argmax(axis=1)
    return labels


def micro_clusters(z: np.ndarray, weights: np.ndarray, k: int, *, seed: int, passes: int = 5) -> np.ndarray:
    """Labels 0..<k of a spherical k-means seeded with k rows drawn by `seed` (labels renumbered densely)."""
    start = np.sort(np.random.default_rng(seed).choice(len(z), size=k, replace=False))
    centres = z[start]
    labels = np.full(len(z), -1, dtype=np.int64)
    for _ in range(passes):
        new = _assign(z, centres)
        if np.array_equal(new, labels):
            break
        labels = new
        centres = unit_means(z, labels, weights, k)
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def group_means(z: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weighted mean vector, total weight) of each label 0..max: not normalised, so mean·mean = mean similarity."""
    k = int(labels.max()) + 1
    totals = np.bincount(labels, weights=weights, minlength=k)
    member = sp.csr_matrix((weights.astype(np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return (np.asarray(member @ z) / totals[:, None]).astype(np.float32), totals


def _retire(sim: np.ndarray, node: int) -> None:
    sim[node, :] = -np.inf
    sim[:, node] = -np.inf


def average_linkage(means: np.ndarray, weights: np.ndarray, tau: float) -> np.ndarray:
    """Labels of the weighted average-linkage clusters of the nodes `means`, merged while similarity ≥ tau."""
    m = len(means)
    sim = means @ means.T
    np.fill_diagonal(sim, -np.inf)
    w = weights.astype(np.float64).copy()
    parent = np.arange(m)
    finished = np.zeros(m, dtype=bool)
    chain: list[int] = []
    first = 0
    while True:
        if not chain:
            while first < m and finished[first]:
                first += 1
            if first == m:
                break
            chain.append(first)
        a = chain[-1]
        b = int(sim[a].argmax())
        if sim[a, b] < tau:
            # nothing is tau-similar to a, and a merge of others only averages similarities: a is final
            finished[a] = True
            _retire(sim, a)
            chain.pop()
        elif len(chain) > 1 and sim[a, chain[-2]] >= sim[a, b]:
            b = chain[-2]           # reciprocal nearest neighbours (a tie goes to the chain): merge
            keep, gone = min(a, b), max(a, b)
            merged = (w[a] * sim[a] + w[b] * sim[b]) / (w[a] + w[b])
            sim[keep, :] = merged
            sim[:, keep] = merged
            sim[keep, keep] = -np.inf
            _retire(sim, gone)
            finished[gone] = True
            w[keep] += w[gone]
            parent[gone] = keep
            del chain[-2:]
        else:
            chain.append(b)
    while not np.array_equal(parent[parent], parent):
        parent = parent[parent]
    return np.unique(parent, return_inverse=True)[1].reshape(-1)
