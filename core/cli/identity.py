"""Operator commands of accounts, sites, sectors and users (registered by core.cli.main, EXTENSIONS)."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cli import main as cli
from core.cli.main import Rows
from core.errors import NotFound, ValidationFailed
from core.identity import accounts, auth, sites, users
from core.tenancy import operator_actor
from db.enums import AccountStatus, Role
from db.models import IndustrySector, Site

PERSON_ROLES = [r.value for r in Role if r != Role.system_bot]


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


def _with_password(line: str, password: str, generated: bool, label: str) -> list[str]:
    """The command's line, then a generated password, printed this once."""
    return [line, f"{label} (shown once): {password}"] if generated else [line]


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
    acct = cli.find_account(session, args.account)
    site = sites.create_site(session, operator_actor(acct.id), name=args.name, slug=args.slug, domain=args.domain,
                             industry_id=_industry(session, args.industry), timezone=args.timezone)
    return [f"Created site “{site.name}” (slug {site.slug}, id {site.id}) in account {acct.slug}."]


def cmd_create_sector(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    site = cli.find_site(session, acct, args.site)
    sector = sites.create_sector(session, operator_actor(acct.id), site_id=site.id, name=args.name, slug=args.slug,
                                 industry_sector_id=_industry_sector(session, site, args.industry_sector))
    return [f"Created sector “{sector.name}” (slug {sector.slug}, id {sector.id}) of site {site.slug}."]


def cmd_create_user(session: Session, args: argparse.Namespace) -> list[str]:
    if args.role == Role.developer.value:
        actor = operator_actor()
    elif not args.account:
        raise ValidationFailed(f"Role {args.role} belongs to an account: give --account.")
    else:
        actor = operator_actor(cli.find_account(session, args.account).id)
    password, generated = _new_password(args.password)
    user = users.create_user(session, actor, email=args.email, password=password, role=args.role,
                             first_name=args.first_name, last_name=args.last_name)
    return _with_password(f"Created {user.role.value} {user.email} (id {user.id}).", password, generated, "Password")


def cmd_set_password(session: Session, args: argparse.Namespace) -> list[str]:
    user = cli.find_user(session, args.email)
    password, generated = _new_password(args.password)
    users.reset_password(session, operator_actor(user.account_id), user_id=user.id, new_password=password)
    return _with_password(f"Password of {user.email} changed; their open sessions end and any lockout is lifted.",
                          password, generated, "New password")


def cmd_grant_site(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    user = cli.find_user(session, args.email)
    if user.account_id != acct.id:
        raise NotFound(f"{user.email} is not a user of account {acct.slug}.")
    site = cli.find_site(session, acct, args.site)
    have = [s.id for s in users.list_site_access(session, actor, user_id=user.id)]
    granted = users.set_site_access(session, actor, user_id=user.id, site_ids=[*have, site.id])
    return [f"{user.email} may now use: {', '.join(s.slug for s in granted)}."]


def cmd_system_account(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
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
    actor = operator_actor(cli.find_account(session, args.account).id)
    rows: Rows = []
    for u in users.list_users(session, actor):
        granted = users.list_site_access(session, actor, user_id=u.id) if u.role in users.SITE_SCOPED_ROLES else []
        rows.append({"id": u.id, "email": u.email, "role": u.role.value, "active": u.is_active,
                     "sites": ",".join(s.slug for s in granted) if u.role in users.SITE_SCOPED_ROLES else "all"})
    return rows


def _password_args(p: argparse.ArgumentParser, generate_flag: str) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--password", metavar="P")
    group.add_argument(generate_flag, dest="generate", action="store_true", help="generate one and print it once")


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the commands to core.cli's parser."""
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
