"""Headless scheduler process (APScheduler BlockingScheduler): runs the background jobs; the app only writes rows."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from core import runtime
from core.automation import jobs as automation_jobs
from core.automation import schedulers
from core.billing import jobs as billing_jobs
from core.common import claim
from core.config import settings
from core.identity import jobs as identity_jobs
from core.publishing import jobs as publishing_jobs

log = logging.getLogger("igny8.scheduler")
WORKER_ID = claim.worker_id()  # host:pid:random, the name of this process on the scheduler status screen
STOPPING = threading.Event()  # set on SIGTERM: a run in hand finishes its current item and is released


def build(rt: runtime.Runtime) -> BlockingScheduler:
    """The scheduler with every job registered under a fixed id (replace_existing: restarts don't duplicate)."""
    sched = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    every = max(settings().scheduler_interval_seconds, 5)
    sched.add_job(identity_jobs.housekeeping, "interval", args=[rt], id="housekeeping", replace_existing=True,
                  seconds=every)
    sched.add_job(billing_jobs.plan_credits, "interval", args=[rt], id="plan_credits", replace_existing=True,
                  seconds=every)
    poll = max(settings().publish_poll_seconds, 1)
    sched.add_job(publishing, "interval", args=[rt, sched], id="publishing", replace_existing=True, seconds=poll,
                  next_run_time=datetime.now(UTC))
    sched.add_job(automation, "interval", args=[rt], id="automation", replace_existing=True,
                  seconds=max(settings().automation_poll_seconds, 1), next_run_time=datetime.now(UTC))
    return sched


def automation(rt: runtime.Runtime) -> None:
    """Start due automation runs and work every claimable one (several schedulers split them)."""
    automation_jobs.tick(rt, owner=WORKER_ID, stopping=STOPPING)


def publishing(rt: runtime.Runtime, sched: BlockingScheduler) -> None:
    """Place and publish what is due, then arm a one-off run at the next slot, so a post goes out within a second
    or so of its slot instead of at the next poll (the poll still catches slots scheduled meanwhile)."""
    wake = publishing_jobs.tick(rt)
    if wake is not None and sched.running:
        sched.add_job(publishing, "date", args=[rt, sched], id="publish_at_slot", replace_existing=True,
                      run_date=max(wake, datetime.now(UTC)), misfire_grace_time=None)


def main(argv: list[str] | None = None) -> int:
    """Start: migrate and seed like the app, then block running jobs until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    rt = runtime.start()
    notice = runtime.first_owner_notice(rt.first_owner)
    if notice:
        print(notice, flush=True)
    sched = build(rt)
    schedulers.beat(rt, owner=WORKER_ID)
    if argv and "--once" in argv:  # run every job once and exit (used by tests and cron-style operation)
        try:
            for job in sched.get_jobs():
                job.func(*job.args)
        finally:
            schedulers.stopped(rt, owner=WORKER_ID)
        return 0

    def stop(*_: object) -> None:
        STOPPING.set()  # runs in hand stop after their current item and release their claim
        sched.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    sched.add_job(schedulers.beat, "interval", args=[rt], kwargs={"owner": WORKER_ID}, id="heartbeat",
                  replace_existing=True, seconds=30)
    log.info("scheduler %s started with jobs: %s", WORKER_ID, ", ".join(j.id for j in sched.get_jobs()))
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        STOPPING.set()
    finally:
        schedulers.stopped(rt, owner=WORKER_ID)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
