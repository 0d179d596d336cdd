"""A site's publishing settings (`PublishingSettings`): auto-approval, auto-publish, daily / weekly / monthly limits,
publishing days and time slots — read with the spec's defaults, validated as a whole before anything is saved.

Every site gets its row when it is created (`identity.sites.create_site`), with the spec's defaults: auto-approve
and auto-publish on, 3 / 15 / 50 per day / week / month, Monday–Friday, 09:00, 14:00, 18:00. A site without a row
(made before settings rows existed) counts as not set up: it neither auto-approves (as `writer.review` reads it)
nor auto-publishes, and its slots follow the spec's days, times and limits until a row is saved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.tenancy import Actor
from core.writer import review
from db.models import PublishingSettings, Site
from db.models.operations import TIME_SLOTS, WEEKDAYS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
TIME = re.compile(r"(\d{1,2}):(\d{2})")
MAX_LIMIT, MAX_SLOTS = 1000, 24


@dataclass(frozen=True)
class Settings:
    site_id: int
    auto_approval: bool
    auto_publish: bool
    daily_limit: int
    weekly_limit: int
    monthly_limit: int
    days: tuple[str, ...]
    time_slots: tuple[str, ...]
    configured: bool  # a row exists (False: the defaults, automation off)


def defaults(site_id: int) -> Settings:
    """What a saved row starts from: the spec's defaults."""
    return Settings(site_id, True, True, 3, 15, 50, tuple(WEEKDAYS), tuple(TIME_SLOTS), False)


def _of(row: PublishingSettings) -> Settings:
    return Settings(row.site_id, bool(row.auto_approval_enabled), bool(row.auto_publish_enabled),
                    row.daily_publish_limit, row.weekly_publish_limit, row.monthly_publish_limit,
                    tuple(row.publish_days or ()), tuple(row.publish_time_slots or ()), True)


def for_site(session: Session, *, site_id: int) -> Settings:
    """A site's settings for core's own use (the scheduler, the planner): no access check."""
    row = session.scalars(select(PublishingSettings).where(PublishingSettings.site_id == site_id)).one_or_none()
    if row is None:
        d = defaults(site_id)
        return Settings(site_id, False, False, d.daily_limit, d.weekly_limit, d.monthly_limit, d.days, d.time_slots,
                        False)
    return _of(row)


def get(session: Session, actor: Actor, *, site_id: int) -> Settings:
    """A site's publishing settings as the screen shows them."""
    tenancy.get(session, actor, Site, site_id)
    return for_site(session, site_id=site_id)


def parse_time(value: str) -> str:
    """'9:00' → '09:00'; refuses anything that is not a clock time."""
    m = TIME.fullmatch((value or "").strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationFailed(f"“{value}” is not a time: write it as HH:MM between 00:00 and 23:59.")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def validate(*, daily_limit: int, weekly_limit: int, monthly_limit: int, days: list[str],
             time_slots: list[str]) -> tuple[list[str], list[str]]:
    """Check the whole form; every problem in one message. Returns (days in week order, sorted unique times)."""
    problems = []
    limits = {"daily": daily_limit, "weekly": weekly_limit, "monthly": monthly_limit}
    for name, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
            problems.append(f"the {name} limit must be a whole number from 0 to {MAX_LIMIT}")
    if not problems and not daily_limit <= weekly_limit <= monthly_limit:
        problems.append(f"the limits must grow: daily ({daily_limit}) ≤ weekly ({weekly_limit}) ≤ monthly "
                        f"({monthly_limit})")
    wrong_days = [d for d in days if d not in DAYS]
    if wrong_days:
        problems.append(f"unknown days {', '.join(map(str, wrong_days))} (use {', '.join(DAYS)})")
    if not days:
        problems.append("choose at least one publishing day")
    times = []
    for value in time_slots:
        try:
            times.append(parse_time(value))
        except ValidationFailed as exc:
            problems.append(str(exc).rstrip("."))
    if not time_slots:
        problems.append("give at least one time slot")
    elif len(set(times)) > MAX_SLOTS:
        problems.append(f"at most {MAX_SLOTS} time slots a day")
    if problems:
        raise ValidationFailed("The publishing settings were not saved: " + "; ".join(problems) + ".")
    return [d for d in DAYS if d in set(days)], sorted(set(times))


def update(session: Session, actor: Actor, *, site_id: int, auto_approval: bool, auto_publish: bool,
           daily_limit: int, weekly_limit: int, monthly_limit: int, days: list[str],
           time_slots: list[str]) -> Settings:
    """Save a site's publishing settings (owners and admins), all checked first: nothing is saved when one is wrong."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    day_list, times = validate(daily_limit=daily_limit, weekly_limit=weekly_limit, monthly_limit=monthly_limit,
                               days=days, time_slots=time_slots)
    if not isinstance(auto_approval, bool) or not isinstance(auto_publish, bool):
        raise ValidationFailed("Auto-approval and auto-publish are on or off.")
    row = review.settings_row(session, actor, site_id=site.id)
    row.auto_approval_enabled, row.auto_publish_enabled = auto_approval, auto_publish
    row.daily_publish_limit, row.weekly_publish_limit, row.monthly_publish_limit = daily_limit, weekly_limit, \
        monthly_limit
    row.publish_days, row.publish_time_slots = day_list, times
    session.flush()
    return _of(row)
