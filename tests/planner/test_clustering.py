"""The offline keyword clusterer (core.planner.clustering.engine): no database, no network."""
from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest

from bench.make_labelled_keywords import generate
from core.errors import ValidationFailed
from core.planner.clustering import features
from core.planner.clustering.dpmeans import dp_means
from core.planner.clustering.engine import ClusteringResult, KeywordItem, cluster_keywords


def items_from(rows: list[tuple[str, str, int]]) -> list[KeywordItem]:
    return [KeywordItem(i + 1, text, volume) for i, (text, _, volume) in enumerate(rows)]


def as_sets(result: ClusteringResult) -> set[frozenset[int]]:
    return {frozenset(c.member_ids) for c in result.clusters}


@pytest.fixture(scope="module")
def generated() -> list[KeywordItem]:
    return items_from(generate(3000, seed=3))


@pytest.fixture(scope="module")
def default_result(generated: list[KeywordItem]) -> ClusteringResult:
    return cluster_keywords(generated)


def test_same_input_same_output_whatever_the_order(generated, default_result):
    shuffled = generated[:]
    random.Random(1).shuffle(shuffled)
    again = cluster_keywords(shuffled)
    assert [(c.name, c.member_ids, c.volume) for c in again.clusters] == \
        [(c.name, c.member_ids, c.volume) for c in default_result.clusters]
    assert again.unclustered_ids == default_result.unclustered_ids
    assert again.quality == default_result.quality


def test_every_keyword_is_placed_exactly_once(generated, default_result):
    placed = [i for c in default_result.clusters for i in c.member_ids] + default_result.unclustered_ids
    assert sorted(placed) == sorted(item.id for item in generated)
    assert all(c.size == len(c.member_ids) >= 2 for c in default_result.clusters)


def test_few_keywords_left_alone_at_the_default_granularity(default_result):
    assert default_result.unclustered_share < 0.03
    assert len(default_result.clusters) > 20
    assert -1.0 <= default_result.quality <= 1.0


def test_clusters_follow_the_generating_topics(generated, default_result):
    from sklearn.metrics import normalized_mutual_info_score

    truth = {i + 1: label for i, (_, label, _) in enumerate(generate(3000, seed=3))}
    found = {i: n for n, c in enumerate(default_result.clusters) for i in c.member_ids}
    found |= {i: -i for i in default_result.unclustered_ids}
    ids = sorted(truth)
    assert normalized_mutual_info_score([truth[i] for i in ids], [found[i] for i in ids]) > 0.75
    majority = sum(max(sum(1 for i in c.member_ids if truth[i] == label) for label in {truth[i] for i in c.member_ids})
                   for c in default_result.clusters)
    assert majority / len(generated) > 0.7   # purity: most keywords sit with their own topic


def test_granularity_changes_the_cluster_count_monotonically(generated):
    counts = [len(cluster_keywords(generated, granularity=g).clusters) for g in (0.1, 0.5, 0.9)]
    assert counts[0] < counts[1] < counts[2]


def test_no_n_by_n_allocation_on_20k_keywords():
    items = items_from(generate(20000, seed=5))
    tracemalloc.start()
    try:
        result = cluster_keywords(items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.clusters
    # a 20k × 20k float32 matrix alone would be 1.6 GB; numpy's buffers are traced by tracemalloc
    assert peak < 400 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"


def test_name_is_the_highest_volume_keyword():
    texts = ["car insurance quotes", "cheap car insurance", "car insurance for students", "best car insurance",
             "sourdough bread recipe", "sourdough starter bread", "easy sourdough bread", "sourdough bread flour"]
    volumes = [100, 9000, 50, 400, 300, 20, 7000, 10]
    result = cluster_keywords([KeywordItem(i, t, v) for i, (t, v) in enumerate(zip(texts, volumes, strict=True))],
                              granularity=0.3)
    names = {c.name: (c.size, c.volume) for c in result.clusters}
    assert names == {"cheap car insurance": (4, 9550), "easy sourdough bread": (4, 7330)}
    assert {c.name_id for c in result.clusters} == {1, 6}


def test_without_volumes_the_most_central_keyword_names_the_cluster():
    texts = ["wordpress backup plugin", "best wordpress backup plugin", "wordpress backup plugin free",
             "wordpress backup", "backup plugin"]
    result = cluster_keywords([KeywordItem(i, t) for i, t in enumerate(texts)], granularity=0.2)
    assert len(result.clusters) == 1
    assert result.clusters[0].name == "wordpress backup plugin"
    assert result.clusters[0].volume == 0


def test_empty_and_single_inputs():
    empty = cluster_keywords([])
    assert (empty.clusters, empty.unclustered_ids, empty.unclustered_share) == ([], [], 0.0)
    one = cluster_keywords([KeywordItem(7, "wordpress hosting", 10)])
    assert (one.clusters, one.unclustered_ids) == ([], [7])
    twins = cluster_keywords([KeywordItem(1, "WordPress  Hosting", 10), KeywordItem(2, "wordpress hosting", 90)])
    assert [(c.name, c.member_ids) for c in twins.clusters] == [("wordpress hosting", [1, 2])]


def test_unicode_keywords():
    texts = ["ｗｏｒｄｐｒｅｓｓ テーマ", "wordpress テーマ 無料", "wordpress テーマ おすすめ", "Straße reparieren",
             "strasse reparieren kosten", "straße reparieren preis", "🚀🚀", "ремонт дороги", "ремонт дороги цена",
             "ремонт дороги москва"]
    result = cluster_keywords([KeywordItem(i, t, 10) for i, t in enumerate(texts)], granularity=0.3)
    groups = as_sets(result)
    assert frozenset({0, 1, 2}) in groups
    assert frozenset({7, 8, 9}) in groups
    assert 6 in result.unclustered_ids            # nothing but symbols: nothing to cluster on
    assert features.normalise("ｗｏｒｄｐｒｅｓｓ Themes") == "wordpress theme"


def test_bad_arguments_are_refused_with_a_message():
    with pytest.raises(ValidationFailed, match="Granularity"):
        cluster_keywords([], granularity=1.5)
    with pytest.raises(ValidationFailed, match="mode"):
        cluster_keywords([], mode="magic")
    with pytest.raises(ValidationFailed, match="twice"):
        cluster_keywords([KeywordItem(1, "a b"), KeywordItem(1, "c d")])


def test_progress_is_reported_in_order(generated):
    seen: list[tuple[str, float]] = []
    cluster_keywords(generated[:500], on_progress=lambda message, fraction: seen.append((message, fraction)))
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert any("round" in m for m, _ in seen)


def test_dp_means_opens_a_cluster_per_distant_group():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16, dtype=np.float32)
    points = np.repeat(centres, 50, axis=0) + rng.normal(0, 0.05, (200, 16)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels, centroids = dp_means(points, np.ones(200, np.float32), tau=0.5)
    assert len(centroids) == 4
    assert all(len(set(labels[g * 50:(g + 1) * 50])) == 1 for g in range(4))


def test_stemming_is_light_and_readable():
    assert [features.stem(w) for w in ["plugins", "categories", "running", "boxes", "business", "gaming", "news"]] \
        == ["plugin", "category", "run", "box", "business", "gaming", "new"]
