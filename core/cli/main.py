"""Operator command line: `python -m core.cli <command> …` — one transaction per command, errors as messages.

Every command first brings the database up to date (migrations, reference data) and, on an empty database,
creates the first owner and prints its one-time password. Commands act as a platform operator (a developer actor
without a user), so every core permission, tenancy and plan rule still applies. A DomainError prints its message
to stderr and exits with 2; nothing of the command is written.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from core import runtime, tenancy
from core.common.text import clean_email
from core.config import ROOT
from core.demo import seed as demo
from core.errors import DomainError, NotFound, ValidationFailed
from core.identity import accounts, auth, sites, users
from core.tenancy import operator_actor
from db.enums import AccountStatus, Role
from db.models import Account, IndustrySector, Site, User

SHARED_KEYWORDS = ROOT.parent / "shared" / "data" / "semrush_kmt_wordpress_broad-match_us_2026-04-24.csv"
PERSON_ROLES = [r.value for r in Role if r != Role.system_bot]

Rows = list[dict[str, object]]
Handler = Callable[[Session, argparse.Namespace], "list[str] | Rows"]


def default_keywords_file() -> Path:
    """The full export beside the repository when it is there, else the sample committed with the code."""
    return SHARED_KEYWORDS if SHARED_KEYWORDS.is_file() else demo.SAMPLE_KEYWORDS


# --- Looking things up by what an operator types (slug, name, e-mail or id) ------------------------------------

def _by_ref(session: Session, stmt: Select, model: type[Account] | type[Site], ref: str, actor: tenancy.Actor, *,
            slug_col: ColumnElement[str], what: str, hint: str) -> Any:
    ref = (ref or "").strip()
    row = session.scalars(tenancy.scoped(stmt.where(func.lower(slug_col) == ref.lower()), model, actor)).first()
    if row is None and ref.isdigit():
        row = session.scalars(tenancy.scoped(stmt.where(model.id == int(ref)), model, actor)).first()
    if row is None:
        raise NotFound(f"There is no {what} “{ref}” ({hint}).")
    return row


def _account(session: Session, ref: str) -> Account:
    return _by_ref(session, select(Account), Account, ref, operator_actor(), slug_col=Account.slug,
                   what="account", hint="give its slug or id; see list-accounts")


def _site(session: Session, account: Account, ref: str) -> Site:
    return _by_ref(session, select(Site), Site, ref, operator_actor(account.id), slug_col=Site.slug,
                   what=f"site in account {account.slug}", hint="give its slug or id")


def _user(session: Session, email: str) -> User:
    address = clean_email(email)
    found = session.scalars(tenancy.scoped(select(User).where(User.email == address), User, operator_actor())).first()
    if found is None:
        raise NotFound(f"There is no user {address}.")
    return found


def _industry(session: Session, ref: str | None) -> int | None:
    if not ref:
        return None
    for industry in sites.list_industries(session):
        if ref.strip().lower() in (industry.name.lower(), industry.slug, str(industry.id)):
            return industry.id
    names = ", ".join(i.name for i in sites.list_industries(session))
    raise NotFound(f"There is no industry “{ref}” (known: {names}).")


def _industry_sector(session: Session, site: Site, ref: str | None) -> int | None:
    if not ref:
        return None
    want = ref.strip().lower()
    matches = [s for s in session.scalars(select(IndustrySector).order_by(IndustrySector.id))
               if want in (s.name.lower(), s.slug, str(s.id))]
    if not matches:
        raise NotFound(f"There is no industry sector “{ref}”.")
    # The same sector name may exist under several industries: prefer the site's own (core checks the rest).
    return next((s.id for s in matches if s.industry_id == site.industry_id), matches[0].id)


def _new_password(given: str | None) -> tuple[str, bool]:
    """(password, was generated): generated ones are printed once after the commit."""
    if given:
        return given, False
    return auth.generate_password(), True


# --- Commands ---------------------------------------------------------------------------------------------------

def cmd_migrate(session: Session, args: argparse.Namespace) -> list[str]:
    revision = MigrationContext.configure(session.connection()).get_current_revision()
    url = session.get_bind().url.render_as_string(hide_password=True)
    return [f"Database {url} is at revision {revision}; reference data is up to date."]


def cmd_create_account(session: Session, args: argparse.Namespace) -> list[str]:
    actor = operator_actor()
    plan_id = accounts.get_plan_by_slug(session, args.plan).id if args.plan else None
    acct = accounts.create_account(session, actor, name=args.name, slug=args.slug, plan_id=plan_id,
                                   status=args.status, is_system=args.system)
    lines = [f"Created {'system ' if acct.is_system else ''}account “{acct.name}” (slug {acct.slug}, id {acct.id}, "
             f"plan {args.plan or 'none'}, status {acct.status.value})."]
    if args.owner_password and not args.owner_email:
        raise ValidationFailed("--owner-password needs --owner-email.")
    if args.owner_email:
        password, generated = _new_password(args.owner_password)
        owner = users.create_user(session, actor.in_account(acct.id), email=args.owner_email, password=password,
                                  role=Role.owner)
        lines.append(f"Created owner {owner.email}" + (f" with the password: {password}" if generated else "."))
    return lines


def cmd_create_site(session: Session, args: argparse.Namespace) -> list[str]:
    acct = _account(session, args.account)
    site = sites.create_site(session, operator_actor(acct.id), name=args.name, slug=args.slug, domain=args.domain,
                             industry_id=_industry(session, args.industry), timezone=args.timezone)
    return [f"Created site “{site.name}” (slug {site.slug}, id {site.id}) in account {acct.slug}."]


def cmd_create_sector(session: Session, args: argparse.Namespace) -> list[str]:
    acct = _account(session, args.account)
    site = _site(session, acct, args.site)
    sector = sites.create_sector(session, operator_actor(acct.id), site_id=site.id, name=args.name, slug=args.slug,
                                 industry_sector_id=_industry_sector(session, site, args.industry_sector))
    return [f"Created sector “{sector.name}” (slug {sector.slug}, id {sector.id}) of site {site.slug}."]


def cmd_create_user(session: Session, args: argparse.Namespace) -> list[str]:
    if args.role == Role.developer.value:
        actor = operator_actor()
    elif not args.account:
        raise ValidationFailed(f"Role {args.role} belongs to an account: give --account.")
    else:
        actor = operator_actor(_account(session, args.account).id)
    password, generated = _new_password(args.password)
    user = users.create_user(session, actor, email=args.email, password=password, role=args.role,
                             first_name=args.first_name, last_name=args.last_name)
    lines = [f"Created {user.role.value} {user.email} (id {user.id})."]
    if generated:
        lines.append(f"Password (shown once): {password}")
    return lines


def cmd_set_password(session: Session, args: argparse.Namespace) -> list[str]:
    user = _user(session, args.email)
    password, generated = _new_password(args.password)
    users.reset_password(session, operator_actor(user.account_id), user_id=user.id, new_password=password)
    lines = [f"Password of {user.email} changed; their open sessions end and any lockout is lifted."]
    if generated:
        lines.append(f"New password (shown once): {password}")
    return lines


def cmd_grant_site(session: Session, args: argparse.Namespace) -> list[str]:
    acct = _account(session, args.account)
    actor = operator_actor(acct.id)
    user = _user(session, args.email)
    if user.account_id != acct.id:
        raise NotFound(f"{user.email} is not a user of account {acct.slug}.")
    site = _site(session, acct, args.site)
    have = [s.id for s in users.list_site_access(session, actor, user_id=user.id)]
    granted = users.set_site_access(session, actor, user_id=user.id, site_ids=[*have, site.id])
    return [f"{user.email} may now use: {', '.join(s.slug for s in granted)}."]


def cmd_system_account(session: Session, args: argparse.Namespace) -> list[str]:
    acct = _account(session, args.account)
    accounts.update_account(session, operator_actor(acct.id), account_id=acct.id, is_system=not args.off)
    if acct.is_system:
        return [f"Account {acct.slug} is a system account: its owners and admins may change providers, AI models "
                "and the keyword library."]
    return [f"Account {acct.slug} is a customer account: its owners and admins manage only their own account."]


def cmd_list_accounts(session: Session, args: argparse.Namespace) -> Rows:
    return [{"id": a.id, "slug": a.slug, "name": a.name, "plan": a.plan.slug if a.plan else "",
             "status": a.status.value, "credits": a.credits, "system": a.is_system}
            for a in accounts.list_accounts(session, operator_actor())]


def cmd_list_users(session: Session, args: argparse.Namespace) -> Rows:
    actor = operator_actor(_account(session, args.account).id)
    rows: Rows = []
    for u in users.list_users(session, actor):
        granted = users.list_site_access(session, actor, user_id=u.id) if u.role in users.SITE_SCOPED_ROLES else []
        rows.append({"id": u.id, "email": u.email, "role": u.role.value, "active": u.is_active,
                     "sites": ",".join(s.slug for s in granted) if u.role in users.SITE_SCOPED_ROLES else "all"})
    return rows


def cmd_seed_demo(session: Session, args: argparse.Namespace) -> list[str]:
    path = Path(args.keywords_file) if args.keywords_file else default_keywords_file()
    print(f"Seeding “{args.account_name}” from {path} …", flush=True)
    report = demo.seed_demo(session, operator_actor(), keywords_csv=path, account_name=args.account_name,
                            weeks=args.weeks, rng_seed=args.seed, progress=lambda m: print(f"  … {m}", flush=True))
    skipped = sum(report.skipped.values())
    why = "; ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items())) or "none"
    content = ", ".join(f"{n} {status}" for status, n in sorted(report.content.items()))
    return [
        f"Demo account “{args.account_name}” (slug {report.account_slug}, id {report.account_id}) on plan agency.",
        "Log in with (demo passwords, change them on any shared server):",
        *(f"  {role:<7} {email:<40} {password}" for role, email, password in report.logins),
        f"{report.sites} sites, {report.sectors} sectors.",
        f"Keywords: {report.keywords:,} of {report.rows_read:,} rows ({skipped} skipped: {why}).",
        f"{report.clusters} clusters, {report.ideas} ideas, {report.tasks} tasks, content: {content} "
        f"({report.scheduled} scheduled), {report.images} images.",
        f"Credit usage: {report.usage_logs} AI calls, {report.credits_used:,} credits (${report.cost_usd:.2f} "
        f"provider cost); {report.grants} plan grants; balance {report.balance:,}.",
    ]


# Modules that add commands with `register(command)`; one line per domain.
EXTENSIONS: tuple[str, ...] = ("core.cli.ai", "core.cli.clustering", "core.cli.planner", "core.cli.run_ai", "core.cli.secrets")


# --- Parser and entry point -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, handler: Handler, help_: str, *, own_transactions: bool = False
                ) -> argparse.ArgumentParser:
        """Register a command; with own_transactions the handler gets the Runtime and opens its own
        transactions (long work: claim → commit → work → record), else one transaction's session."""
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler, own_transactions=own_transactions)
        return p

    command("migrate", cmd_migrate, "Migrate to the newest schema, top up reference data, create the first owner.")
    p = command("create-account", cmd_create_account, "Create an account (and optionally its owner).")
    p.add_argument("--name", required=True)
    p.add_argument("--slug")
    p.add_argument("--plan", metavar="SLUG", help="free, starter, growth, agency …")
    p.add_argument("--status", default=AccountStatus.trial.value, choices=[s.value for s in AccountStatus])
    p.add_argument("--owner-email", metavar="E")
    p.add_argument("--owner-password", metavar="P", help="generated and printed once when omitted")
    p.add_argument("--system", action="store_true",
                   help="a system account: its owners and admins administer the platform (providers, AI models)")
    p = command("system-account", cmd_system_account,
                "Make an account a system account (its owners and admins administer the platform), or undo it.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--off", action="store_true", help="make it a customer account again")
    p = command("create-site", cmd_create_site, "Create a site in an account.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--name", required=True)
    p.add_argument("--slug")
    p.add_argument("--domain", default="")
    p.add_argument("--industry", metavar="NAME|ID")
    p.add_argument("--timezone", default="UTC", metavar="TZ")
    p = command("create-sector", cmd_create_sector, "Create a sector of a site (at most 5 active per site).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--name", required=True)
    p.add_argument("--slug")
    p.add_argument("--industry-sector", metavar="NAME|ID")
    p = command("create-user", cmd_create_user, "Create a user (a developer needs no account).")
    p.add_argument("--account", metavar="SLUG|ID")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=PERSON_ROLES)
    p.add_argument("--first-name", default="")
    p.add_argument("--last-name", default="")
    _password_args(p, "--generate-password")
    p = command("set-password", cmd_set_password, "Set a user's password (ends their sessions, lifts a lockout).")
    p.add_argument("--email", required=True)
    _password_args(p, "--generate")
    p = command("grant-site", cmd_grant_site, "Let an editor or viewer use one more site.")
    p.add_argument("--email", required=True)
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p = command("list-accounts", cmd_list_accounts, "List every account.")
    p.add_argument("--json", action="store_true")
    p = command("list-users", cmd_list_users, "List the users of an account.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--json", action="store_true")
    p = command("seed-demo", cmd_seed_demo, "Create the demo account with real keywords and weeks of usage.")
    p.add_argument("--account-name", default="Demo Agency")
    p.add_argument("--keywords-file", metavar="PATH", help=f"default: {default_keywords_file()}")
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same demo)")
    for module in EXTENSIONS:  # each domain's commands live beside it: register(command)
        importlib.import_module(module).register(command)
    return parser


def _password_args(p: argparse.ArgumentParser, generate_flag: str) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--password", metavar="P")
    group.add_argument(generate_flag, dest="generate", action="store_true", help="generate one and print it once")


def _print(result: list[str] | Rows | None, as_json: bool) -> None:
    if result is None:  # the command wrote its own output (a CSV export to stdout)
        return
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    elif result and isinstance(result[0], dict):
        cols = list(result[0])
        widths = {c: max(len(c), *(len(str(r[c])) for r in result)) for c in cols}
        print("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
        for row in result:
            print("  ".join(str(row[c]).ljust(widths[c]) for c in cols).rstrip())
    elif result:
        print("\n".join(result))
    else:
        print("(none)")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, start (migrate, seed, first owner), run the command in one transaction, print after the commit."""
    args = build_parser().parse_args(argv)
    began = time.perf_counter()
    try:
        rt = runtime.start()
        try:
            notice = runtime.first_owner_notice(rt.first_owner)
            if notice:
                print(notice, flush=True)
            if args.own_transactions:
                result = args.handler(rt, args)
            else:
                with rt.transaction() as session:
                    result = args.handler(session, args)
        finally:
            rt.engine.dispose()
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _print(result, getattr(args, "json", False))
        if args.command == "seed-demo":
            print(f"Done in {time.perf_counter() - began:.1f}s (committed).")
    except BrokenPipeError:  # `… | head`: the work is committed; the reader just stopped listening
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the recipe of Python's signal docs
    return 0


if __name__ == "__main__":
    sys.exit(main())
