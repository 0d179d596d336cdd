"""The demo account from the command line: `seed-demo` (registered by core.cli.main, EXTENSIONS)."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from core.config import ROOT
from core.demo import seed as demo
from core.tenancy import operator_actor

SHARED_KEYWORDS = ROOT.parent / "shared" / "data" / "semrush_kmt_wordpress_broad-match_us_2026-04-24.csv"


def default_keywords_file() -> Path:
    """The full export beside the repository when it is there, else the sample committed with the code."""
    return SHARED_KEYWORDS if SHARED_KEYWORDS.is_file() else demo.SAMPLE_KEYWORDS


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


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the command to core.cli's parser."""
    p = command("seed-demo", cmd_seed_demo, "Create the demo account with real keywords and weeks of usage.")
    p.add_argument("--account-name", default="Demo Agency")
    p.add_argument("--keywords-file", metavar="PATH", help=f"default: {default_keywords_file()}")
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same demo)")
