"""Operator commands of publishing to WordPress. Registered by core.cli (EXTENSIONS).

    python -m core.cli connect-wordpress --account A --site S --url U --user NAME (--app-password-env VAR | --app-password P)
    python -m core.cli wordpress-doctor --account A --site S
    python -m core.cli sync-taxonomy --account A --site S
    python -m core.cli publish --account A --content ID [--at ISO8601] [--now]
    python -m core.cli schedule --account A --site S [--dry-run]
    python -m core.cli slots --account A --site S [--days 14]
    python -m core.cli publish-due                      # what the scheduler does each round, once
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.cli import main as cli
from core.errors import DomainError, ValidationFailed
from core.publishing import connection, jobs, service, slots, taxonomy
from core.runtime import Runtime
from core.tenancy import operator_actor

MARK = {"ok": "ok  ", "warning": "warn", "failed": "FAIL", "skipped": "skip"}


def _site(session: Session, args: argparse.Namespace):
    acct = cli.find_account(session, args.account)
    return operator_actor(acct.id), cli.find_site(session, acct, args.site)


def cmd_connect(session: Session, args: argparse.Namespace) -> list[str]:
    actor, site = _site(session, args)
    if args.app_password_env:
        password = os.environ.get(args.app_password_env, "")
        if not password:
            raise ValidationFailed(f"The environment variable {args.app_password_env} is empty or not set.")
    else:
        password = args.app_password or ""
    if not password:
        raise ValidationFailed("Give the Application Password with --app-password-env VAR (kept out of the shell "
                               "history) or --app-password P.")
    connection.set_wordpress(session, actor, site_id=site.id, url=args.url, username=args.user,
                             app_password=password)
    shown = connection.wordpress_login(session, actor, site_id=site.id)
    return [f"Site “{site.name}” connects to {shown.url} as {shown.username} (password {shown.password_masked}). "
            f"Check it with: wordpress-doctor --account {args.account} --site {args.site}"]


def cmd_doctor(rt: Runtime, args: argparse.Namespace) -> list[str]:
    with rt.transaction() as s:
        actor, site = _site(s, args)
    report = connection.check(rt, actor, site_id=site.id)
    lines = [f"[{MARK.get(c.status, c.status)}] {c.name}: {c.detail}" + (f"\n       fix: {c.fix}" if c.fix and
                                                                          c.status != "ok" else "")
             for c in report.checks]
    lines.append(f"Verdict: {report.status}.")
    if report.status == "error":
        raise DomainError("\n".join(lines))  # exit 2, every check still printed
    return lines


def cmd_sync(rt: Runtime, args: argparse.Namespace) -> list[str]:
    with rt.transaction() as s:
        actor, site = _site(s, args)
    r = taxonomy.sync(rt, actor, site_id=site.id)
    return [f"Synced “{site.name}” in {r.duration_ms} ms: {r.categories} categories, {r.tags} tags, {r.authors} "
            f"authors ({r.added} new here, {r.updated} updated, {r.gone} gone from WordPress)."]


def _when(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"“{value}” is not an ISO 8601 time (e.g. 2027-01-15T09:00+01:00).") from None
    if moment.tzinfo is None:
        raise ValidationFailed(f"“{value}” has no timezone: add one (Z, +01:00 …); times are kept in UTC.")
    return moment.astimezone(UTC)


def cmd_publish(rt: Runtime, args: argparse.Namespace) -> list[str]:
    with rt.transaction() as s:
        actor = operator_actor(cli.find_account(s, args.account).id)
    at = None if args.now or not args.at else _when(args.at)
    if args.at and not args.now and at is not None and at > datetime.now(UTC) and args.ours:
        with rt.transaction() as s:
            c = service.schedule(s, actor, content_id=args.content, at=at)
            return [f"Article #{c.id} is scheduled for {at:%Y-%m-%d %H:%M} UTC; the scheduler publishes it then."]
    out = service.publish(rt, actor, content_id=args.content, at=at)
    if not out.ok:
        raise DomainError(f"Article #{args.content} was not published: {out.error}")
    how = "adopted the post an earlier attempt made" if out.adopted else "published"
    when = f" as scheduled for {at:%Y-%m-%d %H:%M} UTC (WordPress status {out.wp_status})" if out.wp_status == \
        "future" else ""
    lines = [f"Article #{args.content}: {how}{when} — post {out.post_id}, {out.url} ({out.duration_ms} ms, "
             f"{len(out.media)} images)."]
    return lines + [f"note: {n}" for n in out.notes]


def cmd_schedule(session: Session, args: argparse.Namespace) -> list[dict[str, object]]:
    actor, site = _site(session, args)
    placed = slots.place(session, actor, site_id=site.id, dry_run=args.dry_run)
    return [{"content": p.content_id, "title": p.title[:60], "site time": f"{p.slot.local:%Y-%m-%d %H:%M %Z}",
             "utc": f"{p.slot.utc:%Y-%m-%d %H:%M}", "done": "planned" if args.dry_run else "scheduled"}
            for p in placed]


def cmd_slots(session: Session, args: argparse.Namespace) -> list[dict[str, object]]:
    actor, site = _site(session, args)
    free = slots.next_free(session, actor, site_id=site.id, count=args.count, days=args.days)
    return [{"site time": f"{s.local:%a %Y-%m-%d %H:%M %Z}", "utc": f"{s.utc:%Y-%m-%d %H:%M}"} for s in free]


def cmd_publish_due(rt: Runtime, args: argparse.Namespace) -> list[str]:
    placed = jobs.place_auto(rt)
    done = jobs.publish_due(rt, limit=args.limit)
    failed = [o for o in done if not o.ok]
    lines = [f"Placed {placed} approved articles into slots; published {len(done) - len(failed)} of {len(done)} "
             "due articles."] + [f"failed #{o.content_id}: {o.error}" for o in failed]
    if failed:
        raise DomainError("\n".join(lines))
    return lines


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the publishing commands to the CLI's parser."""
    p = command("connect-wordpress", cmd_connect, "Set a site's WordPress URL, user and Application Password.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--url", required=True, metavar="URL", help="the site's home address, e.g. https://example.com")
    p.add_argument("--user", required=True, metavar="NAME", help="the WordPress login name")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--app-password-env", metavar="VAR", help="read the Application Password from $VAR")
    group.add_argument("--app-password", metavar="P", help="the Application Password itself")
    p = command("wordpress-doctor", cmd_doctor, "Check a site's WordPress connection step by step (exit 2 when it "
                "cannot publish).", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p = command("sync-taxonomy", cmd_sync, "Read a site's WordPress categories, tags and authors (every page).",
                own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p = command("publish", cmd_publish, "Publish an approved article now, or send it to WordPress scheduled for "
                "--at (status future, date_gmt); an article already there is updated.", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--content", required=True, type=int, metavar="ID")
    p.add_argument("--at", metavar="ISO8601", help="when it goes live, with a timezone (2027-01-15T09:00+01:00)")
    p.add_argument("--now", action="store_true", help="publish at once (the default without --at)")
    p.add_argument("--ours", action="store_true", help="with --at: keep it on our calendar and let the scheduler "
                   "publish it then, instead of sending it to WordPress as scheduled")
    p = command("schedule", cmd_schedule, "Place a site's approved, unscheduled articles into its next free slots.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--json", action="store_true")
    p = command("slots", cmd_slots, "The next free publishing slots of a site, in site time and UTC.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--days", type=int, default=14, help="how far ahead to look (default 14)")
    p.add_argument("--count", type=int, default=50, help="at most this many slots (default 50)")
    p.add_argument("--json", action="store_true")
    p = command("publish-due", cmd_publish_due, "Do the scheduler's publishing round once: place articles of "
                "auto-publishing sites, publish what is due.", own_transactions=True)
    p.add_argument("--limit", type=int, default=500)
