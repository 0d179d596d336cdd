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
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from core import runtime, tenancy
from core.common.text import clean_email
from core.errors import DomainError, NotFound, ValidationFailed
from core.tenancy import operator_actor
from db.models import Account, Site, User

Rows = list[dict[str, object]]
Handler = Callable[[Session, argparse.Namespace], "list[str] | Rows"]


# --- Looking things up by what an operator types (slug, name, e-mail or id) ------------------------------------

# --- Commands ---------------------------------------------------------------------------------------------------

# --- Parser and entry point -------------------------------------------------------------------------------------


def _by_ref(session: Session, stmt: Select, model: type[Account] | type[Site], ref: str, actor: tenancy.Actor, *,
            slug_col: ColumnElement[str], what: str, hint: str) -> Any:
    ref = (ref or "").strip()
    row = session.scalars(tenancy.scoped(stmt.where(func.lower(slug_col) == ref.lower()), model, actor)).first()
    if row is None and ref.isdigit():
        row = session.scalars(tenancy.scoped(stmt.where(model.id == int(ref)), model, actor)).first()
    if row is None:
        raise NotFound(f"There is no {what} “{ref}” ({hint}).")
    return row


def find_account(session: Session, ref: str) -> Account:
    """The account an operator named by slug or id."""
    return _by_ref(session, select(Account), Account, ref, operator_actor(), slug_col=Account.slug,
                   what="account", hint="give its slug or id; see list-accounts")


def find_site(session: Session, account: Account, ref: str) -> Site:
    """A site of the account, named by slug or id."""
    return _by_ref(session, select(Site), Site, ref, operator_actor(account.id), slug_col=Site.slug,
                   what=f"site in account {account.slug}", hint="give its slug or id")


def find_user(session: Session, email: str) -> User:
    """The user with this e-mail."""
    address = clean_email(email)
    found = session.scalars(tenancy.scoped(select(User).where(User.email == address), User, operator_actor())).first()
    if found is None:
        raise NotFound(f"There is no user {address}.")
    return found


def assignments(pairs: list[str], names: dict[str, str], *, form: str = "settings as name=value",
                 known: str = "a name") -> dict[str, str]:
    """NAME=VALUE pairs as {field: value}; `names` maps every accepted name to its field."""
    changes: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        field = names.get(name.strip())
        if not sep or field is None:
            raise ValidationFailed(f"Give {form} with {known} of: {', '.join(dict.fromkeys(names.values()))} "
                                   f"(got “{pair}”).")
        changes[field] = value.strip()
    return changes


def cmd_migrate(session: Session, args: argparse.Namespace) -> list[str]:
    revision = MigrationContext.configure(session.connection()).get_current_revision()
    url = session.get_bind().url.render_as_string(hide_password=True)
    return [f"Database {url} is at revision {revision}; reference data is up to date."]


EXTENSIONS: tuple[str, ...] = (
    "core.cli.identity", "core.cli.demo", "core.cli.planner", "core.cli.clustering", "core.cli.ai", "core.cli.billing",
    "core.cli.run_ai", "core.cli.secrets", "core.cli.writer", "core.cli.content", "core.cli.review",
    "core.cli.writer_ai", "core.cli.images", "core.cli.publishing", "core.cli.automation")


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
    for module in EXTENSIONS:  # each domain's commands live beside it: register(command)
        importlib.import_module(module).register(command)
    return parser


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
