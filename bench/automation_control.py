"""Parts 3 and 4 of `bench automation` (bench/automation_bench.py), and the set-up its parts share:

3. control — a run of --control-tasks queued tasks (stage 4 takes them all, stages 5 and 6 one each, no delays,
   auto-approve and auto-publish off), every provider call --delay s at max_concurrency --concurrency, worked by
   core.automation.jobs.tick in a background thread as a scheduler does. Once a few items are done: runs.pause, and
   the seconds until the worker returned with the run released; runs.resume, and the seconds until a new tick claimed
   it (a scheduler's poll, IGNY8_AUTOMATION_POLL_SECONDS, comes on top of that in production); runs.cancel, and the
   seconds until the worker returned and the run's reservation was released. Each against the 5 s target, with the
   items that finished after the command (the items in hand);
4. crash (PostgreSQL only) — three scheduler.py processes work the runs of --sites sites (3 articles each,
   auto-approve and auto-publish on, every site connected to the loopback WordPress: WP_URL, WP_USER,
   WP_APP_PASSWORD); once a few articles are done one holding a run is killed with SIGKILL and another started. The
   scenario of tests/automation/test_crash.py, with its figures printed: runs completed, items per stage, articles,
   credits used against charged, ledger against balance, credits still reserved, WordPress posts and duplicates, the
   wall time. The schedulers reach the bench's fake AI server over loopback through the provider rows.

Figures only: nothing here asserts a timing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from core import tenancy
from core.ai import providers
from core.automation import config, jobs, runs
from core.billing import credits
from core.identity import accounts
from core.publishing import connection
from db.enums import AccountStatus, TaskStatus
from db.models import (
    Account,
    AutomationRun,
    AutomationRunItem,
    Clusters,
    Content,
    CreditReservation,
    CreditTransaction,
    Sector,
    Site,
    Tasks,
)
from tests.ai.helpers import API_KEY
from tests.fakes.openai_server import FakeAI
from tests.fakes.pipeline_ai import Pipeline
from tests.fakes.wordpress import WP, Admin

ROOT = Path(__file__).resolve().parent.parent
GRANT = 10_000_000
TARGET_S = 5.0  # a control command takes effect within this
QUICK = {"within_stage_delay": 0, "between_stage_delay": 0}


# --- shared set-up ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    owner: tenancy.Actor
    account_id: int
    site_id: int


def point_providers(rt, fake: FakeAI, *, concurrency: int, delay: float) -> None:
    """Both providers at the fake server, `concurrency` calls at once, one attempt (global rows)."""
    op = tenancy.operator_actor()
    limits = {"max_concurrency": concurrency, "rpm": 100_000, "max_attempts": 1, "timeout_s": delay + 30}
    with rt.transaction() as s:
        providers.update_provider(s, op, provider_id="openai", api_endpoint=fake.url, api_key=API_KEY,
                                  config=limits, is_active=True)
        providers.update_provider(s, op, provider_id="runware", api_endpoint=fake.runware_url, api_key=API_KEY,
                                  config=limits, is_active=True)


def site_with_tasks(rt, *, tasks: int, title: str, changes: dict, grant: int = GRANT, wp: WP | None = None) -> World:
    """An account with `grant` credits, a site and sector with `tasks` queued tasks (nothing for stages 1–3: their
    cluster has no keywords), its automation settings, and its WordPress connection when `wp` is given."""
    marker = uuid.uuid4().hex[:8]
    with rt.transaction() as s:
        acct = accounts.create_account_record(s, name=f"Automation bench {marker}", slug=f"ab-{marker}",
                                              plan_slug="agency", status=AccountStatus.active)
        site = Site(account_id=acct.id, name=f"Bench site {marker}", slug=f"bench-{marker}")
        s.add(site)
        s.flush()
        sector = Sector(account_id=acct.id, site_id=site.id, name="Bench", slug="bench")
        s.add(sector)
        s.flush()
        base = {"account_id": acct.id, "site_id": site.id, "sector_id": sector.id}
        cluster = Clusters(**base, name="Bench")
        s.add(cluster)
        s.flush()
        s.add_all([Tasks(**base, title=f"{title} {i}", description="A benchmark article", cluster_id=cluster.id,
                         keywords=f"bench keyword {i}", word_count=300, status=TaskStatus.queued)
                   for i in range(tasks)])
        owner = tenancy.operator_actor(acct.id)
        credits.grant(s, owner, amount=grant, kind="purchase", reason="bench")
        if wp is not None:
            connection.set_wordpress(s, owner, site_id=site.id, url=wp.url, username=wp.user,
                                     app_password=wp.password)
        world = World(owner, acct.id, site.id)
    with rt.transaction() as s:
        config.update(s, world.owner, site_id=world.site_id, changes={**QUICK, **changes})
    return world


def _until(pred, timeout: float, poll: float = 0.02) -> float | None:
    """Seconds until `pred()` held (polled), or None when it did not within `timeout`."""
    began = time.perf_counter()
    while not pred():
        if time.perf_counter() - began > timeout:
            return None
        time.sleep(poll)
    return time.perf_counter() - began


def _items(rt, run_ids: list[int], stage: int | None = None) -> int:
    """Items of the runs recorded (done, skipped or failed), of one stage or all."""
    where = [AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.status != "pending"]
    if stage is not None:
        where.append(AutomationRunItem.stage == stage)
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(AutomationRunItem).where(*where)) or 0


def _ledger(s, account_ids: list[int], run_ids: list[int]) -> tuple[int, int, int, int, int]:
    """Credits the runs used, charged in the ledger, accounts whose ledger equals their balance, credits still
    held by reservations and in the accounts' credits_reserved."""
    used = s.scalar(select(func.coalesce(func.sum(AutomationRun.total_credits_used), 0))
                    .where(AutomationRun.id.in_(run_ids)))
    charged = -s.scalar(select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
        CreditTransaction.account_id.in_(account_ids), CreditTransaction.amount < 0))
    equal = sum(credits.ledger_sum(s, account_id=a) == s.get(Account, a).credits for a in account_ids)
    held = s.scalar(select(func.coalesce(func.sum(CreditReservation.held), 0))
                    .where(CreditReservation.account_id.in_(account_ids)))
    reserved = s.scalar(select(func.coalesce(func.sum(Account.credits_reserved), 0))
                        .where(Account.id.in_(account_ids)))
    return used, charged, equal, held, reserved


# --- 3. control: pause, resume, cancel ------------------------------------------------------------------------------

class _Tick(threading.Thread):
    """jobs.tick in the background, as a scheduler's automation job."""

    def __init__(self, rt, owner: str):
        super().__init__(name=owner, daemon=True)
        self.rt, self.owner, self.outcomes, self.error = rt, owner, [], None
        self.start()

    def run(self) -> None:
        try:
            self.outcomes = jobs.tick(self.rt, owner=self.owner, stopping=threading.Event())
        except Exception as exc:  # reported with the figures
            self.error = exc


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "did not happen within 60 s — MISSED"
    return f"{seconds:.3f} s (target ≤ {TARGET_S:g} s: {'met' if seconds <= TARGET_S else 'MISSED'})"


def bench_control(rt, fake: FakeAI, *, tasks: int, concurrency: int, delay: float) -> None:
    fake.reset()
    fake.default_delay = delay
    fake.chat_responder = Pipeline(delay=delay)
    point_providers(rt, fake, concurrency=concurrency, delay=delay)
    w = site_with_tasks(rt, tasks=tasks, title="Control article", changes={
        "stage_4_batch_size": tasks, "stage_5_batch_size": 1, "stage_6_batch_size": 1, "auto_approve": "off",
        "auto_publish": "off", "credit_budget": GRANT})
    with rt.transaction() as s:
        run_pk = runs.start(s, w.owner, site_id=w.site_id).id

    def run_row() -> AutomationRun:
        with rt.transaction() as s:
            row = s.get(AutomationRun, run_pk)
            s.expunge(row)
            return row

    def released() -> bool:
        with rt.transaction() as s:
            hold = s.scalar(select(CreditReservation.held).join(
                AutomationRun, AutomationRun.reservation_id == CreditReservation.id).where(AutomationRun.id == run_pk))
            return hold == 0 and s.scalar(select(Account.credits_reserved).where(Account.id == w.account_id)) == 0

    print(f"control: a run of {tasks} tasks (stage 4 batch {tasks}, stages 5/6 batch 1), every provider call "
          f"{delay:g} s, max_concurrency {concurrency}, worked by jobs.tick in a thread ({rt.engine.dialect.name})")
    first = _Tick(rt, f"bench-control-{uuid.uuid4().hex[:6]}")
    _until(lambda: _items(rt, [run_pk]) >= 3, 120)

    before, in_flight = _items(rt, [run_pk]), fake.in_flight  # pause
    t0 = time.perf_counter()
    with rt.transaction() as s:
        runs.pause(s, w.owner, run_id=run_pk)
    command_ms = (time.perf_counter() - t0) * 1000
    took = _until(lambda: not first.is_alive() and run_row().claimed_by is None, 60, poll=0.01)
    row, after = run_row(), _items(rt, [run_pk])
    print(f"  pause took effect in {_fmt(took)}: the worker returned {first.outcomes or first.error}, run "
          f"{row.status.value}, claimed_by {row.claimed_by}; {before} items were done at the command, "
          f"{after - before} finished after it (the items in hand; {in_flight} provider calls were in flight); "
          f"the command's transaction {command_ms:.0f} ms")

    with rt.transaction() as s:  # resume
        runs.resume(s, w.owner, run_id=run_pk)
    second = _Tick(rt, f"bench-control-{uuid.uuid4().hex[:6]}")
    took = _until(lambda: run_row().claimed_by is not None, 60, poll=0.01)
    print(f"  resume took effect in {_fmt(took)}: a new tick claimed it (status {run_row().status.value}) — measured "
          f"from the resume's commit with the tick started at once; in production the scheduler's poll "
          f"(IGNY8_AUTOMATION_POLL_SECONDS, default 5 s) comes on top: up to 5 s more")

    _until(lambda: _items(rt, [run_pk]) >= after + 3, 120)  # cancel, with the run working again
    before, in_flight = _items(rt, [run_pk]), fake.in_flight
    with rt.transaction() as s:
        runs.cancel(s, w.owner, run_id=run_pk)
    took = _until(lambda: not second.is_alive() and released(), 60, poll=0.01)
    row, after = run_row(), _items(rt, [run_pk])
    with rt.transaction() as s:
        used, charged, equal, held, reserved = _ledger(s, [w.account_id], [run_pk])
    print(f"  cancel took effect in {_fmt(took)}: the worker returned {second.outcomes or second.error}, run "
          f"{row.status.value}, reservation held {held}, account credits_reserved {reserved}; {before} items were done "
          f"at the command, {after - before} finished after it ({in_flight} provider calls were in flight)")
    unwritten = tasks - _items(rt, [run_pk], 4)
    print(f"  after: {after} of the run's items recorded, tasks not written: {unwritten}; credits used {used:,}, "
          f"charged {charged:,} ({'equal' if used == charged else 'DIFFERENT'}); ledger "
          f"{'equals' if equal == 1 else 'DIFFERS FROM'} the balance", flush=True)


# --- 4. crash: three scheduler processes, one killed --------------------------------------------------------------

def _wordpress() -> WP | None:
    url, user, password = (os.environ.get(k, "") for k in ("WP_URL", "WP_USER", "WP_APP_PASSWORD"))
    return WP(url.rstrip("/"), user, password) if url and user and password else None


def _scheduler(env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def bench_crash(rt, fake: FakeAI, *, logs: Path, sites: int, articles: int, schedulers: int, concurrency: int,
                delay: float) -> None:
    if rt.engine.dialect.name != "postgresql":
        print("crash: skipped — several scheduler processes share the database: PostgreSQL only (--url)")
        return
    wp = _wordpress()
    if wp is None:
        print("crash: skipped — WP_URL, WP_USER and WP_APP_PASSWORD are not set (eval \"$(../shared/tools/"
              "wordpress-up.sh)\" first)")
        return
    fake.reset()
    fake.default_delay = delay
    fake.chat_responder = pipeline = Pipeline(delay=delay)
    point_providers(rt, fake, concurrency=concurrency, delay=delay)
    marker = "c" + uuid.uuid4().hex[:8]
    worlds = [site_with_tasks(rt, tasks=articles, title=f"Crash {marker} site {n} guide", grant=5000, wp=wp,
                              changes={"stage_4_batch_size": articles, "stage_5_batch_size": articles,
                                       "stage_6_batch_size": articles, "auto_approve": "on", "auto_publish": "on",
                                       "credit_budget": 5000})
              for n in range(sites)]
    with rt.transaction() as s:
        run_ids = [runs.start(s, w.owner, site_id=w.site_id).id for w in worlds]
    account_ids = [w.account_id for w in worlds]
    expected = sites * articles
    env = {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
           "IGNY8_AUTOMATION_POLL_SECONDS": "1", "IGNY8_AUTOMATION_LEASE_SECONDS": "10",
           "IGNY8_PUBLISH_POLL_SECONDS": "3600"}
    print(f"crash: {schedulers} scheduler.py processes, {sites} sites × {articles} articles (stages 4/5/6 batch "
          f"{articles}, auto-approve and auto-publish on, WordPress {wp.url}), every provider call {delay:g} s, "
          f"max_concurrency {concurrency}, lease 10 s, poll 1 s")

    def holders() -> dict[int, str]:
        with rt.transaction() as s:
            return dict(s.execute(select(AutomationRun.id, AutomationRun.claimed_by).where(
                AutomationRun.id.in_(run_ids), AutomationRun.claimed_by.is_not(None))).all())

    def active() -> int:
        with rt.transaction() as s:
            return s.scalar(select(func.count()).select_from(AutomationRun).where(
                AutomationRun.id.in_(run_ids), AutomationRun.status.in_(runs.ACTIVE))) or 0

    began = time.perf_counter()
    procs = [_scheduler(env, logs / f"scheduler-{n}.log") for n in range(schedulers)]
    kill_note, finished = "no scheduler was killed", None
    try:
        _until(lambda: _items(rt, run_ids, 4) >= 3, 300, poll=0.1)
        held = holders()
        by_pid = {int(owner.split(":")[1]): owner for owner in held.values()}
        victim = next((p for p in procs if p.pid in by_pid), None)
        if victim is not None:
            victim_runs = [rid for rid, owner in held.items() if owner == by_pid[victim.pid]]
            articles_then = _items(rt, run_ids, 4)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            killed_at = time.perf_counter()
            procs.append(_scheduler(env, logs / "scheduler-restarted.log"))

            def taken_over() -> bool:
                now = holders()
                with rt.transaction() as s:
                    done = set(s.scalars(select(AutomationRun.id).where(AutomationRun.id.in_(victim_runs),
                                                                        AutomationRun.status.in_(runs.FINISHED))))
                return all(r in done or now.get(r) not in (None, by_pid[victim.pid]) for r in victim_runs)

            took = _until(taken_over, 120, poll=0.1)
            kill_note = (f"scheduler pid {victim.pid} killed (SIGKILL) at {killed_at - began:.1f} s holding "
                         f"{len(victim_runs)} run(s), with {articles_then} of {expected} articles done; a new one "
                         f"started; its runs taken over by another scheduler "
                         + (f"{took:.1f} s after the kill (the lease is 10 s)" if took is not None else
                            "— not within 120 s"))
        took = _until(lambda: active() == 0, 900, poll=0.25)
        finished = None if took is None else time.perf_counter() - began
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    with rt.transaction() as s:
        status = Counter(st.value for st in s.scalars(select(AutomationRun.status)
                                                     .where(AutomationRun.id.in_(run_ids))))
        per_stage = dict(s.execute(select(AutomationRunItem.stage, func.count()).where(
            AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.status == "done")
            .group_by(AutomationRunItem.stage)).all())
        not_done = dict(s.execute(select(AutomationRunItem.status, func.count()).where(
            AutomationRunItem.run_id.in_(run_ids), AutomationRunItem.status != "done")
            .group_by(AutomationRunItem.status)).all())
        written = s.scalar(select(func.count()).select_from(Content).where(Content.account_id.in_(account_ids)))
        slugs = {c.external_metadata.get("wp_slug") for c in s.scalars(
            select(Content).where(Content.account_id.in_(account_ids))) if c.external_metadata}
        used, charged, equal, held_credits, reserved = _ledger(s, account_ids, run_ids)
    posts = Admin(wp).posts(marker)
    twice = sum(p["slug"] not in slugs for p in posts) + len(posts) - len({p["slug"] for p in posts})
    print(f"  {kill_note}")
    ended = f"every run finished in {finished:.1f} s" if finished is not None else "NOT every run finished in 900 s"
    print(f"  wall time: {ended} (first scheduler start to the last run's end)")
    print(f"  runs completed: {status.get('completed', 0)}/{len(run_ids)} ({dict(status)})")
    print("  items done per stage: " + ", ".join(f"{st} {per_stage.get(st, 0)}/{expected}" for st in range(4, 9))
          + f"; items not done: {sum(not_done.values())}" + (f" ({not_done})" if not_done else ""))
    print(f"  articles in the database: {written}/{expected}; provider calls: {pipeline.calls['article']} article "
          f"({pipeline.calls['article'] - expected} redone), {pipeline.calls['image_prompts']} image-prompt, "
          f"{len(fake.posts('/images/generations')) + len(fake.posts('/runware'))} image")
    print(f"  credits: used by the runs {used:,}, charged in the ledger {charged:,} "
          f"({'equal' if used == charged else 'DIFFERENT'}); ledger == balance in {equal}/{len(account_ids)} accounts; "
          f"still reserved {held_credits} (reservations) / {reserved} (accounts)")
    print(f"  WordPress: {len(posts)}/{expected} posts found ({dict(Counter(p['status'] for p in posts))}), "
          f"{twice} duplicates", flush=True)
    if finished is None:
        for log in sorted(logs.glob("scheduler-*.log")):
            print(f"  --- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-15:]))
