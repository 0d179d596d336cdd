"""Bulk actions on the filtered set as background work: UPDATEs over id ranges with progress, in one transaction
(all or nothing), with the same result as one statement."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from core.errors import LimitExceeded, ValidationFailed
from core.planner import clusters, keyword_edits
from core.planner.keywords import KeywordFilter
from db.models import Clusters, Keywords, Plan
from tests import factories as f


@pytest.fixture
def w(session):
    w = f.workspace(session)
    w.cluster = clusters.create(session, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Red things")
    other = f.sector(session, w.site)  # interleaved rows of another sector must not be touched
    for i in range(40):
        keyword_edits.create_keyword(session, w.actor, site_id=w.site.id, sector_id=w.sector.id,
                                     keyword=f"red thing {i}", volume=i)
        keyword_edits.create_keyword(session, w.actor, site_id=w.site.id, sector_id=other.id,
                                     keyword=f"red thing {i}", volume=i)
    w.other = other

    @contextmanager
    def tx():  # the job's own transaction: a savepoint of the test's session
        with session.begin_nested():
            yield session

    w.uow = tx
    return w


def _count(w, *where) -> int:
    return w.s.scalar(select(func.count()).select_from(Keywords).where(*where))


def test_a_filtered_action_runs_in_ranges_with_progress_and_the_same_result(w):
    steps: list[tuple[float, str]] = []
    n = keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="assign_cluster",
                               cluster_id=w.cluster.id, filters=KeywordFilter(volume_min=10), chunk=7,
                               on_progress=lambda frac, msg: steps.append((frac, msg)))
    assert n == 30
    fractions = [frac for frac, _ in steps]
    assert len(fractions) > 5 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert steps[-2][1] == "30 keyword(s) changed" and steps[-1][1] == "Updating the clusters' counts"
    assert _count(w, Keywords.cluster_id == w.cluster.id) == 30
    assert _count(w, Keywords.sector_id == w.other.id, Keywords.cluster_id.is_not(None)) == 0
    w.s.expire_all()
    made = w.s.get(Clusters, w.cluster.id)
    assert (made.keywords_count, made.volume) == (30, sum(range(10, 40)))


def test_a_failing_bulk_job_writes_nothing(w):
    before = f.row_counts(w.s)
    with pytest.raises(ValidationFailed, match="Bulk action must be one of"):
        keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="explode",
                               filters=KeywordFilter())
    with pytest.raises(ValidationFailed, match="Pick the cluster"):
        keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="assign_cluster",
                               filters=KeywordFilter())
    assert f.row_counts(w.s) == before and _count(w, Keywords.cluster_id.is_not(None)) == 0


def test_nothing_matching_reports_done_and_changes_nothing(w):
    steps: list[float] = []
    n = keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="disable",
                               filters=KeywordFilter(search="blue"), on_progress=lambda frac, msg: steps.append(frac))
    assert n == 0 and steps == [1.0]


def test_restoring_deleted_keywords_counts_against_the_plans_keyword_limit(w):
    deleted = keyword_edits.bulk_update(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="delete",
                                        filters=KeywordFilter(volume_max=9))
    assert deleted == 10
    w.s.get(Plan, w.acct.plan_id).max_keywords = 75  # 70 live keywords in the account
    w.s.flush()
    with pytest.raises(LimitExceeded, match="allows 75 keywords; the account has 70 and restoring them would add 10"):
        keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="restore",
                               filters=KeywordFilter(deleted="only"))
    assert _count(w, Keywords.deleted_at.is_not(None)) == 10
    w.s.get(Plan, w.acct.plan_id).max_keywords = 80
    assert keyword_edits.run_bulk(w.uow, w.actor, site_id=w.site.id, sector_id=w.sector.id, action="restore",
                                  filters=KeywordFilter(deleted="only")) == 10
