"""Offline keyword clustering: no network, no API key, deterministic, with one granularity knob.

Pipeline (each phase reports progress):
1. normalise (NFKC, case-fold, light stemming, stop words) and merge keywords that normalise alike;
2. lexical features — tokens, bigrams, character n-grams — weighted by IDF × learned specificity, reduced by a
   sampled randomized SVD (core/planner/clustering/features.py);
3. DP-means at a cosine threshold set by the granularity (core/planner/clustering/dpmeans.py); its clusters teach the
   next round which terms are modifiers (spread over all clusters) and which are topics; three rounds;
4. or, in mode="semantic", instead of 2–3 (and merging in 1 only keywords that read alike, case and spacing aside):
   sentence embeddings of each keyword's whole text from a locally installed model, smoothed over their nearest
   neighbours and grouped by average linkage at a threshold set by the granularity (semantic.py);
5. keywords left alone join the nearest cluster when similar enough; the rest are reported as unclustered;
6. each cluster is named by its highest-volume keyword (the most central one when there are no volumes), and
   the result gets a quality score: the mean silhouette (cosine) on a fixed sample of clustered keywords.
No step builds an N×N matrix: memory grows with N × 128 floats plus the sparse term matrices (semantic: N × 384
floats plus at most one 5,000² matrix, see semantic.NODE_LIMIT).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from core.errors import ValidationFailed
from core.planner.clustering import features
from core.planner.clustering.dpmeans import attach_singletons, dp_means, unit_means

Progress = Callable[[str, float], None]
MODES = ("lexical", "semantic")
ROUNDS = 3            # weighting rounds before the final clustering
DIMS = 128
SEED = 0
QUALITY_SAMPLE = 3000


@dataclass(frozen=True)
class KeywordItem:
    """One keyword to cluster: its id (any sortable, unique value), text and optional search volume."""

    id: int
    text: str
    volume: int | None = None


@dataclass(frozen=True)
class Cluster:
    """A proposed cluster: named after one of its keywords (name_id), members sorted by id."""

    name: str
    member_ids: list[int]
    size: int
    volume: int
    name_id: int


@dataclass(frozen=True)
class ClusteringResult:
    """Clusters (largest first), the keywords left alone, a quality score in [-1, 1] and the settings used."""

    clusters: list[Cluster]
    unclustered_ids: list[int]
    quality: float
    elapsed: float
    params: dict = field(default_factory=dict)

    @property
    def unclustered_share(self) -> float:
        total = sum(c.size for c in self.clusters) + len(self.unclustered_ids)
        return len(self.unclustered_ids) / total if total else 0.0


def thresholds(granularity: float, mode: str = "lexical") -> tuple[float, float]:
    """(cluster threshold, attach threshold) in cosine similarity: 0 = few broad clusters, 1 = many tight ones."""
    if mode == "semantic":
        # sentence vectors of related texts sit closer together than lexical ones: its own scale, tuned on
        # real labelled queries (bench/cluster_bench.py --csv) and the generated keyword sets
        tau = 0.4 + 0.5 * granularity
        return tau, tau - 0.25
    tau = 0.25 + 0.5 * granularity
    return tau, max(0.1, tau - 0.25)


@dataclass
class _Forms:
    """Distinct normalised keywords: their texts, multiplicity, best volume and the items behind each."""

    texts: list[str]
    display: list[str]           # the original text of each form's first keyword
    weights: np.ndarray
    order: np.ndarray            # processing order for DP-means: highest volume first, then lowest id
    members: list[list[int]]     # positions in the id-sorted items
    empty: list[int]             # positions of items with nothing left to cluster on


def _forms(items: list[KeywordItem], key: Callable[[str], str] = features.normalise) -> _Forms:
    index: dict[str, int] = {}
    texts: list[str] = []
    display: list[str] = []
    members: list[list[int]] = []
    best_volume: list[int] = []
    empty: list[int] = []
    for pos, item in enumerate(items):
        norm = key(item.text)
        if not norm:
            empty.append(pos)
            continue
        f = index.setdefault(norm, len(texts))
        if f == len(texts):
            texts.append(norm)
            display.append(item.text)
            members.append([])
            best_volume.append(-1)
        members[f].append(pos)
        best_volume[f] = max(best_volume[f], item.volume or 0)
    weights = np.array([len(m) for m in members], dtype=np.float32)
    # volume first so that head terms seed the clusters; the first position breaks ties (ids are sorted)
    order = np.lexsort((np.arange(len(texts)), -np.array(best_volume, dtype=np.int64)))
    return _Forms(texts, display, weights, order, members, empty)


def _sorted_items(items: Sequence[KeywordItem]) -> list[KeywordItem]:
    ordered = sorted(items, key=lambda it: it.id)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.id == b.id:
            raise ValidationFailed(f"Keyword id {a.id} appears twice in the list to cluster.")
    return ordered


def _cluster_forms(forms: _Forms, tau: float, report: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and unit centroids of the distinct forms, and their final (lexical) embedding."""
    space = features.build_term_space(forms.texts)
    spec = np.ones(space.n_tokens, np.float32)
    order, weights = forms.order, forms.weights
    for rnd in range(ROUNDS + 1):
        report(f"Clustering, round {rnd + 1} of {ROUNDS + 1}", 0.1 + 0.7 * rnd / (ROUNDS + 1))
        z = features.embed(space, spec, dims=DIMS, seed=SEED)
        labels, centroids = dp_means(z, weights, tau, order=order, max_passes=8 if rnd == ROUNDS else 4)
        if rnd < ROUNDS:
            spec = features.specificity(space, labels, weights)
    return labels, centroids, z


def _semantic_forms(forms: _Forms, tau: float, report: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and unit centroids of the distinct texts by meaning, and their sentence vectors."""
    from core.planner.clustering import semantic  # the optional model: loaded only when asked for

    message = "Embedding keywords with the local model"
    report(message, 0.1)
    z = semantic.embed(forms.display, on_fraction=lambda f: report(message, 0.1 + 0.6 * f))
    grouping = "Grouping keywords by meaning"
    report(grouping, 0.7)
    labels = semantic.cluster(z, forms.weights, tau, seed=SEED, on_fraction=lambda f: report(grouping, 0.7 + 0.1 * f))
    return labels, unit_means(z, labels, forms.weights, int(labels.max()) + 1), z


def _quality(z: np.ndarray, labels: np.ndarray, clustered: np.ndarray) -> float:
    """Mean cosine silhouette on a fixed sample of clustered forms (0 when it is undefined)."""
    pos = np.flatnonzero(clustered)
    if len(pos) > QUALITY_SAMPLE:
        pos = np.sort(np.random.default_rng(SEED).choice(pos, QUALITY_SAMPLE, replace=False))
    n_labels = len(np.unique(labels[pos]))
    if n_labels < 2 or n_labels >= len(pos):
        return 0.0
    return float(silhouette_score(z[pos], labels[pos], metric="cosine"))


def _build_clusters(items: list[KeywordItem], forms: _Forms, labels: np.ndarray, centrality: np.ndarray
                    ) -> tuple[list[Cluster], list[int]]:
    """Group items by their form's label; name each group; groups of one keyword are unclustered."""
    groups: dict[int, list[int]] = {}
    for f, label in enumerate(labels):
        groups.setdefault(int(label), []).extend(forms.members[f])
    form_of = np.empty(len(items), dtype=np.int64)
    for f, member in enumerate(forms.members):
        form_of[member] = f
    clusters, alone = [], [items[p].id for p in forms.empty]
    for positions in groups.values():
        if len(positions) < 2:
            alone.extend(items[p].id for p in positions)
            continue
        # highest volume names the cluster; centrality, then the lowest id, break ties (and decide without volumes)
        head = min(positions, key=lambda p: (-(items[p].volume or 0), -centrality[form_of[p]], items[p].id))
        ids = sorted(items[p].id for p in positions)
        clusters.append(Cluster(name=" ".join(items[head].text.split()), member_ids=ids, size=len(ids),
                                volume=sum(items[p].volume or 0 for p in positions), name_id=items[head].id))
    clusters.sort(key=lambda c: (-c.size, -c.volume, c.member_ids[0]))
    return clusters, sorted(alone)


def _label_forms(forms: _Forms, tau: float, attach_tau: float, mode: str, report: Progress
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final labels of the distinct forms, each form's embedding and its similarity to its cluster's centroid."""
    if len(forms.texts) < 2:
        return np.zeros(len(forms.texts), dtype=np.int64), np.ones((len(forms.texts), 1), np.float32), \
            np.ones(len(forms.texts), np.float32)
    cluster = _semantic_forms if mode == "semantic" else _cluster_forms
    labels, centroids, z = cluster(forms, tau, report)
    report("Attaching keywords left alone", 0.85)
    labels = attach_singletons(z, labels, forms.weights, centroids, attach_tau)
    return labels, z, np.einsum("ij,ij->i", z, centroids[labels])


def cluster_keywords(items: Sequence[KeywordItem], *, granularity: float = 0.5, mode: str = "lexical",
                     on_progress: Progress | None = None) -> ClusteringResult:
    """Cluster keywords offline; the same items and settings always give the same result."""
    if not 0.0 <= granularity <= 1.0:
        raise ValidationFailed(f"Granularity must be between 0 (broad) and 1 (fine), not {granularity}.")
    if mode not in MODES:
        raise ValidationFailed(f"Clustering mode must be one of {', '.join(MODES)}, not “{mode}”.")
    started = time.perf_counter()
    report: Progress = on_progress or (lambda message, fraction: None)
    tau, attach_tau = thresholds(granularity, mode)
    report("Normalising keywords", 0.0)
    ordered = _sorted_items(items)
    # the sentence model reads every word ("my name" is not "your name"); the lexical features need stems
    forms = _forms(ordered, features.surface if mode == "semantic" else features.normalise)
    # one BLAS thread: the same float sums on every machine (determinism), and on a busy 2-core host
    # OpenBLAS's second thread mostly waits (measured: skinny products 10× slower with 2 threads)
    with threadpool_limits(limits=1, user_api="blas"):
        labels, z, centrality = _label_forms(forms, tau, attach_tau, mode, report)
        report("Naming clusters and scoring", 0.9)
        clusters, alone = _build_clusters(ordered, forms, labels, centrality)
        clustered = np.bincount(labels, weights=forms.weights)[labels] >= 2 if len(labels) else np.zeros(0, bool)
        quality = _quality(z, labels, clustered)
    cohesion = float(np.average(centrality[clustered], weights=forms.weights[clustered])) if clustered.any() else 0.0
    lexical = mode == "lexical"
    params = {"granularity": granularity, "mode": mode, "threshold": tau, "attach_threshold": attach_tau,
              "rounds": ROUNDS if lexical else 0, "dims": DIMS if lexical else int(z.shape[1]), "seed": SEED,
              "distinct": len(forms.texts), "cohesion": cohesion}
    report("Done", 1.0)
    return ClusteringResult(clusters, alone, quality, time.perf_counter() - started, params)
