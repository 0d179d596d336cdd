"""The scheduler process's jobs, run once against a fresh database (real transactions, no APScheduler loop)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from core import runtime
from core.billing import credits
from core.billing import jobs as billing_jobs
from core.identity import accounts
from db.enums import AccountStatus
from db.models import CreditTransaction

ROOT = Path(__file__).resolve().parent.parent


def test_plan_credits_job_grants_each_account_once_per_month(fresh_database):
    rt = runtime.start(url=fresh_database())
    try:
        with rt.transaction() as s:
            paid = accounts.create_account_record(s, name="Paid", plan_slug="starter", status=AccountStatus.active)
            gone = accounts.create_account_record(s, name="Gone", plan_slug="growth", status=AccountStatus.cancelled)
            paid_id, gone_id = paid.id, gone.id
        billing_jobs.plan_credits(rt)
        billing_jobs.plan_credits(rt)  # a second pass in the same month grants nothing
        with rt.transaction() as s:
            grants = s.scalars(select(CreditTransaction).where(CreditTransaction.transaction_type == "subscription")
                               ).all()
            by_account = {g.account_id: g.amount for g in grants}
            assert by_account.get(paid_id) == 1000 and gone_id not in by_account
            assert credits.ledger_sum(s, account_id=paid_id) == 1000
    finally:
        rt.engine.dispose()


def test_scheduler_process_starts_migrates_and_runs_its_jobs_once(fresh_database, tmp_path):
    env = {"DATABASE_URL": fresh_database(), "IGNY8_DATA_DIR": str(tmp_path), "IGNY8_SECRET_KEY": "k",
           "IGNY8_OWNER_EMAIL": "sched@example.com", "IGNY8_OWNER_PASSWORD": "sched-pass-123", "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Created the first owner sched@example.com" in out.stdout
    assert "housekeeping {'expired_tokens': 0, 'locks_cleared': 0}" in out.stderr
    assert "plan credits granted to 1 of 1 due accounts" in out.stderr  # the first owner's account (agency plan)
