"""Faults in the middle of a run: WordPress unreachable for the whole publishing stage, and the database dropping
every connection (as a restart does) while items are in flight."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from core.automation import jobs, runs
from core.billing import credits
from db.enums import SiteStatus
from db.models import Account, AutomationRun, AutomationRunItem, Content, CreditTransaction
from tests.automation.conftest import add_tasks, make_world, set_config, start, work_all


class DeadWordPress:
    """A WordPress address where nothing listens."""

    url, user, password = "http://127.0.0.1:9", "bot", "abcd efgh ijkl mnop qrst uvwx"


def test_wordpress_down_for_the_whole_stage_keeps_the_articles_on_the_calendar(rt, pipeline):
    w = make_world(rt, keywords=0, wordpress=DeadWordPress())
    add_tasks(rt, w, 2)
    set_config(rt, w, stage_4_batch_size=2, stage_5_batch_size=2, stage_6_batch_size=2, auto_approve="on",
               auto_publish="on")
    run_id = start(rt, w)
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
        failed = runs.items(s, w.actor, run_id=run_id, status="failed")
        articles = list(s.scalars(select(Content).where(Content.site_id == w.site_id)))
        charged = -s.scalar(select(func.sum(CreditTransaction.amount)).where(
            CreditTransaction.account_id == w.account_id, CreditTransaction.amount < 0))
    assert view.stage_results["8"]["failed"] == 2 and view.stage_results["7"]["done"] == 2
    assert all(i.stage == 8 and "WordPress refused it now" in i.message for i in failed)
    # nothing half-written: each article is approved and on the calendar at its slot, for the publishing job
    assert {(c.status.value, c.site_status) for c in articles} == {("approved", SiteStatus.scheduled)}
    assert all(c.scheduled_publish_at is not None and not c.external_id for c in articles)
    assert view.credits_used == charged and "2 failed item(s)" in view.message


def _terminate_others(rt) -> int:
    """What a database restart does to every other session: their connections are dropped."""
    with rt.engine.connect() as conn:
        n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        conn.commit()
    return n


def test_the_database_dropping_every_connection_mid_run_loses_nothing(rt, backend, pipeline):
    if backend != "postgresql":
        pytest.skip("dropping every connection of a database is a PostgreSQL server operation")
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 8)
    set_config(rt, w, stage_4_batch_size=8, auto_approve="off", auto_publish="off")
    pipeline.delay = 0.5
    run_id = start(rt, w)
    out: list[list[str]] = []
    worker = threading.Thread(target=lambda: out.append(jobs.tick(rt, owner="w-restart")), daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while True:
        with rt.transaction() as s:
            done = s.scalar(select(func.count()).select_from(AutomationRunItem).where(
                AutomationRunItem.run_id == run_id, AutomationRunItem.status == "done"))
        if done >= 2:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert _terminate_others(rt) >= 1
    worker.join(timeout=180)
    assert not worker.is_alive()
    print("worker:", out)
    if out != [["completed"]]:  # the worker gave the run up: its lease runs out and the next pass continues it
        with rt.transaction() as s:
            s.execute(text("UPDATE automation_run SET lease_until = now() - interval '1 second' WHERE id = :i"),
                      {"i": run_id})
        assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        run = s.get(AutomationRun, run_id)
        articles = s.scalar(select(func.count()).select_from(Content).where(Content.site_id == w.site_id))
        charged = -s.scalar(select(func.sum(CreditTransaction.amount)).where(
            CreditTransaction.account_id == w.account_id, CreditTransaction.amount < 0))
        assert credits.ledger_sum(s, account_id=w.account_id) == s.get(Account, w.account_id).credits
    assert run.status.value == "completed" and run.stage_results["4"]["done"] == 8
    assert articles == 8 and run.total_credits_used == charged  # nothing twice, nothing charged for nothing
