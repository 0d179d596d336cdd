"""The slot planner: the next free publishing slots of a site, in the site's timezone, and the calendar.

A slot is a publishing day at one of the site's time slots, in the site's own timezone (`Site.timezone`; daylight-
saving changes included: 09:00 stays 09:00 local across the change, so its UTC moment moves). A slot holds one
article, and the daily, weekly (Monday–Sunday) and monthly limits count what is already scheduled or published in
that local day, week and month. A local time that does not exist on a spring-forward day is moved past the gap; an
ambiguous one (fall back) is its first occurrence.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.publishing import service
from core.publishing import settings as publishing_settings
from core.tenancy import Actor
from db.enums import ContentStatus, SiteStatus
from db.models import Content, Site

DAY_KEYS = publishing_settings.DAYS
MAX_DAYS = 366
TAKEN = (SiteStatus.scheduled, SiteStatus.publishing, SiteStatus.published)


@dataclass(frozen=True)
class Slot:
    utc: datetime
    local: datetime

    @property
    def label(self) -> str:
        return f"{self.local:%a %d %b %Y %H:%M} {self.local.tzname()} ({self.utc:%H:%M} UTC)"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"“{name}” is not a timezone (use a name like Europe/Berlin).") from None


def local_slot(day: date, at: str, tz: ZoneInfo) -> datetime:
    """The moment of local time `at` on `day` in `tz`: moved past a spring-forward gap, first of a fall-back pair."""
    hh, mm = (int(p) for p in at.split(":"))
    naive = datetime.combine(day, time(hh, mm))
    moment = naive.replace(tzinfo=tz, fold=0)
    back = moment.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != naive:  # in the gap: the clock jumped over this time
        moment = (moment.astimezone(UTC)).astimezone(tz)
    return moment


def _periods(moment_local: datetime) -> tuple[date, tuple[int, int], tuple[int, int]]:
    d = moment_local.date()
    iso = d.isocalendar()
    return d, (iso[0], iso[1]), (d.year, d.month)


def free_slots(settings: publishing_settings.Settings, tz: ZoneInfo, *, after: datetime, taken: Iterable[datetime],
               count: int | None = None, days: int = 14) -> list[Slot]:
    """The free slots after `after` (UTC) within `days` days (at most `count`), limits counted from `taken`."""
    taken = [t.astimezone(UTC) for t in taken]
    busy = set(taken)
    per_day, per_week, per_month = Counter(), Counter(), Counter()
    for t in taken:
        d, w, m = _periods(t.astimezone(tz))
        per_day[d] += 1
        per_week[w] += 1
        per_month[m] += 1
    start = after.astimezone(tz).date()
    out: list[Slot] = []
    for offset in range(min(days, MAX_DAYS) + 1):
        day = start + timedelta(days=offset)
        if DAY_KEYS[day.weekday()] not in settings.days:
            continue
        for at in settings.time_slots:
            local = local_slot(day, at, tz)
            utc = local.astimezone(UTC)
            if utc <= after or utc in busy:
                continue
            d, w, m = _periods(local)
            if per_day[d] >= settings.daily_limit or per_week[w] >= settings.weekly_limit or \
                    per_month[m] >= settings.monthly_limit:
                continue
            out.append(Slot(utc, local))
            busy.add(utc)
            per_day[d] += 1
            per_week[w] += 1
            per_month[m] += 1
            if count is not None and len(out) >= count:
                return out
    return out


def _taken(session: Session, site_id: int, since: datetime) -> list[datetime]:
    when = func.coalesce(Content.scheduled_publish_at, Content.site_status_updated_at)
    return [t if t.tzinfo else t.replace(tzinfo=UTC) for t in session.scalars(
        select(when).where(Content.site_id == site_id, Content.deleted_at.is_(None),
                           Content.site_status.in_(TAKEN), when >= since)) if t is not None]


def next_free(session: Session, actor: Actor, *, site_id: int, count: int = 10, days: int = 14,
              now: datetime | None = None) -> list[Slot]:
    """A site's next free slots (site time and UTC)."""
    site = tenancy.get(session, actor, Site, site_id)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"Look ahead 1 to {MAX_DAYS} days, not {days}.")
    return _free(session, site, now=now or datetime.now(UTC), count=count, days=days)


def _free(session: Session, site: Site, *, now: datetime, count: int | None, days: int) -> list[Slot]:
    tz = zone(site.timezone)
    month_start = now.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = min(month_start, now.astimezone(tz) - timedelta(days=7)).astimezone(UTC)
    conf = publishing_settings.for_site(session, site_id=site.id)
    return free_slots(conf, tz, after=now, taken=_taken(session, site.id, since), count=count, days=days)


@dataclass(frozen=True)
class Placement:
    content_id: int
    title: str
    slot: Slot


def waiting(session: Session, site_id: int, limit: int = 500) -> list[Content]:
    """Approved articles of a site that are not on WordPress nor on the calendar, oldest first."""
    return list(session.scalars(select(Content).where(
        Content.site_id == site_id, Content.deleted_at.is_(None), Content.status == ContentStatus.approved,
        Content.site_status == SiteStatus.not_published).order_by(Content.id).limit(limit)))


def plan(session: Session, actor: Actor, *, site_id: int, now: datetime | None = None,
         days: int = 60) -> list[Placement]:
    """Where the site's waiting approved articles would go: each into the next free slot."""
    site = tenancy.get(session, actor, Site, site_id)
    items = waiting(session, site.id)
    if not items:
        return []
    slots = _free(session, site, now=now or datetime.now(UTC), count=len(items), days=days)
    return [Placement(c.id, c.title, s) for c, s in zip(items, slots, strict=False)]


def place(session: Session, actor: Actor, *, site_id: int, dry_run: bool = False,
          now: datetime | None = None) -> list[Placement]:
    """Schedule the site's waiting approved articles into the next free slots (or only say where, `dry_run`)."""
    tenancy.require_write(actor)
    placements = plan(session, actor, site_id=site_id, now=now)
    if not dry_run:
        for p in placements:
            service.schedule(session, actor, content_id=p.content_id, at=p.slot.utc)
    return placements


@dataclass(frozen=True)
class CalendarItem:
    content_id: int
    title: str
    status: str  # scheduled | publishing | published | failed
    utc: datetime
    local: datetime
    url: str = ""


@dataclass
class CalendarDay:
    day: date
    items: list[CalendarItem] = field(default_factory=list)
    free: list[Slot] = field(default_factory=list)


def calendar(session: Session, actor: Actor, *, site_id: int, days: int = 28,
             now: datetime | None = None) -> list[CalendarDay]:
    """The coming weeks per local day: what is scheduled or published, and the free slots."""
    site = tenancy.get(session, actor, Site, site_id)
    if not 1 <= days <= 120:
        raise ValidationFailed(f"The calendar shows 1 to 120 days, not {days}.")
    now = now or datetime.now(UTC)
    tz = zone(site.timezone)
    first = now.astimezone(tz).date()
    start = datetime.combine(first, time(0), tz).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(0), tz).astimezone(UTC)
    when = func.coalesce(Content.scheduled_publish_at, Content.site_status_updated_at)
    rows = session.execute(tenancy.scoped(select(Content.id, Content.title, Content.site_status, when,
                                                 Content.external_url), Content, actor).where(
        Content.site_id == site.id, Content.site_status.in_(TAKEN + (SiteStatus.failed,)), when >= start,
        when < end).order_by(when, Content.id).limit(5000)).all()
    out = {first + timedelta(days=k): CalendarDay(first + timedelta(days=k)) for k in range(days)}
    for cid, title, status, at, url in rows:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        local = at.astimezone(tz)
        if local.date() in out:
            out[local.date()].items.append(CalendarItem(cid, title, status.value, at, local, url or ""))
    for slot in _free(session, site, now=now, count=None, days=days):
        if slot.local.date() in out:
            out[slot.local.date()].free.append(slot)
    return list(out.values())
