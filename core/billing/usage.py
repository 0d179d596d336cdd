"""Credit usage for managers: totals, per-day/site/model/user breakdowns, balance over time, the costliest objects,
the usage rows (keyset pages) and a CSV export. Every number is aggregated in SQL; nothing loads the whole log.

Dates are calendar days start..end (inclusive) in a display time zone (UTC unless given); stored times are UTC.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from sqlalchemy import Date, Select, String, and_, case, cast, func, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from core import tenancy
from core.billing import credits
from core.billing import usage_display as ud
from core.billing import usage_rollup as ru
from core.billing import usage_sql as q
from core.errors import AccessDenied, NotFound
from core.tenancy import Actor
from db.base import UTCDateTime, utcnow
from db.models import Clusters, Content, ContentIdeas, CreditTransaction, CreditUsageLog, Site, Tasks, User

L, R = CreditUsageLog, ru.R
PAGE_MAX = 500
EXPORT_CHUNK = 5000
NO_SITE, NO_USER = "(no site)", "(scheduler)"
# Related objects whose title the costliest-objects list shows: type → (model, title column).
TITLED = {"task": (Tasks, Tasks.title), "content": (Content, Content.title), "cluster": (Clusters, Clusters.name),
          "idea": (ContentIdeas, ContentIdeas.idea_title)}
CSV_COLUMNS = ("id", "created_at_utc", "site", "user", "operation", "model", "tokens_input", "tokens_output",
               "credits", "cost_usd", "related_type", "related_id")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Query:
    """A validated report request: the account, the UTC window, the site filter and the display zone. `hourly`: the
    zone's offsets are whole hours, so the window and its days are made of whole UTC hours and the hourly rollup
    answers exactly (a zone like Asia/Kolkata, +5:30, is summed from the log rows instead)."""

    account_id: int
    start: date
    end: date
    first: datetime
    after: datetime
    site_ids: tuple[int, ...] | None
    tz: str
    dialect: str
    hourly: bool


@dataclass(frozen=True)
class Totals:
    credits: int
    cost_usd: Decimal
    calls: int
    tokens_input: int
    tokens_output: int


@dataclass(frozen=True)
class DayOperation:
    day: date
    operation: str
    credits: int
    cost_usd: Decimal
    calls: int
    label: str  # the operation's display name


@dataclass(frozen=True)
class Group:
    """One bar of a breakdown: a site, a model or a user (key None: no site / the scheduler)."""

    key: int | str | None
    label: str
    credits: int
    cost_usd: Decimal
    calls: int


@dataclass(frozen=True)
class BalancePoint:
    day: date
    balance: int


@dataclass(frozen=True)
class CostlyObject:
    object_type: str
    object_id: int
    title: str
    credits: int
    cost_usd: Decimal
    calls: int


@dataclass(frozen=True)
class UsageRow:
    id: int
    created_at: datetime
    site: str
    user: str
    operation: str
    model: str
    tokens_input: int
    tokens_output: int
    credits: int
    cost_usd: Decimal
    related_type: str
    related_id: int | None
    operation_label: str  # display names of the operation and the model
    model_label: str


@dataclass(frozen=True)
class Report:
    """Everything the usage screen draws, for one account, window and site filter."""

    totals: Totals
    balance: int
    per_day: list[DayOperation]
    by_site: list[Group]
    by_model: list[Group]
    by_user: list[Group]
    balance_over_time: list[BalancePoint]
    costliest: list[CostlyObject]


def prepare(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
            tz: str = "UTC") -> Query:
    """Check who asks and the range; owners, admins and developers only (editors and viewers are refused)."""
    if not actor.is_admin:
        raise AccessDenied("Credit usage is for owners, admins and developers.")
    account_id = tenancy.require_account(actor)
    first, after = q.window(start, end, tz)
    sites = tuple(sorted({int(s) for s in site_ids})) if site_ids else None
    return Query(account_id, start, end, first, after, sites, tz, session.get_bind().dialect.name,
                 q.whole_hours(tz, first, after))


def _filtered(stmt: Select, actor: Actor, qy: Query) -> Select:
    stmt = tenancy.scoped(stmt, L, actor).where(L.created_at >= qy.first, L.created_at < qy.after)
    return stmt.where(L.site_id.in_(qy.site_ids)) if qy.site_ids else stmt


def _rolled(stmt: Select, actor: Actor, qy: Query, dimension: str) -> Select:
    return ru.window(stmt, actor, dimension=dimension, first=qy.first, after=qy.after, site_ids=qy.site_ids)


def _sums(qy: Query) -> list:
    return [func.coalesce(func.sum(L.credits_used), 0).label("credits"),
            q.usd_sum(L.cost_usd, qy.dialect).label("usd"), func.count().label("calls")]


def _usd(value: object, qy: Query) -> Decimal:
    return ru.usd(value) if qy.hourly else q.as_usd(value, qy.dialect)


def _totals(session: Session, actor: Actor, qy: Query) -> Totals:
    if qy.hourly:
        stmt = _rolled(select(*ru.sums(), func.coalesce(func.sum(R.tokens_input), 0),
                              func.coalesce(func.sum(R.tokens_output), 0)), actor, qy, "operation")
    else:
        stmt = _filtered(select(*_sums(qy), func.coalesce(func.sum(L.tokens_input), 0),
                                func.coalesce(func.sum(L.tokens_output), 0)), actor, qy)
    cr, usd, calls, tin, tout = session.execute(stmt).one()
    return Totals(int(cr), _usd(usd, qy), int(calls), int(tin), int(tout))


def _per_day(session: Session, actor: Actor, qy: Query) -> list[DayOperation]:
    # Whole-hour zones fold the rollup's UTC hours into local days; other zones put each log row into its day.
    if qy.hourly:
        src = _rolled(select(R.hour.label("at"), R.key.label("op"), R.credits.label("credits"),
                             R.cost_micro_usd.label("usd"), R.calls.label("calls")), actor, qy, "operation")
    else:
        src = _filtered(select(L.created_at.label("at"), L.operation_type.label("op"), L.credits_used.label("credits"),
                               L.cost_usd.label("usd"), literal(1).label("calls")), actor, qy)
    src = src.subquery()
    # The day is computed in a subquery and grouped outside, so its bound parameters appear once in the SQL.
    days = select(q.day_of(src.c.at, qy.dialect, qy.tz, qy.first, qy.after).label("day"), src.c.op, src.c.credits,
                  src.c.usd, src.c.calls).subquery()
    usd = func.sum(days.c.usd) if qy.hourly else q.usd_sum(days.c.usd, qy.dialect)
    agg = (select(days.c.day, days.c.op, func.sum(days.c.credits).label("credits"), usd.label("usd"),
                  func.sum(days.c.calls).label("calls")).group_by(days.c.day, days.c.op).subquery())
    names = ud.operation_names()  # display names joined to the (few) day × operation sums, not to the rows
    stmt = (select(agg.c.day, agg.c.op, agg.c.credits, agg.c.usd, agg.c.calls, names.c.name)
            .outerjoin(names, names.c.id == agg.c.op).order_by(agg.c.day, agg.c.op))
    return [DayOperation(d, op, int(c), _usd(u, qy), int(n), ud.operation_label(op, name))
            for d, op, c, u, n, name in session.execute(stmt)]


def _grouped(session: Session, qy: Query, agg, none_label: str, names=None, key=lambda k: k) -> list[Group]:
    """Sums per key of the aggregate subquery `agg` (key, credits, usd, calls), largest first; `names` (id, name)
    names the keys after the aggregation; `key` turns a stored key into the Group's key (None: no site/user)."""
    label = literal(None) if names is None else names.c.name
    stmt = select(agg.c.key, label, agg.c.credits, agg.c.usd, agg.c.calls)
    if names is not None:
        stmt = stmt.outerjoin(names, names.c.id == agg.c.key)
    stmt = stmt.order_by(agg.c.credits.desc(), agg.c.key)
    return ud.distinct([Group(key(k), _label(key(k), name, none_label), int(c), _usd(u, qy), int(n))
                        for k, name, c, u, n in session.execute(stmt)])


def _label(key: object, name: object, none_label: str) -> str:
    if name:
        return str(name)
    if isinstance(key, str):
        return key or "(none)"
    if key is None:
        return none_label
    return f"#{key}"  # a site or user outside the actor's view (a developer's own calls, say)


def _by(actor: Actor, qy: Query, dimension: str, column, rolled_key=None):
    """The aggregate subquery (key, credits, usd, calls) of one breakdown, from the rollup or the log."""
    if qy.hourly:
        col = R.key if rolled_key is None else rolled_key
        return _rolled(select(col.label("key"), *ru.sums()), actor, qy, dimension).group_by(col).subquery()
    return _filtered(select(column.label("key"), *_sums(qy)), actor, qy).group_by(column).subquery()


def _by_site(session: Session, actor: Actor, qy: Query) -> list[Group]:
    names = tenancy.scoped(select(Site.id, Site.name), Site, actor).subquery()
    agg = _by(actor, qy, "operation", L.site_id, rolled_key=R.site_key)
    return _grouped(session, qy, agg, NO_SITE, names, key=lambda k: k or None)


def _by_model(session: Session, actor: Actor, qy: Query) -> list[Group]:
    # Labelled by the models' display names (key: the stored model name, never NULL).
    return _grouped(session, qy, _by(actor, qy, "model", L.model_used), "(none)", ud.model_names())


def _by_user(session: Session, actor: Actor, qy: Query) -> list[Group]:
    if qy.hourly:  # the rollup keeps user ids as text ("" for the scheduler)
        names = tenancy.scoped(select(cast(User.id, String).label("id"), User.email.label("name")), User, actor)
        return _grouped(session, qy, _by(actor, qy, "user", L.user_id), NO_USER, names.subquery(),
                        key=lambda k: int(k) if k else None)
    names = tenancy.scoped(select(User.id, User.email.label("name")), User, actor).subquery()
    return _grouped(session, qy, _by(actor, qy, "user", L.user_id), NO_USER, names)


def _balance(session: Session, actor: Actor, qy: Query) -> list[BalancePoint]:
    # One index probe per day (the last ledger row before the day's end), not a scan of the window's rows: the
    # cost stays flat however many charges a day had, and every day gets a point (carried over quiet days).
    T = CreditTransaction
    ends = q.day_ends(qy.start, qy.end, qy.tz, now=utcnow())
    if not ends:
        return []
    # A UNION of one-row SELECTs, not VALUES: SQLite cannot name the columns of a VALUES list in FROM.
    days = union_all(*(select(literal(d, Date()).label("day"), literal(u, UTCDateTime()).label("until"))
                       for d, u in ends)).subquery("days")
    last = (tenancy.scoped(select(T.balance_after), T, actor).where(T.created_at < days.c.until)
            .order_by(T.created_at.desc(), T.id.desc()).limit(1).scalar_subquery())
    rows = session.execute(select(days.c.day, last).order_by(days.c.day))
    return [BalancePoint(d, int(b)) for d, b in rows if b is not None]


def _costliest(session: Session, actor: Actor, qy: Query, limit: int) -> list[CostlyObject]:
    agg = (_filtered(select(L.related_object_type.label("otype"), L.related_object_id.label("oid"), *_sums(qy)),
                     actor, qy).where(L.related_object_id.is_not(None))
           .group_by(L.related_object_type, L.related_object_id)
           .order_by(func.sum(L.credits_used).desc(), L.related_object_type, L.related_object_id)
           .limit(max(1, min(limit, 100))).subquery())
    stmt = select(agg.c.otype, agg.c.oid, agg.c.credits, agg.c.usd, agg.c.calls)
    titles = []
    for kind, (model, title) in TITLED.items():  # titles joined to the top rows only, never per row
        named = tenancy.scoped(select(model.id, title.label("title")), model, actor, include_deleted=True).subquery()
        stmt = stmt.outerjoin(named, and_(agg.c.otype == kind, named.c.id == agg.c.oid))
        titles.append((agg.c.otype == kind, named.c.title))
    stmt = stmt.add_columns(case(*titles, else_=literal(""))).order_by(agg.c.credits.desc(), agg.c.otype, agg.c.oid)
    return [CostlyObject(t, int(i), title or "", int(c), q.as_usd(u, qy.dialect), int(n))
            for t, i, c, u, n, title in session.execute(stmt)]


def report(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
           tz: str = "UTC", top: int = 10) -> Report:
    """Everything the usage screen shows, in one transaction."""
    qy = prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz)
    return Report(_totals(session, actor, qy), credits.balance(session, actor), _per_day(session, actor, qy),
                  _by_site(session, actor, qy), _by_model(session, actor, qy), _by_user(session, actor, qy),
                  _balance(session, actor, qy), _costliest(session, actor, qy, top))


# The screen's pieces one by one (the CLI, the benchmark and tests call them; the page calls report()).

def summary(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
            tz: str = "UTC") -> Totals:
    """Credits, USD, calls and tokens in the window."""
    return _totals(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def credits_per_day_by_operation(session: Session, actor: Actor, *, start: date, end: date,
                                 site_ids: list[int] | None = None, tz: str = "UTC") -> list[DayOperation]:
    """Credits per calendar day (in the display zone) and operation (with its display name)."""
    return _per_day(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def by_site(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
            tz: str = "UTC") -> list[Group]:
    """Credits and USD per site, largest first (usage without a site under “(no site)”)."""
    return _by_site(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def by_model(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
             tz: str = "UTC") -> list[Group]:
    """Credits and USD per AI model (labelled by its display name), largest first."""
    return _by_model(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def by_user(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
            tz: str = "UTC") -> list[Group]:
    """Credits and USD per user by e-mail, largest first (the scheduler's calls under “(scheduler)”)."""
    return _by_user(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def balance_over_time(session: Session, actor: Actor, *, start: date, end: date, tz: str = "UTC",
                      site_ids: list[int] | None = None) -> list[BalancePoint]:
    """The balance at the end of each day of the window (up to now), from the first day the ledger has entries.
    Account-wide: a site filter does not apply to the ledger."""
    return _balance(session, actor, prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz))


def most_expensive_tasks(session: Session, actor: Actor, *, start: date, end: date,
                         site_ids: list[int] | None = None, tz: str = "UTC", limit: int = 10) -> list[CostlyObject]:
    """The related objects (tasks, content, clusters, ideas …) that used most credits, with their titles."""
    qy = prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz)
    return _costliest(session, actor, qy, limit)


def _rows(actor: Actor, qy: Query, *, named: bool = False) -> Select:
    sites = tenancy.scoped(select(Site.id, Site.name), Site, actor).subquery()
    users = tenancy.scoped(select(User.id, User.email), User, actor).subquery()
    cols = (L.id, L.created_at, sites.c.name, users.c.email, L.user_id, L.site_id, L.operation_type, L.model_used,
            L.tokens_input, L.tokens_output, L.credits_used, L.cost_usd, L.related_object_type, L.related_object_id)
    stmt = (_filtered(select(*cols), actor, qy).outerjoin(sites, sites.c.id == L.site_id)
            .outerjoin(users, users.c.id == L.user_id))
    if not named:  # the CSV export keeps the stored ids
        return stmt
    ops, models = ud.operation_names(), ud.model_names()
    return (stmt.add_columns(ops.c.name.label("op_name"), models.c.name.label("model_display"))
            .outerjoin(ops, ops.c.id == L.operation_type).outerjoin(models, models.c.id == L.model_used))


def _site_label(r) -> str:
    return r.name or (NO_SITE if r.site_id is None else f"#{r.site_id}")


def _user_label(r) -> str:
    return r.email or (NO_USER if r.user_id is None else f"#{r.user_id}")


def _usage_row(r) -> UsageRow:
    return UsageRow(r.id, r.created_at, _site_label(r), _user_label(r), r.operation_type, r.model_used,
                    r.tokens_input, r.tokens_output, r.credits_used, Decimal(r.cost_usd).quantize(q.MICRO),
                    r.related_object_type, r.related_object_id, ud.operation_label(r.operation_type, r.op_name),
                    ud.model_label(r.model_used, r.model_display))


def list_usage(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
               tz: str = "UTC", limit: int = 50, before_id: int | None = None) -> list[UsageRow]:
    """Usage rows newest first, one keyset page: pass the last row's id as `before_id` for the next page."""
    qy = prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz)
    stmt = _rows(actor, qy, named=True)
    if before_id is not None:
        anchor = session.execute(tenancy.scoped(select(L.created_at, L.id), L, actor)
                                 .where(L.id == before_id)).one_or_none()
        if anchor is None:
            raise NotFound(f"Usage row #{before_id} was not found.")
        # (created_at, id) < anchor; the plain created_at bound lets the (account_id, created_at) index cut the scan
        stmt = stmt.where(L.created_at <= anchor.created_at, tuple_(L.created_at, L.id) < tuple(anchor))
    stmt = stmt.order_by(L.created_at.desc(), L.id.desc()).limit(max(1, min(limit, PAGE_MAX)))
    return [_usage_row(r) for r in session.execute(stmt)]


def csv_safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_usage_csv(session: Session, actor: Actor, *, start: date, end: date, site_ids: list[int] | None = None,
                     tz: str = "UTC", out: TextIO) -> int:
    """Write the window's usage rows as CSV to `out`, oldest first, streamed in chunks; returns the row count."""
    qy = prepare(session, actor, start=start, end=end, site_ids=site_ids, tz=tz)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    stmt = _rows(actor, qy).order_by(L.created_at, L.id).execution_options(yield_per=EXPORT_CHUNK)
    # yield_per streams: a server-side cursor on PostgreSQL, chunks of the SQLite cursor; memory stays flat. Plain
    # Core rows (no ORM result layer) and only the text cells escaped: the export is dominated by per-row Python.
    count = 0
    for chunk in session.connection().execute(stmt).partitions():
        writer.writerows([r.id, r.created_at.isoformat(), csv_safe(_site_label(r)), csv_safe(_user_label(r)),
                          csv_safe(r.operation_type), csv_safe(r.model_used), r.tokens_input, r.tokens_output,
                          r.credits_used, r.cost_usd, csv_safe(r.related_object_type),
                          "" if r.related_object_id is None else r.related_object_id] for r in chunk)
        count += len(chunk)
    return count
