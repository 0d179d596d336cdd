"""Clusters of a sector: the list with its statistics, create, rename, merge, split, delete, restore, drill-down.

Decisions:
- Names are unique per sector, case-insensitively among live clusters. A deleted cluster keeps its name (the
  database's unique key covers it): creating a cluster of that name restores the deleted one, empty.
- Delete is a soft delete. The cluster's keywords return to status `new` without a cluster; its `new` ideas stay,
  without a cluster (the Ideas screen can move them to another one; an idea needs a cluster to become a task).
  A cluster with writer tasks (or ideas queued or written) is refused: merge it into another cluster instead.
- Merge moves keywords, ideas, tasks and content of the sources to the target and soft-deletes the sources.
- The list sorts and pages (keyset) on the counters kept on the cluster row; the shown keyword count, volume,
  average difficulty and ideas count are aggregated in SQL for the rows of the page only.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy import delete as delete_rows
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.common.text import clean_name, one_of
from core.errors import Conflict, NotFound, ValidationFailed
from core.identity import accounts
from core.planner import keywords
from core.planner.keywords import KeywordRow
from core.tenancy import Actor
from db.base import utcnow
from db.enums import ClusterStatus, IdeaStatus, KeywordStatus
from db.models import Clusters, Content, ContentAttribute, ContentClusterMap, ContentIdeas, Keywords, Sector, Tasks

PAGE = 50
MAX_PAGE = 500
STATS_CHUNK = 1000
# sort key → (column, descending); ties broken by id in the same direction (keyset pagination)
SORTS: dict[str, Order] = {
    "volume": Order("volume", Clusters.volume, Clusters.id), "keywords": Order("keywords", Clusters.keywords_count,
                                                                                Clusters.id),
    "name": Order("name", Clusters.name, Clusters.id, descending=False),
    "newest": Order("newest", Clusters.id, Clusters.id, unique=True)}


@dataclass(frozen=True)
class ClusterRow:
    """One cluster of the list, with statistics aggregated in SQL."""

    id: int
    name: str
    description: str
    status: str
    keywords: int
    volume: int
    avg_difficulty: float | None
    ideas: int
    created_at: datetime
    sort_value: object  # the value of the sort column (keyset cursor)


ClusterPage = Page[ClusterRow]


@dataclass(frozen=True)
class MergeResult:
    target_id: int
    merged: int
    keywords: int
    ideas: int
    tasks: int


@dataclass(frozen=True)
class DeleteResult:
    clusters: int
    keywords_released: int
    ideas_unassigned: int


def _filtered(stmt: Select, actor: Actor, *, sector_id: int, search: str | None, status: str | None,
              deleted: bool) -> Select:
    stmt = tenancy.scoped(stmt, Clusters, actor, include_deleted=deleted).where(Clusters.sector_id == sector_id)
    if deleted:
        stmt = stmt.where(Clusters.deleted_at.is_not(None))
    if search and search.strip():
        stmt = stmt.where(func.lower(Clusters.name).contains(search.strip().lower(), autoescape=True))
    if status:
        stmt = stmt.where(Clusters.status == one_of(ClusterStatus, status, "Cluster status"))
    return stmt


def list_clusters(session: Session, actor: Actor, *, sector_id: int, search: str | None = None,
                  status: str | None = None, sort: str = "volume", after: Cursor | None = None, limit: int = PAGE,
                  deleted: bool = False) -> ClusterPage:
    """One page of a sector's clusters (or of its deleted ones) with their statistics."""
    tenancy.get(session, actor, Sector, sector_id)
    if sort not in SORTS:
        raise ValidationFailed(f"Sort by one of {', '.join(SORTS)}, not “{sort}”.")
    where = {"sector_id": sector_id, "search": search, "status": status, "deleted": deleted}
    total = session.scalar(_filtered(select(func.count(Clusters.id)), actor, **where)) or 0
    found = paging.page(session, _filtered(select(Clusters), actor, **where), SORTS[sort],
                        convert=paging.first_column, limit=paging.limit_of(limit, MAX_PAGE), after=after,
                        total=total)
    stats = _stats(session, [c.id for c in found.rows])
    rows = [ClusterRow(c.id, c.name, c.description, c.status.value, *stats.get(c.id, (0, 0, None, 0)),
                       c.created_at, getattr(c, SORTS[sort].key.key)) for c in found.rows]
    return replace(found, rows=rows)


def _stats(session: Session, ids: list[int]) -> dict[int, tuple[int, int, float | None, int]]:
    """(keywords, volume, average difficulty, ideas) of the given clusters, aggregated in SQL."""
    if not ids:
        return {}
    kw = session.execute(select(Keywords.cluster_id, func.count(Keywords.id), func.coalesce(func.sum(Keywords.volume), 0),
                                func.avg(Keywords.difficulty))
                         .where(Keywords.cluster_id.in_(ids), Keywords.deleted_at.is_(None))
                         .group_by(Keywords.cluster_id)).all()
    ideas = dict(session.execute(select(ContentIdeas.keyword_cluster_id, func.count(ContentIdeas.id))
                                 .where(ContentIdeas.keyword_cluster_id.in_(ids), ContentIdeas.deleted_at.is_(None))
                                 .group_by(ContentIdeas.keyword_cluster_id)).all())
    out = {cid: (0, 0, None, ideas.get(cid, 0)) for cid in ids}
    for cid, count, volume, avg in kw:
        out[cid] = (count, int(volume), round(float(avg), 1) if avg is not None else None, ideas.get(cid, 0))
    return out


def names(session: Session, actor: Actor, *, sector_id: int, limit: int = 2000) -> dict[int, str]:
    """Live clusters of a sector by name (for pickers), at most `limit`."""
    tenancy.get(session, actor, Sector, sector_id)
    stmt = tenancy.scoped(select(Clusters.id, Clusters.name), Clusters, actor).where(Clusters.sector_id == sector_id)
    return dict(session.execute(stmt.order_by(Clusters.name, Clusters.id).limit(limit)).all())


def get_for_write(session: Session, actor: Actor, *, cluster_id: int, include_deleted: bool = False) -> Clusters:
    """A cluster the actor may change (role, account and site access checked)."""
    return tenancy.get_for_write(session, actor, Clusters, cluster_id, include_deleted=include_deleted)


def _name_taken(session: Session, actor: Actor, sector_id: int, name: str, *, but: int | None = None) -> Clusters | None:
    """A cluster of the sector with this name: a live one case-insensitively, or a deleted one exactly."""
    # SQL lower() folds ASCII only on SQLite: the exact name always matches, the rest is compared in Python
    stmt = tenancy.scoped(select(Clusters), Clusters, actor, include_deleted=True).where(
        Clusters.sector_id == sector_id, or_(Clusters.name == name, func.lower(Clusters.name) == name.lower()))
    if but is not None:
        stmt = stmt.where(Clusters.id != but)
    rows = [c for c in session.scalars(stmt) if c.name.lower() == name.lower()]
    return next((c for c in rows if c.deleted_at is None), None) or next((c for c in rows if c.name == name), None)


def named(session: Session, actor: Actor, *, sector_id: int, name: str) -> Clusters | None:
    """The sector's cluster of that name: a live one (any case), else a deleted one of the exact name."""
    return _name_taken(session, actor, sector_id, clean_name(name, "Cluster name"))


def create(session: Session, actor: Actor, *, site_id: int, sector_id: int, name: str,
           description: str = "") -> Clusters:
    """A new cluster in a sector; a deleted cluster of the same name is restored instead."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    name = clean_name(name, "Cluster name")
    taken = _name_taken(session, actor, sector.id, name)
    if taken is not None and taken.deleted_at is None:
        raise Conflict(f"Sector “{sector.name}” has a cluster named “{taken.name}” already.")
    accounts.check_cluster_limit(session, sector.account_id)
    if taken is not None:
        taken.deleted_at = None
        taken.description = (description or "").strip()[:5000] or taken.description
        session.flush()
        refresh_stats(session, [taken.id])
        return taken
    cluster = Clusters(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id, name=name,
                       description=(description or "").strip()[:5000])
    session.add(cluster)
    session.flush()
    return cluster


def in_sector(session: Session, actor: Actor, *, cluster_id: int, sector_id: int) -> Clusters:
    """The cluster, which must be visible to the actor and in the given sector."""
    cluster = tenancy.get(session, actor, Clusters, cluster_id)
    if cluster.sector_id != sector_id:
        raise ValidationFailed(f"Cluster “{cluster.name}” belongs to another sector; a keyword and its cluster "
                               "must be in the same sector.")
    return cluster


def assign_keywords(session: Session, actor: Actor, *, keyword_ids: list[int], cluster_id: int) -> int:
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
    refresh_stats(session, sorted(previous | {cluster.id}))
    return len(ids)


def refresh_stats(session: Session, cluster_ids: list[int]) -> None:
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


def rename(session: Session, actor: Actor, *, cluster_id: int, name: str, description: str | None = None) -> Clusters:
    """Rename a cluster (and optionally change its description); names stay unique in the sector."""
    cluster = get_for_write(session, actor, cluster_id=cluster_id)
    name = clean_name(name, "Cluster name")
    taken = _name_taken(session, actor, cluster.sector_id, name, but=cluster.id)
    if taken is not None and taken.deleted_at is None:
        raise Conflict(f"This sector has a cluster named “{taken.name}” already; merge the two instead.")
    if taken is not None:
        raise Conflict(f"A deleted cluster of this sector is named “{name}”. Create a cluster of that name to "
                       "restore it, or pick another name.")
    cluster.name = name
    if description is not None:
        cluster.description = description.strip()[:5000]
    session.flush()
    return cluster


def _in(col: ColumnElement, ids: Iterable[int]) -> ColumnElement[bool]:
    return col.in_(sorted(set(ids)))


def merge(session: Session, actor: Actor, *, source_ids: list[int], target_id: int) -> MergeResult:
    """Move everything of the source clusters into the target (same sector) and soft-delete the sources."""
    target = get_for_write(session, actor, cluster_id=target_id)
    ids = sorted({int(i) for i in source_ids} - {target.id})
    if not ids:
        raise ValidationFailed(f"Pick at least one other cluster to merge into “{target.name}”.")
    sources = [get_for_write(session, actor, cluster_id=i) for i in ids]
    foreign = [c.name for c in sources if c.sector_id != target.sector_id]
    if foreign:
        raise ValidationFailed(f"Only clusters of the same sector can be merged; “{foreign[0]}” is in another "
                               f"sector than “{target.name}”.")
    keywords = session.execute(update(Keywords).where(_in(Keywords.cluster_id, ids))
                               .values(cluster_id=target.id, status=KeywordStatus.mapped)).rowcount
    ideas = session.execute(update(ContentIdeas).where(_in(ContentIdeas.keyword_cluster_id, ids))
                            .values(keyword_cluster_id=target.id)).rowcount
    tasks = session.execute(update(Tasks).where(_in(Tasks.cluster_id, ids)).values(cluster_id=target.id)).rowcount
    for model in (Content, ContentAttribute):
        session.execute(update(model).where(_in(model.cluster_id, ids)).values(cluster_id=target.id))
    _move_content_maps(session, ids, target.id)
    session.execute(update(Clusters).where(_in(Clusters.id, ids)).values(deleted_at=utcnow()))
    refresh_stats(session, [target.id, *ids])
    return MergeResult(target.id, len(ids), keywords, ideas, tasks)


def _move_content_maps(session: Session, source_ids: list[int], target_id: int) -> None:
    """Point the sources' content maps at the target; a map the target has already (same content and role) is
    dropped rather than duplicated."""
    rows = session.execute(select(ContentClusterMap.id, ContentClusterMap.content_id, ContentClusterMap.role,
                                  ContentClusterMap.cluster_id)
                           .where(_in(ContentClusterMap.cluster_id, [target_id, *source_ids]))
                           .order_by(ContentClusterMap.cluster_id != target_id, ContentClusterMap.id)).all()
    seen: set[tuple[int, str]] = set()
    duplicates, moves = [], []
    for r in rows:
        key = (r.content_id, str(r.role))
        if r.content_id is not None and key in seen:
            duplicates.append(r.id)
            continue
        seen.add(key)
        if r.cluster_id != target_id:
            moves.append(r.id)
    if duplicates:
        session.execute(delete_rows(ContentClusterMap).where(_in(ContentClusterMap.id, duplicates)))
    if moves:
        session.execute(update(ContentClusterMap).where(_in(ContentClusterMap.id, moves)).values(cluster_id=target_id))


def split(session: Session, actor: Actor, *, cluster_id: int, keyword_ids: list[int], name: str,
          description: str = "") -> Clusters:
    """Move some keywords of a cluster into a new cluster of the same sector."""
    source = get_for_write(session, actor, cluster_id=cluster_id)
    ids = sorted({int(i) for i in keyword_ids})
    if not ids:
        raise ValidationFailed("Select the keywords that go to the new cluster.")
    inside = session.scalar(tenancy.scoped(select(func.count(Keywords.id)), Keywords, actor)
                            .where(_in(Keywords.id, ids), Keywords.cluster_id == source.id)) or 0
    if inside != len(ids):
        raise ValidationFailed(f"{len(ids) - inside} of the selected keywords are not in cluster “{source.name}”.")
    new = create(session, actor, site_id=source.site_id, sector_id=source.sector_id, name=name,
                 description=description)
    assign_keywords(session, actor, keyword_ids=ids, cluster_id=new.id)
    return new


def delete(session: Session, actor: Actor, *, cluster_ids: list[int]) -> DeleteResult:
    """Soft-delete clusters; their keywords return to `new`, their new ideas lose the cluster (see module doc)."""
    clusters = [get_for_write(session, actor, cluster_id=i) for i in sorted({int(i) for i in cluster_ids})]
    if not clusters:
        raise ValidationFailed("Select the clusters to delete.")
    ids = [c.id for c in clusters]
    busy = set(session.scalars(tenancy.scoped(select(Tasks.cluster_id), Tasks, actor).where(
        _in(Tasks.cluster_id, ids))))
    busy |= set(session.scalars(tenancy.scoped(select(ContentIdeas.keyword_cluster_id), ContentIdeas, actor).where(
        _in(ContentIdeas.keyword_cluster_id, ids), ContentIdeas.status != IdeaStatus.new)))
    if busy:
        named = ", ".join(f"“{c.name}”" for c in clusters if c.id in busy)
        raise Conflict(f"Cluster(s) {named} have writer tasks or queued ideas and cannot be deleted; merge them "
                       "into another cluster instead.")
    released = session.execute(update(Keywords).where(_in(Keywords.cluster_id, ids))
                               .values(cluster_id=None, status=KeywordStatus.new)).rowcount
    unassigned = session.execute(update(ContentIdeas).where(_in(ContentIdeas.keyword_cluster_id, ids))
                                 .values(keyword_cluster_id=None)).rowcount
    session.execute(update(Clusters).where(_in(Clusters.id, ids)).values(deleted_at=utcnow()))
    refresh_stats(session, ids)
    return DeleteResult(len(ids), released, unassigned)


def restore(session: Session, actor: Actor, *, cluster_ids: list[int]) -> int:
    """Bring deleted clusters back (empty: their keywords were released when they were deleted)."""
    clusters = [get_for_write(session, actor, cluster_id=i, include_deleted=True) for i in set(cluster_ids)]
    if clusters:
        accounts.check_cluster_limit(session, clusters[0].account_id,
                                     adding=sum(1 for c in clusters if c.deleted_at is not None))
    for cluster in clusters:
        taken = _name_taken(session, actor, cluster.sector_id, cluster.name, but=cluster.id)
        if taken is not None and taken.deleted_at is None:
            raise Conflict(f"A live cluster is named “{taken.name}”; rename it before restoring this one.")
        cluster.deleted_at = None
    session.flush()
    return len(clusters)


def cluster_keywords(session: Session, actor: Actor, *, cluster_id: int, after: Cursor | None = None,
                     limit: int = PAGE) -> Page[KeywordRow]:
    """One page of a cluster's keywords, highest volume first (no volume last)."""
    cluster = tenancy.get(session, actor, Clusters, cluster_id, include_deleted=True)
    where = tenancy.scoped(select(Keywords.id), Keywords, actor).where(Keywords.cluster_id == cluster.id).whereclause
    total = session.scalar(select(func.count(Keywords.id)).where(where)) or 0
    return paging.page(session, keywords.row_select(where), keywords.order_by("volume", "desc"),
                       convert=keywords.to_row, limit=paging.limit_of(limit, MAX_PAGE), after=after, total=total)
