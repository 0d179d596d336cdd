"""Operator commands of automation runs. Registered by core.cli (EXTENSIONS).

    python -m core.cli automation --account A --site S [--set name=value …] [--json]
    python -m core.cli run-automation --account A --site S [--forecast] [--wait] [--json]
    python -m core.cli runs --account A [--site S] [--json]
    python -m core.cli run --run ID [--json]                 # one run: its stages and failed items
    python -m core.cli pause-run | resume-run | cancel-run | retry-run --run ID
"""
from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.automation import config, runs, schedulers, worker
from core.cli import main as cli
from core.common import claim
from core.errors import DomainError, NotFound
from core.runtime import Runtime
from core.tenancy import Actor, operator_actor
from db.models import AutomationRun

POLL_S = 1.0


def _site(session: Session, args: argparse.Namespace):
    acct = cli.find_account(session, args.account)
    return operator_actor(acct.id), cli.find_site(session, acct, args.site)


def _settings_lines(view: config.ConfigView) -> list[str]:
    when = f"{view.next_run_local:%Y-%m-%d %H:%M %Z}" if view.next_run_local else "— (automation is off)"
    lines = [f"Automation of “{view.site_name}” (times in {view.timezone}){'' if view.saved else ' — defaults'}:"]
    lines += [f"  {name} = {value}" for name, value in view.settings.as_dict().items()]
    return lines + [f"  next run: {when}"]


def cmd_automation(session: Session, args: argparse.Namespace) -> list[str] | dict:
    actor, site = _site(session, args)
    if args.set:
        changes = cli.assignments(args.set, {n: n for n in config.NAMES})
        view = config.update(session, actor, site_id=site.id, changes=changes)
    else:
        view = config.get(session, actor, site_id=site.id)
    if args.json:
        return {"site_id": view.site_id, "settings": view.settings.as_dict(),
                "next_run_at": view.next_run_at.isoformat() if view.next_run_at else None}
    return _settings_lines(view)


def _forecast_lines(fc: runs.Forecast) -> list[str]:
    lines = [f"  {s.stage} {s.name}: {s.items} item(s), {s.credits:,} credits" for s in fc.stages]
    return lines + [f"Forecast: {fc.credits:,} credits for {fc.items} item(s); the run holds {fc.reserve:,} "
                    f"(budget {fc.budget:,}); {fc.available:,} credits available."]


def _stage_lines(view: runs.RunView, shown: set[str]) -> list[str]:
    out = []
    for key in sorted(view.stage_results, key=int):
        r = view.stage_results[key]
        if key in shown or "finished_at" not in r:
            continue
        shown.add(key)
        out.append(f"  stage {key} {r.get('name', '')}: {r.get('done', 0)} done, {r.get('skipped', 0)} skipped, "
                   f"{r.get('failed', 0)} failed, {r.get('credits', 0):,} credits, {r.get('time_ms', 0) / 1000:.1f} s")
    return out


def _summary(view: runs.RunView) -> str:
    why = f" — {view.reason}" if view.reason else ""
    text = (f"Run {view.run_id} (#{view.id}) {view.status}{why}: {view.items_processed}/{view.items_total} items, "
            f"{view.credits_used:,} credits used of {view.forecast_credits:,} forecast (budget {view.budget:,}).")
    return text + (f" {view.message}" if view.message else "")


def _follow(rt: Runtime, actor: Actor, run_id: int, *, work_here: bool) -> tuple[runs.RunView, list[str]]:
    """Print each stage's results as the run closes them; work it in this process when no scheduler is alive."""
    shown: set[str] = set()
    lines: list[str] = []
    if work_here:
        owner = claim.worker_id()
        if worker.claim_next(rt, owner=owner, run_id=run_id) is not None:
            worker.Worker(rt, run_id, owner=owner, stopping=threading.Event()).run()
    while True:
        with rt.transaction() as s:
            view = runs.get(s, actor, run_id=run_id)
        for line in _stage_lines(view, shown):
            print(line, flush=True)
            lines.append(line)
        if view.status in ("completed", "failed", "cancelled", "paused"):
            return view, lines
        time.sleep(POLL_S)


def cmd_run_automation(rt: Runtime, args: argparse.Namespace) -> list[str] | dict:
    with rt.transaction() as s:
        actor, site = _site(s, args)
        if args.forecast:
            fc = runs.forecast(s, actor, site_id=site.id)
            if args.json:
                return fc.as_dict()
            return _forecast_lines(fc)
        run = runs.start(s, actor, site_id=site.id)
        run_id, key = run.id, run.run_id
        alive = schedulers.status(s, actor).alive
        started = runs.get(s, actor, run_id=run_id)
    if not args.wait:
        if args.json:
            return started.as_dict()
        how = "a scheduler picks it up within seconds" if alive else \
            "no scheduler is running: start one (python scheduler.py) or use --wait to work it here"
        return [_summary(started), f"Run {key} is {started.status}; {how}."]
    if not alive:
        print("No scheduler is running: working the run in this process.", flush=True)
    view, _ = _follow(rt, actor, run_id, work_here=not alive)
    if args.json:
        return view.as_dict()
    if view.status == "failed":
        raise DomainError(_summary(view))
    return [_summary(view)]


def _run_actor(session: Session, run_id: int) -> Actor:
    account_id = session.scalar(select(AutomationRun.account_id).where(AutomationRun.id == run_id))
    if account_id is None:
        raise NotFound(f"Automation run #{run_id} was not found.")
    return operator_actor(account_id)


def cmd_runs(session: Session, args: argparse.Namespace) -> list[dict[str, object]]:
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    site_id = cli.find_site(session, acct, args.site).id if args.site else None
    views = runs.list_runs(session, actor, site_id=site_id, limit=args.limit)
    if args.json:
        return [v.as_dict() for v in views]
    return [{"id": v.id, "run": v.run_id, "site": v.site_name[:30], "status": v.status, "stage": v.current_stage,
             "items": f"{v.items_processed}/{v.items_total}", "credits": v.credits_used,
             "forecast": v.forecast_credits, "why": v.reason,
             "duration": str(v.duration).split(".")[0] if v.duration else "", "created": f"{v.created_at:%Y-%m-%d %H:%M}"}
            for v in views]


def cmd_run(session: Session, args: argparse.Namespace) -> list[str] | dict:
    actor = _run_actor(session, args.run)
    view = runs.get(session, actor, run_id=args.run)
    failed = runs.items(session, actor, run_id=args.run, status="failed")
    if args.json:
        return {**view.as_dict(), "failed_items": [vars(i) for i in failed]}
    return [_summary(view), *_stage_lines(view, set()),
            *[f"  failed (stage {i.stage}) {i.label}: {i.message}" for i in failed]]


def _control(action: Callable[..., AutomationRun], verb: str) -> Callable[[Session, argparse.Namespace], list[str]]:
    def handler(session: Session, args: argparse.Namespace) -> list[str]:
        actor = _run_actor(session, args.run)
        result = action(session, actor, run_id=args.run)
        if isinstance(result, int):
            return [f"Run #{args.run}: {result} failed item(s) will be retried; a scheduler picks it up."]
        return [f"Run {result.run_id} {verb}: it is {result.status.value} now."]
    return handler


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the automation commands to the CLI's parser."""
    p = command("automation", cmd_automation, "Show or change a site's automation settings (--set name=value …).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE", help=f"settings: {', '.join(config.NAMES)}")
    p.add_argument("--json", action="store_true")
    p = command("run-automation", cmd_run_automation, "Start a site's automation run now (or only print its "
                "forecast); --wait follows it to the end.", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--forecast", action="store_true", help="print what the run would do and cost; start nothing")
    p.add_argument("--wait", action="store_true", help="follow the run to its end, printing each stage's results "
                   "(worked in this process when no scheduler is running)")
    p.add_argument("--json", action="store_true")
    p = command("runs", cmd_runs, "List automation runs, newest first.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", metavar="SLUG|ID")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = command("run", cmd_run, "One automation run: each stage's results and the failed items.")
    p.add_argument("--run", required=True, type=int, metavar="ID")
    p.add_argument("--json", action="store_true")
    for name, action, verb, text in (("pause-run", runs.pause, "paused", "Pause a run after the item in hand."),
                                     ("resume-run", runs.resume, "resumed", "Resume a paused run."),
                                     ("cancel-run", runs.cancel, "cancelled", "Cancel a run; its credits are "
                                      "released."),
                                     ("retry-run", runs.retry_failed, "retried", "Retry the failed items of a "
                                      "finished run.")):
        p = command(name, _control(action, verb), text)
        p.add_argument("--run", required=True, type=int, metavar="ID")
