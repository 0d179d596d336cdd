"""The demo account: users, sites and sectors, the real keywords grouped into clusters, the content pipeline in
every status, and weeks of credit usage on the ledger — deterministic for a given seed."""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from core import tenancy
from core.billing import credits
from core.demo import content as demo_content
from core.demo import keywords as demo_keywords
from core.demo import usage as demo_usage
from core.demo.keywords import KeywordRow
from core.errors import Conflict, ValidationFailed
from core.identity import accounts, sites, users
from core.planner import clusters
from core.tenancy import Actor
from db.base import utcnow
from db.enums import AccountStatus, Role
from db.models import Account, Sector, Site, User

SAMPLE_KEYWORDS = Path(__file__).resolve().parent / "sample_data" / "keywords_sample.csv"
# Demo log-ins, printed by `python -m core.cli seed-demo`; e-mails are <role>@<account slug>.example.
DEMO_PASSWORDS = {Role.owner: "demo-owner-2026", Role.admin: "demo-admin-2026", Role.editor: "demo-editor-2026",
                  Role.viewer: "demo-viewer-2026"}
MAX_CLUSTERS_PER_SECTOR, MIN_CLUSTER_SIZE = 12, 5
CLUSTERING_BATCH = 500  # keywords per clustering call of the usage history


@dataclass(frozen=True)
class SectorSpec:
    name: str
    industry_sector: str
    terms: tuple[str, ...]  # a keyword containing one of these goes here; () takes whatever is left


@dataclass(frozen=True)
class SiteSpec:
    name: str
    domain: str
    timezone: str
    sectors: tuple[SectorSpec, ...]


SITES = (
    SiteSpec("WP Hosting Hub", "wphostinghub.example", "America/New_York", (
        SectorSpec("Hosting & Domains", "Web Hosting", ("host", "domain", "server", "cpanel", "migrat", "localhost",
                                                        "ssl", "dns", "cloud")),
        SectorSpec("Security & Speed", "Cybersecurity", ("secur", "hack", "malware", "firewall", "backup", "speed",
                                                         "cache", "password", "login", "spam", "captcha", "error")),
    )),
    SiteSpec("Theme Forge", "themeforge.example", "Europe/London", (
        SectorSpec("Themes & Design", "WordPress", ("theme", "template", "design", "elementor", "divi", "builder",
                                                    "font", "menu", "css", "layout", "landing", "header", "footer")),
        SectorSpec("Plugins", "WordPress", ("plugin", "woocommerce", "form", "integration", "api", "widget",
                                            "shortcode", "gallery", "slider", "popup", "calendar")),
    )),
    SiteSpec("WP Pro Services", "wpproservices.example", "Europe/Berlin", (
        SectorSpec("Development & Services", "WordPress", ("develop", "agency", "company", "service", "support",
                                                           "maintenan", "freelanc", "custom", "expert", "consult",
                                                           "white label", "hire")),
        SectorSpec("WordPress Basics", "WordPress", ()),
    )),
)
EDITOR_SITE = "Theme Forge"
VIEWER_SITES = ("Theme Forge", "WP Hosting Hub")


@dataclass
class DemoReport:
    """What seed_demo made, for the CLI to print and tests to check."""

    account_id: int
    account_slug: str
    logins: list[tuple[str, str, str]]  # (role, e-mail, password)
    sites: int = 0
    sectors: int = 0
    rows_read: int = 0
    keywords: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    ideas: int = 0
    tasks: int = 0
    content: dict[str, int] = field(default_factory=dict)
    scheduled: int = 0
    images: int = 0
    usage_logs: int = 0
    grants: int = 0
    credits_used: int = 0
    cost_usd: Decimal = Decimal(0)
    balance: int = 0


def seed_demo(session: Session, actor: Actor, *, keywords_csv: Path, account_name: str = "Demo Agency",
              weeks: int = 6, rng_seed: int = 7, now: datetime | None = None,
              progress: Callable[[str], None] | None = None) -> DemoReport:
    """Create a realistic demo account from a keyword export (developers only); refuses when it exists."""
    tenancy.require_developer(actor)
    if not 1 <= int(weeks) <= 52:
        raise ValidationFailed("The demo history must cover 1 to 52 weeks.")
    say = progress or (lambda _message: None)
    parsed = demo_keywords.read_keywords(Path(keywords_csv))  # a bad file fails before anything is written
    if not parsed.rows:
        raise ValidationFailed(f"{Path(keywords_csv).name} holds no usable keyword.")
    now = now or utcnow()
    start = (now - timedelta(weeks=weeks)).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(rng_seed)
    account = _account(session, actor, account_name)
    act = actor.in_account(account.id)
    report = DemoReport(account.id, account.slug, [], rows_read=parsed.read, skipped=dict(parsed.skipped))
    say("users, sites and sectors")
    people = _people(session, act, account, report)
    placed = _sites(session, act, report)
    editor_sites = _grant_sites(session, act, people, placed)
    _backdate([account, *people.values(), *(x for site, sectors in placed for x in (site, *sectors))],
              start - timedelta(days=2))
    say(f"{len(parsed.rows):,} keywords and their clusters")
    clusters, events = _keywords(session, act, placed, parsed.rows, start, report)
    say("ideas, tasks, content and images")
    ids = {role.value: u.id for role, u in people.items()} | {"system": None}
    made = demo_content.build(session, act, clusters=clusters, people=ids, editor_sites=editor_sites, rng=rng,
                              start=start, now=now)
    report.ideas, report.tasks, report.images, report.scheduled = made.ideas, made.tasks, made.images, made.scheduled
    report.content = dict(made.content)
    say(f"{len(events) + len(made.events)} AI calls on the credit ledger")
    actors = {role.value: tenancy.actor_for(session, u) for role, u in people.items() if role != Role.viewer}
    totals = demo_usage.charge_all(session, actors | {"system": tenancy.system_actor(account.id)},
                                   account_id=account.id, events=events + made.events, start=start, now=now, rng=rng)
    report.usage_logs, report.grants, report.credits_used = totals.usage_logs, totals.grants, totals.credits_used
    report.cost_usd, report.balance = totals.cost_usd, credits.balance(session, act)
    return report


def _account(session: Session, actor: Actor, name: str) -> Account:
    agency = accounts.get_plan_by_slug(session, "agency")
    try:
        return accounts.create_account(session, actor, name=name, plan_id=agency.id, status=AccountStatus.active)
    except Conflict as exc:
        raise Conflict(f"The demo account “{name}” exists already; nothing was changed. Pick another name "
                       "(--account-name) or use that one as it is.") from exc


def _people(session: Session, act: Actor, account: Account, report: DemoReport) -> dict[Role, User]:
    people = {}
    for role, password in DEMO_PASSWORDS.items():
        email = f"{role.value}@{account.slug}.example"
        people[role] = users.create_user(session, act, email=email, password=password, role=role,
                                         first_name=f"Demo {role.value}", last_name=account.name)
        report.logins.append((role.value, email, password))
    return people


def _industry_sectors(session: Session) -> tuple[int | None, dict[str, int]]:
    industry = next((i for i in sites.list_industries(session) if i.name == "Technology"), None)
    if industry is None:
        return None, {}
    return industry.id, {s.name: s.id for s in sites.list_industry_sectors(session, industry_id=industry.id)}


def _sites(session: Session, act: Actor, report: DemoReport) -> list[tuple[Site, list[Sector]]]:
    industry_id, sector_ids = _industry_sectors(session)
    placed = []
    for spec in SITES:
        site = sites.create_site(session, act, name=spec.name, domain=spec.domain, industry_id=industry_id,
                                 timezone=spec.timezone)
        sectors = [sites.create_sector(session, act, site_id=site.id, name=s.name,
                                       industry_sector_id=sector_ids.get(s.industry_sector),
                                       description=f"Demo sector: {s.industry_sector} keywords.")
                   for s in spec.sectors]
        placed.append((site, sectors))
    report.sites, report.sectors = len(placed), sum(len(s) for _, s in placed)
    return placed


def _grant_sites(session: Session, act: Actor, people: dict[Role, User],
                 placed: list[tuple[Site, list[Sector]]]) -> frozenset[int]:
    by_name = {site.name: site.id for site, _ in placed}
    users.set_site_access(session, act, user_id=people[Role.editor].id, site_ids=[by_name[EDITOR_SITE]])
    users.set_site_access(session, act, user_id=people[Role.viewer].id, site_ids=[by_name[n] for n in VIEWER_SITES])
    return frozenset({by_name[EDITOR_SITE]})


def _backdate(rows: list, at: datetime) -> None:
    for row in rows:
        row.created_at = row.updated_at = at
    # flushed with the next statement


def _keywords(session: Session, act: Actor, placed: list[tuple[Site, list[Sector]]], rows: list[KeywordRow],
              start: datetime, report: DemoReport) -> tuple[list[demo_content.ClusterInfo], list[demo_usage.UsageEvent]]:
    """Route rows to sectors, create each sector's clusters, bulk-insert its keywords; the clustering calls."""
    pairs = [(site, sector) for site, sectors in placed for sector in sectors]
    buckets = demo_keywords.route(rows, [spec.terms for s in SITES for spec in s.sectors])
    infos, events = [], []
    for n, ((site, sector), bucket) in enumerate(zip(pairs, buckets, strict=True)):
        sector = tenancy.sector_for_write(session, act, site_id=site.id, sector_id=sector.id)
        imported = start + timedelta(hours=2 + n)
        clustered = start + timedelta(days=1, minutes=20 * n)
        groups = demo_keywords.group(bucket, max_groups=MAX_CLUSTERS_PER_SECTOR, min_size=MIN_CLUSTER_SIZE)
        by_norm = {r.norm: r for r in bucket}
        cluster_of: dict[str, int] = {}
        for g in groups:
            cluster = clusters.create(session, act, site_id=site.id, sector_id=sector.id, name=g.name,
                                             description=f"Keywords sharing “{g.name.lower()}”.")
            cluster.created_at = cluster.updated_at = clustered
            cluster_of.update(dict.fromkeys(g.norms, cluster.id))
            members = sorted((by_norm[k] for k in g.norms), key=lambda r: (-(r.volume or 0), r.norm))
            infos.append(demo_content.ClusterInfo(
                cluster.id, site.id, sector.id, site.domain, sum(r.volume or 0 for r in members),
                tuple(r.keyword for r in members if demo_content.presentable(r.norm))[:6], clustered))
        report.keywords += demo_keywords.insert_keywords(session, act, sector, bucket, cluster_of=cluster_of,
                                                         created_at=imported)
        report.clusters += len(groups)
        batches = math.ceil(len(bucket) / CLUSTERING_BATCH)
        for b in range(batches):  # the clustering calls, a minute apart, just before the clusters appear
            size = min(CLUSTERING_BATCH, len(bucket) - b * CLUSTERING_BATCH)
            events.append(demo_usage.UsageEvent(clustered - timedelta(minutes=batches - b), "admin", "clustering",
                                                site.id, "sector", sector.id, f"{size} keywords of {sector.name}",
                                                items=size))
    clusters.refresh_stats(session, [c.id for c in infos])
    return infos, events
