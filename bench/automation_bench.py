"""Automation runs (core.automation), worked in-process by core.automation.jobs.tick as the scheduler does:

1. run — one run writing --articles articles with their images against the loopback OpenAI-compatible server
   (tests/fakes: FakeAI and the Pipeline responder), where every call, chat or image, takes --delay s and the
   providers' max_concurrency is --concurrency. Stages 1–3 have nothing to do; stage 4 writes the articles, stage 5
   plans their image prompts, stage 6 makes the images, stage 7 approves, stage 8 skips (auto-publish off). The
   ideal follows what the engine allows: ceil(calls / concurrency) × delay for a stage the worker runs
   concurrently (core.automation.stages.CONCURRENT; an article's images are made in parallel too, within the
   provider's limit), calls × delay for a sequential one. Printed: wall time, ideal and ratio (target ≤ 1.3), per
   stage and in all, and the credits;
2. claim — --runs automation_run rows across many sites (mostly completed or failed, some paused, a few held by a
   live worker, a few pending): core.automation.worker.claim_next of the oldest due run (released between
   repetitions), and of nothing (an idle scheduler's poll); core.automation.jobs.start_due among as many
   automation_config rows, a handful of them due, and with none due; an idle jobs.tick. Median and p95 in ms;
3. control — how fast pause, resume and cancel take effect on a running run (bench/automation_control.py);
4. crash — three scheduler.py processes on PostgreSQL, one killed with SIGKILL mid-run: every item once, the ledger,
   the WordPress posts (bench/automation_control.py; skipped on SQLite and without WP_URL/WP_USER/WP_APP_PASSWORD).

    python3 dev.py bench automation [--articles 50] [--concurrency 5] [--delay 1.0] [--runs 10000] [--repeat 50]
                                    [--control-tasks 20] [--sites 10] [--schedulers 3]
                                    [--parts run,control,crash,claim] [--url postgresql+psycopg://…]

Every provider call of parts 1, 3 and 4 takes --delay s (one fake AI server, started here). Default database: a fresh
SQLite file in a temporary directory; --url names a PostgreSQL server, on which a scratch database is made and
dropped. The benchmark prints figures; it asserts nothing about them.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("IGNY8_SECRET_KEY", secrets.token_urlsafe(32))  # provider keys are encrypted at rest

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bench.automation_control import GRANT, bench_control, bench_crash, point_providers, site_with_tasks  # noqa: E402
from core import config as app_config  # noqa: E402
from core import runtime, tenancy  # noqa: E402
from core.automation import config, jobs, runs, stages, worker  # noqa: E402
from core.billing import credits  # noqa: E402
from core.common import claim  # noqa: E402
from core.identity import accounts  # noqa: E402
from db import scratch  # noqa: E402
from db.enums import AccountStatus, ImageStatus, RunStatus, RunTrigger  # noqa: E402
from db.models import (  # noqa: E402
    Account,
    AutomationConfig,
    AutomationRun,
    AutomationRunItem,
    Content,
    Images,
    Sector,
    Site,
)
from tests.ai.helpers import API_KEY  # noqa: E402
from tests.fakes.openai_server import FakeAI  # noqa: E402
from tests.fakes.pipeline_ai import Pipeline  # noqa: E402

TARGET = 1.3
REASONS = runs.REASONS
AI_STAGES = (4, 5, 6)


# --- 1. one run of articles with images ---------------------------------------------------------------------------

def _run_world(rt, fake: FakeAI, *, articles: int, concurrency: int, delay: float) -> tuple[tenancy.Actor, int]:
    """Both providers at the fake, an account with plenty of credits, a site and sector with `articles` queued
    tasks (and nothing for stages 1–3), and the site's automation settings; the owner and the site."""
    point_providers(rt, fake, concurrency=concurrency, delay=delay)
    w = site_with_tasks(rt, tasks=articles, title="Bench article", changes={
        **{f"stage_{n}_batch_size": articles for n in (4, 5, 6, 7, 8)}, "auto_approve": "on", "auto_publish": "off",
        "credit_budget": GRANT})
    return w.owner, w.site_id


def _spans(requests) -> tuple[float, int]:
    """The provider's busy span (first start to last answer, s) and the most requests it saw at once."""
    if not requests:
        return 0.0, 0
    events = sorted([(r.started, 1) for r in requests] + [(r.finished, -1) for r in requests])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return max(r.finished for r in requests) - min(r.started for r in requests), most


def _wall(entry: dict) -> float:
    try:
        return (datetime.fromisoformat(entry["finished_at"]) - datetime.fromisoformat(entry["started_at"])
                ).total_seconds()
    except (KeyError, TypeError, ValueError):
        return float("nan")


def bench_run(rt, fake: FakeAI, *, articles: int, concurrency: int, delay: float) -> None:
    fake.reset()
    fake.default_delay = delay  # image (and Runware) answers
    fake.chat_responder = pipeline = Pipeline(delay=delay)
    owner, site_id = _run_world(rt, fake, articles=articles, concurrency=concurrency, delay=delay)
    with rt.transaction() as s:
        run = runs.start(s, owner, site_id=site_id)
        run_pk, run_key, forecast = run.id, run.run_id, run.forecast_credits
        reserved = credits.held(s, owner, reservation_id=run.reservation_id) if run.reservation_id else 0
    with rt.transaction() as s:
        balance_before = s.scalar(select(Account.credits).where(Account.id == owner.account_id))
    fake.requests.clear()
    began = time.perf_counter()
    outcomes = jobs.tick(rt, owner=f"bench-automation-{uuid.uuid4().hex[:6]}", stopping=threading.Event())
    elapsed = time.perf_counter() - began
    chat = fake.posts("/chat/completions")
    pictures = fake.posts("/images/generations") + fake.posts("/runware")
    by_kind = {"article": [], "image_prompts": []}
    for r in chat:
        kind = pipeline.kind(r.json["messages"][-1]["content"]) if isinstance(r.json, dict) else "other"
        by_kind.setdefault(kind, []).append(r)
    stage_calls = {4: by_kind["article"], 5: by_kind["image_prompts"], 6: pictures}
    most_at_once = fake.max_in_flight
    with rt.transaction() as s:
        run = s.get(AutomationRun, run_pk)
        results = dict(run.stage_results or {})
        used, status, message = run.total_credits_used, run.status.value, run.error_message
        balance_after = s.scalar(select(Account.credits).where(Account.id == owner.account_id))
        made = s.scalar(select(func.count()).select_from(Images).where(Images.site_id == site_id,
                                                                        Images.status == ImageStatus.generated))
        written = s.scalar(select(func.count()).select_from(Content).where(Content.site_id == site_id))
        failed = s.scalar(select(func.count()).select_from(AutomationRunItem).where(
            AutomationRunItem.run_id == run_pk, AutomationRunItem.status == "failed"))
        worker_width = worker._concurrency(s)
    print(f"run: {articles} articles with images, every provider call {delay:g} s, max_concurrency {concurrency} "
          f"({rt.engine.dialect.name}); run {run_key} {status} ({', '.join(outcomes)}){': ' + message if message else ''}")
    print(f"  {written} articles, {made} images generated, {failed} failed items; provider calls: "
          f"{len(by_kind['article'])} article, {len(by_kind['image_prompts'])} image-prompt, {len(pictures)} image, "
          f"{sum(len(v) for k, v in by_kind.items() if k not in ('article', 'image_prompts'))} other; at most "
          f"{most_at_once} at once")
    ideal_total = 0.0
    far: list[str] = []
    print("  stage                        items  calls  mode          wall s   ideal s  ratio  items' time s  "
          "provider busy s (most at once)")
    for stage in range(1, 9):
        entry = results.get(str(stage)) or {}
        wall = _wall(entry)
        calls = stage_calls.get(stage, [])
        concurrent = stage in stages.CONCURRENT and worker_width > 1
        width = min(worker_width, concurrency) if stage == 4 else concurrency
        if stage in AI_STAGES:
            ideal = (math.ceil(len(calls) / width) if concurrent else len(calls)) * delay
            mode = f"{width} at once" if concurrent else "sequential"
        else:
            ideal, mode = 0.0, "no AI"
        ideal_total += ideal
        busy, most = _spans(calls)
        ratio = wall / ideal if ideal else float("nan")
        items = entry.get("done", 0) + entry.get("skipped", 0) + entry.get("failed", 0)
        print(f"  {stage} {config.STAGES[stage]:<27}{items:>6}{len(calls):>7}  {mode:<12}{wall:>8.2f}"
              f"{ideal:>10.2f}{ratio:>7.2f}{entry.get('time_ms', 0) / 1000:>15.2f}"
              + (f"{busy:>11.2f} ({most})" if calls else ""))
        if ideal and ratio > TARGET:
            far.append(f"stage {stage} took {wall:.1f} s against an ideal of {ideal:.1f} s (ratio {ratio:.2f}); the "
                       f"provider was busy {busy:.1f} s of it with at most {most} calls at once")
        elif not ideal and wall > 2.0:
            far.append(f"stage {stage} ({config.STAGES[stage]}) makes no AI call but took {wall:.1f} s")
    ratio = elapsed / ideal_total
    print(f"  total: elapsed {elapsed:.2f} s (the whole tick), ideal {ideal_total:.2f} s, ratio {ratio:.3f} "
          f"(target ≤ {TARGET}: {'met' if ratio <= TARGET else 'MISSED'})")
    sequential = [st for st in AI_STAGES if st not in stages.CONCURRENT]
    if sequential:
        would = sum(math.ceil(len(stage_calls[st]) / concurrency) * delay for st in sequential)
        now_ = sum(len(stage_calls[st]) * delay for st in sequential)
        print(f"  note: stage(s) {', '.join(map(str, sequential))} run one item at a time in the engine "
              f"(core.automation.stages.CONCURRENT = {sorted(stages.CONCURRENT)}): {now_:.0f} s of the ideal; run "
              f"{concurrency} at a time they would take about {would:.0f} s (total ideal "
              f"{ideal_total - now_ + would:.0f} s) — a change in core")
    for line in far:
        print(f"  FAR FROM IDEAL: {line}")
    print(f"  credits: forecast {forecast:,} (reserved {reserved:,}), used {used:,} "
          f"({used / max(written, 1):,.0f} an article with its images); balance {balance_before:,} → "
          f"{balance_after:,} (charged {balance_before - balance_after:,})", flush=True)


# --- 2. the scheduler's claim among many runs ---------------------------------------------------------------------

def _ms(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms ({len(ms)} times)"


def _many_world(rt, *, n: int, due: int) -> tuple[list[int], list[int]]:
    """n sites in 10 accounts, n runs (finished mostly) and n automation configs; the ids of the pending runs
    and of the due configs."""
    rng = random.Random(8)
    now = datetime.now(UTC)
    marker = uuid.uuid4().hex[:8]
    with rt.transaction() as s:
        account_ids = [accounts.create_account_record(s, name=f"Claim bench {marker} {k}", slug=f"cb-{marker}-{k}",
                                                      plan_slug="agency", status=AccountStatus.active).id
                       for k in range(10)]
        s.execute(insert(Site), [{"account_id": account_ids[i % 10], "name": f"Site {i}", "slug": f"site-{marker}-{i}",
                                  "created_at": now - timedelta(days=400), "updated_at": now} for i in range(n)])
        sites = list(s.execute(select(Site.id, Site.account_id).where(Site.account_id.in_(account_ids))
                               .order_by(Site.id)))
        pending, held, paused = 5, 20, max(n // 40, 1)  # one active run per site: these on sites of their own
        rows = []
        for k in range(n):
            site_id, account_id = sites[k] if k < pending + held + paused else sites[rng.randrange(len(sites))]
            created = now - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
            row = {"account_id": account_id, "site_id": site_id, "run_id": f"run-{marker}-{k}",
                   "trigger_type": RunTrigger.scheduled if k % 3 else RunTrigger.manual, "current_stage": 9,
                   "created_at": created, "updated_at": created, "started_at": created, "stage_results": {},
                   "settings_json": {"max_run_minutes": 240}, "forecast_json": {}, "items_total": 12,
                   "items_processed": 12, "total_credits_used": 40, "budget_credits": 500, "error_message": ""}
            if k < pending:
                row.update(status=RunStatus.pending, current_stage=1, started_at=None, items_processed=0,
                           total_credits_used=0, created_at=now - timedelta(minutes=pending - k))
            elif k < pending + held:  # worked by a live scheduler: not claimable
                row.update(status=RunStatus.running, current_stage=4, claimed_by="another-scheduler",
                           lease_until=now + timedelta(hours=2), heartbeat_at=now)
            elif k < pending + held + paused:
                row.update(status=RunStatus.paused, current_stage=rng.randrange(1, 9), paused_at=created)
            elif (roll := rng.random()) < 0.86:
                row.update(status=RunStatus.completed, completed_at=created + timedelta(minutes=20))
            elif roll > 0.98:
                row.update(status=RunStatus.cancelled, completed_at=created + timedelta(minutes=2),
                           cancelled_at=created + timedelta(minutes=2), stop_reason="cancelled")
            else:
                row.update(status=RunStatus.failed, completed_at=created + timedelta(minutes=5), stop_reason="error",
                           error_message="Stopped on an error.")
            rows.append(row)
        s.execute(insert(AutomationRun), rows)
        pending_ids = list(s.scalars(select(AutomationRun.id).where(AutomationRun.run_id.like(f"run-{marker}-%"),
                                                                    AutomationRun.status == RunStatus.pending).order_by(AutomationRun.id)))
        # configs: one per site; most enabled and due later today, some off, `due` of them due now
        due_sites = {site_id for site_id, _ in sites[-due:]}
        configs = []
        for k, (site_id, account_id) in enumerate(sites):
            row = {"account_id": account_id, "site_id": site_id, "is_enabled": k % 5 != 0,
                   "next_run_at": now + timedelta(minutes=rng.randrange(10, 24 * 60)) if k % 5 else None,
                   "within_stage_delay": 0, "between_stage_delay": 0, "created_at": now, "updated_at": now}
            if site_id in due_sites:
                row.update(is_enabled=True, next_run_at=now - timedelta(minutes=1 + k % 7))
            configs.append(row)
        s.execute(insert(AutomationConfig), configs)
        s.add_all([Sector(account_id=account_id, site_id=site_id, name="Bench", slug="bench")
                   for site_id, account_id in sites if site_id in due_sites])  # a start forecasts on sample rows
        due_ids = list(s.scalars(select(AutomationConfig.id).where(AutomationConfig.site_id.in_(due_sites))))
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as conn:
            conn.execute(text("ANALYZE automation_run"))
            conn.execute(text("ANALYZE automation_config"))
            conn.commit()
    return pending_ids, due_ids


def bench_claim(rt, *, n: int, repeat: int, due: int = 5) -> None:
    began = time.perf_counter()
    pending_ids, due_ids = _many_world(rt, n=n, due=due)
    with rt.transaction() as s:
        counts = dict(s.execute(select(AutomationRun.status, func.count()).group_by(AutomationRun.status)).all())
        config_rows = s.scalar(select(func.count()).select_from(AutomationConfig))
    mix = ", ".join(f"{getattr(k, 'value', k)} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"claim: {sum(counts.values()):,} automation runs ({mix}), {config_rows:,} automation configs "
          f"({rt.engine.dialect.name}; made in {time.perf_counter() - began:.1f} s)")
    owner = "bench-claim"
    times, claimed = [], set()
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_id = worker.claim_next(rt, owner=owner)
        times.append(time.perf_counter() - t0)
        if run_id is None:
            print("  claim_next found no run to claim: the figures below are of nothing")
            break
        claimed.add(run_id)
        with rt.transaction() as s:  # give it back as it was
            claim.release(s, AutomationRun, ids=[run_id], owner=owner,
                          values={"status": RunStatus.pending, "started_at": None, "deadline_at": None,
                                  "heartbeat_at": None})
    which = "the oldest pending run each time" if claimed == set(pending_ids[:1]) else f"runs {sorted(claimed)}"
    print(f"  worker.claim_next of a due run ({which}, released between repetitions): {_ms(times)}")
    with rt.transaction() as s:  # park the pending runs: what an idle scheduler polls
        s.execute(update(AutomationRun).where(AutomationRun.id.in_(pending_ids)).values(status=RunStatus.paused))
    idle = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = worker.claim_next(rt, owner=owner)
        idle.append(time.perf_counter() - t0)
        assert got is None, got
    print(f"  worker.claim_next with nothing to claim (an idle poll): {_ms(idle)}")
    t_due, made = [], []
    for k in range(max(repeat // 2, 1)):
        if k:
            with rt.transaction() as s:  # make the handful due again
                s.execute(update(AutomationConfig).where(AutomationConfig.id.in_(due_ids))
                          .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1)))
        t0 = time.perf_counter()
        made += jobs.start_due(rt)
        t_due.append(time.perf_counter() - t0)
    with rt.transaction() as s:
        kinds = s.execute(select(AutomationRun.status, AutomationRun.stop_reason, func.count())
                          .where(AutomationRun.id.in_(made))
                          .group_by(AutomationRun.status, AutomationRun.stop_reason)).all()
    outcome = ", ".join(f"{n} {st.value}{f' ({REASONS.get(why, why)})' if why else ''}" for st, why, n in kinds)
    print(f"  jobs.start_due with {len(due_ids)} of the {config_rows:,} configs due (each start: forecast on sample "
          f"rows, the run recorded; {len(made)} runs started in {len(t_due)} repetitions: "
          f"{outcome}): {_ms(t_due)}, "
          f"{statistics.median(t_due) * 1000 / max(len(due_ids), 1):.1f} ms a start")
    idle, extra = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        extra += len(jobs.start_due(rt))
        idle.append(time.perf_counter() - t0)
    print(f"  jobs.start_due with none due: {_ms(idle)}{f' (it started {extra} runs!)' if extra else ''}")
    idle = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = jobs.tick(rt, owner=owner, stopping=threading.Event())
        idle.append(time.perf_counter() - t0)
        assert out == [], out
    print(f"  jobs.tick with nothing due or claimable (beat, start_due, claim_next): {_ms(idle)}", flush=True)


# --- entry point --------------------------------------------------------------------------------------------------

PARTS = ("run", "control", "crash", "claim")  # claim last: its many pending and due rows stay behind


def _bench(url: str, args, tmp: str) -> None:
    rt = runtime.start(url=url)
    parts = [p.strip() for p in args.parts.split(",")]
    try:
        with FakeAI(api_key=API_KEY) as fake:
            if "run" in parts:
                bench_run(rt, fake, articles=args.articles, concurrency=args.concurrency, delay=args.delay)
            if "control" in parts:
                bench_control(rt, fake, tasks=args.control_tasks, concurrency=args.concurrency, delay=args.delay)
            if "crash" in parts:
                bench_crash(rt, fake, logs=Path(tmp), sites=args.sites, articles=3, schedulers=args.schedulers,
                            concurrency=args.concurrency, delay=args.delay)
        if "claim" in parts:
            bench_claim(rt, n=args.runs, repeat=args.repeat)
    finally:
        rt.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench automation", description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=5, help="the providers' max_concurrency")
    ap.add_argument("--delay", type=float, default=1.0, help="seconds every provider call takes")
    ap.add_argument("--runs", type=int, default=10_000, help="automation runs (and configs) in the claim part")
    ap.add_argument("--repeat", type=int, default=50, help="repetitions of each timed call in the claim part")
    ap.add_argument("--control-tasks", type=int, default=20, help="queued tasks of the control part's run")
    ap.add_argument("--sites", type=int, default=10, help="sites (3 articles each) in the crash part")
    ap.add_argument("--schedulers", type=int, default=3, help="scheduler processes in the crash part")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"which parts, comma-separated ({', '.join(PARTS)})")
    ap.add_argument("--url", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    args = ap.parse_args(argv)
    if unknown := set(p.strip() for p in args.parts.split(",")) - set(PARTS):
        ap.error(f"unknown part(s) {', '.join(sorted(unknown))}: the parts are {', '.join(PARTS)}")
    before = os.environ.get("IGNY8_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="igny8_automation_bench_") as tmp:
        os.environ["IGNY8_DATA_DIR"] = tmp  # the generated images are written here
        app_config.settings.cache_clear()
        try:
            _main(args, tmp)
        finally:
            if before is None:
                os.environ.pop("IGNY8_DATA_DIR", None)
            else:
                os.environ["IGNY8_DATA_DIR"] = before
            app_config.settings.cache_clear()


def _main(args, tmp: str) -> None:
    if args.url:
        url = scratch.create_database(args.url, "igny8_automation_bench")
        try:
            _bench(url, args, tmp)
        finally:
            scratch.drop_database(args.url, url)
    else:
        _bench(f"sqlite:///{tmp}/bench.sqlite3", args, tmp)


if __name__ == "__main__":
    main(sys.argv[1:])
