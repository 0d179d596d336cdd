"""core.planner.clusters: the list with SQL statistics and keyset pages, create/rename/merge/split/delete/restore, drill-down."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import tenancy
from core.errors import AccessDenied, Conflict, LimitExceeded, NotFound, ValidationFailed
from core.planner import clusters, ideas, keyword_edits
from db.enums import ClusterRole, ClusterStatus, IdeaStatus, KeywordStatus, Role
from db.models import Clusters, Content, ContentClusterMap, ContentIdeas, Keywords, Plan, Tasks
from tests import factories as f


@pytest.fixture
def w(session):
    return f.workspace(session)


def _kw(w, text: str, *, volume=None, difficulty=None, cluster_id=None) -> int:
    return keyword_edits.create_keyword(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, keyword=text, volume=volume,
                                  difficulty=difficulty, cluster_id=cluster_id).id


def _cluster(w, name: str, kws: dict[str, tuple[int, int]] | None = None) -> int:
    cid = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name=name).id
    for text, (vol, diff) in (kws or {}).items():
        _kw(w, text, volume=vol, difficulty=diff, cluster_id=cid)
    return cid


def _fresh(w, model, pk):
    w.s.expire_all()
    return w.s.get(model, pk)


def test_list_shows_sql_statistics_and_pages_by_keyset(w):
    a = _cluster(w, "Alpha", {"a1": (100, 10), "a2": (50, 30)})
    b = _cluster(w, "Beta", {"b1": (500, 80)})
    c = _cluster(w, "Gamma")
    ideas.create(w.s, w.actor, cluster_id=a, title="Idea A")
    page = clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, limit=2)
    assert page.total == 3 and [r.name for r in page.rows] == ["Beta", "Alpha"]
    alpha = page.rows[1]
    assert (alpha.keywords, alpha.volume, alpha.avg_difficulty, alpha.ideas, alpha.status) == (2, 150, 20.0, 1, "mapped")
    rest = clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, limit=2, after=page.next_after)
    assert [r.id for r in rest.rows] == [c] and rest.next_after is None
    assert rest.rows[0].avg_difficulty is None and rest.rows[0].status == "new"
    by_name = clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, sort="name")
    assert [r.id for r in by_name.rows] == [a, b, c]
    assert [r.name for r in clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, search="ET").rows] == ["Beta"]
    assert [r.id for r in clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, status="new").rows] == [c]


def test_create_and_rename_keep_names_unique_per_sector(w):
    cid = _cluster(w, "Coffee beans")
    with pytest.raises(Conflict, match="already"):
        clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="coffee BEANS")
    other = _cluster(w, "Tea")
    with pytest.raises(Conflict, match="merge the two"):
        clusters.rename(w.s, w.actor, cluster_id=other, name="Coffee Beans")
    renamed = clusters.rename(w.s, w.actor, cluster_id=cid, name="  Coffee   grinders ", description="Mills")
    assert (renamed.name, renamed.description) == ("Coffee grinders", "Mills")
    other_sector = f.sector(w.s, w.site)
    assert clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=other_sector.id, name="Tea").id != other


def test_merge_moves_keywords_ideas_and_tasks_and_deletes_sources(w):
    target = _cluster(w, "Target", {"t1": (10, 10)})
    src1 = _cluster(w, "Source one", {"s1": (20, 20), "s2": (30, 30)})
    src2 = _cluster(w, "Source two", {"s3": (40, 40)})
    idea = ideas.create(w.s, w.actor, cluster_id=src1, title="Queued one")
    task_id = ideas.queue(w.s, w.actor, idea_ids=[idea.id]).task_ids[0]
    res = clusters.merge(w.s, w.actor, source_ids=[src1, src2, target], target_id=target)
    assert (res.merged, res.keywords, res.ideas, res.tasks) == (2, 3, 1, 1)
    t = _fresh(w, Clusters, target)
    assert (t.keywords_count, t.volume, t.status) == (4, 100, ClusterStatus.mapped)
    assert _fresh(w, Clusters, src1).deleted_at is not None and _fresh(w, Clusters, src2).keywords_count == 0
    assert w.s.get(ContentIdeas, idea.id).keyword_cluster_id == target and w.s.get(Tasks, task_id).cluster_id == target
    assert [r.id for r in clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id).rows] == [target]


def test_merge_moves_content_cluster_maps_without_duplicating_them(w):
    target = _cluster(w, "Target")
    src1, src2 = _cluster(w, "Source one"), _cluster(w, "Source two")
    ctx = {"account": w.acct, "site": w.site, "sector": w.sector}
    content = f.tenant_row(w.s, Content, ctx)
    other = Content(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, title="Other", content_html="")
    w.s.add(other)
    w.s.flush()
    scope = {"account_id": w.acct.id, "site_id": w.site.id, "sector_id": w.sector.id}
    maps = [ContentClusterMap(**scope, content_id=content.id, cluster_id=target, role=ClusterRole.hub),
            ContentClusterMap(**scope, content_id=content.id, cluster_id=src1, role=ClusterRole.hub),  # a duplicate
            ContentClusterMap(**scope, content_id=other.id, cluster_id=src1, role=ClusterRole.hub),
            ContentClusterMap(**scope, content_id=other.id, cluster_id=src2, role=ClusterRole.hub),  # dup of the above
            ContentClusterMap(**scope, content_id=content.id, cluster_id=src2, role=ClusterRole.supporting)]
    w.s.add_all(maps)
    w.s.flush()
    clusters.merge(w.s, w.actor, source_ids=[src1, src2], target_id=target)
    w.s.expire_all()
    left = sorted((m.content_id, m.cluster_id, str(m.role)) for m in w.s.scalars(select(ContentClusterMap)))
    assert left == sorted([(content.id, target, "hub"), (other.id, target, "hub"),
                           (content.id, target, "supporting")])


def _plan_allows(w, n: int) -> None:
    w.s.get(Plan, w.acct.plan_id).max_clusters = n
    w.s.flush()


def test_the_plans_max_clusters_holds_for_create_split_and_restore(w):
    _plan_allows(w, 2)
    a = _cluster(w, "Alpha", {"a1": (1, 1), "a2": (1, 1)})
    _cluster(w, "Beta")
    with pytest.raises(LimitExceeded, match="allows 2 clusters; the account has 2"):
        clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Gamma")
    kid = w.s.scalars(select(Keywords.id).where(Keywords.cluster_id == a)).first()
    with pytest.raises(LimitExceeded):
        clusters.split(w.s, w.actor, cluster_id=a, keyword_ids=[kid], name="Split off")
    clusters.delete(w.s, w.actor, cluster_ids=[a])
    _cluster(w, "Gamma")  # the deleted one freed its place
    with pytest.raises(LimitExceeded):
        clusters.restore(w.s, w.actor, cluster_ids=[a])
    with pytest.raises(LimitExceeded):  # creating the deleted one's name restores it: a new place, refused too
        clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Alpha")
    live = w.s.scalar(select(func.count()).where(Clusters.account_id == w.acct.id, Clusters.deleted_at.is_(None)))
    assert live == 2


def test_merge_refuses_other_sectors_and_nothing_to_merge(w):
    target = _cluster(w, "Target")
    other_sector = f.sector(w.s, w.site)
    foreign = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=other_sector.id, name="Elsewhere").id
    f.refused(w.s, ValidationFailed, lambda: clusters.merge(w.s, w.actor, source_ids=[foreign], target_id=target),
              match="same sector")
    f.refused(w.s, ValidationFailed, lambda: clusters.merge(w.s, w.actor, source_ids=[target], target_id=target),
              match="at least one other")


def test_split_moves_selected_keywords_to_a_new_cluster(w):
    cid = _cluster(w, "Shoes", {"trail shoes": (100, 5), "road shoes": (80, 5), "shoe laces": (10, 5)})
    ids = {k.keyword: k.id for k in w.s.scalars(select(Keywords).where(Keywords.cluster_id == cid))}
    new = clusters.split(w.s, w.actor, cluster_id=cid, keyword_ids=[ids["shoe laces"]], name="Laces")
    assert (_fresh(w, Clusters, cid).keywords_count, _fresh(w, Clusters, new.id).keywords_count) == (2, 1)
    stranger = _kw(w, "not in it")
    f.refused(w.s, ValidationFailed, lambda: clusters.split(w.s, w.actor, cluster_id=cid, keyword_ids=[stranger],
                                                             name="Bad"), match="not in cluster")
    f.refused(w.s, ValidationFailed, lambda: clusters.split(w.s, w.actor, cluster_id=cid, keyword_ids=[], name="X"))


def test_delete_releases_keywords_unassigns_new_ideas_and_restore_by_create(w):
    cid = _cluster(w, "Old", {"k1": (10, 1), "k2": (20, 2)})
    idea = ideas.create(w.s, w.actor, cluster_id=cid, title="Keep me")
    res = clusters.delete(w.s, w.actor, cluster_ids=[cid])
    assert (res.clusters, res.keywords_released, res.ideas_unassigned) == (1, 2, 1)
    w.s.expire_all()
    kws = w.s.scalars(select(Keywords).where(Keywords.sector_id == w.sector.id)).all()
    assert {(k.cluster_id, k.status) for k in kws} == {(None, KeywordStatus.new)}
    assert w.s.get(ContentIdeas, idea.id).keyword_cluster_id is None and w.s.get(ContentIdeas, idea.id).deleted_at is None
    assert clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id).total == 0
    assert [r.id for r in clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, deleted=True).rows] == [cid]
    with pytest.raises(NotFound):
        clusters.rename(w.s, w.actor, cluster_id=cid, name="Ghost")
    again = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Old")
    assert again.id == cid and again.deleted_at is None and again.keywords_count == 0


def test_delete_refuses_a_cluster_with_writer_tasks(w):
    cid = _cluster(w, "Busy", {"k": (1, 1)})
    idea = ideas.create(w.s, w.actor, cluster_id=cid, title="Being written")
    ideas.queue(w.s, w.actor, idea_ids=[idea.id])
    f.refused(w.s, Conflict, lambda: clusters.delete(w.s, w.actor, cluster_ids=[cid]), match="merge them")
    assert w.s.get(ContentIdeas, idea.id).status == IdeaStatus.queued


def test_restore_and_rename_onto_a_deleted_name(w):
    cid = _cluster(w, "Gone")
    other = _cluster(w, "Here")
    clusters.delete(w.s, w.actor, cluster_ids=[cid])
    with pytest.raises(Conflict, match="deleted cluster"):
        clusters.rename(w.s, w.actor, cluster_id=other, name="Gone")
    assert clusters.restore(w.s, w.actor, cluster_ids=[cid]) == 1
    assert clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id).total == 2


def test_drill_down_pages_keywords_by_volume(w):
    cid = _cluster(w, "Big", {f"kw {i}": (i * 10, 1) for i in range(5)})
    _kw(w, "no volume", cluster_id=cid)
    first = clusters.cluster_keywords(w.s, w.actor, cluster_id=cid, limit=4)
    assert first.total == 6 and [r.keyword for r in first.rows] == ["kw 4", "kw 3", "kw 2", "kw 1"]
    second = clusters.cluster_keywords(w.s, w.actor, cluster_id=cid, limit=4, after=first.next_after)
    assert [r.keyword for r in second.rows] == ["kw 0", "no volume"] and second.next_after is None


def test_other_accounts_and_viewers_are_refused(w):
    cid = _cluster(w, "Mine", {"k": (1, 1)})
    other = f.account(w.s)
    outsider = f.owner_actor(w.s, other)
    f.refused(w.s, NotFound, lambda: clusters.rename(w.s, outsider, cluster_id=cid, name="Stolen"))
    f.refused(w.s, NotFound, lambda: clusters.delete(w.s, outsider, cluster_ids=[cid]))
    f.refused(w.s, NotFound, lambda: clusters.list_clusters(w.s, outsider, sector_id=w.sector.id))
    f.refused(w.s, NotFound, lambda: clusters.cluster_keywords(w.s, outsider, cluster_id=cid))
    viewer = tenancy.Actor(None, Role.viewer, w.acct.id, None)  # sees the whole account, may not write
    f.refused(w.s, AccessDenied, lambda: clusters.delete(w.s, viewer, cluster_ids=[cid]))
    f.refused(w.s, AccessDenied, lambda: clusters.create(w.s, viewer, site_id=w.site.id, sector_id=w.sector.id,
                                                          name="Nope"))


def test_refresh_cluster_stats_is_set_based_over_many_clusters(w):
    ids = [_cluster(w, f"C{i}") for i in range(3)]
    for i, cid in enumerate(ids):
        w.s.execute(Keywords.__table__.update().where(Keywords.id == _kw(w, f"x{i}", volume=7)).values(cluster_id=cid))
    clusters.refresh_stats(w.s, ids)
    assert {(c.keywords_count, c.volume, c.status) for c in (_fresh(w, Clusters, i) for i in ids)} == {
        (1, 7, ClusterStatus.mapped)}
