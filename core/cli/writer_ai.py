"""`generate-content`: write articles for writer tasks as one batch, as the Writer queue's “Generate articles” does —
the estimate first, then several tasks at a time up to the provider's limit, a line per task. Registered by core.cli
(EXTENSIONS).

    python -m core.cli generate-content --account A --tasks 12,13,14 [--estimate]
    python -m core.cli generate-content --account A --all-queued [--site S] --sector X [--estimate]
    python -m core.cli generate-content --account A --batch 7 [--retry-failed]      # resume, or retry its failures

Tasks that have an article, collide with existing content or other tasks (unless --include-overlapping), or whose
cluster was deleted are skipped, each with its reason. A task that fails is reported and the others are still
written and saved; the command then exits with 2. --job-key K makes a rerun with the same key charge nothing twice
for an article already paid for.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from core.ai import bulk
from core.cli import main as cli
from core.cli.run_ai import SomeFailed
from core.cli.writer import _sector_of, _site
from core.errors import ValidationFailed
from core.runtime import Runtime
from core.tenancy import Actor, operator_actor
from core.writer import tasks


def _task_ids(text: str | None) -> list[int]:
    """--tasks: comma-separated ids, in order, without repeats."""
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    bad = next((part for part in parts if not part.isdigit()), None)
    if bad is not None:
        raise ValidationFailed(f"--tasks takes task ids separated by commas, not “{bad}”.")
    return list(dict.fromkeys(int(part) for part in parts))


def _chosen(rt: Runtime, actor: Actor, args: argparse.Namespace) -> tuple[int, list[int]]:
    """The sector and the task ids the options name."""
    with rt.transaction() as s:
        acct = cli.find_account(s, args.account)
        if args.all_queued:
            sector = _sector_of(s, actor, _site(s, acct, actor, args.site), args.sector)
            return sector.id, tasks.queued_ids(s, actor, sector_id=sector.id)
        ids = _task_ids(args.tasks)
        if not ids:
            raise ValidationFailed("Say which tasks to write: --tasks ID,ID, or --all-queued with --sector.")
        return tasks.get(s, actor, task_id=ids[0]).sector_id, ids


def _print(view: bulk.BatchView, as_json: bool) -> None:
    for item in view.items:
        row = {"task_id": item.task_id, "title": item.title, "status": item.status, "message": item.message,
               "credits": item.credits, "content_id": item.content_id}
        print(json.dumps(row) if as_json else f"#{item.task_id or '-'} {item.status}: {item.title} — {item.message}",
              flush=True)


def cmd_generate_content(rt: Runtime, args: argparse.Namespace) -> list[str] | None:
    if sum(bool(x) for x in (args.tasks, args.all_queued, args.batch)) != 1:
        raise ValidationFailed("Give exactly one of --tasks ID,ID, --all-queued (with --sector) or --batch N.")
    if args.retry_failed and not args.batch:
        raise ValidationFailed("--retry-failed goes with --batch N: the batch whose failed tasks to write again.")
    if args.estimate and args.batch:
        raise ValidationFailed("--estimate goes with --tasks or --all-queued; a batch was estimated when it was made.")
    with rt.transaction() as s:
        actor = operator_actor(cli.find_account(s, args.account).id)
    if args.batch:
        if args.retry_failed:
            with rt.transaction() as s:
                bulk.retry_failed(s, actor, batch_id=args.batch)
        batch_id = args.batch
    else:
        sector_id, ids = _chosen(rt, actor, args)
        if not ids:
            return ["No queued tasks without an article in this sector: nothing to write."]
        if args.estimate:
            with rt.transaction() as s:
                est = bulk.estimate_batch(s, actor, task_ids=ids, author_profile_id=args.author_profile,
                                          strategy_id=args.strategy, include_overlapping=args.include_overlapping,
                                          sector_id=sector_id)
            return [est.message, *(f"skipped #{x.task_id}: {x.title} — {x.reason}" for x in est.excluded)]
        with rt.transaction() as s:
            batch_id = bulk.create_batch(s, actor, sector_id=sector_id, task_ids=ids,
                                         author_profile_id=args.author_profile, strategy_id=args.strategy,
                                         include_overlapping=args.include_overlapping).id
    view = bulk.run_batch(rt.transaction, actor, batch_id=batch_id, job_key=args.job_key)
    _print(view, args.json)
    summary = f"Batch #{view.id}: {view.message}"
    if view.running:
        summary = f"Batch #{view.id} is being run by another process; its lines so far are above."
    elif view.failed:
        summary += f" Retry the failed ones with --batch {view.id} --retry-failed."
    if args.json:  # the summary is one more JSON line, not an indented array after the lines
        print(json.dumps({"batch_id": view.id, "status": view.status, "done": view.done, "failed": view.failed,
                          "skipped": view.skipped, "credits": view.credits, "message": summary}), flush=True)
    if view.failed and not view.running:
        raise SomeFailed(summary)
    return None if args.json else [summary]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add generate-content to the CLI's parser."""
    p = command("generate-content", cmd_generate_content, "Write articles for writer tasks as one batch (estimate, "
                "several at a time, a line per task).", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--tasks", metavar="ID,ID", help="task ids, separated by commas")
    p.add_argument("--all-queued", action="store_true", help="every queued task of the sector without an article")
    p.add_argument("--site", metavar="SLUG|ID", help="with --all-queued; default: the account's only site")
    p.add_argument("--sector", metavar="SLUG|NAME|ID", help="with --all-queued; default: the site's only sector")
    p.add_argument("--batch", type=int, metavar="N", help="run (resume) batch N")
    p.add_argument("--retry-failed", action="store_true", help="with --batch: write its failed tasks again")
    p.add_argument("--author-profile", type=int, metavar="ID")
    p.add_argument("--strategy", type=int, metavar="ID")
    p.add_argument("--include-overlapping", action="store_true",
                   help="also write tasks that collide with existing content or other tasks")
    p.add_argument("--estimate", action="store_true", help="only print the estimate and what would be skipped")
    p.add_argument("--job-key", metavar="KEY", help="a rerun with the same key charges nothing twice")
    p.add_argument("--json", action="store_true", help="one JSON object per task line")
