"""Headless scheduler process (APScheduler BlockingScheduler): runs the background jobs; the app only writes rows."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from core import runtime
from core.billing import jobs as billing_jobs
from core.config import settings
from core.identity import jobs as identity_jobs

log = logging.getLogger("igny8.scheduler")
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def build(rt: runtime.Runtime) -> BlockingScheduler:
    """The scheduler with every job registered under a fixed id (replace_existing: restarts don't duplicate)."""
    sched = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    every = max(settings().scheduler_interval_seconds, 5)
    sched.add_job(identity_jobs.housekeeping, "interval", args=[rt], id="housekeeping", replace_existing=True,
                  seconds=every)
    sched.add_job(billing_jobs.plan_credits, "interval", args=[rt], id="plan_credits", replace_existing=True,
                  seconds=every)
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
