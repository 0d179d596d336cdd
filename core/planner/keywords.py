"""The keywords screen's reads: a sector's keywords searched, filtered, sorted and keyset-paged in SQL, and counts
(its writes, inline edits and bulk actions, are in core/planner/keyword_edits.py).

Paging is keyset (seek) pagination on (sort column, id): a page costs the same at any depth because the database
starts from the last row shown instead of counting past every earlier row (OFFSET), and it reads at most the page
plus one row (to know whether there is more). Every sort has an index led by sector_id (migration 0003).

NULLs come last in both directions on both databases. Rather than NULLS LAST (which PostgreSQL could only serve
from an index built for one direction, and SQLite from none), a nullable sort is walked as two segments — the rows
with a value, ordered by (value, id), then the rows without, ordered by id — each an index range scan; a page
that spans the boundary runs the second query for the rows still missing, so it never reads more than it shows + 1.

Measured on a million keywords in one sector (bench/keywords_bench.py, PostgreSQL 15, 2 cores): page 1 and page
10,000 both take ~0.4 ms as bare SQL and ~1.5 ms through list_keywords, where OFFSET 499,950 takes ~1.2–1.5 s.
Search is a substring match on keyword_norm (LIKE '%term%'): PostgreSQL serves it from a pg_trgm GIN index
(2–12 ms for page 1 of a common word or a two-word phrase); SQLite scans the sector (~55 ms per 100k keywords).
A btree prefix search would be cheaper still but would not find "grinder" inside "best coffee grinder".
Exact counts need a scan of the filtered rows (~180 ms per million): count_by_status is exact (the page caches it
for a minute), count_filtered stops at a cap (~5 ms) and says "10,000+".
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, String, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.enums import KeywordStatus
from db.models import Clusters, Keywords

MAX_LIMIT = 500
COUNT_CAP = 10_000


class Deleted(StrEnum):
    """Which rows a view shows: the live ones (default), only the soft-deleted ones (to restore), or both."""

    exclude = "exclude"
    only = "only"
    include = "include"


@dataclass(frozen=True)
class KeywordFilter:
    """What the user filters on; frozen, so it can key cached counts and the page state of a view."""

    search: str = ""  # substring of the keyword (case, width and inner spaces ignored)
    status: str | None = None
    cluster_id: int | None = None
    unclustered: bool = False  # only keywords in no cluster (wins over cluster_id)
    intent: str = ""  # substring of the intent, any case
    volume_min: int | None = None
    volume_max: int | None = None
    difficulty_min: int | None = None
    difficulty_max: int | None = None
    disabled: bool | None = None
    deleted: str = Deleted.exclude


@dataclass(frozen=True)
class SortSpec:
    column: ColumnElement
    nullable: bool
    unique: bool = False  # unique within a sector: (value) alone orders totally, no id tie-break needed


SORTS: dict[str, SortSpec] = {
    "keyword": SortSpec(Keywords.keyword_norm, nullable=False, unique=True),
    "volume": SortSpec(Keywords.volume, nullable=True),
    "difficulty": SortSpec(Keywords.difficulty, nullable=True),
    "cpc": SortSpec(Keywords.cpc, nullable=True),
    "created_at": SortSpec(Keywords.created_at, nullable=False),
}


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: the boundary row's sort value (None: in the NULL tail) and id."""

    sort: str
    descending: bool
    value: object
    id: int


@dataclass(frozen=True)
class KeywordRow:
    id: int
    keyword: str
    volume: int | None
    difficulty: int | None
    cpc: Decimal | None
    intent: str | None
    status: str
    cluster_id: int | None
    cluster_name: str | None
    disabled: bool
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class KeywordPage:
    rows: list[KeywordRow]
    next_cursor: Cursor | None  # pass as `after` for the next page (None: this is the last)
    prev_cursor: Cursor | None  # pass as `before` for the previous page (None: this is the first)
    has_more: bool
    fetched: int = field(default=0, compare=False)  # rows the queries returned (at most len(rows) + 1)


@dataclass(frozen=True)
class FilteredCount:
    """How many keywords match, counted up to a cap: an exact count of a million rows costs a full scan."""

    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_key(text: str) -> str:
    """The search term in the form of keyword_norm (see keyword_edits.normalize_keyword)."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def _range(low: int | None, high: int | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise ValidationFailed(f"The {what} range is empty: the minimum {low:,} is above the maximum {high:,}.")


def where_clause(actor: Actor, *, site_id: int, sector_id: int, filters: KeywordFilter,
                 with_status: bool = True) -> ColumnElement[bool]:
    """The rows of one sector the actor may see that match the filters, as one WHERE (shared by lists, counts
    and bulk UPDATEs, so an action on "all filtered" hits exactly what the list shows)."""
    f = filters
    _range(f.volume_min, f.volume_max, "volume")
    _range(f.difficulty_min, f.difficulty_max, "difficulty")
    stmt = tenancy.scoped(select(Keywords.id), Keywords, actor, include_deleted=True)
    stmt = stmt.where(Keywords.site_id == site_id, Keywords.sector_id == sector_id)
    deleted = Deleted(f.deleted)
    if deleted == Deleted.exclude:
        stmt = stmt.where(Keywords.deleted_at.is_(None))
    elif deleted == Deleted.only:
        stmt = stmt.where(Keywords.deleted_at.is_not(None))
    if with_status and f.status:
        stmt = stmt.where(Keywords.status == KeywordStatus(f.status))
    if f.unclustered:
        stmt = stmt.where(Keywords.cluster_id.is_(None))
    elif f.cluster_id is not None:
        stmt = stmt.where(Keywords.cluster_id == f.cluster_id)
    if term := _search_key(f.search):
        stmt = stmt.where(Keywords.keyword_norm.like(f"%{_escape_like(term)}%", escape="\\"))
    if intent := (f.intent or "").strip().lower():
        stmt = stmt.where(func.lower(Keywords.intent).like(f"%{_escape_like(intent)}%", escape="\\"))
    for col, low, high in ((Keywords.volume, f.volume_min, f.volume_max),
                           (Keywords.difficulty, f.difficulty_min, f.difficulty_max)):
        if low is not None:
            stmt = stmt.where(col >= low)
        if high is not None:
            stmt = stmt.where(col <= high)
    if f.disabled is not None:
        stmt = stmt.where(Keywords.disabled.is_(bool(f.disabled)))
    return stmt.whereclause


# ---------------------------------------------------------------- listing


def _sort_key(session: Session, spec: SortSpec) -> ColumnElement:
    # SQLite keeps times as text, and rows written by SQL defaults lack the microseconds Python adds: the cursor
    # must carry the stored text, or a bound "…:00.000000" would skip every row stored as "…:00".
    if spec.column is Keywords.created_at and session.get_bind().dialect.name == "sqlite":
        return type_coerce(spec.column, String)
    return spec.column


def _segment(session: Session, where: ColumnElement[bool], spec: SortSpec, *, is_null: bool, descending: bool,
             bound: Cursor | None, n: int) -> list:
    key = _sort_key(session, spec)
    stmt: Select = (select(Keywords.id, Keywords.keyword, Keywords.volume, Keywords.difficulty, Keywords.cpc,
                           Keywords.intent, Keywords.status, Keywords.cluster_id, Clusters.name,
                           Keywords.disabled, Keywords.created_at, Keywords.deleted_at, key.label("sort_key"))
                    .outerjoin(Clusters, Clusters.id == Keywords.cluster_id).where(where))
    if is_null:
        stmt = stmt.where(spec.column.is_(None))
        keys, values = [Keywords.id], [bound.id] if bound else []
    else:
        if spec.nullable:
            stmt = stmt.where(spec.column.is_not(None))
        keys = [key] if spec.unique else [key, Keywords.id]
        values = ([bound.value] if spec.unique else [bound.value, bound.id]) if bound else []
    if bound is not None:
        left, right = (keys[0], values[0]) if len(keys) == 1 else (tuple_(*keys), tuple_(*values))
        stmt = stmt.where(left < right if descending else left > right)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(n)
    return list(session.execute(stmt).all())


def _walk(session: Session, where: ColumnElement[bool], spec: SortSpec, *, descending: bool, nulls_first: bool,
          cursor: Cursor | None, n: int) -> list:
    """Up to n rows strictly past `cursor` in the given order, crossing from one segment into the next."""
    segments = [False, True] if spec.nullable else [False]  # is_null
    if nulls_first:
        segments.reverse()
    if cursor is not None:
        segments = segments[segments.index(cursor.value is None):]
    rows: list = []
    for i, is_null in enumerate(segments):
        rows += _segment(session, where, spec, is_null=is_null, descending=descending,
                         bound=cursor if i == 0 else None, n=n - len(rows))
        if len(rows) >= n:
            break
    return rows


def _to_row(r) -> KeywordRow:
    return KeywordRow(r.id, r.keyword, r.volume, r.difficulty, r.cpc, r.intent, str(r.status), r.cluster_id,
                      r.name, bool(r.disabled), r.created_at, r.deleted_at)


def _cursor(sort: str, descending: bool, r) -> Cursor:
    return Cursor(sort, descending, r.sort_key, r.id)


def list_keywords(session: Session, actor: Actor, *, site_id: int, sector_id: int,
                  filters: KeywordFilter = KeywordFilter(), sort: str = "volume", direction: str = "desc",
                  after: Cursor | None = None, before: Cursor | None = None, limit: int = 50) -> KeywordPage:
    """One page of a sector's keywords: filtered, sorted (NULLs last), keyset-paged after or before a cursor."""
    spec = SORTS.get(sort)
    if spec is None:
        raise ValidationFailed(f"Keywords cannot be sorted by “{sort}”; choose one of {', '.join(SORTS)}.")
    if direction not in ("asc", "desc"):
        raise ValidationFailed("The sort direction is asc or desc.")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"A page holds 1 to {MAX_LIMIT} keywords.")
    descending = direction == "desc"
    for c in (after, before):
        if c is not None and (c.sort, c.descending) != (sort, descending):
            raise ValidationFailed("The page position belongs to another sort order; start from the first page.")
    where = where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters)
    if before is not None:
        got = _walk(session, where, spec, descending=not descending, nulls_first=True, cursor=before, n=limit + 1)
        if len(got) < limit:  # rows were added or removed meanwhile: show a full first page, not a short one
            first = list_keywords(session, actor, site_id=site_id, sector_id=sector_id, filters=filters, sort=sort,
                                  direction=direction, limit=limit)
            return KeywordPage(first.rows, first.next_cursor, None, first.has_more, first.fetched + len(got))
        shown = list(reversed(got[:limit]))
        return KeywordPage([_to_row(r) for r in shown], _cursor(sort, descending, shown[-1]),
                           _cursor(sort, descending, shown[0]) if len(got) > limit else None, True, len(got))
    got = _walk(session, where, spec, descending=descending, nulls_first=False, cursor=after, n=limit + 1)
    shown, has_more = got[:limit], len(got) > limit
    return KeywordPage([_to_row(r) for r in shown],
                       _cursor(sort, descending, shown[-1]) if has_more and shown else None,
                       _cursor(sort, descending, shown[0]) if after is not None and shown else None,
                       has_more, len(got))


# ---------------------------------------------------------------- counts


def count_by_status(session: Session, actor: Actor, *, site_id: int, sector_id: int,
                    filters: KeywordFilter = KeywordFilter()) -> dict[str, int]:
    """Matching keywords per status (every status present), grouped in SQL; the status filter is ignored."""
    where = where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters, with_status=False)
    found = dict(session.execute(select(Keywords.status, func.count()).where(where).group_by(Keywords.status)).all())
    return {s.value: int(found.get(s, 0)) for s in KeywordStatus}


def count_filtered(session: Session, actor: Actor, *, site_id: int, sector_id: int,
                   filters: KeywordFilter = KeywordFilter(), cap: int = COUNT_CAP) -> FilteredCount:
    """How many keywords match, counting at most `cap` + 1 rows (shown as "10,000+" beyond the cap)."""
    where = where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters)
    limited = select(Keywords.id).where(where).limit(cap + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return FilteredCount(min(n, cap), n > cap)


def cluster_choices(session: Session, actor: Actor, *, site_id: int, sector_id: int) -> dict[int, str]:
    """The sector's live clusters, id → name, by name (for pickers and filters)."""
    stmt = tenancy.scoped(select(Clusters.id, Clusters.name), Clusters, actor)
    stmt = stmt.where(Clusters.site_id == site_id, Clusters.sector_id == sector_id).order_by(Clusters.name)
    return {cid: name for cid, name in session.execute(stmt)}

