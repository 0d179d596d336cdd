"""Hourly usage rollups: per account, UTC hour and site, the sums of the usage log by operation, by model and by user.

The credit usage screen reads these instead of the log, so a 90-day window on a busy account aggregates tens of
thousands of rollup rows rather than a million log rows. core.billing.credits.charge calls add() in the same transaction
as the log row, under the account lock it already holds, so the rollup always agrees with the log; rebuild()
remakes it from the log (after a bulk load, or as a repair).

One row per (account, dimension, hour, site, key): three small upserts (one round trip) per charge instead of one
row per combination of site, user, operation and model, which would be nearly as many rows as the log itself.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import tenancy
from core.billing import usage_sql as q
from core.tenancy import Actor
from db.enums import UsageDimension
from db.models import CreditUsageLog, CreditUsageRollup

R = CreditUsageRollup
DIMENSIONS = tuple(d.value for d in UsageDimension)
KEY = ("account_id", "dimension", "hour", "site_key", "key")
SUMMED = ("credits", "cost_micro_usd", "calls", "tokens_input", "tokens_output")
NO_SITE_KEY, SCHEDULER_KEY = 0, ""
_MICRO = Decimal(1_000_000)


def hour_of(at: datetime) -> datetime:
    """The UTC hour an instant falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def micro_usd(cost: Decimal | float | int) -> int:
    """Dollars as whole micro-dollars (the log keeps 6 places, so this is exact)."""
    return int((Decimal(str(cost)) * _MICRO).to_integral_value())


@cache
def _upsert(dialect: str):
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(R.__table__)
    return ins.on_conflict_do_update(index_elements=list(KEY),
                                     set_={c: R.__table__.c[c] + ins.excluded[c] for c in SUMMED})


def add(conn: Connection, *, account_id: int, at: datetime, site_id: int | None, user_id: int | None,
        operation: str, model: str, credits: int, cost_usd: Decimal, tokens_input: int, tokens_output: int) -> None:
    """Count one usage log row into its three hourly rows (call in the transaction that writes the row)."""
    common = {"account_id": account_id, "hour": hour_of(at), "site_key": site_id or NO_SITE_KEY,
              "credits": credits, "cost_micro_usd": micro_usd(cost_usd), "calls": 1,
              "tokens_input": tokens_input, "tokens_output": tokens_output}
    keys = {"operation": operation, "model": model, "user": SCHEDULER_KEY if user_id is None else str(user_id)}
    conn.execute(_upsert(conn.dialect.name), [{**common, "dimension": d, "key": k} for d, k in keys.items()])


def _log_key(dimension: str):
    L = CreditUsageLog
    if dimension == "operation":
        return L.operation_type
    if dimension == "model":
        return L.model_used
    return func.coalesce(cast(L.user_id, String), literal_column("''"))  # no bound values: GROUP BY repeats it


def rebuild(session: Session, *, account_id: int | None = None) -> int:
    """Remake the rollup rows of one account (or of all) from the usage log; returns the rows written."""
    L, conn = CreditUsageLog, session.connection()
    dialect = conn.dialect.name
    gone = delete(R)
    conn.execute(gone if account_id is None else gone.where(R.account_id == account_id))
    hour = q.bucket_instant(q.hour_bucket(L.created_at, dialect), dialect)
    site = func.coalesce(L.site_id, literal_column(str(NO_SITE_KEY)))
    micro = func.sum(cast(func.round(L.cost_usd * 1_000_000), BigInteger))
    for dimension in DIMENSIONS:
        key = _log_key(dimension)
        src = select(L.account_id, literal(dimension), hour, site, key, func.sum(L.credits_used), micro,
                     func.count(), func.sum(L.tokens_input), func.sum(L.tokens_output))
        if account_id is not None:
            src = src.where(L.account_id == account_id)
        src = src.group_by(L.account_id, hour, site, key)
        conn.execute(insert(R).from_select([*KEY, *SUMMED], src))
    written = select(func.count()).select_from(R)  # (psycopg reports no row count for INSERT … SELECT)
    return conn.execute(written if account_id is None else written.where(R.account_id == account_id)).scalar_one()


def window(stmt: Select, actor: Actor, *, dimension: str, first: datetime, after: datetime,
           site_ids: tuple[int, ...] | None) -> Select:
    """Restrict a SELECT on the rollup to the actor's account, one dimension, the hours [first, after) and sites."""
    stmt = tenancy.scoped(stmt, R, actor).where(R.dimension == dimension, R.hour >= first, R.hour < after)
    return stmt.where(R.site_key.in_(site_ids)) if site_ids else stmt


def sums() -> list:
    """credits, usd (micro-dollars) and calls of a rollup selection."""
    return [func.coalesce(func.sum(R.credits), 0).label("credits"),
            func.coalesce(func.sum(R.cost_micro_usd), 0).label("usd"),
            func.coalesce(func.sum(R.calls), 0).label("calls")]


def usd(micro: object) -> Decimal:
    """A sum of micro-dollars as Decimal dollars with 6 places."""
    return (Decimal(int(micro or 0)) / _MICRO).quantize(q.MICRO)
