"""Operator commands of the writer queue: `queue-ideas` (ideas become writer tasks) and `tasks` (the queue, filtered
and sorted as on the Writer queue screen). Registered by core.cli (EXTENSIONS).

    python -m core.cli queue-ideas --account A --ideas 12,13
    python -m core.cli tasks --account A [--site S] [--sector X] [--status queued|completed] [--assignee EMAIL|none]
        [--due-before YYYY-MM-DD] [--overdue] [--has-content yes|no] [--search T] [--sort newest|oldest|due|title]
        [--limit N] [--json]

Without --site (or --sector) the account's only site (the site's only sector) is used; with several, the command
names them and asks for one.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.cli import main as cli
from core.cli.clustering import _sector
from core.errors import NotFound, ValidationFailed
from core.planner import ideas
from core.tenancy import Actor, operator_actor
from core.writer import tasks
from core.writer.tasks import TaskFilter
from db.enums import TaskStatus
from db.models import Account, Sector, Site


def cmd_queue_ideas(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    parts = [p.strip() for p in (args.ideas or "").split(",") if p.strip()]
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise ValidationFailed(f"--ideas takes idea ids separated by commas, not “{bad[0]}”.")
    ids = list(dict.fromkeys(int(p) for p in parts))
    if not ids:
        raise ValidationFailed("Give the ideas to queue: --ideas ID,ID.")
    result = ideas.queue(session, operator_actor(acct.id), idea_ids=ids)
    return [result.message, f"Task ids: {', '.join(map(str, result.task_ids))}"]


def _only(rows: list, what: str, option: str) -> object:
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise NotFound(f"There is no {what} yet.")
    raise ValidationFailed(f"Choose one with {option}: {', '.join(r.slug for r in rows[:20])}.")


def _site(session: Session, acct: Account, actor: Actor, ref: str | None) -> Site:
    if ref:
        return cli.find_site(session, acct, ref)
    rows = session.scalars(tenancy.scoped(select(Site), Site, actor).order_by(Site.id)).all()
    return _only(list(rows), f"site in account {acct.slug}", "--site")  # type: ignore[return-value]


def _sector_of(session: Session, actor: Actor, site: Site, ref: str | None) -> Sector:
    if ref:
        return _sector(session, actor, site.id, ref)
    rows = session.scalars(tenancy.scoped(select(Sector), Sector, actor).where(Sector.site_id == site.id)
                           .order_by(Sector.id)).all()
    return _only(list(rows), f"sector in site {site.slug}", "--sector")  # type: ignore[return-value]


def _assignee(session: Session, acct: Account, value: str | None) -> int | str | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return tasks.UNASSIGNED
    user = cli.find_user(session, value)
    if user.account_id != acct.id:
        raise NotFound(f"There is no user {user.email} in account {acct.slug}.")
    return user.id


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"--due-before takes a date as YYYY-MM-DD, not “{value}”.") from exc


def cmd_tasks(session: Session, args: argparse.Namespace) -> cli.Rows:
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    sector = _sector_of(session, actor, _site(session, acct, actor, args.site), args.sector)
    flt = TaskFilter(status=args.status, assignee=_assignee(session, acct, args.assignee),
                     due_before=_day(args.due_before), overdue=args.overdue,
                     has_content=None if args.has_content is None else args.has_content == "yes",
                     search=args.search)
    page = tasks.list_tasks(session, actor, sector_id=sector.id, filter=flt, sort=args.sort, limit=args.limit)
    rows: cli.Rows = [{"id": r.id, "title": r.title, "cluster": r.cluster or ("(deleted)" if r.cluster_deleted else ""),
                       "status": r.status, "assignee": r.assignee or None,
                       "due": r.due_date.isoformat() if r.due_date else None, "content_id": r.content_id,
                       "overlap": round(r.overlap_score, 2) if r.overlap_score is not None else None}
                      for r in page.rows]
    if args.json:
        return rows
    return [{k: "-" if v is None or v == "" else v for k, v in row.items()} for row in rows]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the commands to core.cli's parser."""
    p = command("queue-ideas", cmd_queue_ideas, "Queue new ideas as writer tasks; prints the task ids.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--ideas", required=True, metavar="ID,ID", help="idea ids, separated by commas")
    p = command("tasks", cmd_tasks, "List a sector's writer tasks (the writer queue), filtered and sorted.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", metavar="SLUG|ID", help="default: the account's only site")
    p.add_argument("--sector", metavar="SLUG|NAME|ID", help="default: the site's only sector")
    p.add_argument("--status", choices=[s.value for s in TaskStatus])
    p.add_argument("--assignee", metavar="EMAIL|none", help="an account user's e-mail, or none: unassigned")
    p.add_argument("--due-before", metavar="YYYY-MM-DD", help="due on or before this day")
    p.add_argument("--overdue", action="store_true", help="queued tasks due before today (UTC)")
    p.add_argument("--has-content", choices=["yes", "no"], help="with or without an article")
    p.add_argument("--search", metavar="TEXT", help="title contains")
    p.add_argument("--sort", choices=list(tasks.SORTS), default="newest")
    p.add_argument("--limit", type=int, default=tasks.PAGE, metavar="N", help=f"at most N rows (1..{tasks.MAX_PAGE})")
    p.add_argument("--json", action="store_true", help="rows as JSON")
