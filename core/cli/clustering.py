"""Operator commands of the planner's clustering: `cluster` (offline preview, --apply to write it) and
`generate-ideas` (the AI engine for one cluster). Registered by core.cli (EXTENSIONS).

Both take the Runtime (own_transactions): the clusterer and the AI call run with no transaction open, between a
short read and the write (house rule 9), exactly as the Clusters screen does.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import select

from core import tenancy
from core.ai import runs as planner_ai
from core.cli import main as cli
from core.errors import NotFound
from core.planner.clustering import apply as clustering_apply
from core.planner.clustering import engine as clustering
from core.runtime import Runtime
from core.tenancy import operator_actor
from db.models import Clusters, Sector

TOP = 15  # clusters listed in the summary


def _sector(session, actor: tenancy.Actor, site_id: int, ref: str) -> Sector:
    want = (ref or "").strip().lower()
    rows = session.scalars(tenancy.scoped(select(Sector), Sector, actor).where(Sector.site_id == site_id)
                           .order_by(Sector.id)).all()
    found = next((s for s in rows if want in (s.slug, s.name.lower(), str(s.id))), None)
    if found is None:
        raise NotFound(f"There is no sector “{ref}” in this site (give its slug, name or id; known: "
                       f"{', '.join(s.slug for s in rows) or 'none'}).")
    return found


def _progress(message: str, fraction: float) -> None:
    print(f"  … {fraction:4.0%} {message}", file=sys.stderr, flush=True)


def cmd_cluster(rt: Runtime, args: argparse.Namespace) -> list[str]:
    with rt.transaction() as s:
        acct = cli.find_account(s, args.account)
        actor = operator_actor(acct.id)
        site = cli.find_site(s, acct, args.site)
        sector = _sector(s, actor, site.id, args.sector)
        where = {"site_id": site.id, "sector_id": sector.id}
    p = clustering_apply.preview(rt, actor, **where, search=args.search, granularity=args.granularity,
                                 mode=args.mode, on_progress=_progress if args.progress else None)
    lines = [f"Preview for sector “{p.sector_name}” ({p.mode}, granularity {p.granularity}): {len(p.clusters):,} "
             f"clusters, {p.clustered:,} of {p.total:,} keywords clustered, {p.unclustered_share:.1%} unclustered, "
             f"quality {p.quality:.3f}, {p.elapsed:.1f} s; {p.extending} would extend an existing cluster."]
    lines += [f"  {c.size:>6,}  vol {c.volume:>9,}  {c.name}" + ("  (extends existing)" if c.existing_id else "")
              for c in p.clusters[:TOP]]
    if len(p.clusters) > TOP:
        lines.append(f"  … and {len(p.clusters) - TOP:,} more")
    if not args.apply:
        lines.append("Nothing was written; add --apply to create the clusters and map the keywords.")
        return lines
    with rt.transaction() as s:
        result = clustering_apply.apply(s, actor, preview=p, extend_existing=not args.no_extend)
    return [*lines, f"Applied: {result.message}"]


def cmd_generate_ideas(rt: Runtime, args: argparse.Namespace) -> list[str]:
    with rt.transaction() as s:
        acct = cli.find_account(s, args.account)
        actor = operator_actor(acct.id)
        cluster = tenancy.get(s, actor, Clusters, args.cluster)
        est = planner_ai.estimate_ideas(s, actor, cluster_ids=[cluster.id], count=args.count)  # before any call
    lines = [f"Cluster “{cluster.name}”: {est.message}"]
    summary = planner_ai.generate_ideas(rt, actor, cluster_ids=[cluster.id], count=args.count,
                                        on_progress=_progress if args.progress else None)
    return [*lines, summary.message, f"Idea ids: {', '.join(map(str, summary.created('content_ideas')))}"]


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the commands to the CLI's parser."""
    p = command("cluster", cmd_cluster, "Cluster a sector's new keywords offline: print the preview; --apply writes "
                "it (clusters created or extended, keywords mapped).", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--sector", required=True, metavar="SLUG|NAME|ID")
    p.add_argument("--granularity", type=float, default=0.5, help="0 = few broad clusters, 1 = many tight ones")
    p.add_argument("--mode", default="lexical", choices=list(clustering.MODES))
    p.add_argument("--search", metavar="TEXT", help="only new keywords containing this text")
    p.add_argument("--apply", action="store_true", help="write the clusters (default: preview only)")
    p.add_argument("--no-extend", action="store_true", help="never extend a cluster of the same name; make new ones")
    p.add_argument("--progress", action="store_true", help="print progress to stderr")
    p = command("generate-ideas", cmd_generate_ideas, "Generate content ideas for a cluster with the AI engine "
                "(metered in credits).", own_transactions=True)
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--cluster", required=True, type=int, metavar="ID")
    p.add_argument("--count", type=int, default=5, help="ideas to ask for (1–20)")
    p.add_argument("--progress", action="store_true", help="print progress to stderr")
