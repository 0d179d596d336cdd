"""SQL pieces of the usage reports that differ by database: the date window, day buckets in a time zone, USD sums.

Times are stored in UTC. A day bucket is a calendar day in a display time zone: PostgreSQL converts natively
(`timezone(tz, created_at)::date`); SQLite has no time-zone database, so the zone's UTC offsets over the window
(daylight saving included) are worked out here and applied with SQLite's `date(created_at, '+N minutes')`.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Date, case, cast, func, literal, literal_column, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from core.errors import ValidationFailed
from db.base import UTCDateTime

MAX_DAYS = 366
MICRO = Decimal("0.000001")


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone named `tz`, or a message saying it is unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationFailed(f"“{tz}” is not a known time zone (use a name like Europe/Berlin or UTC).") from exc


def window(start: date, end: date, tz: str = "UTC") -> tuple[datetime, datetime]:
    """The UTC instants [from, to) covering the calendar days start..end (inclusive) in the time zone `tz`."""
    if isinstance(start, datetime) or isinstance(end, datetime) or not isinstance(start, date) \
            or not isinstance(end, date):
        raise ValidationFailed("Give the date range as two calendar dates.")
    if start > end:
        raise ValidationFailed(f"The start date {start:%Y-%m-%d} is after the end date {end:%Y-%m-%d}.")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ValidationFailed(f"Pick at most {MAX_DAYS} days at a time (this range has {days}).")
    tzinfo = zone(tz)
    first = datetime.combine(start, time(), tzinfo).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(), tzinfo).astimezone(UTC)
    return first, after


def day_ends(start: date, end: date, tz: str, *, now: datetime) -> list[tuple[date, datetime]]:
    """(day, the UTC instant the day ends) for each day start..end in `tz` that has begun by `now`."""
    tzinfo = zone(tz)
    out: list[tuple[date, datetime]] = []
    day = start
    while day <= end and datetime.combine(day, time(), tzinfo) <= now:
        out.append((day, datetime.combine(day + timedelta(days=1), time(), tzinfo).astimezone(UTC)))
        day += timedelta(days=1)
    return out


def _minutes(tzinfo: ZoneInfo, at: datetime) -> int:
    return int(at.astimezone(tzinfo).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]


def offsets(tz: str, first: datetime, after: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset (minutes) over [first, after): (until, minutes) pieces, the last with until None."""
    tzinfo = zone(tz)
    pieces: list[tuple[datetime | None, int]] = []
    current, at = _minutes(tzinfo, first), first
    while at < after:
        nxt = min(at + timedelta(days=1), after)
        if _minutes(tzinfo, nxt) != current:
            # The offset is `current` at lo and differs at hi: bisect whole seconds to the change.
            lo, hi = int(at.timestamp()), int(nxt.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _minutes(tzinfo, datetime.fromtimestamp(mid, UTC)) == current else (lo, mid)
            nxt = datetime.fromtimestamp(hi, UTC)
            pieces.append((nxt, current))
            current = _minutes(tzinfo, nxt)
        at = nxt
    pieces.append((None, current))
    return pieces


def _modifier(minutes: int) -> str:
    return f"{minutes:+d} minutes"


def day_of(column: ColumnElement, dialect: str, tz: str, first: datetime, after: datetime) -> ColumnElement:
    """The calendar day (a date) of a UTC timestamp column in the time zone `tz`."""
    if dialect == "postgresql":
        return cast(func.timezone(tz, column), Date)
    pieces = offsets(tz, first, after)
    if len(pieces) == 1:
        shift: ColumnElement = literal(_modifier(pieces[0][1]))
    else:  # a daylight-saving change inside the window: the offset depends on the row's instant
        whens = [(column < literal(until, UTCDateTime()), literal(_modifier(m))) for until, m in pieces[:-1]]
        shift = case(*whens, else_=literal(_modifier(pieces[-1][1])))
    return type_coerce(func.date(column, shift), Date())


def whole_hours(tz: str, first: datetime, after: datetime) -> bool:
    """Whether the zone's offsets over the window are whole hours (then hourly buckets can be regrouped into days)."""
    return all(minutes % 60 == 0 for _, minutes in offsets(tz, first, after))


def hour_bucket(column: ColumnElement, dialect: str) -> ColumnElement:
    """The UTC hour a stored timestamp falls in (core.billing.usage_rollup.rebuild groups the log by it). On PostgreSQL this
    is exactly the expression migration 0002 keeps statistics on, so the planner knows it has few distinct values."""
    if dialect == "postgresql":
        return func.date_trunc(literal_column("'hour'"), func.timezone(literal_column("'UTC'"), column))
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff': the hour is a prefix, written back in the same format.
    return func.substr(column, 1, 13).concat(literal_column("':00:00.000000'"))


def bucket_instant(bucket: ColumnElement, dialect: str) -> ColumnElement:
    """An hour_bucket() value as a timestamp day_of() accepts (PostgreSQL: back from UTC wall time to timestamptz)."""
    if dialect == "postgresql":
        return func.timezone(literal_column("'UTC'"), bucket)
    return bucket


def usd_sum(column: ColumnElement, dialect: str) -> ColumnElement:
    """SUM of a Numeric(…, 6) USD column, exact on both databases (SQLite stores it as a float: sum micro-dollars)."""
    if dialect == "postgresql":
        return func.coalesce(func.sum(column), 0)
    return func.coalesce(func.sum(func.round(column * 1_000_000)), 0)


def as_usd(value: object, dialect: str) -> Decimal:
    """A usd_sum() result as Decimal dollars with 6 places."""
    if value is None:
        return Decimal("0.000000")
    if dialect == "postgresql":
        return Decimal(value).quantize(MICRO)  # type: ignore[arg-type]
    return (Decimal(int(value)) * MICRO).quantize(MICRO)  # type: ignore[call-overload]
