"""The scheduler's publishing round without WordPress calls: auto-publish sites get their waiting approved articles
placed into slots, other sites are left alone; a scheduled article can be moved or taken off; the next wake-up is
the earliest slot of any account."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.publishing import jobs, service
from core.publishing import settings as publishing_settings
from db.enums import ContentStatus, SiteStatus
from db.models import Content
from tests.publishing.conftest import article, make_world


def _statuses(rt, ids):
    with rt.transaction() as s:
        return {c.id: (c.site_status, c.scheduled_publish_at) for c in s.scalars(select(Content).where(
            Content.id.in_(ids)))}


def _configure(rt, w, *, auto_publish: bool) -> None:
    with rt.transaction() as s:
        publishing_settings.update(s, w.actor, site_id=w.site_id, auto_approval=False, auto_publish=auto_publish,
                                   daily_limit=10, weekly_limit=50, monthly_limit=200, days=list(
                                       publishing_settings.DAYS), time_slots=["06:00", "12:00", "18:00"])


def test_place_auto_schedules_only_sites_that_auto_publish(rt, wp):
    on, off = make_world(rt, wp, timezone="Europe/Paris"), make_world(rt, wp)
    _configure(rt, on, auto_publish=True)
    _configure(rt, off, auto_publish=False)
    mine = [article(rt, on, title=f"Auto {k}", with_images=False) for k in range(3)]
    draft = article(rt, on, title="Draft", status=ContentStatus.draft, with_images=False)
    theirs = [article(rt, off, title="Manual", with_images=False)]
    now = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)  # 05:00 in Paris (summer time)
    assert jobs.place_auto(rt, now=now) >= 3
    got = _statuses(rt, mine + [draft] + theirs)
    assert [got[c][0] for c in mine] == [SiteStatus.scheduled] * 3
    assert [got[c][1].astimezone(UTC).hour for c in mine] == [4, 10, 16]  # 06:00, 12:00, 18:00 in Paris
    assert got[draft][0] == SiteStatus.not_published and got[theirs[0]][0] == SiteStatus.not_published
    assert jobs.place_auto(rt, now=now) == 0  # nothing waits any more


def test_move_unschedule_and_the_next_wake_up(rt, wp):
    w = make_world(rt, wp)
    cid = article(rt, w, with_images=False)
    first = datetime.now(UTC) + timedelta(days=30)
    with rt.transaction() as s:
        service.schedule(s, w.actor, content_id=cid, at=first)
    moved = first - timedelta(days=29, hours=1)
    with rt.transaction() as s:
        service.schedule(s, w.actor, content_id=cid, at=moved)  # moved to another time
    assert _statuses(rt, [cid])[cid][1].astimezone(UTC) == moved
    assert jobs.next_wake(rt) <= moved
    with rt.transaction() as s:
        service.unschedule(s, w.actor, content_id=cid)
    assert _statuses(rt, [cid])[cid] == (SiteStatus.not_published, None)
