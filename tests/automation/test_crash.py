"""Crash safety: three scheduler processes on PostgreSQL work the runs of 10 sites at once; one is killed with
SIGKILL mid-stage and another started. Every item is done exactly once, the ledger equals the sum of the work, no
post is made twice on the real WordPress, every run completes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.automation import runs
from core.billing import credits
from db.models import Account, AutomationRun, AutomationRunItem, Content, CreditReservation, CreditTransaction
from tests.automation.conftest import add_tasks, make_world, set_config
from tests.fakes.wordpress import Admin, wordpress

ROOT = Path(__file__).resolve().parents[2]
SITES, ARTICLES = 10, 3


def _scheduler(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture
def prt(rt, backend):
    if backend != "postgresql":
        pytest.skip("several scheduler processes share PostgreSQL")
    return rt


def test_three_schedulers_one_killed_mid_stage_every_item_once(prt, pipeline, fake, tmp_path):
    rt, wp = prt, wordpress()
    pipeline.delay = 0.3
    fake.default_delay = 0.3
    marker = "c" + uuid.uuid4().hex[:8]
    worlds = []
    for n in range(SITES):
        w = make_world(rt, keywords=0, wordpress=wp)
        add_tasks(rt, w, ARTICLES, title=f"Crash {marker} site {n} guide")
        set_config(rt, w, stage_4_batch_size=ARTICLES, stage_5_batch_size=ARTICLES, stage_6_batch_size=ARTICLES,
                   auto_approve="on", auto_publish="on", credit_budget=5000)
        worlds.append(w)
    with rt.transaction() as s:
        run_ids = [runs.start(s, w.actor, site_id=w.site_id).id for w in worlds]
    env = {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
           "IGNY8_AUTOMATION_POLL_SECONDS": "1", "IGNY8_AUTOMATION_LEASE_SECONDS": "10",
           "IGNY8_PUBLISH_POLL_SECONDS": "3600"}
    procs = [_scheduler(env, tmp_path / f"s{n}.log") for n in range(3)]
    try:
        def articles_done() -> int:
            with rt.transaction() as s:
                return s.scalar(select(func.count()).select_from(AutomationRunItem).where(
                    AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.stage == 4,
                    AutomationRunItem.status == "done")) or 0

        _wait(lambda: articles_done() >= 3, 180, "the first articles")
        with rt.transaction() as s:  # kill a scheduler that holds a run, in the middle of its stage
            holders = [h for h in s.scalars(select(AutomationRun.claimed_by).where(
                AutomationRun.id.in_(run_ids), AutomationRun.claimed_by.is_not(None)))]
        pids = {int(h.split(":")[1]) for h in holders}
        victim = next(p for p in procs if p.pid in pids)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        procs.append(_scheduler(env, tmp_path / "restarted.log"))

        def all_finished() -> bool:
            with rt.transaction() as s:
                return s.scalar(select(func.count()).select_from(AutomationRun).where(
                    AutomationRun.id.in_(run_ids), AutomationRun.status.in_(runs.ACTIVE))) == 0

        _wait(all_finished, 300, "every run's end")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    with rt.transaction() as s:
        finished = {r.id: (r.status.value, r.stop_reason, r.error_message) for r in s.scalars(
            select(AutomationRun).where(AutomationRun.id.in_(run_ids)))}
        assert {v[0] for v in finished.values()} == {"completed"}, finished
        per_stage = dict(s.execute(select(AutomationRunItem.stage, func.count()).where(
            AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.status == "done")
            .group_by(AutomationRunItem.stage)).all())
        assert per_stage == {4: SITES * ARTICLES, 5: SITES * ARTICLES, 6: SITES * ARTICLES, 7: SITES * ARTICLES,
                             8: SITES * ARTICLES}, per_stage
        assert s.scalar(select(func.count()).select_from(AutomationRunItem).where(
            AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.status != "done")) == 0
        accounts = [w.account_id for w in worlds]
        articles = s.scalar(select(func.count()).select_from(Content).where(Content.account_id.in_(accounts)))
        assert articles == SITES * ARTICLES  # no article written twice
        used = s.scalar(select(func.sum(AutomationRun.total_credits_used)).where(AutomationRun.id.in_(run_ids)))
        charged = -s.scalar(select(func.sum(CreditTransaction.amount)).where(
            CreditTransaction.account_id.in_(accounts), CreditTransaction.amount < 0))
        assert used == charged > 0  # the ledger equals the sum of the work: nothing paid twice
        for a in accounts:
            assert credits.ledger_sum(s, account_id=a) == s.get(Account, a).credits
        assert s.scalar(select(func.coalesce(func.sum(CreditReservation.held), 0)).where(
            CreditReservation.account_id.in_(accounts))) == 0
    posts = Admin(wp).posts(marker)
    assert len(posts) == SITES * ARTICLES and len({p["slug"] for p in posts}) == len(posts)  # none twice
    assert {p["status"] for p in posts} == {"future"}  # scheduled on WordPress in the sites' slots
