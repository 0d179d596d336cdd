"""Planner basics: keywords and clusters of a sector, with the same-sector rule enforced."""
from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import Conflict, NotFound, ValidationFailed
from core.tenancy import Actor
from core.text import clean_name
from db.enums import ClusterStatus, ContentStructure, ContentType, IdeaStatus, KeywordStatus
from db.models import Clusters, ContentIdeas, Keywords

MAX_KEYWORD = 500
STATS_CHUNK = 1000


def normalize_keyword(text: str) -> tuple[str, str]:
    """(display form, de-duplication key): NFKC, trimmed, inner spaces folded; the key is case-folded."""
    display = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not display:
        raise ValidationFailed("A keyword cannot be empty.")
    if len(display) > MAX_KEYWORD:
        raise ValidationFailed(f"A keyword may have at most {MAX_KEYWORD} characters ({len(display)} given).")
    return display, display.casefold()


def _bounded_int(value: object, what: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{what} must be a whole number, not “{value}”.") from exc
    if not low <= number <= high:
        raise ValidationFailed(f"{what} must be between {low} and {high:,} ({number:,} given).")
    return number


def _cpc(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        cpc = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"CPC must be an amount like 1.25, not “{value}”.") from exc
    if cpc < 0 or cpc > Decimal("99999999"):
        raise ValidationFailed("CPC must be between 0 and 99,999,999.")
    return cpc


def cluster_in_sector(session: Session, actor: Actor, *, cluster_id: int, sector_id: int) -> Clusters:
    """The cluster, which must be visible to the actor and in the given sector."""
    cluster = tenancy.get(session, actor, Clusters, cluster_id)
    if cluster.sector_id != sector_id:
        raise ValidationFailed(f"Cluster “{cluster.name}” belongs to another sector; a keyword and its cluster "
                               "must be in the same sector.")
    return cluster


def create_cluster(session: Session, actor: Actor, *, site_id: int, sector_id: int, name: str,
                   description: str = "") -> Clusters:
    """A new cluster in a sector (names are unique per sector)."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    name = clean_name(name, "Cluster name")
    if session.scalar(select(Clusters.id).where(Clusters.sector_id == sector.id, Clusters.name == name)):
        raise Conflict(f"Sector “{sector.name}” has a cluster named “{name}” already.")
    cluster = Clusters(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id, name=name,
                       description=(description or "").strip()[:5000])
    session.add(cluster)
    session.flush()
    return cluster


def create_keyword(session: Session, actor: Actor, *, site_id: int, sector_id: int, keyword: str,
                   volume: object = None, difficulty: object = None, cpc: object = None, intent: str | None = None,
                   cluster_id: int | None = None) -> Keywords:
    """One keyword in a sector; duplicates (after normalisation) are refused."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    display, norm = normalize_keyword(keyword)
    if session.scalar(select(Keywords.id).where(Keywords.sector_id == sector.id, Keywords.keyword_norm == norm)):
        raise Conflict(f"“{display}” is in sector “{sector.name}” already.")
    cluster = cluster_in_sector(session, actor, cluster_id=cluster_id, sector_id=sector.id) if cluster_id else None
    kw = Keywords(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id, keyword=display,
                  keyword_norm=norm, volume=_bounded_int(volume, "Volume", 0, 2_000_000_000),
                  difficulty=_bounded_int(difficulty, "Difficulty", 0, 100), cpc=_cpc(cpc),
                  intent=(intent or None) and intent.strip()[:100],
                  cluster_id=cluster.id if cluster else None,
                  status=KeywordStatus.mapped if cluster else KeywordStatus.new)
    session.add(kw)
    session.flush()
    if cluster:
        refresh_cluster_stats(session, [cluster.id])
    return kw


def assign_to_cluster(session: Session, actor: Actor, *, keyword_ids: list[int], cluster_id: int) -> int:
    """Map keywords to a cluster of their own sector; returns how many moved."""
    tenancy.require_write(actor)
    cluster = tenancy.get(session, actor, Clusters, cluster_id, write=True)
    ids = sorted({int(i) for i in keyword_ids})
    found = session.execute(tenancy.scoped(select(Keywords.id, Keywords.sector_id, Keywords.cluster_id)
                                           .where(Keywords.id.in_(ids)), Keywords, actor)).all()
    if len(found) != len(ids):
        missing = sorted(set(ids) - {r.id for r in found})
        raise NotFound(f"Keyword(s) {', '.join(map(str, missing[:10]))} were not found.")
    foreign = [r.id for r in found if r.sector_id != cluster.sector_id]
    if foreign:
        raise ValidationFailed(f"{len(foreign)} keyword(s) are in another sector than cluster “{cluster.name}”; "
                               "a keyword and its cluster must be in the same sector.")
    previous = {r.cluster_id for r in found if r.cluster_id}
    session.execute(update(Keywords).where(Keywords.id.in_(ids))
                    .values(cluster_id=cluster.id, status=KeywordStatus.mapped))
    refresh_cluster_stats(session, sorted(previous | {cluster.id}))
    return len(ids)


def refresh_cluster_stats(session: Session, cluster_ids: list[int]) -> None:
    """Recompute keyword count, total volume and status of clusters in SQL (set-based: one UPDATE per chunk)."""
    live = and_(Keywords.cluster_id == Clusters.id, Keywords.deleted_at.is_(None))
    count = select(func.count(Keywords.id)).where(live).scalar_subquery()
    volume = select(func.coalesce(func.sum(Keywords.volume), 0)).where(live).scalar_subquery()
    ids = sorted({int(i) for i in cluster_ids})
    for start in range(0, len(ids), STATS_CHUNK):  # bounded IN lists: thousands of clusters after a clustering run
        session.execute(update(Clusters).where(Clusters.id.in_(ids[start:start + STATS_CHUNK]))
                        .values(keywords_count=count, volume=volume,
                                status=case((count > 0, ClusterStatus.mapped.value), else_=ClusterStatus.new.value))
                        .execution_options(synchronize_session="fetch"))


def create_idea(session: Session, actor: Actor, *, cluster_id: int, title: str, description: str = "",
                content_type: str = ContentType.post, content_structure: str = ContentStructure.article,
                target_keywords: list[str] | None = None, estimated_word_count: int = 1000) -> ContentIdeas:
    """A content idea for a cluster, in the cluster's site and sector."""
    cluster = tenancy.get(session, actor, Clusters, cluster_id, write=True)
    tenancy.sector_for_write(session, actor, site_id=cluster.site_id, sector_id=cluster.sector_id)
    try:
        ctype, cstruct = ContentType(content_type), ContentStructure(content_structure)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown content type or structure: {exc}.") from exc
    idea = ContentIdeas(account_id=cluster.account_id, site_id=cluster.site_id, sector_id=cluster.sector_id,
                        keyword_cluster_id=cluster.id, idea_title=clean_name(title, "Idea title"),
                        description=(description or "").strip(), content_type=ctype, content_structure=cstruct,
                        target_keywords=", ".join(k.strip() for k in (target_keywords or []) if k.strip()),
                        estimated_word_count=_bounded_int(estimated_word_count, "Estimated word count", 0, 100_000)
                        or 0, status=IdeaStatus.new)
    session.add(idea)
    session.flush()
    return idea
