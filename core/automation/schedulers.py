"""Scheduler processes as they report themselves (the scheduler status screen): host, pid, start, heartbeat and
what each is working on; a process that stopped says so, one that died just stops beating."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import config as app_config
from core.common.uow import UnitOfWork
from core.tenancy import Actor
from db.models import SchedulerProcess

KEEP = timedelta(days=2)  # stopped or silent processes older than this are forgotten


@dataclass(frozen=True)
class ProcessView:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    working_on: str
    alive: bool  # beat within the stale limit and not stopped


@dataclass(frozen=True)
class Status:
    processes: list[ProcessView]
    stale_after: timedelta

    @property
    def alive(self) -> int:
        return sum(p.alive for p in self.processes)

    @property
    def warning(self) -> str | None:
        if self.alive:
            return None
        minutes = int(self.stale_after.total_seconds() // 60) or 1
        return (f"No scheduler has been seen in the last {minutes} minute(s): automation runs and scheduled posts "
                "wait until one runs (python scheduler.py, see the README).")


def beat(uow: UnitOfWork, *, owner: str, working_on: str | None = None, now: datetime | None = None) -> None:
    """Record that this process is alive (and what it works on now; None keeps what it said before)."""
    now = now or datetime.now(UTC)
    with uow() as session:
        row = session.get(SchedulerProcess, owner)
        if row is None:
            session.add(SchedulerProcess(id=owner, host=socket.gethostname()[:255], pid=os.getpid(), started_at=now,
                                         heartbeat_at=now, working_on=(working_on or "")[:255]))
        else:
            row.heartbeat_at, row.stopped_at = now, None
            if working_on is not None:
                row.working_on = working_on[:255]


def stopped(uow: UnitOfWork, *, owner: str, now: datetime | None = None) -> None:
    """Record a clean stop."""
    with uow() as session:
        session.execute(update(SchedulerProcess).where(SchedulerProcess.id == owner)
                        .values(stopped_at=now or datetime.now(UTC), working_on=""))


def status(session: Session, actor: Actor, *, now: datetime | None = None) -> Status:
    """Every scheduler process seen lately, newest heartbeat first (any signed-in user may look: it names hosts
    and what they work on, no tenant's data)."""
    del actor
    now = now or datetime.now(UTC)
    stale = timedelta(seconds=max(app_config.settings().scheduler_stale_seconds, 10))
    rows = session.scalars(select(SchedulerProcess).where(SchedulerProcess.heartbeat_at >= now - KEEP)
                           .order_by(SchedulerProcess.heartbeat_at.desc()).limit(100))
    return Status([ProcessView(r.id, r.host, r.pid, r.started_at, r.heartbeat_at, r.stopped_at, r.working_on,
                               r.stopped_at is None and r.heartbeat_at >= now - stale) for r in rows], stale)
