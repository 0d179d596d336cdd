"""Operator commands of the AI engine and the credit ledger: providers, credits, the ledger, usage export, AI settings,
the price table and the system AI defaults.

Registered by core.cli (EXTENSIONS). Secrets are never printed in full, only masked; a key is best given through
an environment variable (--api-key-env), so it stays out of the shell history and the process list.
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

from core.ai import models as ai_models
from core.ai import providers
from core.ai import settings as ai_settings
from core.billing import credits, pricing, usage, usage_rollup
from core.cli import main as cli
from core.errors import ValidationFailed
from core.runtime import Runtime
from core.tenancy import operator_actor
from db.enums import TransactionType

GRANT_KINDS = [TransactionType.purchase.value, TransactionType.subscription.value, TransactionType.refund.value,
               TransactionType.adjustment.value]
SETTING_NAMES = {field: field for field in ai_settings.KEYS.values()} | dict(ai_settings.KEYS)
# the system defaults by their setting names and by their column names (max_images_per_article …)
SYSTEM_NAMES = {field: field for field in ai_settings.SYSTEM_COLUMNS} | {
    column: field for field, column in ai_settings.SYSTEM_COLUMNS.items()}


# --- Providers --------------------------------------------------------------------------------------------------

def _provider_view(session: Session, provider_id: str) -> providers.ProviderView:
    found = [p for p in providers.list_providers(session, operator_actor()) if p.provider_id == provider_id]
    if not found:
        known = ", ".join(p.provider_id for p in providers.list_providers(session, operator_actor()))
        raise ValidationFailed(f"There is no provider “{provider_id}” (known: {known}).")
    return found[0]


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_env is None:
        return args.api_key
    value = os.environ.get(args.api_key_env, "").strip()
    if not value:
        raise ValidationFailed(f"The environment variable {args.api_key_env} is not set or empty.")
    return value


def _make_default(session: Session, provider_id: str, model_name: str, model_type: str) -> str:
    model = ai_models.get_by_name(session, model_name=model_name)
    if str(model.model_type) != model_type:
        raise ValidationFailed(f"“{model_name}” is a {model.model_type} model, so it cannot be the default "
                               f"{model_type} model.")
    if model.provider != provider_id:
        raise ValidationFailed(f"“{model_name}” belongs to provider {model.provider}, not {provider_id}.")
    ai_models.set_default(session, operator_actor(), model_id=model.id)
    return f"Default {model_type} model: {model.model_name} ({model.display_name})."


def cmd_configure_provider(session: Session, args: argparse.Namespace) -> list[str]:
    config = None
    if args.keyless is not None:
        config = {k: v for k, v in _provider_view(session, args.provider).config.items() if k != "allow_no_key"}
        config |= {"allow_no_key": True} if args.keyless else {}
    view = providers.update_provider(session, operator_actor(), provider_id=args.provider, api_key=_api_key(args),
                                     api_endpoint=args.endpoint, is_active=args.active, config=config)
    lines = [f"Provider {view.provider_id} ({view.display_name}): endpoint {view.api_endpoint or '(default)'}, "
             f"{'active' if view.is_active else 'inactive'}{', sandbox' if view.is_sandbox else ''}, "
             f"API key {view.api_key_masked or '(none)'}"
             f"{', no key needed' if view.config.get('allow_no_key') else ''}."]
    for name, mtype in ((args.default_text_model, "text"), (args.default_image_model, "image")):
        if name:
            lines.append(_make_default(session, args.provider, name, mtype))
    return lines


def cmd_test_provider(rt: Runtime, args: argparse.Namespace) -> list[str]:
    from core.ai import engine  # the AI client stack loads only for the command that calls out
    from core.ai.errors import AIProviderError

    check = engine.check_provider(rt, operator_actor(), provider_id=args.provider, model=args.model)
    if not check.ok:
        raise AIProviderError(check.message)
    return [check.message, *(f"  {m}" for m in check.models[:100])]


# --- Credits ----------------------------------------------------------------------------------------------------

def cmd_grant_credits(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli._account(session, args.account)
    tx = credits.grant(session, operator_actor(acct.id), amount=args.amount, kind=args.kind, reason=args.reason,
                       idempotency_key=args.idempotency_key)
    return [f"Ledger #{tx.id}: {tx.amount:+,} credits ({tx.transaction_type.value}) to account {acct.slug}; "
            f"balance {tx.balance_after:,}."]


def cmd_balance(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli._account(session, args.account)
    balance = credits.balance(session, operator_actor(acct.id))
    return [f"Account {acct.slug}: {balance:,} credits."]


def cmd_ledger(session: Session, args: argparse.Namespace) -> cli.Rows:
    acct = cli._account(session, args.account)
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
    acct = cli._account(session, args.account)
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    site_ids = [cli._site(session, acct, args.site).id] if args.site else None

    def write(out) -> int:
        return usage.export_usage_csv(session, operator_actor(acct.id), start=start, end=end, site_ids=site_ids,
                                      tz=args.tz, out=out)

    if args.out == "-":
        _to_stdout(write)
        return None  # the CSV is the output
    count = _to_file(Path(args.out), write)
    return [f"Wrote {count:,} usage rows of account {acct.slug} ({start}..{end}) to {args.out}."]


def cmd_rebuild_usage_rollup(session: Session, args: argparse.Namespace) -> list[str]:
    acct = cli._account(session, args.account) if args.account else None
    rows = usage_rollup.rebuild(session, account_id=acct.id if acct else None)
    return [f"Rebuilt the hourly usage rollup of {f'account {acct.slug}' if acct else 'every account'} from the "
            f"usage log: {rows:,} rows."]


# --- AI settings --------------------------------------------------------------------------------------------------

def _assignments(pairs: list[str], names: dict[str, str], *, form: str = "settings as name=value",
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


def _setting_rows(settings: ai_settings.EffectiveAISettings) -> cli.Rows:
    return [{"setting": k, "value": v} for k, v in ai_settings.as_dict(settings).items()]


def cmd_ai_settings(session: Session, args: argparse.Namespace) -> cli.Rows:
    acct = cli._account(session, args.account)
    actor = operator_actor(acct.id)
    changes = _assignments(args.set or [], SETTING_NAMES)
    if args.reset:
        ai_settings.reset(session, actor)
    effective = ai_settings.save(session, actor, **changes) if changes else ai_settings.get_effective(session, actor)
    return _setting_rows(effective)


def cmd_system_ai_settings(session: Session, args: argparse.Namespace) -> cli.Rows:
    changes = _assignments(args.set or [], SYSTEM_NAMES)
    if changes:
        return _setting_rows(ai_settings.update_system_defaults(session, operator_actor(), **changes))
    return _setting_rows(ai_settings.get_system_defaults(session))


def cmd_credit_costs(session: Session, args: argparse.Namespace) -> cli.Rows:
    operations = {c.operation_type: c.operation_type for c in pricing.list_costs(session)}
    prices = _assignments(args.set or [], operations, form="prices as OPERATION=CREDITS", known="an operation")
    for operation, amount in prices.items():
        pricing.update_cost(session, operator_actor(), operation_type=operation, base_credits=amount)
    return [{"operation": c.operation_type, "name": c.display_name, "base_credits": c.base_credits,
             "unit": c.unit, "active": c.is_active, "previous": "" if c.previous_cost is None else c.previous_cost}
            for c in pricing.list_costs(session)]


# --- Registration -----------------------------------------------------------------------------------------------

def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the AI and credit commands to the CLI."""
    p = command("configure-provider", cmd_configure_provider,
                "Set a provider's API key, endpoint (any OpenAI-compatible base URL), state and default models.")
    p.add_argument("--provider", required=True, metavar="ID", help="openai, runware, anthropic …")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--api-key", metavar="K", help="visible in the process list: prefer --api-key-env")
    key.add_argument("--api-key-env", metavar="VAR", help="read the key from this environment variable")
    p.add_argument("--endpoint", metavar="URL", help="e.g. http://localhost:11434/v1 for Ollama")
    p.add_argument("--default-text-model", metavar="NAME")
    p.add_argument("--default-image-model", metavar="NAME")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--active", dest="active", action="store_true", default=None)
    state.add_argument("--inactive", dest="active", action="store_false")
    p.add_argument("--keyless", action=argparse.BooleanOptionalAction, default=None,
                   help="the server needs no API key (a local Ollama or LM Studio)")
    p = command("test-provider", cmd_test_provider, "Check that a provider answers with the stored key and endpoint.",
                own_transactions=True)
    p.add_argument("--provider", required=True, metavar="ID")
    p.add_argument("--model", metavar="NAME", help="a model to ping when the server cannot list its models")
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
    p = command("ai-settings", cmd_ai_settings, "Show or change an account's AI settings (overrides of the system "
                "defaults).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE",
                   help=f"names: {', '.join(ai_settings.KEYS.values())}")
    p.add_argument("--reset", action="store_true", help="drop the account's overrides first")
    p.add_argument("--json", action="store_true")
    p = command("system-ai-settings", cmd_system_ai_settings, "Show or change the system AI defaults (every account "
                "without an override of a setting follows them).")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE", help=f"names: {', '.join(ai_settings.SYSTEM_COLUMNS)}")
    p.add_argument("--json", action="store_true")
    p = command("credit-costs", cmd_credit_costs, "Show or change the base credits of each AI operation (the next "
                "estimates and charges use them; the ledger keeps what was charged).")
    p.add_argument("--set", nargs="+", metavar="OPERATION=CREDITS",
                   help=f"whole credits from 0 to {pricing.MAX_BASE_CREDITS:,}, e.g. idea_generation=3")
    p.add_argument("--json", action="store_true")
