"""Operator command of the vault: `rotate-secrets` re-encrypts every stored secret with the current key.
Registered by core.cli (EXTENSIONS).

    IGNY8_SECRET_KEY=<new> IGNY8_PREVIOUS_SECRET_KEYS=<old>[,<older>…] python -m core.cli rotate-secrets [--dry-run]

One transaction: when any secret decrypts with none of the keys, the command names it, exits with 2 and writes
nothing. Run again, it rewrites nothing (every secret is already current); then the old keys may be dropped.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.orm import Session

from core.cli import main as cli
from core.common import vault
from core.tenancy import operator_actor


def cmd_rotate_secrets(session: Session, args: argparse.Namespace) -> list[str] | cli.Rows:
    counts = vault.rotate(session, operator_actor(), dry_run=args.dry_run)
    if args.json:
        return [{"table": c.table, "secrets": c.secrets, "rewritten": c.rewritten,
                 "current": c.secrets - c.rewritten} for c in counts]
    found, rewritten = sum(c.secrets for c in counts), sum(c.rewritten for c in counts)
    verb = "would re-encrypt" if args.dry_run else "re-encrypted"
    head = (f"Every stored secret decrypts; {verb} {rewritten} of {found} with the current key "
            f"({found - rewritten} already current){' — nothing written (dry run)' if args.dry_run else ''}.")
    done = "to rewrite" if args.dry_run else "rewritten"
    return [head, *(f"  {c.table}: {c.secrets} secret(s), {c.rewritten} {done}" for c in counts)]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the vault's commands to the CLI."""
    p = command("rotate-secrets", cmd_rotate_secrets,
                "Re-encrypt every stored secret with the current IGNY8_SECRET_KEY (the old keys listed in "
                f"{vault.PREVIOUS_ENV} still decrypt), all or nothing.")
    p.add_argument("--dry-run", action="store_true", help="check that every secret decrypts; write nothing")
    p.add_argument("--json", action="store_true")
