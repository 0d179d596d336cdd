"""The keywords screen's reads: a sector's keywords searched, filtered, sorted and keyset-paged in SQL, and counts
(its writes, inline edits and bulk actions, are in core/planner/keyword_edits.py).

Paging is core.common.paging's keyset pagination on (sort column, id), NULLs last in both directions; every sort
has an index led by sector_id (migration 0003).

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
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import ColumnElement, Row, Select, Text, cast, func, literal_column, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.common.text import one_of
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
    branded: bool | None = None  # the import's flag attributes (Ahrefs): True / False as marked, None: any
    local: bool | None = None


class SortSpec(NamedTuple):
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
class KeywordRow:
    """One keyword of a list, with its cluster's name."""

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


KeywordPage = Page[KeywordRow]


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
    deleted = one_of(Deleted, f.deleted, "The deleted filter")
    if deleted == Deleted.exclude:
        stmt = stmt.where(Keywords.deleted_at.is_(None))
    elif deleted == Deleted.only:
        stmt = stmt.where(Keywords.deleted_at.is_not(None))
    if with_status and f.status:
        stmt = stmt.where(Keywords.status == one_of(KeywordStatus, f.status, "Keyword status"))
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
    for name, wanted in (("branded", f.branded), ("local", f.local)):
        if wanted is not None:
            stmt = stmt.where(_flag(name) == ("true" if wanted else "false"))
    return stmt.whereclause


def _flag(name: str) -> ColumnElement[str]:
    """A flag attribute as JSON text ('true', 'false', NULL when absent): `->` is the same operator on PostgreSQL's
    json and SQLite ≥ 3.38, and the text form keeps a stray text value from failing a boolean cast."""
    return cast(Keywords.attributes.op("->")(literal_column(f"'{name}'")), Text)  # name: a constant, not input


# ---------------------------------------------------------------- listing


def row_select(where: ColumnElement[bool]) -> Select:
    """The columns of a KeywordRow, with the cluster's name, for the keywords matching `where`."""
    return (select(Keywords.id, Keywords.keyword, Keywords.volume, Keywords.difficulty, Keywords.cpc,
                   Keywords.intent, Keywords.status, Keywords.cluster_id, Clusters.name, Keywords.disabled,
                   Keywords.created_at, Keywords.deleted_at)
            .outerjoin(Clusters, Clusters.id == Keywords.cluster_id).where(where))


def to_row(r: Row) -> KeywordRow:
    """A row of row_select() as a KeywordRow."""
    return KeywordRow(r.id, r.keyword, r.volume, r.difficulty, r.cpc, r.intent, str(r.status), r.cluster_id,
                      r.name, bool(r.disabled), r.created_at, r.deleted_at)


def order_by(sort: str, direction: str) -> Order:
    """The keyset order of a sort column and direction (NULLs last either way)."""
    if sort not in SORTS:
        raise ValidationFailed(f"Keywords cannot be sorted by “{sort}”; choose one of {', '.join(SORTS)}.")
    if direction not in ("asc", "desc"):
        raise ValidationFailed("The sort direction is asc or desc.")
    column, nullable, unique = SORTS[sort]
    return Order(sort, column, Keywords.id, descending=direction == "desc", nullable=nullable, unique=unique)


def list_keywords(session: Session, actor: Actor, *, site_id: int, sector_id: int,
                  filters: KeywordFilter = KeywordFilter(), sort: str = "volume", direction: str = "desc",
                  after: Cursor | None = None, before: Cursor | None = None, limit: int = 50) -> KeywordPage:
    """One page of a sector's keywords: filtered, sorted (NULLs last), keyset-paged after or before a cursor."""
    order = order_by(sort, direction)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"A page holds 1 to {MAX_LIMIT} keywords.")
    where = where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters)
    return paging.page(session, row_select(where), order, convert=to_row, limit=limit, after=after, before=before)


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

