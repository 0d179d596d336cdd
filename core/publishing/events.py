"""The sync log: a `SyncEvent` row for every sync and publish action on a site's integration, with its duration and
outcome, and the filtered, paged list the screen shows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.models import Site, SiteIntegration, SyncEvent

ACTIONS = ("doctor", "sync_taxonomy", "publish", "adopt", "update", "unpublish")
MAX_PAGE = 200
ORDER = paging.Order("newest", SyncEvent.id, SyncEvent.id, descending=True, unique=True)


@dataclass(frozen=True)
class Filter:
    """What the log screen narrows to: an action, failures or successes only, a content item, a time window."""

    action: str | None = None
    success: bool | None = None
    content_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def record(session: Session, link: SiteIntegration, *, action: str, success: bool, duration_ms: int | None,
           content_id: int | None = None, external_id: str = "", error: str = "", details: dict | None = None,
           event_type: str = "publish") -> SyncEvent:
    """Append one event to the integration's log (the caller holds the integration; no role check: the log
    records what was done, allowed or not)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown sync action {action!r}")
    event = SyncEvent(account_id=link.account_id, site_id=link.site_id, integration_id=link.id,
                      event_type=event_type, action=action, success=success, content_id=content_id,
                      external_id=str(external_id or ""), details=details or {}, error_message=error[:10_000],
                      duration_ms=duration_ms)
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, actor: Actor, *, site_id: int, filters: Filter | None = None, limit: int = 50,
                after: paging.Cursor | None = None, before: paging.Cursor | None = None) -> paging.Page[SyncEvent]:
    """A page of a site's sync log, newest first."""
    tenancy.get(session, actor, Site, site_id)
    f = filters or Filter()
    if f.action is not None and f.action not in ACTIONS:
        raise ValidationFailed(f"Unknown action “{f.action}”: choose one of {', '.join(ACTIONS)}.")
    stmt = tenancy.scoped(select(SyncEvent), SyncEvent, actor).where(SyncEvent.site_id == site_id)
    if f.action:
        stmt = stmt.where(SyncEvent.action == f.action)
    if f.success is not None:
        stmt = stmt.where(SyncEvent.success.is_(f.success))
    if f.content_id is not None:
        stmt = stmt.where(SyncEvent.content_id == f.content_id)
    if f.since is not None:
        stmt = stmt.where(SyncEvent.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(SyncEvent.created_at < f.until)
    return paging.page(session, stmt, ORDER, convert=paging.first_column, limit=paging.limit_of(limit, MAX_PAGE),
                       after=after, before=before)
