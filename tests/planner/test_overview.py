"""core.planner.overview: pipeline counts per status, grouped in SQL, scoped to the actor and the site or sector."""
from __future__ import annotations

import pytest

from core.errors import NotFound, ValidationFailed
from core.planner import clusters, ideas, keyword_edits, overview
from db.enums import ContentStatus, SiteStatus, TaskStatus
from db.models import Content, Tasks
from tests import factories as f


def _by_key(stages):
    return {stage.key: stage for stage in stages}


def test_counts_by_status_per_stage(session):
    acct = f.account(session)
    a = f.owner_actor(session, acct)
    site = f.site(session, acct)
    sec1, sec2 = f.sector(session, site), f.sector(session, site)
    cluster = clusters.create(session, a, site_id=site.id, sector_id=sec1.id, name="Espresso")
    kws = [keyword_edits.create_keyword(session, a, site_id=site.id, sector_id=sec1.id, keyword=f"espresso {i}")
           for i in range(3)]
    keyword_edits.create_keyword(session, a, site_id=site.id, sector_id=sec2.id, keyword="green tea")
    clusters.assign_keywords(session, a, keyword_ids=[kws[0].id], cluster_id=cluster.id)
    ideas.create(session, a, cluster_id=cluster.id, title="How to pull a shot")
    base = {"account_id": acct.id, "site_id": site.id, "sector_id": sec1.id}
    task = Tasks(**base, title="Shot guide", cluster_id=cluster.id, status=TaskStatus.completed)
    session.add(task)
    session.flush()
    session.add_all([Content(**base, title="Shot guide", task_id=task.id, status=ContentStatus.review),
                     Content(**base, title="Grinders", status=ContentStatus.published,
                             site_status=SiteStatus.published)])
    session.flush()

    whole = _by_key(overview.pipeline_counts(session, a, site_id=site.id))
    assert whole["keywords"].by_status == {"new": 3, "mapped": 1}
    assert whole["keywords"].total == 4
    assert whole["clusters"].by_status == {"new": 0, "mapped": 1}
    assert whole["ideas"].by_status == {"new": 1, "queued": 0, "completed": 0}
    assert whole["tasks"].by_status == {"queued": 0, "completed": 1}
    assert whole["content"].by_status == {"draft": 0, "review": 1, "approved": 0, "published": 1}
    assert whole["publishing"].by_status == {"not_published": 1, "scheduled": 0, "publishing": 0,
                                             "published": 1, "failed": 0}
    assert [stage.key for stage in overview.pipeline_counts(session, a, site_id=site.id)] == [
        "keywords", "clusters", "ideas", "tasks", "content", "publishing"]

    one = _by_key(overview.pipeline_counts(session, a, site_id=site.id, sector_id=sec2.id))
    assert one["keywords"].by_status == {"new": 1, "mapped": 0}
    assert sum(stage.total for key, stage in one.items() if key != "keywords") == 0


def test_soft_deleted_rows_do_not_count(session):
    acct = f.account(session)
    a = f.owner_actor(session, acct)
    site = f.site(session, acct)
    sec = f.sector(session, site)
    kw = keyword_edits.create_keyword(session, a, site_id=site.id, sector_id=sec.id, keyword="gone soon")
    kw.deleted_at = kw.created_at
    session.flush()
    assert _by_key(overview.pipeline_counts(session, a, site_id=site.id))["keywords"].total == 0


def test_other_accounts_and_foreign_sectors_are_refused(session):
    acct, other = f.account(session), f.account(session)
    a = f.owner_actor(session, acct)
    mine, theirs = f.site(session, acct), f.site(session, other)
    mine2 = f.site(session, acct)
    sec_elsewhere = f.sector(session, mine2)
    with pytest.raises(NotFound):
        overview.pipeline_counts(session, a, site_id=theirs.id)
    with pytest.raises(ValidationFailed, match="does not belong"):
        overview.pipeline_counts(session, a, site_id=mine.id, sector_id=sec_elsewhere.id)
