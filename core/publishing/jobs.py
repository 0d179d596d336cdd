"""Publishing's scheduler entry points (registered by scheduler.py): place approved articles of auto-publishing sites
into their next free slots, publish what is due, and say when the next slot comes (the scheduler wakes then)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from core import tenancy
from core.common import claim
from core.common.uow import UnitOfWork
from core.errors import DomainError
from core.publishing import service, slots
from db.models import PublishingSettings, SiteIntegration

log = logging.getLogger("igny8.scheduler")
BATCH = 10


def place_auto(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Schedule the waiting approved articles of every connected site with auto-publish on; how many were placed.
    One short transaction per site, failures isolated."""
    with uow() as session:
        sites = session.execute(select(PublishingSettings.site_id, PublishingSettings.account_id).join(
            SiteIntegration, SiteIntegration.site_id == PublishingSettings.site_id).where(
            PublishingSettings.auto_publish_enabled.is_(True), SiteIntegration.is_active.is_(True),
            SiteIntegration.external_site_url != "")).all()
    placed = 0
    for site_id, account_id in sites:
        try:
            with uow() as session:
                placed += len(slots.place(session, tenancy.system_actor(account_id), site_id=site_id, now=now))
        except DomainError as exc:
            log.error("auto-publish placement for site %s failed: %s", site_id, exc)
    return placed


def publish_due(uow: UnitOfWork, *, owner: str | None = None, limit: int = 500,
                sleep: Callable[[float], None] | None = None) -> list[service.Outcome]:
    """Publish every due article, a batch of claims at a time, until none is due (or `limit` were tried)."""
    owner = owner or claim.worker_id()
    done: list[service.Outcome] = []
    while len(done) < limit:
        batch = service.run_due(uow, owner=owner, limit=min(BATCH, limit - len(done)), sleep=sleep)
        if not batch:
            break
        done += batch
        for o in batch:
            if not o.ok:
                log.warning("publishing article %s failed: %s", o.content_id, o.error)
    if done:
        log.info("published %d of %d due articles", sum(o.ok for o in done), len(done))
    return done


def next_wake(uow: UnitOfWork) -> datetime | None:
    """When the next scheduled article is due, across every account."""
    with uow() as session:
        return service.next_due_at(session)


def tick(uow: UnitOfWork) -> datetime | None:
    """One round of the publishing job: place, publish what is due, and return when the next slot comes."""
    place_auto(uow)
    publish_due(uow)
    return next_wake(uow)
