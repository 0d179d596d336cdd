"""Headless scheduler process (APScheduler BlockingScheduler): runs the background jobs; the app only writes rows."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from core import runtime
from core.billing import credits
from core.config import settings
from core.errors import DomainError
from core.identity import housekeeping

log = logging.getLogger("igny8.scheduler")
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def housekeeping_job(rt: runtime.Runtime) -> None:
    """Expired tokens and elapsed locks; each pass is its own short transaction."""
    try:
        with rt.transaction() as session:
            changed = housekeeping.run(session)
        log.info("housekeeping %s", changed)
    except DomainError as exc:
        log.error("housekeeping failed: %s", exc)


def plan_credits_job(rt: runtime.Runtime) -> None:
    """Each account's monthly plan credits, once per month; one short transaction per account (failures isolated)."""
    with rt.transaction() as session:
        due = credits.accounts_due_plan_credits(session)
    granted = 0
    for account_id in due:
        try:
            with rt.transaction() as session:
                granted += credits.grant_plan_period(session, account_id=account_id) is not None
        except DomainError as exc:
            log.error("plan credits for account %s failed: %s", account_id, exc)
    if due:
        log.info("plan credits granted to %d of %d due accounts", granted, len(due))


def build(rt: runtime.Runtime) -> BlockingScheduler:
    """The scheduler with every job registered under a fixed id (replace_existing: restarts don't duplicate)."""
    sched = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    sched.add_job(housekeeping_job, "interval", args=[rt], id="housekeeping", replace_existing=True,
                  seconds=max(settings().scheduler_interval_seconds, 5))
    sched.add_job(plan_credits_job, "interval", args=[rt], id="plan_credits", replace_existing=True,
                  seconds=max(settings().scheduler_interval_seconds, 5))
    return sched


def main(argv: list[str] | None = None) -> int:
    """Start: migrate and seed like the app, then block running jobs until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    rt = runtime.start()
    notice = runtime.first_owner_notice(rt.first_owner)
    if notice:
        print(notice, flush=True)
    sched = build(rt)
    if argv and "--once" in argv:  # run every job once and exit (used by tests and cron-style operation)
        for job in sched.get_jobs():
            job.func(*job.args)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    log.info("scheduler %s started with jobs: %s", WORKER_ID, ", ".join(j.id for j in sched.get_jobs()))
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
