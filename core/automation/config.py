"""A site's automation settings (`AutomationConfig`): what a run does, how much, when, and within what budget.

`next_run_at` follows from the settings in the site's timezone: daily at the time, weekly on Mondays at the time,
monthly on the 1st at the time (a time that a DST change skips moves past the gap, as publishing slots do).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.publishing.slots import local_slot, zone
from core.tenancy import Actor
from db.enums import Frequency
from db.models import AutomationConfig, Site

STAGES = {1: "Keywords → clusters", 2: "Clusters → ideas", 3: "Ideas → tasks", 4: "Tasks → articles",
          5: "Articles → image prompts", 6: "Image prompts → images", 7: "Review", 8: "Approved → publishing slots"}
BATCH_LIMIT = 1000  # items a stage takes in one run at most
CHOICES = ("site", "on", "off")  # auto-approve / auto-publish: follow the site's publishing settings, or not
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Settings:
    """A site's automation settings as plain data (the defaults when none were saved)."""

    is_enabled: bool = False
    frequency: str = "daily"
    scheduled_time: str = "02:00"
    stage_1_batch_size: int = 20
    stage_2_batch_size: int = 1
    stage_3_batch_size: int = 20
    stage_4_batch_size: int = 1
    stage_5_batch_size: int = 1
    stage_6_batch_size: int = 1
    stage_7_batch_size: int = 20
    stage_8_batch_size: int = 20
    ideas_per_cluster: int = 3
    clustering: str = "offline"
    within_stage_delay: int = 3
    between_stage_delay: int = 5
    stop_on_error: bool = False
    auto_approve: str = "site"
    auto_publish: str = "site"
    max_run_minutes: int = 240
    credit_budget: int = 500

    def batch(self, stage: int) -> int:
        return int(getattr(self, f"stage_{stage}_batch_size"))

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NAMES = tuple(f.name for f in fields(Settings))
LIMITS = {**{f"stage_{n}_batch_size": (1, BATCH_LIMIT) for n in STAGES}, "ideas_per_cluster": (1, 10),
          "within_stage_delay": (0, 3600), "between_stage_delay": (0, 3600), "max_run_minutes": (1, 24 * 60),
          "credit_budget": (1, 10_000_000)}
LABELS = {**{f"stage_{n}_batch_size": f"Batch size of stage {n} ({label})" for n, label in STAGES.items()},
          "ideas_per_cluster": "Ideas per cluster", "within_stage_delay": "Delay between items (s)",
          "between_stage_delay": "Delay between stages (s)", "max_run_minutes": "Maximum run time (minutes)",
          "credit_budget": "Credit budget per run"}


@dataclass(frozen=True)
class ConfigView:
    site_id: int
    site_name: str
    timezone: str
    settings: Settings
    saved: bool  # False: nothing saved yet, these are the defaults
    last_run_at: datetime | None
    next_run_at: datetime | None

    @property
    def next_run_local(self) -> datetime | None:
        return self.next_run_at.astimezone(zone(self.timezone)) if self.next_run_at else None


def _row(session: Session, site_id: int) -> AutomationConfig | None:
    return session.scalar(select(AutomationConfig).where(AutomationConfig.site_id == site_id))


def _settings(row: AutomationConfig | None) -> Settings:
    if row is None:
        return Settings()
    values = {name: getattr(row, name) for name in NAMES}
    values["frequency"] = str(row.frequency.value if hasattr(row.frequency, "value") else row.frequency)
    values["scheduled_time"] = f"{row.scheduled_time:%H:%M}"
    return Settings(**values)


def get(session: Session, actor: Actor, *, site_id: int) -> ConfigView:
    """A site's automation settings (the defaults when none were saved) and when it runs next."""
    site = tenancy.get(session, actor, Site, site_id)
    row = _row(session, site.id)
    return ConfigView(site.id, site.name, site.timezone or "UTC", _settings(row), row is not None,
                      row.last_run_at if row else None, row.next_run_at if row else None)


def settings_of(session: Session, *, site_id: int) -> Settings:
    """The settings a run starts with (no actor: the caller checked the site)."""
    return _settings(_row(session, site_id))


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValidationFailed(f"“{name}” is on or off (true/false), not “{value}”.")


def _int(name: str, value: object) -> int:
    low, high = LIMITS[name]
    try:
        number = int(str(value).replace(",", "").strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValidationFailed(f"{LABELS[name]} must be a whole number, not “{value}”.") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ValidationFailed(f"{LABELS[name]} must be between {low:,} and {high:,}, not {value}.")
    return number


def _clean(name: str, value: object) -> object:
    """One setting checked and converted (from the CLI's text or a form's value)."""
    if name in ("is_enabled", "stop_on_error"):
        return _bool(name, value)
    if name in LIMITS:
        return _int(name, value)
    text = str(value).strip().lower()
    if name == "frequency":
        if text not in {f.value for f in Frequency}:
            raise ValidationFailed(f"Frequency is daily, weekly or monthly, not “{value}”.")
        return text
    if name == "scheduled_time":
        if not TIME.match(text):
            raise ValidationFailed(f"The time of day is HH:MM between 00:00 and 23:59, not “{value}”.")
        hh, mm = text.split(":")
        return f"{int(hh):02d}:{mm}"
    if name == "clustering":
        if text not in ("offline", "ai"):
            raise ValidationFailed(f"Clustering is “offline” (the built-in clusterer) or “ai”, not “{value}”.")
        return text
    if name in ("auto_approve", "auto_publish"):
        if text not in CHOICES:
            raise ValidationFailed(f"“{name}” is site (follow the site's publishing settings), on or off, "
                                   f"not “{value}”.")
        return text
    raise ValidationFailed(f"There is no automation setting “{name}”. The settings are: {', '.join(NAMES)}.")


def next_run(settings: Settings, tz_name: str, *, after: datetime) -> datetime | None:
    """When a run with these settings is due next after `after` (UTC), or None when automation is off."""
    if not settings.is_enabled:
        return None
    tz = zone(tz_name)
    local_day = after.astimezone(tz).date()
    for offset in range(0, 400):
        day = local_day + timedelta(days=offset)
        if settings.frequency == "weekly" and day.weekday() != 0:
            continue
        if settings.frequency == "monthly" and day.day != 1:
            continue
        moment = local_slot(day, settings.scheduled_time, tz).astimezone(UTC)
        if moment > after:
            return moment
    return None  # unreachable: a month has a 1st and a week a Monday


def update(session: Session, actor: Actor, *, site_id: int, changes: Mapping[str, object],
           now: datetime | None = None) -> ConfigView:
    """Change a site's automation settings (admins); every value is checked before any is saved."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    if not changes:
        raise ValidationFailed("Nothing to change: name a setting and its value (for example credit_budget=800).")
    clean = {name: _clean(name, value) for name, value in changes.items()}
    row = session.scalar(select(AutomationConfig).where(AutomationConfig.site_id == site.id).with_for_update()
                         .execution_options(populate_existing=True))
    merged = Settings(**{**_settings(row).as_dict(), **clean})
    if row is None:
        row = AutomationConfig(account_id=site.account_id, site_id=site.id)
        session.add(row)
    for name, value in merged.as_dict().items():
        if name == "frequency":
            value = Frequency(value)
        elif name == "scheduled_time":
            value = time(*(int(p) for p in str(value).split(":")))
        setattr(row, name, value)
    row.next_run_at = next_run(merged, site.timezone or "UTC", after=now or datetime.now(UTC))
    session.flush()
    return get(session, actor, site_id=site.id)

