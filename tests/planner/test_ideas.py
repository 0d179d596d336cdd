"""core.planner.ideas: list and filter, create and edit by hand, delete, and queue as writer tasks in one transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from core.planner import clusters, ideas
from db.enums import ContentStructure, ContentType, IdeaStatus, Role, TaskStatus
from db.models import ContentIdeas, Tasks
from tests import factories as f


@pytest.fixture
def w(session):
    w = f.workspace(session)
    w.cid = clusters.create(session, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Trail shoes").id
    return w


def _idea(w, title: str, *, cluster_id: int | None | str = "default", **kw):
    cid = w.cid if cluster_id == "default" else cluster_id
    return ideas.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, title=title, cluster_id=cid, **kw)


def test_create_by_hand_with_every_field(w):
    idea = _idea(w, "  Best trail shoes ", description="Roundup", content_type="page",
                 content_structure="listicle", target_keywords="trail shoes, , grip ", estimated_word_count=1800)
    assert (idea.idea_title, idea.content_type, idea.content_structure) == (
        "Best trail shoes", ContentType.page, ContentStructure.listicle)
    assert (idea.target_keywords, idea.estimated_word_count, idea.status) == ("trail shoes, grip", 1800, IdeaStatus.new)
    loose = _idea(w, "No cluster yet", cluster_id=None, target_keywords=["a", "b"])
    assert loose.keyword_cluster_id is None and loose.target_keywords == "a, b"
    with pytest.raises(ValidationFailed, match="word count"):
        _idea(w, "Too long", estimated_word_count=500_000)
    with pytest.raises(ValidationFailed, match="Unknown content type"):
        _idea(w, "Odd", content_type="poem")


def test_list_filters_by_cluster_status_and_title_with_keyset_pages(w):
    other = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Road shoes").id
    a = _idea(w, "Alpha guide")
    b = _idea(w, "Beta guide", cluster_id=other)
    c = _idea(w, "Gamma", cluster_id=None)
    ideas.queue(w.s, w.actor, idea_ids=[a.id])
    page = ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, limit=2)
    assert page.total == 3 and [r.id for r in page.rows] == [c.id, b.id]
    rest = ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, limit=2, after=page.next_after)
    assert [r.id for r in rest.rows] == [a.id] and rest.next_after is None and rest.rows[0].cluster == "Trail shoes"
    assert [r.id for r in ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, cluster_id=other).rows] == [b.id]
    assert [r.id for r in ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, cluster_id=ideas.NO_CLUSTER).rows
            ] == [c.id]
    assert [r.id for r in ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, status="queued").rows] == [a.id]
    assert [r.id for r in ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, search="GUIDE").rows] == [b.id, a.id]


def test_queue_creates_tasks_in_the_same_transaction(w):
    a = _idea(w, "Alpha", description="Desc", content_type="post", content_structure="guide",
              target_keywords="trail, shoes", estimated_word_count=1500)
    b = _idea(w, "Beta")
    res = ideas.queue(w.s, w.actor, idea_ids=[a.id, b.id])
    assert res.message == "Queued 2 idea(s) as writer tasks."
    tasks = w.s.scalars(select(Tasks).where(Tasks.id.in_(res.task_ids)).order_by(Tasks.id)).all()
    assert [t.idea_id for t in tasks] == [a.id, b.id]
    t = tasks[0]
    assert (t.title, t.description, t.cluster_id, t.content_structure, t.keywords, t.word_count, t.status) == (
        "Alpha", "Desc", w.cid, ContentStructure.guide, "trail, shoes", 1500, TaskStatus.queued)
    assert (t.account_id, t.site_id, t.sector_id, t.created_by_id) == (w.acct.id, w.site.id, w.sector.id, w.owner.id)
    w.s.expire_all()
    assert {w.s.get(ContentIdeas, i).status for i in (a.id, b.id)} == {IdeaStatus.queued}


def test_queue_refuses_queued_ideas_and_ideas_without_cluster_writing_nothing(w):
    done = _idea(w, "Already queued")
    ideas.queue(w.s, w.actor, idea_ids=[done.id])
    fresh = _idea(w, "Fresh")
    f.refused(w.s, Conflict, lambda: ideas.queue(w.s, w.actor, idea_ids=[fresh.id, done.id]),
              match="1 of the selected ideas are queued or completed already: “Already queued”")
    loose = _idea(w, "Loose", cluster_id=None)
    f.refused(w.s, ValidationFailed, lambda: ideas.queue(w.s, w.actor, idea_ids=[loose.id]), match="no cluster")
    f.refused(w.s, ValidationFailed, lambda: ideas.queue(w.s, w.actor, idea_ids=[]))
    assert w.s.get(ContentIdeas, fresh.id).status == IdeaStatus.new


def test_edit_only_new_ideas_and_move_between_clusters(w):
    idea = _idea(w, "Draft", cluster_id=None)
    other = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Road").id
    ideas.update(w.s, w.actor, idea_id=idea.id, title="Final", cluster_id=other, estimated_word_count=900,
                 target_keywords="road shoes")
    assert (idea.idea_title, idea.keyword_cluster_id, idea.estimated_word_count, idea.target_keywords) == (
        "Final", other, 900, "road shoes")
    ideas.update(w.s, w.actor, idea_id=idea.id, clear_cluster=True)
    assert idea.keyword_cluster_id is None
    other_sector = f.sector(w.s, w.site)
    foreign = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=other_sector.id, name="Elsewhere").id
    f.refused(w.s, ValidationFailed, lambda: ideas.update(w.s, w.actor, idea_id=idea.id, cluster_id=foreign),
              match="another sector")
    ideas.update(w.s, w.actor, idea_id=idea.id, cluster_id=w.cid)
    ideas.queue(w.s, w.actor, idea_ids=[idea.id])
    f.refused(w.s, Conflict, lambda: ideas.update(w.s, w.actor, idea_id=idea.id, title="Late"), match="queued")


def test_delete_new_ideas_only(w):
    a, b = _idea(w, "A"), _idea(w, "B")
    ideas.queue(w.s, w.actor, idea_ids=[b.id])
    f.refused(w.s, Conflict, lambda: ideas.delete(w.s, w.actor, idea_ids=[a.id, b.id]), match="cannot be deleted")
    assert ideas.delete(w.s, w.actor, idea_ids=[a.id]) == 1
    assert ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id).total == 1


def test_other_accounts_and_viewers_are_refused(w):
    idea = _idea(w, "Mine")
    outsider = f.owner_actor(w.s, f.account(w.s))
    f.refused(w.s, NotFound, lambda: ideas.queue(w.s, outsider, idea_ids=[idea.id]))
    f.refused(w.s, NotFound, lambda: ideas.update(w.s, outsider, idea_id=idea.id, title="Stolen"))
    f.refused(w.s, NotFound, lambda: ideas.list_ideas(w.s, outsider, sector_id=w.sector.id))
    f.refused(w.s, NotFound, lambda: ideas.create(w.s, outsider, site_id=w.site.id, sector_id=w.sector.id, title="X"))
    viewer = tenancy.Actor(None, Role.viewer, w.acct.id, None)
    f.refused(w.s, AccessDenied, lambda: ideas.queue(w.s, viewer, idea_ids=[idea.id]))
