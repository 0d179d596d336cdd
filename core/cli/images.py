"""Operator commands of an article's images: `generate-images` (prompts when none are waiting, then the images)
and `images` (the list). Registered by core.cli (EXTENSIONS).

    python -m core.cli generate-images --account acme --content 88 --estimate
    python -m core.cli generate-images --account acme --content 88 --job-key nightly-1
    python -m core.cli generate-images --account acme --content 88 --only 301,302   # make these two again
    python -m core.cli images --account acme --content 88 --json
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session

from core.ai import engine
from core.ai.engine import JobResult
from core.cli import main as cli
from core.errors import ValidationFailed
from core.runtime import Runtime
from core.tenancy import Actor, operator_actor
from core.writer import images

WAITING = ("pending", "failed")


def _progress(done: int, total: int, message: str) -> None:
    print(f"  … {done}/{total} {message}", file=sys.stderr, flush=True)


def _ids(text: str | None) -> list[int]:
    """--only: image ids separated by commas, in order, without repeats."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    bad = next((p for p in parts if not p.isdigit()), None)
    if bad is not None:
        raise ValidationFailed(f"--only takes image ids separated by commas, not “{bad}”.")
    return list(dict.fromkeys(int(p) for p in parts))


def _key(args: argparse.Namespace, step: str) -> str | None:
    return f"{args.job_key}:{step}" if args.job_key else None


def _done(res: JobResult) -> str:
    again = " (done before; nothing charged again)" if res.replayed else ""
    return f"{res.message} — {res.credits:,} credits{again}"


def _estimate(rt: Runtime, actor: Actor, args: argparse.Namespace, waiting: bool, only: list[int]) -> list[str]:
    with rt.transaction() as s:
        if args.prompts_only or not (waiting or only):
            est = engine.estimate(s, actor, function="generate_image_prompts", content_id=args.content)
            tail = "" if args.prompts_only else "; the images are priced once their prompts exist"
            return [f"Image prompts: up to {est.credits:,} credits (balance {est.balance:,}){tail}."]
        est = engine.estimate(s, actor, function="generate_images", content_id=args.content,
                              image_ids=only or None)
    return [f"Images ({est.calls}): up to {est.credits:,} credits (balance {est.balance:,})."]


def cmd_generate_images(rt: Runtime, args: argparse.Namespace) -> list[str]:
    only = _ids(args.only)
    with rt.transaction() as s:
        actor = operator_actor(cli.find_account(s, args.account).id)
        waiting = any(r.status in WAITING for r in images.list_images(s, actor, content_id=args.content))
    if args.estimate:
        return _estimate(rt, actor, args, waiting, only)
    report = _progress if args.progress else None
    lines: list[str] = []
    if args.prompts_only or not (waiting or only):
        res = engine.generate_image_prompts(rt.transaction, actor, content_id=args.content,
                                            job_key=_key(args, "prompts"), on_progress=report)
        lines.append(_done(res))
        if args.prompts_only:
            return lines
    res = engine.generate_images(rt.transaction, actor, content_id=args.content, image_ids=only or None,
                                 job_key=_key(args, "images"), on_progress=report)
    return [*lines, _done(res)]


def cmd_images(session: Session, args: argparse.Namespace) -> list[dict[str, object]]:
    actor = operator_actor(cli.find_account(session, args.account).id)
    return [{"id": r.id, "type": r.type, "status": r.status, "source": r.source, "position": r.position,
             "file": "yes" if r.has_file else ("link" if r.url else "no"),
             "thumbnail": "yes" if r.has_thumbnail else "no", "alt_text": r.alt_text, "prompt": r.prompt[:80]}
            for r in images.list_images(session, actor, content_id=args.content)]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add generate-images and images to the CLI's parser."""
    p = command("generate-images", cmd_generate_images, "Generate an article's images: its image prompts first "
                "when none are waiting, then the pictures (estimate, provider calls, results and charge).",
                own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--content", required=True, type=int, metavar="ID")
    p.add_argument("--estimate", action="store_true", help="only print the estimate and the balance")
    p.add_argument("--job-key", metavar="KEY", help="makes a rerun idempotent: steps already done are not "
                   "charged again")
    p.add_argument("--prompts-only", action="store_true", help="only (re)write the image prompts; new prompts "
                   "replace those still waiting")
    p.add_argument("--only", metavar="ID[,ID…]", help="only these images (made again when already generated)")
    p.add_argument("--progress", action="store_true", help="progress on stderr")
    p = command("images", cmd_images, "List an article's images (featured first, then by position).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--content", required=True, type=int, metavar="ID")
    p.add_argument("--json", action="store_true")
