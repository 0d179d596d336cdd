"""Leases on rows for background work: claim → commit → work → record (house rule 9), in Airflow's style.

A worker claims due rows by writing its id (`claimed_by`) and a deadline (`lease_until`) on them, commits, does the
slow work (OpenAI, WordPress) outside any transaction, then records the result in a new short transaction with a
fenced write: the row changes only while the worker still holds its lease. A row whose lease ran out (its worker
died or overran) is due again and another worker takes it over; the late worker's result is then refused.

PostgreSQL: candidates are selected `FOR UPDATE SKIP LOCKED`, so racing workers split the rows instead of queueing
on them. SQLite renders no FOR UPDATE; its transactions here are `BEGIN IMMEDIATE` (db/session.py), which already
serialises writers. On both, the claim itself is a compare-and-set `UPDATE … WHERE <still free> RETURNING id`, so
a row is claimed once whatever the isolation level or locking mode.

`where` must also match the rows in the state a claim leaves them in (e.g. status in (pending, running) when the
claim sets status=running), or rows of dead workers are never taken over.

Two layers: functions taking a `Session` (the caller commits; combine a record with a charge in one transaction)
and `Claimer`, whose methods each open their own short transaction from a `UnitOfWork` (scheduler jobs).
"""
from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, or_, select, update
from sqlalchemy.orm import Session

from core.common.uow import UnitOfWork
from core.errors import Conflict
from db.base import utcnow

Where = ColumnElement[bool] | Sequence[ColumnElement[bool]]
OrderBy = ColumnElement[Any] | Sequence[ColumnElement[Any]]
Values = Mapping[str, Any]

LEASE_COLUMNS = ("id", "claimed_by", "lease_until")
OWNER_MAX = 100  # claimed_by is String(100)


@dataclass(frozen=True)
class Lease:
    """Who holds a row and until when."""

    owner: str
    until: datetime


class LeaseLost(Conflict):
    """A worker's lease on a row ran out or was taken over, so its result was not saved."""

    def __init__(self, model: type[Any], id: int, owner: str):
        super().__init__(f"{model.__name__} {id}: the lease of worker {owner} ran out or another worker took it "
                         "over, so this result was not saved. The row is retried by whoever holds it now.")
        self.id = id
        self.owner = owner


def worker_id() -> str:
    """A worker's name for `claimed_by`: host:pid:random (unique even across restarts that reuse a pid)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def _check(model: type[Any], owner: str | None = None, lease: timedelta | None = None) -> None:
    missing = [name for name in LEASE_COLUMNS if not hasattr(model, name)]
    if missing:
        raise TypeError(f"{getattr(model, '__name__', model)} cannot be claimed: it lacks {', '.join(missing)} "
                        f"(a claimable model needs the columns {', '.join(LEASE_COLUMNS)})")
    if owner is not None and not 0 < len(owner) <= OWNER_MAX:
        raise ValueError(f"owner must be 1 to {OWNER_MAX} characters, got {owner!r}")
    if lease is not None and lease <= timedelta(0):
        raise ValueError(f"lease must be positive, got {lease}")


def _many(items: Any) -> list[Any]:
    if items is None:
        return []
    return [items] if isinstance(items, ColumnElement) else list(items)


def _free(model: type[Any], now: datetime) -> ColumnElement[bool]:
    return or_(model.claimed_by.is_(None), model.lease_until.is_(None), model.lease_until < now)


def _held(model: type[Any], owner: str, now: datetime) -> ColumnElement[bool]:
    return (model.claimed_by == owner) & (model.lease_until >= now)


def _run(session: Session, stmt: Update) -> Any:
    # "fetch" refreshes exactly the rows the UPDATE matched in the identity map; "evaluate" would judge the
    # lease against possibly stale objects in Python and could show a write that the database refused.
    return session.execute(stmt.execution_options(synchronize_session="fetch"))


def claim_due(session: Session, model: type[Any], *, where: Where, owner: str, lease: timedelta, limit: int,
              order_by: OrderBy | None = None, values: Values | None = None,
              now: datetime | None = None) -> list[int]:
    """Claim for `owner` up to `limit` rows matching `where` that nobody holds or whose lease ran out; their ids."""
    _check(model, owner, lease)
    if limit <= 0:
        return []
    now = now or utcnow()
    conds, free = _many(where), _free(model, now)
    candidates = list(session.scalars(
        select(model.id).where(*conds, free).order_by(*(_many(order_by) or [model.id])).limit(limit)
        .with_for_update(skip_locked=True, of=model)))
    if not candidates:
        return []
    # The compare-and-set: `free` is checked again in the statement that writes, so a row claimed by someone
    # between our SELECT and this UPDATE (possible only without the locks above) is simply not ours.
    won = set(_run(session, update(model).where(model.id.in_(candidates), *conds, free)
                   .values({**(values or {}), "claimed_by": owner, "lease_until": now + lease})
                   .returning(model.id)).scalars())
    return [i for i in candidates if i in won]


def renew(session: Session, model: type[Any], *, ids: Iterable[int], owner: str, lease: timedelta,
          now: datetime | None = None) -> list[int]:
    """Extend the leases `owner` still holds (not run out) to now + lease; the ids it still holds."""
    _check(model, owner, lease)
    ids, now = list(ids), now or utcnow()
    if not ids:
        return []
    held = set(_run(session, update(model).where(model.id.in_(ids), _held(model, owner, now))
                    .values(lease_until=now + lease).returning(model.id)).scalars())
    return [i for i in ids if i in held]


def release(session: Session, model: type[Any], *, ids: Iterable[int], owner: str,
            values: Values | None = None) -> int:
    """Give back the rows `owner` holds, also setting `values` (e.g. status back to pending); how many."""
    _check(model, owner)
    ids = list(ids)
    if not ids:
        return 0
    # A run-out lease nobody took over is still the owner's to give back: no one else can be working on it.
    result = _run(session, update(model).where(model.id.in_(ids), model.claimed_by == owner)
                  .values({**(values or {}), "claimed_by": None, "lease_until": None}))
    return result.rowcount


def record(session: Session, model: type[Any], *, id: int, owner: str, values: Values,
           now: datetime | None = None, release: bool = True) -> bool:
    """The fenced write: set `values` on row `id` only while `owner` holds its lease; False, writing nothing, if lost.

    Callers writing more in the same transaction (a charge, child rows) raise `LeaseLost` on False to roll it back.
    """
    _check(model, owner)
    now = now or utcnow()
    lease_values = {"claimed_by": None, "lease_until": None} if release else {}
    result = _run(session, update(model).where(model.id == id, _held(model, owner, now))
                  .values({**values, **lease_values}))
    return result.rowcount == 1


def holder(session: Session, model: type[Any], *, id: int) -> Lease | None:
    """Who holds row `id` and until when (None when unclaimed), as stored; the lease may have run out."""
    _check(model)
    row = session.execute(select(model.claimed_by, model.lease_until).where(model.id == id)).one_or_none()
    if row is None or row.claimed_by is None or row.lease_until is None:
        return None
    return Lease(row.claimed_by, row.lease_until)


@dataclass(frozen=True)
class Claimer:
    """One worker's leases on one model; each call is its own short transaction (claim → commit → work → record)."""

    uow: UnitOfWork
    model: type[Any]
    lease: timedelta
    owner: str = field(default_factory=worker_id)

    def __post_init__(self) -> None:
        _check(self.model, self.owner, self.lease)

    def claim_due(self, *, where: Where, limit: int, order_by: OrderBy | None = None,
                  values: Values | None = None, now: datetime | None = None) -> list[int]:
        """Claim due rows and commit; their ids."""
        with self.uow() as s:
            return claim_due(s, self.model, where=where, owner=self.owner, lease=self.lease, limit=limit,
                             order_by=order_by, values=values, now=now)

    def renew(self, *, ids: Iterable[int], now: datetime | None = None) -> list[int]:
        """Extend this worker's leases and commit; the ids it still holds."""
        with self.uow() as s:
            return renew(s, self.model, ids=ids, owner=self.owner, lease=self.lease, now=now)

    def release(self, *, ids: Iterable[int], values: Values | None = None) -> int:
        """Give back this worker's rows and commit; how many."""
        with self.uow() as s:
            return release(s, self.model, ids=ids, owner=self.owner, values=values)

    def record(self, *, id: int, values: Values, now: datetime | None = None, release: bool = True) -> bool:
        """The fenced write of a result, committed; False when the lease was lost (nothing written)."""
        with self.uow() as s:
            return record(s, self.model, id=id, owner=self.owner, values=values, now=now, release=release)
