"""Control of a running run (pause, resume, cancel between items, never inside a charge), the budget, refusals
that write nothing, and faults that leave a clear status and charge nothing for work not done."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.automation import jobs, runs
from core.billing import credits
from core.errors import InsufficientCredits, ValidationFailed
from db.models import Account, AutomationRun, AutomationRunItem, Content, CreditReservation, CreditTransaction
from tests.automation.conftest import add_tasks, make_world, reserved, set_config, start, work_all

ARTICLES_ONLY = {"stage_4_batch_size": 6, "stage_5_batch_size": 1, "stage_6_batch_size": 1,
                 "auto_approve": "off", "auto_publish": "off"}


def _worker(rt, stopping: threading.Event | None = None, owner: str = "w1"):
    out: list[list[str]] = []
    t = threading.Thread(target=lambda: out.append(jobs.tick(rt, owner=owner, stopping=stopping)), daemon=True)
    t.start()
    return t, out


def _wait(pred, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


def _done_items(rt, run_id: int, stage: int = 4) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(AutomationRunItem).where(
            AutomationRunItem.run_id == run_id, AutomationRunItem.stage == stage,
            AutomationRunItem.status == "done")) or 0


def _status(rt, run_id: int) -> str:
    with rt.transaction() as s:
        return s.scalar(select(AutomationRun.status).where(AutomationRun.id == run_id)).value


def _ledger_ok(rt, w) -> bool:
    with rt.transaction() as s:
        return credits.ledger_sum(s, account_id=w.account_id) == s.scalar(
            select(Account.credits).where(Account.id == w.account_id))


def _working(rt, pipeline):
    """A run of 12 slow articles being worked in a thread, its first article done."""
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 12)
    set_config(rt, w, **{**ARTICLES_ONLY, "stage_4_batch_size": 12})
    pipeline.delay = 1.0  # long enough that the command lands while items are still waiting
    run_id = start(rt, w)
    thread, out = _worker(rt)
    _wait(lambda: _done_items(rt, run_id) >= 1)
    return w, run_id, thread, out


def test_pause_stops_between_items_and_resume_continues_where_it_stopped(rt, pipeline):
    w, run_id, thread, out = _working(rt, pipeline)
    with rt.transaction() as s:
        runs.pause(s, w.actor, run_id=run_id)
    thread.join(timeout=30)
    assert not thread.is_alive() and out == [["paused"]]
    with rt.transaction() as s:
        run = s.get(AutomationRun, run_id)
        assert run.status.value == "paused" and run.claimed_by is None and run.paused_at is not None
    paused_at = _done_items(rt, run_id)
    assert 1 <= paused_at < 12  # the items in hand were finished, nothing new started
    assert reserved(rt, w) > 0  # a paused run keeps its credits
    assert work_all(rt) == []  # a paused run is not claimed
    with rt.transaction() as s:
        runs.resume(s, w.actor, run_id=run_id)
    pipeline.delay = 0.0
    assert work_all(rt) == ["completed"]
    assert _done_items(rt, run_id) == 12 and reserved(rt, w) == 0 and _ledger_ok(rt, w)
    with rt.transaction() as s:  # every task has exactly one article: nothing was redone
        assert s.scalar(select(func.count()).select_from(Content).where(Content.site_id == w.site_id)) == 12


def test_cancel_stops_the_run_and_releases_its_reservation(rt, pipeline):
    w, run_id, thread, out = _working(rt, pipeline)
    with rt.transaction() as s:
        runs.cancel(s, w.actor, run_id=run_id)
    thread.join(timeout=30)
    assert out == [["cancelled"]]
    with rt.transaction() as s:
        run = s.get(AutomationRun, run_id)
        hold = s.get(CreditReservation, run.reservation_id)
        assert run.status.value == "cancelled" and run.claimed_by is None
        assert hold.held == 0 and hold.released_at is not None
        charged = -s.scalar(select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
            CreditTransaction.account_id == w.account_id, CreditTransaction.amount < 0))
        assert run.total_credits_used == charged > 0  # the items done were paid, from the reservation
    assert reserved(rt, w) == 0 and _ledger_ok(rt, w)
    assert _done_items(rt, run_id) < 12


def test_a_cancelled_pending_run_releases_at_once(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 2)
    set_config(rt, w, **ARTICLES_ONLY)
    run_id = start(rt, w)
    assert reserved(rt, w) > 0
    with rt.transaction() as s:
        runs.cancel(s, w.actor, run_id=run_id)
    assert reserved(rt, w) == 0 and work_all(rt) == []


def test_the_budget_stops_the_run_cleanly(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 6)
    set_config(rt, w, **ARTICLES_ONLY)
    with rt.transaction() as s:
        per_article = runs.forecast(s, w.actor, site_id=w.site_id).stages[3].credits // 6
    set_config(rt, w, credit_budget=per_article * 2 + per_article // 2)
    run_id = start(rt, w)
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
    assert view.stop_reason == "budget" and "budget" in view.message
    assert view.credits_used <= view.budget and _done_items(rt, run_id) == 2
    assert reserved(rt, w) == 0 and _ledger_ok(rt, w)
    with rt.transaction() as s:
        assert any(n.id == run_id for n in runs.notifications(s, w.actor))


def test_refusals_write_nothing(rt, pipeline):
    w = make_world(rt, keywords=0, grant=30)
    add_tasks(rt, w, 6)
    set_config(rt, w, **ARTICLES_ONLY, credit_budget=1)
    with pytest.raises(ValidationFailed, match="lower than one article"):
        start(rt, w)
    set_config(rt, w, credit_budget=100_000)
    with pytest.raises(InsufficientCredits):
        start(rt, w)
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AutomationRun).where(AutomationRun.site_id == w.site_id)) == 0
        assert s.scalar(select(func.count()).select_from(CreditReservation).where(
            CreditReservation.account_id == w.account_id)) == 0
    assert reserved(rt, w) == 0


def test_one_active_run_per_site(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 1)
    set_config(rt, w, **ARTICLES_ONLY)
    start(rt, w)
    with pytest.raises(Exception, match="has a run pending already"):
        start(rt, w)


def test_nothing_to_do_is_recorded_and_notified(rt, pipeline):
    w = make_world(rt, keywords=0)
    run_id = start(rt, w)
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
        notes = runs.notifications(s, w.actor)
    assert view.status == "completed" and view.stop_reason == "nothing_to_do" and view.reason == "found nothing to do"
    assert [n.id for n in notes] == [run_id] and reserved(rt, w) == 0


def test_an_ai_server_failing_every_call_fails_the_items_and_charges_nothing(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 3)
    set_config(rt, w, **ARTICLES_ONLY)
    with rt.transaction() as s:
        before = s.scalar(select(Account.credits).where(Account.id == w.account_id))
    pipeline.fail = {"all"}
    run_id = start(rt, w)
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
        failed = runs.items(s, w.actor, run_id=run_id, status="failed")
        after = s.scalar(select(Account.credits).where(Account.id == w.account_id))
    assert view.stage_results["4"]["failed"] == 3 and "3 failed item(s)" in view.message
    assert all("AI provider" in i.message for i in failed) and after == before and view.credits_used == 0
    assert reserved(rt, w) == 0
    # the provider is back: the failed items are retried with a new attempt
    pipeline.fail = set()
    with rt.transaction() as s:
        assert runs.retry_failed(s, w.actor, run_id=run_id) == 3
    assert work_all(rt) == ["completed"]
    assert _done_items(rt, run_id) == 3 and reserved(rt, w) == 0 and _ledger_ok(rt, w)


def test_stop_on_error_fails_the_run_with_the_reason(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 3)
    set_config(rt, w, **ARTICLES_ONLY, stop_on_error=True)
    pipeline.fail = {"all"}
    run_id = start(rt, w)
    assert work_all(rt) == ["failed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
        notes = runs.notifications(s, w.actor)
    assert view.stop_reason == "error" and "stop on error" in view.message and run_id in [n.id for n in notes]
    assert reserved(rt, w) == 0


def test_a_due_site_gets_exactly_one_scheduled_run(rt, pipeline):
    from core.automation import config

    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 1)
    with rt.transaction() as s:
        config.update(s, w.actor, site_id=w.site_id, changes={**ARTICLES_ONLY, "is_enabled": True},
                      now=datetime.now(UTC) - timedelta(days=1))
    started: list[list[int]] = []
    threads = [threading.Thread(target=lambda: started.append(jobs.start_due(rt))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(x) for x in started) == [0, 0, 0, 1]
    with rt.transaction() as s:
        view = config.get(s, w.actor, site_id=w.site_id)
        assert view.next_run_at > datetime.now(UTC)  # the next one is tomorrow's
        (run,) = runs.list_runs(s, w.actor, site_id=w.site_id)
    assert run.trigger == "scheduled" and run.status == "pending"


def test_the_maximum_run_time_stops_the_run_and_keeps_the_rest_for_later(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 3)
    set_config(rt, w, **ARTICLES_ONLY)
    run_id = start(rt, w)
    with rt.transaction() as s:  # a run whose deadline has passed (as after max_run_minutes of work)
        s.get(AutomationRun, run_id).deadline_at = datetime.now(UTC) - timedelta(seconds=1)
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
    assert view.stop_reason == "max_time" and "maximum run time" in view.message
    assert _done_items(rt, run_id) == 0 and reserved(rt, w) == 0


def test_a_run_cancelled_while_its_scheduler_died_gets_its_credits_back(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 2)
    set_config(rt, w, **ARTICLES_ONLY)
    run_id = start(rt, w)
    from core.automation import worker

    assert worker.claim_next(rt, owner="doomed") == run_id  # claimed, then the scheduler dies
    with rt.transaction() as s:
        runs.cancel(s, w.actor, run_id=run_id)  # its lease is live: the credits wait for the worker
    assert reserved(rt, w) > 0
    with rt.transaction() as s:
        s.get(AutomationRun, run_id).lease_until = datetime.now(UTC) - timedelta(seconds=1)
    work_all(rt)  # the next scheduler pass sees the lease ran out and releases them
    assert reserved(rt, w) == 0
    with rt.transaction() as s:
        run = s.get(AutomationRun, run_id)
        assert run.status.value == "cancelled" and run.claimed_by is None
