"""The slot planner in the site's timezone (daylight-saving included), the limits, the settings' validation, placing
approved articles and the calendar — literal figures, no WordPress needed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import AccessDenied, ValidationFailed
from core.publishing import connection, service, slots
from core.publishing import settings as ps
from db.enums import ContentStatus, Role, SiteStatus
from db.models import Content
from tests import factories as f

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def conf(**kw) -> ps.Settings:
    base = ps.defaults(1)
    return ps.Settings(**{**base.__dict__, **kw})


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_defaults_are_the_specs():
    d = ps.defaults(7)
    assert (d.auto_approval, d.auto_publish, d.daily_limit, d.weekly_limit, d.monthly_limit) == (True, True, 3, 15, 50)
    assert d.days == ("mon", "tue", "wed", "thu", "fri") and d.time_slots == ("09:00", "14:00", "18:00")


def test_slots_are_site_local_times_on_publishing_days():
    # Friday 2027-01-15 10:00 UTC = 05:00 in New York: Friday's three slots, then Monday's (weekend skipped)
    got = slots.free_slots(conf(), NY, after=utc(2027, 1, 15, 10, 0), taken=[], count=5)
    assert [f"{s.local:%a %H:%M}" for s in got] == ["Fri 09:00", "Fri 14:00", "Fri 18:00", "Mon 09:00", "Mon 14:00"]
    assert [s.utc for s in got[:2]] == [utc(2027, 1, 15, 14, 0), utc(2027, 1, 15, 19, 0)]


def test_daylight_saving_keeps_the_local_hour_and_moves_the_utc_one():
    # New York springs forward on Sunday 2027-03-14: 09:00 local is 14:00 UTC before, 13:00 UTC after
    c = conf(days=("fri", "mon"), time_slots=("09:00",))
    got = slots.free_slots(c, NY, after=utc(2027, 3, 12, 0, 0), taken=[], count=2)
    assert [(f"{s.local:%a %H:%M %Z}", s.utc) for s in got] == [("Fri 09:00 EST", utc(2027, 3, 12, 14, 0)),
                                                                ("Mon 09:00 EDT", utc(2027, 3, 15, 13, 0))]
    # Berlin falls back on 2027-10-31
    got = slots.free_slots(conf(days=("fri", "mon"), time_slots=("09:00",)), BERLIN, after=utc(2027, 10, 29),
                           taken=[], count=2)
    assert [s.utc for s in got] == [utc(2027, 10, 29, 7, 0), utc(2027, 11, 1, 8, 0)]


def test_a_slot_in_the_spring_forward_gap_moves_past_it_and_one_in_the_overlap_is_the_first():
    gap = slots.local_slot(datetime(2027, 3, 14).date(), "02:30", NY)
    assert gap.astimezone(UTC) == utc(2027, 3, 14, 7, 30) and f"{gap:%H:%M}" == "03:30"
    twice = slots.local_slot(datetime(2027, 11, 7).date(), "01:30", NY)
    assert twice.astimezone(UTC) == utc(2027, 11, 7, 5, 30)  # 01:30 EDT, the first of the two


def test_limits_count_what_is_scheduled_or_published_per_day_week_and_month():
    after = utc(2027, 1, 11, 0, 0)  # a Monday, UTC site
    c = conf(daily_limit=2, weekly_limit=3, monthly_limit=50)
    got = slots.free_slots(c, ZoneInfo("UTC"), after=after, taken=[utc(2027, 1, 11, 9, 0)], count=4)
    # Monday 09:00 is taken (1 of 2 that day): Monday 14:00; Tuesday 09:00 makes the week's 3; then next Monday
    assert [s.utc for s in got] == [utc(2027, 1, 11, 14, 0), utc(2027, 1, 12, 9, 0), utc(2027, 1, 18, 9, 0),
                                    utc(2027, 1, 18, 14, 0)]
    monthly = slots.free_slots(conf(daily_limit=3, weekly_limit=15, monthly_limit=2), ZoneInfo("UTC"),
                               after=utc(2027, 1, 28), taken=[], count=3)
    assert [s.utc for s in monthly] == [utc(2027, 1, 28, 9, 0), utc(2027, 1, 28, 14, 0), utc(2027, 2, 1, 9, 0)]
    assert slots.free_slots(conf(daily_limit=0, weekly_limit=0, monthly_limit=0), ZoneInfo("UTC"), after=after,
                            taken=[], days=30) == []


@pytest.mark.parametrize("slots_in, why", [(["25:00"], "“25:00” is not a time"), (["9am"], "“9am” is not a time"),
                                           ([], "at least one time slot")])
def test_bad_time_slots_are_refused_with_the_reason(slots_in, why):
    with pytest.raises(ValidationFailed, match=why):
        ps.validate(daily_limit=3, weekly_limit=15, monthly_limit=50, days=["mon"], time_slots=slots_in)


def test_every_problem_is_named_at_once_and_good_input_is_normalised():
    with pytest.raises(ValidationFailed) as err:
        ps.validate(daily_limit=5, weekly_limit=2, monthly_limit=-1, days=[], time_slots=["24:00"])
    msg = str(err.value)
    for part in ("monthly limit must be a whole number", "at least one publishing day", "“24:00” is not a time"):
        assert part in msg
    with pytest.raises(ValidationFailed, match=r"daily \(5\) ≤ weekly \(2\)"):
        ps.validate(daily_limit=5, weekly_limit=2, monthly_limit=9, days=["mon"], time_slots=["9:00"])
    assert ps.validate(daily_limit=1, weekly_limit=1, monthly_limit=1, days=["fri", "mon", "fri"],
                       time_slots=["18:00", "9:00", "09:00"]) == (["mon", "fri"], ["09:00", "18:00"])


def _site(session, tz="America/New_York"):
    w = f.workspace(session)
    w.site.timezone = tz
    connection.set_wordpress(session, w.actor, site_id=w.site.id, url="https://wp.example.com", username="bot",
                             app_password="abcd efgh")
    return w


def _approved(w, n, prefix="Article", **kw):
    rows = [Content(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, title=f"{prefix} {k}",
                    status=ContentStatus.approved, **kw) for k in range(n)]
    w.s.add_all(rows)
    w.s.flush()
    return rows


def test_settings_are_saved_whole_by_admins_only(session):
    w = _site(session)
    got = ps.get(session, w.actor, site_id=w.site.id)
    assert not got.configured and not got.auto_publish and not got.auto_approval  # not set up: nothing goes out
    saved = ps.update(session, w.actor, site_id=w.site.id, auto_approval=True, auto_publish=True, daily_limit=2,
                      weekly_limit=5, monthly_limit=9, days=["tue", "mon"], time_slots=["10:30", "08:00"])
    assert saved.configured and saved.days == ("mon", "tue") and saved.time_slots == ("08:00", "10:30")
    with pytest.raises(ValidationFailed):
        ps.update(session, w.actor, site_id=w.site.id, auto_approval=True, auto_publish=True, daily_limit=2,
                  weekly_limit=5, monthly_limit=9, days=["mon"], time_slots=["25:00"])
    assert ps.get(session, w.actor, site_id=w.site.id) == saved  # nothing of the bad form was kept
    editor = f.actor(session, f.user(session, w.acct, role=Role.editor))
    with pytest.raises(AccessDenied):
        ps.update(session, editor, site_id=w.site.id, auto_approval=False, auto_publish=False, daily_limit=1,
                  weekly_limit=1, monthly_limit=1, days=["mon"], time_slots=["09:00"])


def test_place_puts_waiting_articles_into_the_next_free_slots_and_dry_run_changes_nothing(session):
    w = _site(session)
    now = utc(2027, 1, 15, 10, 0)  # Friday 05:00 in New York
    rows = _approved(w, 4)
    _approved(w, 1, "Booked", site_status=SiteStatus.scheduled, scheduled_publish_at=utc(2027, 1, 15, 14, 0))
    plan = slots.place(session, w.actor, site_id=w.site.id, dry_run=True, now=now)
    assert [p.content_id for p in plan] == [r.id for r in rows]
    assert [f"{p.slot.local:%a %H:%M}" for p in plan] == ["Fri 14:00", "Fri 18:00", "Mon 09:00", "Mon 14:00"]
    assert all(r.site_status == SiteStatus.not_published for r in rows)
    slots.place(session, w.actor, site_id=w.site.id, now=now)
    session.expire_all()
    assert [r.scheduled_publish_at for r in rows] == [p.slot.utc for p in plan]
    assert {r.site_status for r in rows} == {SiteStatus.scheduled}
    days = slots.calendar(session, w.actor, site_id=w.site.id, days=7, now=now)
    friday = days[0]  # Friday 09:00 was booked already; the plan used 14:00 and 18:00
    assert [(i.title, f"{i.local:%H:%M}") for i in friday.items] == [("Booked 0", "09:00"), ("Article 0", "14:00"),
                                                                      ("Article 1", "18:00")]
    assert friday.free == []
    monday = next(d for d in days if d.day.weekday() == 0)
    assert len(monday.items) == 2 and [f"{s.local:%H:%M}" for s in monday.free] == ["18:00"]


def test_schedule_refuses_what_cannot_go_out(session):
    w = _site(session)
    draft = Content(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, title="Draft")
    session.add(draft)
    session.flush()
    with pytest.raises(ValidationFailed, match="only approved articles"):
        service.schedule(session, w.actor, content_id=draft.id, at=datetime.now(UTC) + timedelta(days=1))
    (ok,) = _approved(w, 1)
    with pytest.raises(ValidationFailed, match="needs its timezone"):
        service.schedule(session, w.actor, content_id=ok.id, at=datetime(2027, 1, 1, 9, 0))
    service.schedule(session, w.actor, content_id=ok.id, at=utc(2027, 1, 1, 9, 0))
    service.unschedule(session, w.actor, content_id=ok.id)
    assert (ok.site_status, ok.scheduled_publish_at) == (SiteStatus.not_published, None)
