"""DP-means on unit vectors: k-means whose number of clusters follows from a similarity threshold, not from k.

Kulis & Jordan (2012): a point whose nearest centroid is less similar than `tau` opens a new cluster; the usual
assignment / mean update then runs until the labels stop changing. Work per pass is O(n · k · d) in blocks, so
memory stays O(block · k + n · d) and no N×N matrix is ever built. The order of the points is the caller's, which
makes the result deterministic.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

BLOCK = 2048


def unit_means(z: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Unit-length weighted means of each cluster (spherical k-means update)."""
    member = sp.csr_matrix((weights.astype(np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    sums = np.asarray(member @ z, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


def _open_clusters(orphans: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy leaders among the block's orphans: (leader positions, the leader each orphan joins)."""
    sims = orphans @ orphans.T
    owner = np.full(len(orphans), -1)
    leaders = []
    for i in range(len(orphans)):
        if owner[i] >= 0:
            continue
        joined = (owner < 0) & (sims[i] >= tau)
        joined[i] = True
        owner[joined] = len(leaders)
        leaders.append(i)
    return np.asarray(leaders, dtype=np.int64), owner


def _assign_pass(z: np.ndarray, order: np.ndarray, centroids: np.ndarray, tau: float) -> np.ndarray:
    """Nearest centroid per point; a point below tau opens a new cluster that later points of the pass may join."""
    labels = np.empty(len(z), dtype=np.int64)
    grown = [centroids]
    k = len(centroids)
    for start in range(0, len(order), BLOCK):
        pos = order[start:start + BLOCK]
        block = z[pos]
        current = np.vstack(grown) if len(grown) > 1 else grown[0]
        if k:
            sims = block @ current.T
            best = sims.argmax(axis=1)
            best_sim = sims[np.arange(len(block)), best]
        else:
            best = np.zeros(len(block), dtype=np.int64)
            best_sim = np.full(len(block), -np.inf, dtype=np.float32)
        orphan_pos = np.flatnonzero(best_sim < tau)
        if len(orphan_pos):
            leaders, owner = _open_clusters(block[orphan_pos], tau)
            best[orphan_pos] = k + owner
            grown.append(block[orphan_pos[leaders]])
            k += len(leaders)
        labels[pos] = best
    return labels


def _compact(labels: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber labels 0..k-1 in order of first appearance along `order` (stable, so deterministic)."""
    _, first, inverse = np.unique(labels[order], return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    compact = np.empty_like(labels)
    compact[order] = rank[inverse]
    return compact, len(first)


def dp_means(z: np.ndarray, weights: np.ndarray, tau: float, *, order: np.ndarray | None = None,
             max_passes: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Cluster unit rows z (weighted by multiplicity) at cosine threshold tau, visiting rows in `order`.

    Returns (labels per row of z, unit centroids). Rows are read block by block, never copied whole.
    """
    if len(z) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, z.shape[1]), np.float32)
    order = np.arange(len(z)) if order is None else order
    centroids = np.zeros((0, z.shape[1]), np.float32)
    labels = np.full(len(z), -1, dtype=np.int64)
    for _ in range(max_passes):
        new_labels, k = _compact(_assign_pass(z, order, centroids, tau), order)
        centroids = unit_means(z, new_labels, weights, k)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return labels, centroids


def attach_singletons(z: np.ndarray, labels: np.ndarray, weights: np.ndarray, centroids: np.ndarray,
                      min_sim: float) -> np.ndarray:
    """Move each point that is alone in its cluster to the nearest real cluster when similar enough."""
    sizes = np.bincount(labels, weights=weights, minlength=len(centroids))
    alone = np.flatnonzero(sizes[labels] < 2)
    real = np.flatnonzero(sizes >= 2)
    if len(alone) == 0 or len(real) == 0:
        return labels
    labels = labels.copy()
    for start in range(0, len(alone), BLOCK):
        pos = alone[start:start + BLOCK]
        sims = z[pos] @ centroids[real].T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(pos)), best] >= min_sim
        labels[pos[ok]] = real[best[ok]]
    return labels
