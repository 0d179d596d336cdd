"""Automation's scheduler entry point (registered by scheduler.py): start the runs that are due, then claim and
work runs one after another until none is left or the process is asked to stop."""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import select

from core.automation import runs, schedulers, worker
from core.common.uow import UnitOfWork
from core.errors import DomainError
from db.models import AutomationConfig, AutomationRun

log = logging.getLogger("igny8.scheduler")


def start_due(uow: UnitOfWork, *, now: datetime | None = None) -> list[int]:
    """Start the run of every enabled site whose `next_run_at` has passed (each once, whichever scheduler
    wins its compare-and-set); the ids of the runs recorded."""
    now = now or datetime.now(UTC)
    with uow() as session:
        due = session.execute(select(AutomationConfig.id, AutomationConfig.next_run_at).where(
            AutomationConfig.is_enabled.is_(True), AutomationConfig.next_run_at <= now)
            .order_by(AutomationConfig.next_run_at).limit(500)).all()
    started: list[int] = []
    for config_id, at in due:
        try:
            with uow() as session:
                run = runs.start_scheduled(session, config_id=config_id, due=at, now=now)
                if run is not None:
                    started.append(run.id)
        except DomainError as exc:
            log.error("starting the automation of config %s failed: %s", config_id, exc)
    return started


def tick(uow: UnitOfWork, *, owner: str, stopping: threading.Event | None = None,
         now: datetime | None = None) -> list[str]:
    """One pass: start due runs, then work every claimable run; what became of each run worked."""
    stopping = stopping or threading.Event()
    schedulers.beat(uow, owner=owner)
    with uow() as session:
        runs.release_abandoned(session, now=now)
    start_due(uow, now=now)
    outcomes: list[str] = []
    while not stopping.is_set():
        run_id = worker.claim_next(uow, owner=owner)
        if run_id is None:
            break
        with uow() as session:
            run = session.get(AutomationRun, run_id)
            label = f"automation {run.run_id} (site #{run.site_id}), from stage {run.current_stage}"
        schedulers.beat(uow, owner=owner, working_on=label)
        outcomes.append(worker.Worker(uow, run_id, owner=owner, stopping=stopping).run())
        schedulers.beat(uow, owner=owner, working_on="")
    return outcomes
