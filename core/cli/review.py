"""Operator commands of the writer's review: `review` (move an article along draft → review → approved, or back to
draft with a comment), `comment` and `auto-approval`. Registered by core.cli (EXTENSIONS).

    python -m core.cli review --account A --content ID --to draft|review|approved [--comment C]
    python -m core.cli comment --account A --content ID --text C
    python -m core.cli auto-approval --account A --site S on|off
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.orm import Session

from core import tenancy
from core.cli import main as cli
from core.tenancy import operator_actor
from core.writer import review
from db.enums import ContentStatus
from db.models import Content

TARGETS = [s.value for s in (ContentStatus.draft, ContentStatus.review, ContentStatus.approved)]


def cmd_review(session: Session, args: argparse.Namespace) -> list[str]:
    actor = operator_actor(cli.find_account(session, args.account).id)
    before = tenancy.get(session, actor, Content, args.content).status
    moved = review.transition(session, actor, content_id=args.content, to=args.to, comment=args.comment or "")
    step = review.describe((before, moved.status))
    said = f" with the comment “{args.comment.strip()}”" if (args.comment or "").strip() else ""
    return [f"Article #{moved.id} “{moved.title}”: {step} ({before.value} → {moved.status.value}){said}."]


def cmd_comment(session: Session, args: argparse.Namespace) -> list[str]:
    actor = operator_actor(cli.find_account(session, args.account).id)
    row = review.add_comment(session, actor, content_id=args.content, comment=args.text)
    title = tenancy.get(session, actor, Content, row.content_id).title
    return [f"Commented on article #{row.content_id} “{title}”: “{row.comment}”."]


def cmd_auto_approval(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    site = cli.find_site(session, acct, args.site)
    on = args.state == "on"
    review.set_auto_approval(session, operator_actor(acct.id), site_id=site.id, enabled=on)
    if on:
        return [f"Auto-approval is on for site “{site.name}”: articles generated from now on are approved at once."]
    return [f"Auto-approval is off for site “{site.name}”: generated articles stay drafts until someone reviews "
            "them."]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this module's commands."""
    p = command("review", cmd_review, "Move an article along review: draft → review → approved, or back to draft "
                "(a comment is required then).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--content", required=True, type=int, metavar="ID", help="the article's id")
    p.add_argument("--to", required=True, choices=TARGETS, help="the new status")
    p.add_argument("--comment", default="", metavar="TEXT", help="why (required when sending back to draft)")
    p = command("comment", cmd_comment, "Comment on an article (its status stays as it is).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--content", required=True, type=int, metavar="ID", help="the article's id")
    p.add_argument("--text", required=True, metavar="TEXT", help="the comment (plain text, up to 5,000 characters)")
    p = command("auto-approval", cmd_auto_approval, "Turn a site's auto-approval of generated articles on or off.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("state", choices=["on", "off"])
