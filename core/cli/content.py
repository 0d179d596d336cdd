"""Operator commands of the writer's articles: `content` lists a sector's (or a site's, or an account's) articles, or
shows one with its HTML and revisions. Registered by core.cli (EXTENSIONS).

    python -m core.cli content --account A [--site S] [--sector X] [--status ST] [--site-status ST] [--search T]
        [--limit N] [--json]
    python -m core.cli content --account A --id N [--json]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.cli import main as cli
from core.cli.clustering import _sector as find_sector
from core.errors import ValidationFailed
from core.tenancy import Actor, operator_actor
from core.writer import content, html, revisions
from db.enums import ContentStatus, SiteStatus
from db.models import Account, Sector, Site


def _sectors(session: Session, acct: Account, actor: Actor, args: argparse.Namespace) -> list[tuple[Site, Sector]]:
    """The sector named, or every sector of the site named, or of every site of the account."""
    if args.sector and not args.site:
        raise ValidationFailed("Give --site with --sector (a sector is named within its site).")
    sites = [cli.find_site(session, acct, args.site)] if args.site else list(session.scalars(
        tenancy.scoped(select(Site), Site, actor).order_by(Site.id)))
    if args.sector:
        return [(sites[0], find_sector(session, actor, sites[0].id, args.sector))]
    return [(site, sector) for site in sites for sector in session.scalars(
        tenancy.scoped(select(Sector), Sector, actor).where(Sector.site_id == site.id).order_by(Sector.id))]


def _listed(session: Session, acct: Account, actor: Actor, args: argparse.Namespace) -> list[str] | list[dict]:
    lines: list[str] = []
    rows: list[dict] = []
    for site, sector in _sectors(session, acct, actor, args):
        page = content.list_content(session, actor, sector_id=sector.id, status=args.status,
                                    site_status=args.site_status, search=args.search, limit=args.limit)
        by_status, _ = content.counts(session, actor, sector_id=sector.id)
        rows += [{"site": site.name, "sector": sector.name} | asdict(r) for r in page.rows]
        lines.append(f"Sector “{sector.name}” of site “{site.name}”: {page.total:,} articles"
                     + (" matching" if args.status or args.site_status or args.search else "")
                     + f" ({', '.join(f'{k} {v:,}' for k, v in by_status.items())}); showing {len(page.rows):,}.")
        lines += [f"  {r.id:>7}  {r.status:<9} {r.site_status:<14} {r.word_count:>6,} words  {r.images:>2} img  "
                  f"{r.updated_at:%Y-%m-%d %H:%M}  “{r.title}”" for r in page.rows]
    if args.json:
        return rows
    return lines or ["No sectors in scope."]


def _shown(session: Session, actor: Actor, content_id: int, as_json: bool) -> list[str] | dict:
    art = content.get_article(session, actor, content_id=content_id)
    revs = revisions.list_revisions(session, actor, content_id=content_id)
    if as_json:
        return asdict(art) | {"revisions": [asdict(r) for r in revs]}
    title_len, title_max, desc_len, desc_max = html.meta_counts(art.meta_title, art.meta_description)
    lines = [f"Article #{art.id} “{art.title}”: {art.status}, {art.site_status.replace('_', ' ')}, version "
             f"{art.version}, {art.word_count:,} words",
             f"Task: “{art.task or '—'}” · cluster: “{art.cluster or '—'}” · last saved "
             f"{art.updated_at:%Y-%m-%d %H:%M} UTC" + (f" by {art.updated_by}" if art.updated_by else ""),
             f"Meta title ({title_len}/{title_max}): {art.meta_title}",
             f"Meta description ({desc_len}/{desc_max}): {art.meta_description}",
             f"Primary keyword: {art.primary_keyword} · secondary: {', '.join(art.secondary_keywords) or '—'}",
             f"Revisions ({len(revs)}):"]
    lines += [f"  {r.number:>3}  {r.kind:<9} {r.at:%Y-%m-%d %H:%M}  {r.by or '—'}  "
              f"{', '.join(revisions.LABELS.get(c, c).lower() for c in r.changed) or '—'}"
              + (f"  · {r.note}" if r.note else "") for r in revs]
    return [*lines, "HTML:", art.content_html]


def cmd_content(session: Session, args: argparse.Namespace) -> list[str] | list[dict] | dict:
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    if args.id is not None:
        return _shown(session, actor, args.id, args.json)
    return _listed(session, acct, actor, args)


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this module's commands."""
    p = command("content", cmd_content, "List articles (newest first, with counts per status), or show one article "
                "with its fields, HTML and revisions (--id).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", metavar="SLUG|ID", help="only this site (default: every site of the account)")
    p.add_argument("--sector", metavar="SLUG|NAME|ID", help="only this sector of --site")
    p.add_argument("--status", choices=[s.value for s in ContentStatus])
    p.add_argument("--site-status", choices=[s.value for s in SiteStatus], help="publishing status")
    p.add_argument("--search", metavar="TEXT", help="titles containing this text")
    p.add_argument("--limit", type=int, default=content.PAGE, help="articles per sector (1–500)")
    p.add_argument("--id", type=int, metavar="N", help="show this article")
    p.add_argument("--json", action="store_true")
