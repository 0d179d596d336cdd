"""Offline clustering of a sector's keywords: preview (read → compute → nothing written), then apply.

House rule 9: `preview` reads the keywords in one short transaction, closes it, and runs the clusterer with no
transaction open (10–30 s on 50k keywords must not hold locks or a pooled connection). `apply` writes in the
caller's one transaction: it creates clusters (a preview cluster whose name matches a live cluster of the sector
extends that one; a deleted cluster of the exact name is restored) and maps keywords with chunked compare-and-set
UPDATEs, so a keyword that changed since the preview (mapped elsewhere, deleted, moved) is refused and counted.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import BigInteger, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

from core import tenancy
from core.common.uow import UnitOfWork
from core.errors import Conflict, LimitExceeded, ValidationFailed
from core.identity import accounts
from core.planner import clusters
from core.planner.clustering import engine as clustering
from core.planner.clustering.engine import KeywordItem
from core.tenancy import Actor
from db.enums import ClusterStatus, KeywordStatus
from db.models import Clusters, Keywords

Progress = Callable[[str, float], None]  # (message, fraction done) — the clusterer's own shape
MAX_KEYWORDS = 200_000
CHUNK = 1000
ARRAY_CHUNK = 50_000  # ids per array parameter (PostgreSQL)
SAMPLES = 5
NAME_MAX = 255


@dataclass(frozen=True)
class Snapshot:
    """What the preview read: the keywords (id, text, volume), their cluster at that moment, the sector's clusters."""

    site_id: int
    sector_id: int
    sector_name: str
    items: list[KeywordItem]
    origin: dict[int, int | None]
    existing: dict[str, int]  # live cluster name, case-folded → id


@dataclass(frozen=True)
class PreviewCluster:
    name: str
    keyword_ids: tuple[int, ...]
    volume: int
    samples: tuple[str, ...]  # the highest-volume keywords, for the preview table
    existing_id: int | None  # a live cluster of the same name that this one would extend

    @property
    def size(self) -> int:
        return len(self.keyword_ids)


@dataclass(frozen=True)
class Preview:
    """A clustering not yet written: plain data, safe to keep in a browser session until applied."""

    site_id: int
    sector_id: int
    sector_name: str
    granularity: float
    mode: str
    clusters: tuple[PreviewCluster, ...]
    unclustered_ids: tuple[int, ...]
    quality: float
    elapsed: float
    origin: dict[int, int | None]

    @property
    def total(self) -> int:
        return len(self.origin)

    @property
    def clustered(self) -> int:
        return sum(c.size for c in self.clusters)

    @property
    def unclustered_share(self) -> float:
        return len(self.unclustered_ids) / self.total if self.total else 0.0

    @property
    def extending(self) -> int:
        return sum(c.existing_id is not None for c in self.clusters)


@dataclass(frozen=True)
class ApplyResult:
    created: int
    extended: int
    mapped: int
    changed: int  # keywords refused because they changed since the preview
    cluster_ids: list[int]
    restored: int = 0  # of `created`: deleted clusters of the same name brought back

    @property
    def message(self) -> str:
        text = (f"Mapped {self.mapped:,} keyword(s): {self.created:,} new cluster(s), {self.extended:,} existing "
                "cluster(s) extended.")
        if self.restored:
            text += f" {self.restored:,} of the new ones restore deleted clusters of the same name."
        if self.changed:
            text += (f" {self.changed:,} keyword(s) changed since the preview (mapped, moved or deleted) and were "
                     "left as they are.")
        return text


def _chunks(ids: list, size: int = CHUNK) -> list[list]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def load(session: Session, actor: Actor, *, site_id: int, sector_id: int, keyword_ids: list[int] | None = None,
         search: str | None = None) -> Snapshot:
    """The keywords to cluster: the sector's new (unmapped, enabled) keywords, or the given ones, read in SQL."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    cols = select(Keywords.id, Keywords.keyword, Keywords.volume, Keywords.cluster_id)
    base = tenancy.scoped(cols, Keywords, actor).where(Keywords.sector_id == sector.id)
    if keyword_ids is None:
        stmt = base.where(Keywords.status == KeywordStatus.new, Keywords.cluster_id.is_(None),
                          Keywords.disabled.is_(False))
        if search and search.strip():
            stmt = stmt.where(func.lower(Keywords.keyword).contains(search.strip().lower(), autoescape=True))
        rows = session.execute(stmt.order_by(Keywords.id).limit(MAX_KEYWORDS + 1)).all()
    else:
        ids = sorted({int(i) for i in keyword_ids})
        rows = [r for chunk in _chunks(ids) for r in session.execute(base.where(Keywords.id.in_(chunk)))]
        if len(rows) != len(ids):
            raise ValidationFailed(f"{len(ids) - len(rows)} of the selected keywords are not in sector "
                                   f"“{sector.name}” (or were deleted).")
    if len(rows) > MAX_KEYWORDS:
        raise LimitExceeded(f"At most {MAX_KEYWORDS:,} keywords can be clustered at once; narrow the selection.")
    if len(rows) < 2:
        raise ValidationFailed(f"Sector “{sector.name}” has {'no' if not rows else 'only one'} new keyword to "
                               "cluster; clustering needs at least two.")
    existing = {name.lower(): cid for cid, name in session.execute(
        tenancy.scoped(select(Clusters.id, Clusters.name), Clusters, actor).where(Clusters.sector_id == sector.id))}
    return Snapshot(sector.site_id, sector.id, sector.name, [KeywordItem(r.id, r.keyword, r.volume) for r in rows],
                    {r.id: r.cluster_id for r in rows}, existing)


def compute(snapshot: Snapshot, *, granularity: float = 0.5, mode: str = "lexical",
            on_progress: Progress | None = None) -> Preview:
    """Run the clusterer on a snapshot (no database): the preview of what apply would write."""
    result = clustering.cluster_keywords(snapshot.items, granularity=granularity, mode=mode, on_progress=on_progress)
    by_id = {it.id: it for it in snapshot.items}
    out = []
    for c in result.clusters:
        top = sorted(c.member_ids, key=lambda i: (-(by_id[i].volume or 0), i))[:SAMPLES]
        name = c.name[:NAME_MAX].strip()
        out.append(PreviewCluster(name, tuple(c.member_ids), c.volume, tuple(by_id[i].text for i in top),
                                  snapshot.existing.get(name.lower())))
    return Preview(snapshot.site_id, snapshot.sector_id, snapshot.sector_name, granularity, mode, tuple(out),
                   tuple(result.unclustered_ids), result.quality, result.elapsed, snapshot.origin)


def preview(uow: UnitOfWork, actor: Actor, *, site_id: int, sector_id: int, keyword_ids: list[int] | None = None,
            search: str | None = None, granularity: float = 0.5, mode: str = "lexical",
            on_progress: Progress | None = None) -> Preview:
    """Read in one short transaction (a unit of work), then cluster with none open."""
    report = on_progress or (lambda message, fraction: None)
    report("Reading keywords", 0.0)
    with uow() as session:
        snapshot = load(session, actor, site_id=site_id, sector_id=sector_id, keyword_ids=keyword_ids,
                        search=search)
    return compute(snapshot, granularity=granularity, mode=mode, on_progress=on_progress)


def semantic_available() -> tuple[bool, str]:
    """Whether the optional local embedding model is installed, and why not."""
    from core.planner.clustering import embedder as local_embedder
    try:
        local_embedder.model_dir()
    except ValidationFailed as exc:
        return False, str(exc)
    return True, ""


# --- apply ----------------------------------------------------------------------------------------------------

def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _arrays(name: str, **cols: list) -> TableValuedAlias:
    """Columns of ids as one `unnest(array, …) AS name(col, …)` (PostgreSQL): one parameter per column."""
    args = [bindparam(f"{name}_{col}", values, type_=ARRAY(BigInteger)) for col, values in cols.items()]
    return func.unnest(*args).table_valued(*cols).render_derived(name=name)


# Why two ways to address many keyword ids: right after a bulk import PostgreSQL has no statistics yet and plans
# `id IN (…1000 ids…) AND sector_id = … AND account_id = …` as a bitmap scan of the whole sector (0.6 s a chunk,
# 30 s for 50k keywords); a join on unnest(arrays) goes through the primary key in one statement. SQLite plans IN
# lists well and has no arrays.

def _unchanged(session: Session, actor: Actor, p: Preview) -> set[int]:
    """Keywords of the preview that are still live in the sector with the cluster they had then."""
    keep: set[int] = set()
    for chunk in _chunks(sorted(p.origin), ARRAY_CHUNK if _on_postgres(session) else CHUNK):
        base = tenancy.scoped(select(Keywords.id, Keywords.cluster_id), Keywords, actor).where(
            Keywords.sector_id == p.sector_id)
        if _on_postgres(session):
            v = _arrays("seen", kid=chunk, origin=[p.origin[i] for i in chunk])
            keep.update(session.scalars(base.with_only_columns(Keywords.id).join(v, Keywords.id == v.c.kid)
                                        .where(Keywords.cluster_id.is_not_distinct_from(v.c.origin))))
        else:
            keep.update(r.id for r in session.execute(base.where(Keywords.id.in_(chunk)))
                        if r.cluster_id == p.origin[r.id])
    return keep


def _map(session: Session, p: Preview, moves: list[tuple[int, int]]) -> int:
    """Set the cluster of each (keyword id, cluster id), compare-and-set on the cluster the preview saw; the number
    of keywords mapped (the others changed since the preview)."""
    mapped, done = 0, KeywordStatus.mapped
    if _on_postgres(session):
        for chunk in _chunks(sorted(moves), ARRAY_CHUNK):
            v = _arrays("moves", kid=[k for k, _ in chunk], cid=[c for _, c in chunk],
                        origin=[p.origin[k] for k, _ in chunk])
            mapped += session.execute(update(Keywords).where(
                Keywords.id == v.c.kid, Keywords.cluster_id.is_not_distinct_from(v.c.origin),
                Keywords.deleted_at.is_(None)).values(cluster_id=v.c.cid, status=done)
                .execution_options(synchronize_session=False)).rowcount
        return mapped
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for kid, cid in moves:
        groups[(cid, p.origin[kid])].append(kid)
    for (cid, origin), ids in groups.items():
        same = Keywords.cluster_id.is_(None) if origin is None else Keywords.cluster_id == origin
        for chunk in _chunks(sorted(ids)):
            mapped += session.execute(update(Keywords).where(Keywords.id.in_(chunk), same,
                                                             Keywords.deleted_at.is_(None))
                                      .values(cluster_id=cid, status=done)
                                      .execution_options(synchronize_session=False)).rowcount
    return mapped


def _unique_name(name: str, taken: set[str]) -> str:
    """The name, or “name (2)”, “name (3)” … when a cluster of the sector is called so already."""
    candidate, n = name, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = name[:NAME_MAX - len(suffix)] + suffix, n + 1
    return candidate


def _targets(session: Session, actor: Actor, p: Preview, groups: list[tuple[str, list[int]]],
             extend_existing: bool, account_id: int) -> tuple[dict[str, int], int, int, int]:
    """Cluster id per preview name: live clusters extended, deleted ones of the exact name restored, others
    created in one bulk INSERT, within the plan's max_clusters; returns (ids by name, created, extended,
    restored)."""
    rows = session.execute(tenancy.scoped(select(Clusters.id, Clusters.name, Clusters.deleted_at), Clusters, actor,
                                          include_deleted=True).where(Clusters.sector_id == p.sector_id)).all()
    live = {r.name.lower(): r.id for r in rows if r.deleted_at is None}
    deleted = {r.name: r.id for r in rows if r.deleted_at is not None}
    taken = {r.name.lower() for r in rows}
    ids: dict[str, int] = {}
    restore, new_rows, extended = [], [], 0
    for name, _ in groups:
        if extend_existing and name.lower() in live:
            ids[name], extended = live[name.lower()], extended + 1
        elif extend_existing and name in deleted:
            ids[name] = deleted[name]
            restore.append(deleted[name])
        else:
            final = _unique_name(name, taken)
            taken.add(final.lower())
            new_rows.append({"account_id": account_id, "site_id": p.site_id, "sector_id": p.sector_id, "name": final,
                             "description": "", "status": ClusterStatus.new, "_preview": name})
    accounts.check_cluster_limit(session, account_id, adding=len(restore) + len(new_rows))
    if restore:
        session.execute(update(Clusters).where(Clusters.id.in_(restore)).values(deleted_at=None))
    if new_rows:
        made = session.execute(insert(Clusters).returning(Clusters.id, Clusters.name),
                               [{k: v for k, v in r.items() if k != "_preview"} for r in new_rows]).all()
        by_final = {name: cid for cid, name in made}
        ids.update({r["_preview"]: by_final[r["name"]] for r in new_rows})
    return ids, len(restore) + len(new_rows), extended, len(restore)


def apply(session: Session, actor: Actor, *, preview: Preview, extend_existing: bool = True) -> ApplyResult:
    """Write a preview: create or extend clusters and map its keywords, refusing those changed since."""
    p = preview
    sector = tenancy.sector_for_write(session, actor, site_id=p.site_id, sector_id=p.sector_id)
    keep = _unchanged(session, actor, p)
    groups: dict[str, list[int]] = defaultdict(list)  # equal names (case-insensitively) go to one cluster
    names: dict[str, str] = {}
    for c in p.clusters:
        kept = [i for i in c.keyword_ids if i in keep]
        if kept:
            groups[names.setdefault(c.name.lower(), c.name)].extend(kept)
    planned = sum(c.size for c in p.clusters)
    if not groups:
        raise Conflict("Every keyword of this preview changed since it was made; run the preview again.")
    try:
        with session.begin_nested():  # a concurrent apply creating the same names: a message, not a traceback
            target, created, extended, restored = _targets(session, actor, p, list(groups.items()), extend_existing,
                                                 sector.account_id)
    except IntegrityError as exc:
        raise Conflict("Someone changed the clusters of this sector at the same moment; run the preview again.") \
            from exc
    moves = [(kid, target[name]) for name, ids in groups.items() for kid in ids]
    mapped = _map(session, p, moves)
    touched = set(target.values()) | {p.origin[kid] for kid, _ in moves if p.origin[kid] is not None}
    clusters.refresh_stats(session, sorted(touched))
    return ApplyResult(created, extended, mapped, planned - mapped, sorted(set(target.values())), restored)
