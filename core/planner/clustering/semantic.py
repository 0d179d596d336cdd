"""Semantic mode of the clusterer: sentence embeddings of each keyword's whole text, grouped by average linkage.

The model (all-MiniLM-L6-v2, run locally in numpy by core/planner/clustering/embedder.py) reads the whole keyword:
embedding only its "topical words" threw meaning away on real queries (issue 9, point 16). The vectors are then
smoothed — each averaged with its few nearest neighbours that are similar enough (k-NN denoising, which holds
groups of short texts together) — and grouped by weighted average linkage (core/planner/clustering/linkage.py):
two groups merge while the mean similarity of their members is at least the threshold, so k follows from the
granularity and is never given.

The neighbour search is exact, in blocks of rows (n² · 384 multiply-adds: less than the model's own work per
text up to about 200k texts). Up to NODE_LIMIT distinct keywords the linkage is exact too, on one NODE_LIMIT²
float32 matrix at most (100 MB). Beyond, a seeded spherical k-means of the smoothed vectors first cuts them into
NODE_LIMIT micro-clusters and linkage runs on those (the mean similarity of two groups is the dot product of their
mean vectors, so only the micro-clusters' own members are forced together). Memory: n × 384 floats + 100 MB.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.planner.clustering import embedder as local_embedder
from core.planner.clustering import linkage

NEIGHBOURS = 8          # nearest neighbours each vector is averaged with
SMOOTH_MARGIN = 0.4     # …only those at least (threshold − margin) similar: distant topics do not blur
NODE_LIMIT = 5000       # distinct keywords linked exactly; more go through micro-clusters first


def embed(texts: list[str], on_fraction: Callable[[float], None] | None = None) -> np.ndarray:
    """Unit sentence vectors of the texts from the local model (ValidationFailed with the install hint if absent)."""
    return local_embedder.encoder().encode(texts, on_batch=on_fraction)


def cluster(z: np.ndarray, weights: np.ndarray, tau: float, *, seed: int,
            on_fraction: Callable[[float], None] | None = None) -> np.ndarray:
    """Cluster labels of the unit rows z (weighted by multiplicity) at mean cosine similarity tau."""
    smoothed = linkage.smooth(z, weights, k=NEIGHBOURS, floor=tau - SMOOTH_MARGIN, on_fraction=on_fraction)
    if len(z) <= NODE_LIMIT:
        return linkage.average_linkage(smoothed, weights, tau)
    micro = linkage.micro_clusters(smoothed, weights, NODE_LIMIT, seed=seed)
    means, totals = linkage.group_means(smoothed, micro, weights)
    return linkage.average_linkage(means, totals, tau)[micro]
