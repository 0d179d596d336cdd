"""`run-ai`: run any AI function of the engine on given objects, as the screens and the scheduler do — the estimate
and balance check first, the provider called outside any transaction, results and charge saved together.

    python -m core.cli run-ai generate_content --account acme --on 12,13,14
    python -m core.cli run-ai auto_cluster --account acme --on 3 --set keyword_ids=[5,6,7] batch_size=40
    python -m core.cli run-ai generate_images --account acme --on 88 --estimate

Each object is its own job: one that fails (a short balance, a provider error) is reported and the others still
run; the command then exits with 2 and says how many failed. --job-key makes a rerun of the same command idempotent
(an object already done is reported, not charged again). Registered by core.cli (EXTENSIONS).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from core.ai import engine
from core.ai.base import Progress
from core.ai.functions import FUNCTIONS
from core.cli import main as cli
from core.errors import DomainError, ValidationFailed
from core.runtime import Runtime
from core.tenancy import Actor, operator_actor


class SomeFailed(DomainError):
    """Some objects of a run-ai command failed (the others are done and committed)."""


def object_field(function: str) -> str:
    """The input field naming the object a function works on (cluster_id, task_id …)."""
    return f"{FUNCTIONS[function].object_type}_id"


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """name=value pairs; a value that parses as JSON (numbers, lists, true/false, null) is taken as such."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed(f"Give inputs as name=value (got “{pair}”).")
        try:
            params[name.strip()] = json.loads(value)
        except ValueError:
            params[name.strip()] = value
    return params


def parse_ids(text: str | None, field: str) -> list[int]:
    """Comma-separated ids, in order, without repeats."""
    ids: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValidationFailed(f"--on takes {field} values separated by commas, not “{part}”.")
        if int(part) not in ids:
            ids.append(int(part))
    return ids


def _progress(oid: int) -> Progress:
    def report(done: int, total: int, message: str) -> None:
        print(f"  … #{oid} {done}/{total} {message}", file=sys.stderr, flush=True)
    return report


def _one(rt: Runtime, actor: Actor, args: argparse.Namespace, oid: int, params: dict[str, object]) -> dict:
    if args.estimate:
        with rt.transaction() as s:
            est = engine.estimate(s, actor, function=args.function, **params)
        return {"object_id": oid, "ok": True, "estimate": est.credits, "balance": est.balance,
                "message": f"up to {est.credits:,} credits (balance {est.balance:,})"}
    # run() checks the estimate against the balance itself, after recognising a job already done under this key
    res = engine.run(rt.transaction, actor, function=args.function, on_progress=_progress(oid) if args.progress
                     else None, job_key=f"{args.job_key}:{oid}" if args.job_key else None, **params)
    return {"object_id": oid, "ok": True, "credits": res.credits, "replayed": res.replayed, "message": res.message,
            "created": res.created, "failures": list(res.failures)}


def _line(row: dict) -> str:
    if not row["ok"]:
        return f"#{row['object_id']}: failed: {row['message']}"
    if "credits" not in row:
        return f"#{row['object_id']}: estimate {row['message']}"
    again = " (done before; nothing charged again)" if row["replayed"] else ""
    made = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in row["created"].items() if v)
    return f"#{row['object_id']}: {row['message']} — {row['credits']:,} credits{again}" + (f"; {made}" if made else "")


def cmd_run_ai(rt: Runtime, args: argparse.Namespace) -> list[str]:
    field = object_field(args.function)
    params = parse_settings(args.set or [])
    ids = parse_ids(args.on, field)
    if ids and field in params:
        raise ValidationFailed(f"Give the objects either with --on or as {field}=…, not both.")
    if not ids:
        if field not in params:
            raise ValidationFailed(f"Say which objects to work on: --on with {field} values.")
        ids = [params.pop(field)]  # type: ignore[list-item]
    with rt.transaction() as s:
        actor = operator_actor(cli.find_account(s, args.account).id)
    failed = 0
    for oid in ids:
        try:
            row = _one(rt, actor, args, oid, {**params, field: oid})
        except DomainError as exc:  # this object's job wrote and charged nothing; go on with the next
            row, failed = {"object_id": oid, "ok": False, "message": str(exc)}, failed + 1
        print(json.dumps(row, default=str) if args.json else _line(row), flush=True)
    if failed:
        raise SomeFailed(f"{failed} of {len(ids)} {args.function} jobs failed (see above); the others are saved.")
    return []


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add run-ai to the CLI's parser."""
    p = command("run-ai", cmd_run_ai, "Run an AI function on given objects (estimate, provider call, results and "
                "charge), as the screens and the scheduler do.", own_transactions=True)
    p.add_argument("function", choices=sorted(FUNCTIONS))
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--on", metavar="ID[,ID…]", help="the objects: sector (auto_cluster), cluster (generate_ideas), "
                   "task (generate_content) or content (generate_image_prompts, generate_images) ids")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE", help="other inputs, e.g. count=3, keyword_ids=[1,2], "
                   "author_profile_id=4 (values are read as JSON when they parse)")
    p.add_argument("--estimate", action="store_true", help="only print each object's estimate and the balance")
    p.add_argument("--job-key", metavar="KEY", help="makes a rerun idempotent: objects already done are not "
                   "charged again")
    p.add_argument("--progress", action="store_true", help="progress on stderr")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
