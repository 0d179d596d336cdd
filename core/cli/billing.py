"""Operator commands of the credit ledger: grants, balance, ledger, usage export and rollup, the price table.

Registered by core.cli.main (EXTENSIONS).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from core.billing import credits, pricing, usage, usage_rollup
from core.cli import main as cli
from core.errors import ValidationFailed
from core.tenancy import operator_actor
from db.enums import TransactionType

GRANT_KINDS = [TransactionType.purchase.value, TransactionType.subscription.value, TransactionType.refund.value,
               TransactionType.adjustment.value]


def cmd_grant_credits(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    tx = credits.grant(session, operator_actor(acct.id), amount=args.amount, kind=args.kind, reason=args.reason,
                       idempotency_key=args.idempotency_key)
    return [f"Ledger #{tx.id}: {tx.amount:+,} credits ({tx.transaction_type.value}) to account {acct.slug}; "
            f"balance {tx.balance_after:,}."]


def cmd_balance(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account)
    balance = credits.balance(session, operator_actor(acct.id))
    return [f"Account {acct.slug}: {balance:,} credits."]


def cmd_ledger(session: Session, args: argparse.Namespace) -> cli.Rows:
    acct = cli.find_account(session, args.account)
    return [{"id": tx.id, "created_at_utc": tx.created_at.isoformat(timespec="seconds"),
             "kind": tx.transaction_type.value, "amount": tx.amount, "balance_after": tx.balance_after,
             "description": tx.description, "key": tx.idempotency_key or ""}
            for tx in credits.list_ledger(session, operator_actor(acct.id), limit=args.limit)]


# --- Usage export -----------------------------------------------------------------------------------------------

def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"{flag} must be a date like 2026-01-31, not “{value}”.") from exc


def _to_stdout(write: Callable) -> None:
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `… | head`: the reader stopped listening; nothing was changed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _to_file(path: Path, write: Callable) -> int:
    """Write to a temporary file beside `path` and move it into place: a failed export leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = write(out)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the export gets a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def cmd_export_usage(session: Session, args: argparse.Namespace) -> list[str] | None:
    acct = cli.find_account(session, args.account)
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    site_ids = [cli.find_site(session, acct, args.site).id] if args.site else None

    def write(out) -> int:
        return usage.export_usage_csv(session, operator_actor(acct.id), start=start, end=end, site_ids=site_ids,
                                      tz=args.tz, out=out)

    if args.out == "-":
        _to_stdout(write)
        return None  # the CSV is the output
    count = _to_file(Path(args.out), write)
    return [f"Wrote {count:,} usage rows of account {acct.slug} ({start}..{end}) to {args.out}."]


def cmd_rebuild_usage_rollup(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli.find_account(session, args.account) if args.account else None
    rows = usage_rollup.rebuild(session, account_id=acct.id if acct else None)
    return [f"Rebuilt the hourly usage rollup of {f'account {acct.slug}' if acct else 'every account'} from the "
            f"usage log: {rows:,} rows."]


def cmd_credit_costs(session: Session, args: argparse.Namespace) -> cli.Rows:
    operations = {c.operation_type: c.operation_type for c in pricing.list_costs(session)}
    prices = cli.assignments(args.set or [], operations, form="prices as OPERATION=CREDITS", known="an operation")
    for operation, amount in prices.items():
        pricing.update_cost(session, operator_actor(), operation_type=operation, base_credits=amount)
    return [{"operation": c.operation_type, "name": c.display_name, "base_credits": c.base_credits,
             "unit": c.unit, "active": c.is_active, "previous": "" if c.previous_cost is None else c.previous_cost}
            for c in pricing.list_costs(session)]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the commands to core.cli's parser."""
    p = command("grant-credits", cmd_grant_credits, "Add credits to an account with a reason (the ledger keeps it).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--amount", required=True, metavar="N", help="whole credits; only an adjustment may be negative")
    p.add_argument("--kind", required=True, choices=GRANT_KINDS)
    p.add_argument("--reason", required=True)
    p.add_argument("--idempotency-key", metavar="KEY", help="a repeated key grants only once")
    p = command("balance", cmd_balance, "Show an account's credit balance.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p = command("ledger", cmd_ledger, "List an account's credit ledger, newest first.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most 1000")
    p.add_argument("--json", action="store_true")
    p = command("export-usage", cmd_export_usage, "Export an account's AI usage rows as CSV.")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="inclusive")
    p.add_argument("--site", metavar="SLUG|ID")
    p.add_argument("--tz", default="UTC", metavar="TZ", help="the zone the dates are days of")
    p.add_argument("--out", default="-", metavar="FILE|-", help="a file, or - for standard output (default)")
    p = command("rebuild-usage-rollup", cmd_rebuild_usage_rollup, "Remake the hourly usage sums the credit usage "
                "screen reads from the usage log (after loading log rows by hand, or as a repair).")
    p.add_argument("--account", metavar="SLUG|ID", help="one account (default: every account)")
    p = command("credit-costs", cmd_credit_costs, "Show or change the base credits of each AI operation (the next "
                "estimates and charges use them; the ledger keeps what was charged).")
    p.add_argument("--set", nargs="+", metavar="OPERATION=CREDITS",
                   help=f"whole credits from 0 to {pricing.MAX_BASE_CREDITS:,}, e.g. idea_generation=3")
    p.add_argument("--json", action="store_true")
