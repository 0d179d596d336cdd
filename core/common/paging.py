"""Keyset (seek) pagination: the one way every list pages (keywords, clusters, ideas, the library, and what comes).

A page starts after the last row shown instead of counting past every earlier row (OFFSET), so a page costs the
same at any depth, and it reads at most the page plus one row (to know whether there is more). Rows are ordered by
(key, id), or by the key alone where it is unique.

NULL keys come last in both directions on both databases. Rather than NULLS LAST (which PostgreSQL could only
serve from an index built for one direction, and SQLite from none), a nullable key is walked as two segments — the
rows with a value, ordered by (key, id), then the rows without, ordered by id — each an index range scan; a page
that spans the boundary runs the second query for the rows still missing, so it never reads more than it shows + 1.

A list builds its select (columns, joins, tenancy scope, filters), names its `Order`, and calls `page()`; the
caller gets a `Page[T]` whose `next_after` / `prev_before` go back in as `after=` / `before=`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, DateTime, Row, Select, String, tuple_, type_coerce
from sqlalchemy.orm import Session

from core.errors import ValidationFailed

T = TypeVar("T")
KEY, ID = "_page_key", "_page_id"  # the labels under which page() adds the order's columns to the select


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: the boundary row's key (None: in the NULL tail) and id, in which order."""

    sort: str
    descending: bool
    value: object
    id: int


@dataclass(frozen=True)
class Order:
    """A keyset order: by `key`, then `id`; `nullable` keys put their NULLs last; a `unique` key needs no id."""

    name: str
    key: ColumnElement
    id: ColumnElement
    descending: bool = True
    nullable: bool = False
    unique: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list."""

    rows: list[T]
    next_after: Cursor | None = None  # pass as `after` for the next page (None: this is the last)
    prev_before: Cursor | None = None  # pass as `before` for the previous page (None: this is the first)
    has_more: bool = False
    total: int | None = None  # rows in the whole list, where the list counts them
    fetched: int = field(default=0, compare=False)  # rows the queries returned (at most len(rows) + 1)


def limit_of(limit: int, maximum: int) -> int:
    """A page size within 1..maximum."""
    return max(1, min(int(limit), maximum))


def _is_time(col: ColumnElement) -> bool:
    kind = col.type
    return isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime)


def _sort_key(session: Session, order: Order) -> ColumnElement:
    # SQLite keeps times as text, and rows written by SQL defaults lack the microseconds Python adds: a cursor on a
    # time must carry the stored text, or a bound "…:00.000000" would skip every row stored as "…:00".
    if _is_time(order.key) and session.get_bind().dialect.name == "sqlite":
        return type_coerce(order.key, String)
    return order.key


def _segment(session: Session, stmt: Select, order: Order, *, is_null: bool, descending: bool,
             bound: Cursor | None, n: int) -> list[Row]:
    key = _sort_key(session, order)
    stmt = stmt.add_columns(key.label(KEY), order.id.label(ID))
    if is_null:
        stmt = stmt.where(order.key.is_(None))
        keys, values = [order.id], [bound.id] if bound else []
    else:
        if order.nullable:
            stmt = stmt.where(order.key.is_not(None))
        keys = [key] if order.unique else [key, order.id]
        values = ([bound.value] if order.unique else [bound.value, bound.id]) if bound else []
    if bound is not None:
        left, right = (keys[0], values[0]) if len(keys) == 1 else (tuple_(*keys), tuple_(*values))
        stmt = stmt.where(left < right if descending else left > right)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(n)
    return list(session.execute(stmt).all())


def _walk(session: Session, stmt: Select, order: Order, *, descending: bool, nulls_first: bool,
          cursor: Cursor | None, n: int) -> list[Row]:
    """Up to n rows strictly past `cursor` in the given order, crossing from one segment into the next."""
    segments = [False, True] if order.nullable else [False]  # is_null
    if nulls_first:
        segments.reverse()
    if cursor is not None:
        segments = segments[segments.index(cursor.value is None and order.nullable):]
    rows: list[Row] = []
    for i, is_null in enumerate(segments):
        rows += _segment(session, stmt, order, is_null=is_null, descending=descending,
                         bound=cursor if i == 0 else None, n=n - len(rows))
        if len(rows) >= n:
            break
    return rows


def _cursor(order: Order, row: Row) -> Cursor:
    mapping = row._mapping
    return Cursor(order.name, order.descending, mapping[KEY], mapping[ID])


def check_cursors(order: Order, *cursors: Cursor | None) -> None:
    """Refuse a page position that belongs to another sort order (the view changed under it)."""
    for c in cursors:
        if c is not None and (not isinstance(c, Cursor) or (c.sort, c.descending) != (order.name, order.descending)):
            raise ValidationFailed("The page position belongs to another sort order; start from the first page.")


def page(session: Session, stmt: Select, order: Order, *, convert: Callable[[Row], T], limit: int,
         after: Cursor | None = None, before: Cursor | None = None, total: int | None = None) -> Page[T]:
    """One page of `stmt` in `order`: the first, the one after `after`, or the one before `before`."""
    check_cursors(order, after, before)
    if before is not None:
        got = _walk(session, stmt, order, descending=not order.descending, nulls_first=True, cursor=before,
                    n=limit + 1)
        if len(got) < limit:  # rows were added or removed meanwhile: show a full first page, not a short one
            first = page(session, stmt, order, convert=convert, limit=limit, total=total)
            return Page(first.rows, first.next_after, None, first.has_more, total, first.fetched + len(got))
        shown = list(reversed(got[:limit]))
        return Page([convert(r) for r in shown], _cursor(order, shown[-1]),
                    _cursor(order, shown[0]) if len(got) > limit else None, True, total, len(got))
    got = _walk(session, stmt, order, descending=order.descending, nulls_first=False, cursor=after, n=limit + 1)
    shown, has_more = got[:limit], len(got) > limit
    return Page([convert(r) for r in shown], _cursor(order, shown[-1]) if has_more and shown else None,
                _cursor(order, shown[0]) if after is not None and shown else None, has_more, total, len(got))


def first_column(row: Row) -> Any:
    """`convert` for a select of one ORM entity: the entity itself."""
    return row[0]

