"""What several processes do at once, on PostgreSQL: provider limits shared through the database, one scheduled run
per due site whichever scheduler sees it first, and a claim that one process wins."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.ai import providers
from db.models import AutomationRun
from tests.ai.helpers import configure
from tests.automation.conftest import add_tasks, make_world, set_config
from tests.races import run_together


@pytest.fixture
def prt(rt, backend):
    """The module's database, on PostgreSQL only (these races need real row locks and several processes)."""
    if backend != "postgresql":
        pytest.skip("races across processes: PostgreSQL")
    return rt


def _calls(url: str, n: int, go) -> int:
    """A process of its own: n chat calls through a connection made from the shared database."""
    from core import runtime
    from core.ai import client

    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            conn = providers.connection(s, provider_id="openai")
        # one call before the race: the process's HTTP client is built then, not between a start and its request
        client.chat(conn, model="gpt-4o-mini", messages=[{"role": "user", "content": "warm up"}], max_tokens=20,
                    temperature=0.2)
        go()
        for _ in range(n):
            client.chat(conn, model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=20,
                        temperature=0.2)
        return n
    finally:
        rt.engine.dispose()


def test_provider_concurrency_holds_across_processes(prt, fake):
    rt = prt
    fake.reset()
    configure(rt, fake, openai_config={"max_concurrency": 2, "timeout_s": 10.0})
    for _ in range(15):
        fake.reply_json({"ok": 1}, delay=0.4)
    url = rt.engine.url.render_as_string(hide_password=False)
    assert run_together(_calls, [(url, 4)] * 3, timeout=120) == [4, 4, 4]
    assert fake.max_in_flight == 2  # three processes together, never more than the provider's limit


def test_provider_rate_holds_across_processes(prt, fake):
    rt = prt
    fake.reset()
    configure(rt, fake, openai_config={"max_concurrency": 8, "rpm": 3, "rate_window_s": 1.0, "timeout_s": 10.0})
    for _ in range(12):
        fake.reply_json({"ok": 1})
    url = rt.engine.url.render_as_string(hide_password=False)
    assert run_together(_calls, [(url, 3)] * 3, timeout=120) == [3, 3, 3]
    starts = sorted(r.started for r in fake.requests if r.path.endswith("/chat/completions")
                    and r.json["messages"][-1]["content"] == "hi")
    assert len(starts) == 9
    # at most 3 starts in any 1-second window (a little slack for the clocks of the server and the database)
    gaps = [round(b - a, 3) for a, b in zip(starts, starts[3:], strict=False)]
    assert all(g >= 0.9 for g in gaps), (gaps, [round(x - starts[0], 3) for x in starts])


def _start_due(url: str, go) -> int:
    from core import runtime
    from core.automation import jobs

    rt = runtime.start(url=url, prepare=False)
    try:
        go()
        return len(jobs.start_due(rt))
    finally:
        rt.engine.dispose()


def test_three_schedulers_start_one_run_per_due_site(prt, pipeline):
    rt = prt
    worlds = [make_world(rt, keywords=0) for _ in range(5)]
    for w in worlds:
        add_tasks(rt, w, 1)
        set_config(rt, w, is_enabled=True, stage_5_batch_size=1)
        with rt.transaction() as s:
            from core.automation import config
            config.update(s, w.actor, site_id=w.site_id, changes={"is_enabled": True},
                          now=datetime.now(UTC) - timedelta(days=1))
    url = rt.engine.url.render_as_string(hide_password=False)
    started = run_together(_start_due, [(url,)] * 3, timeout=120)
    assert sum(started) == 5
    with rt.transaction() as s:
        per_site = dict(s.execute(select(AutomationRun.site_id, func.count()).where(
            AutomationRun.site_id.in_([w.site_id for w in worlds])).group_by(AutomationRun.site_id)).all())
    assert per_site == {w.site_id: 1 for w in worlds}


def _claim(url: str, owner: str, go) -> int | None:
    from core import runtime
    from core.automation import worker

    rt = runtime.start(url=url, prepare=False)
    try:
        go()
        return worker.claim_next(rt, owner=owner)
    finally:
        rt.engine.dispose()


def test_a_pending_run_is_claimed_by_one_scheduler(prt, pipeline):
    rt = prt
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 1)
    set_config(rt, w, stage_5_batch_size=1)
    with rt.transaction() as s:
        from core.automation import runs
        run_id = runs.start(s, w.actor, site_id=w.site_id).id
    url = rt.engine.url.render_as_string(hide_password=False)
    got = run_together(_claim, [(url, f"sched-{n}") for n in range(4)], timeout=120)
    assert sorted(got, key=lambda v: v or 0) == [None, None, None, run_id]
