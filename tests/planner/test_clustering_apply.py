"""core.planner.clustering.apply: preview (read, compute with no transaction, nothing written), then apply in one transaction."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select

from core.errors import Conflict, LimitExceeded, ValidationFailed
from core.planner import clusters, keyword_edits
from core.planner.clustering import apply as clustering_apply
from db.base import utcnow
from db.enums import KeywordStatus
from db.models import Clusters, Keywords, Plan
from tests import factories as f

SHOES = ["trail running shoes", "best trail running shoes", "trail running shoes women", "cheap trail running shoes"]
GRINDERS = ["coffee grinder", "best coffee grinder", "manual coffee grinder", "electric coffee grinder"]
LONERS = ["how to knit a scarf", "xylophone lessons"]


@pytest.fixture
def w(session):
    w = f.workspace(session)
    w.ids = {t: keyword_edits.create_keyword(session, w.actor, site_id=w.site.id, sector_id=w.sector.id, keyword=t,
                                             volume=1000 - 10 * i).id for i, t in enumerate(SHOES + GRINDERS + LONERS)}
    w.opened = []

    @contextmanager
    def tx():  # the preview's "short read transaction": a savepoint of the test's session
        w.opened.append(1)
        with session.begin_nested():
            yield session

    w.tx = tx
    return w


def _preview(w, **kw):
    return clustering_apply.preview(w.tx, w.actor, site_id=w.site.id, sector_id=w.sector.id, **kw)


def test_preview_writes_nothing_and_reports_clusters_share_and_quality(w):
    before = f.row_counts(w.s)
    steps = []
    p = _preview(w, on_progress=lambda m, frac: steps.append(frac))
    assert f.row_counts(w.s) == before and w.opened == [1]
    assert sorted((c.name, c.size) for c in p.clusters) == [("coffee grinder", 4), ("trail running shoes", 4)]
    assert p.total == 10 and p.clustered == 8 and p.unclustered_share == pytest.approx(0.2)
    assert 0 < p.quality <= 1 and steps[0] == 0.0 and steps[-1] == 1.0
    shoes = next(c for c in p.clusters if c.name == "trail running shoes")
    assert shoes.samples[0] == "trail running shoes" and shoes.volume == sum(1000 - 10 * i for i in range(4))
    assert set(p.unclustered_ids) == {w.ids[t] for t in LONERS}


def test_apply_creates_clusters_and_maps_keywords(w):
    res = clustering_apply.apply(w.s, w.actor, preview=_preview(w))
    assert (res.created, res.extended, res.mapped, res.changed) == (2, 0, 8, 0)
    w.s.expire_all()
    made = {c.name: c for c in w.s.scalars(select(Clusters).where(Clusters.sector_id == w.sector.id))}
    assert set(made) == {"trail running shoes", "coffee grinder"}
    assert made["coffee grinder"].keywords_count == 4 and made["coffee grinder"].volume > 0
    kw = w.s.get(Keywords, w.ids["manual coffee grinder"])
    assert (kw.cluster_id, kw.status) == (made["coffee grinder"].id, KeywordStatus.mapped)
    assert w.s.get(Keywords, w.ids["xylophone lessons"]).cluster_id is None
    # the mapped keywords are no longer "new": a second preview only sees the two loners
    p2 = _preview(w)
    assert p2.total == 2 and p2.clusters == ()


def test_apply_refuses_keywords_changed_since_the_preview(w):
    p = _preview(w)
    other = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Manual work")
    clusters.assign_keywords(w.s, w.actor, keyword_ids=[w.ids["manual coffee grinder"]], cluster_id=other.id)
    w.s.get(Keywords, w.ids["best trail running shoes"]).deleted_at = utcnow()
    w.s.flush()
    res = clustering_apply.apply(w.s, w.actor, preview=p)
    assert (res.mapped, res.changed) == (6, 2)
    assert "2 keyword(s) changed since the preview" in res.message
    w.s.expire_all()
    assert w.s.get(Keywords, w.ids["manual coffee grinder"]).cluster_id == other.id
    assert w.s.get(Clusters, other.id).keywords_count == 1


def test_apply_extends_an_existing_cluster_of_the_same_name(w):
    existing = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Coffee Grinder")
    p = _preview(w)
    assert next(c for c in p.clusters if c.name == "coffee grinder").existing_id == existing.id
    assert p.extending == 1
    res = clustering_apply.apply(w.s, w.actor, preview=p)
    assert (res.created, res.extended, res.mapped) == (1, 1, 8)
    w.s.expire_all()
    assert w.s.get(Clusters, existing.id).keywords_count == 4
    assert w.s.get(Keywords, w.ids["best coffee grinder"]).cluster_id == existing.id


def test_apply_without_extending_makes_a_distinct_name_and_restores_nothing(w):
    existing = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="coffee grinder")
    res = clustering_apply.apply(w.s, w.actor, preview=_preview(w), extend_existing=False)
    assert (res.created, res.extended) == (2, 0)
    w.s.expire_all()
    names = {c.name for c in w.s.scalars(select(Clusters).where(Clusters.sector_id == w.sector.id))}
    assert names == {"coffee grinder", "coffee grinder (2)", "trail running shoes"}
    assert w.s.get(Clusters, existing.id).keywords_count == 0


def test_a_deleted_cluster_of_the_same_name_is_restored(w):
    gone = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="trail running shoes")
    clusters.delete(w.s, w.actor, cluster_ids=[gone.id])
    res = clustering_apply.apply(w.s, w.actor, preview=_preview(w))
    assert (res.created, res.restored) == (2, 1) and gone.id in res.cluster_ids
    assert "1 of the new ones restore deleted clusters of the same name" in res.message
    w.s.expire_all()
    assert w.s.get(Clusters, gone.id).deleted_at is None and w.s.get(Clusters, gone.id).keywords_count == 4


def test_applying_a_preview_stays_within_the_plans_max_clusters(w):
    w.s.get(Plan, w.acct.plan_id).max_clusters = 1
    w.s.flush()
    before = f.row_counts(w.s)
    with pytest.raises(LimitExceeded, match="allows 1 clusters; the account has 0, so 2 more would not fit"):
        clustering_apply.apply(w.s, w.actor, preview=_preview(w))
    assert f.row_counts(w.s) == before
    w.s.get(Plan, w.acct.plan_id).max_clusters = 2
    assert clustering_apply.apply(w.s, w.actor, preview=_preview(w)).created == 2


def test_everything_changed_is_a_conflict_and_selection_scope(w):
    p = _preview(w, keyword_ids=[w.ids[t] for t in GRINDERS])
    assert p.total == 4 and [c.size for c in p.clusters] == [4]
    for t in GRINDERS:
        w.s.get(Keywords, w.ids[t]).deleted_at = utcnow()
    w.s.flush()
    f.refused(w.s, Conflict, lambda: clustering_apply.apply(w.s, w.actor, preview=p), match="preview again")
    with pytest.raises(ValidationFailed, match="not in sector"):
        _preview(w, keyword_ids=[w.ids["coffee grinder"], 999_999])


def test_search_scope_and_too_few_keywords(w):
    p = _preview(w, search="Coffee")
    assert p.total == 4
    with pytest.raises(ValidationFailed, match="at least two"):
        _preview(w, search="xylophone")
    with pytest.raises(ValidationFailed, match="Granularity"):
        _preview(w, granularity=1.5)
