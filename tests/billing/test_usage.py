"""core.billing.usage on a small fixed dataset, both backends: every aggregate against numbers worked out by hand."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.billing import usage, usage_rollup, usage_sql
from core.errors import AccessDenied, NotFound, ValidationFailed
from db.enums import Role, TransactionType
from db.models import Clusters, Content, CreditTransaction, CreditUsageLog, Tasks
from tests import factories as f

D1, D3 = date(2025, 3, 1), date(2025, 3, 3)
WINDOW = {"start": D1, "end": D3}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def _log(s, acct, when, credits, usd, op, model, *, site=None, user=None, tin=0, tout=0, rel=("", None)):
    row = CreditUsageLog(account_id=acct.id, site_id=site.id if site else None, user_id=user.id if user else None,
                         operation_type=op, credits_used=credits, cost_usd=Decimal(usd), model_used=model,
                         tokens_input=tin, tokens_output=tout, related_object_type=rel[0], related_object_id=rel[1],
                         created_at=when)
    s.add(row)
    s.flush()
    # What credits.charge does for every log row it writes (the screen reads the hourly rollup).
    usage_rollup.add(s.connection(), account_id=acct.id, at=when, site_id=row.site_id, user_id=row.user_id,
                     operation=op, model=model, credits=credits, cost_usd=Decimal(usd), tokens_input=tin,
                     tokens_output=tout)
    return row


def _tx(s, acct, when, amount, after):
    kind = TransactionType.purchase if amount > 0 else TransactionType.deduction
    s.add(CreditTransaction(account_id=acct.id, transaction_type=kind, amount=amount, balance_after=after,
                            created_at=when))
    s.flush()


@pytest.fixture
def data(session):
    """Account A: sites Alpha and “=HYPERLINK(1)”, an owner and an admin, a task, content and a cluster, seven
    usage rows (five inside 2025-03-01..03, UTC) and five ledger rows; account B: one large row in the window."""
    a, b = f.account(session), f.account(session)
    alpha, beta = f.site(session, a, name="Alpha"), f.site(session, a, name="=HYPERLINK(1)")
    sector = f.sector(session, alpha)
    owner = f.user(session, a, role=Role.owner, email="owner@a.example")
    admin = f.user(session, a, role=Role.admin, email="admin@a.example")
    editor = f.user(session, a, role=Role.editor)
    kw = {"account_id": a.id, "site_id": alpha.id, "sector_id": sector.id}
    cluster = Clusters(name="Shoes", **kw)
    session.add(cluster)
    session.flush()
    task = Tasks(title="Best running shoes", cluster_id=cluster.id, **kw)
    session.add(task)
    session.flush()
    content = Content(title="Trail guide", task_id=task.id, **kw)
    session.add(content)
    session.flush()
    rows = [
        _log(session, a, at(1, 9), 10, "0.010000", "clustering", "gpt-4o-mini", site=alpha, user=owner, tin=100,
             tout=50, rel=("cluster", cluster.id)),
        _log(session, a, at(1, 23, 30), 40, "0.200000", "content_generation", "gpt-4o", site=beta, user=admin,
             tin=1000, tout=2000, rel=("task", task.id)),
        _log(session, a, at(2, 0, 30), 30, "0.150000", "content_generation", "gpt-4o", site=alpha, user=owner,
             tin=1000, tout=1500, rel=("content", content.id)),
        _log(session, a, at(2, 12), 20, "0.080000", "image_generation", "dall-e-3", site=alpha,
             rel=("content", content.id)),
        _log(session, a, at(3, 8), 5, "0.002500", "idea_generation", "+cmd", user=admin, tin=300, tout=200),
    ]
    _log(session, a, at(28, 23, 59, month=2), 7, "0.007000", "clustering", "gpt-4o-mini", site=alpha, user=owner)
    _log(session, a, at(4, 0), 3, "0.003000", "clustering", "gpt-4o-mini", site=alpha, user=owner)
    _log(session, b, at(2, 10), 999, "9.990000", "content_generation", "gpt-4o", site=f.site(session, b))
    for when, amount, after in ((at(27, 8, month=2), 1000, 1000), (at(1, 10), -10, 990), (at(1, 20), -40, 950),
                                (at(3, 9), -5, 945), (at(5, 9), -1, 944)):
        _tx(session, a, when, amount, after)
    _tx(session, b, at(2, 10), 5000, 5000)
    return {"a": a, "b": b, "alpha": alpha, "beta": beta, "owner": f.actor(session, owner),
            "admin": f.actor(session, admin), "editor": f.actor(session, editor), "rows": rows,
            "b_owner": f.owner_actor(session, b), "task": task, "content": content, "cluster": cluster}


def _groups(groups):
    return [(g.label, g.credits, g.cost_usd, g.calls) for g in groups]


def test_summary_totals(session, data):
    t = usage.summary(session, data["owner"], **WINDOW)
    assert (t.credits, t.cost_usd, t.calls, t.tokens_input, t.tokens_output) == (
        105, Decimal("0.442500"), 5, 2400, 3750)


def test_site_filter(session, data):
    only_alpha = usage.summary(session, data["owner"], **WINDOW, site_ids=[data["alpha"].id])
    assert (only_alpha.credits, only_alpha.cost_usd, only_alpha.calls) == (60, Decimal("0.240000"), 3)
    both = usage.summary(session, data["owner"], **WINDOW, site_ids=[data["alpha"].id, data["beta"].id])
    assert (both.credits, both.calls) == (100, 4)  # the row without a site is not in any site
    foreign = usage.summary(session, data["owner"], **WINDOW, site_ids=[data["b"].id + 10_000])
    assert (foreign.credits, foreign.calls) == (0, 0)


def test_accounts_are_separate(session, data):
    t = usage.summary(session, data["b_owner"], **WINDOW)
    assert (t.credits, t.cost_usd, t.calls) == (999, Decimal("9.990000"), 1)
    assert usage.list_usage(session, data["b_owner"], **WINDOW)[0].credits == 999
    with pytest.raises(NotFound):  # a row of account A is no cursor for B
        usage.list_usage(session, data["b_owner"], **WINDOW, before_id=data["rows"][0].id)


def test_credits_per_day_by_operation_utc(session, data):
    got = [(d.day, d.operation, d.credits, d.cost_usd, d.calls)
           for d in usage.credits_per_day_by_operation(session, data["admin"], **WINDOW)]
    assert got == [(date(2025, 3, 1), "clustering", 10, Decimal("0.010000"), 1),
                   (date(2025, 3, 1), "content_generation", 40, Decimal("0.200000"), 1),
                   (date(2025, 3, 2), "content_generation", 30, Decimal("0.150000"), 1),
                   (date(2025, 3, 2), "image_generation", 20, Decimal("0.080000"), 1),
                   (date(2025, 3, 3), "idea_generation", 5, Decimal("0.002500"), 1)]


def test_days_in_a_display_time_zone(session, data):
    # Berlin is UTC+1 in March: the window starts 02-28 23:00 UTC (takes the 23:59 row), and 23:30 UTC on 03-01
    # belongs to 03-02 there.
    got = [(d.day.day, d.operation, d.credits, d.calls)
           for d in usage.credits_per_day_by_operation(session, data["owner"], **WINDOW, tz="Europe/Berlin")]
    assert got == [(1, "clustering", 17, 2), (2, "content_generation", 70, 2), (2, "image_generation", 20, 1),
                   (3, "idea_generation", 5, 1)]


def test_days_in_a_half_hour_zone(session, data):
    # India is UTC+5:30: 18:40 UTC on 03-02 is 00:10 on 03-03 there (an hourly bucket would put it on 03-02).
    _log(session, data["a"], at(2, 18, 40), 2, "0.001000", "optimization", "gpt-4o-mini")
    got = [(d.day.day, d.operation, d.credits, d.cost_usd, d.calls)
           for d in usage.credits_per_day_by_operation(session, data["owner"], **WINDOW, tz="Asia/Kolkata")]
    assert got == [(1, "clustering", 17, Decimal("0.017000"), 2), (2, "content_generation", 70, Decimal("0.350000"), 2),
                   (2, "image_generation", 20, Decimal("0.080000"), 1), (3, "idea_generation", 5, Decimal("0.002500"), 1),
                   (3, "optimization", 2, Decimal("0.001000"), 1)]


def test_day_buckets_follow_daylight_saving(session, data):
    # New York moves from UTC-5 to UTC-4 at 2025-03-09 07:00 UTC: 04:30 UTC on 03-10 is 00:30 on 03-10 (EDT).
    _log(session, data["a"], at(9, 6, 30), 2, "0", "clustering", "m")   # 01:30 EST, 03-09
    _log(session, data["a"], at(10, 4, 30), 3, "0", "clustering", "m")  # 00:30 EDT, 03-10
    got = [(d.day, d.credits) for d in usage.credits_per_day_by_operation(
        session, data["owner"], start=date(2025, 3, 9), end=date(2025, 3, 10), tz="America/New_York")]
    assert got == [(date(2025, 3, 9), 2), (date(2025, 3, 10), 3)]
    first, after = usage_sql.window(date(2025, 3, 9), date(2025, 3, 10), "America/New_York")
    assert usage_sql.offsets("America/New_York", first, after) == [(at(9, 7), -300), (None, -240)]


def test_by_site_model_user(session, data):
    kw = {"start": D1, "end": D3}
    assert _groups(usage.by_site(session, data["owner"], **kw)) == [
        ("Alpha", 60, Decimal("0.240000"), 3), ("=HYPERLINK(1)", 40, Decimal("0.200000"), 1),
        (usage.NO_SITE, 5, Decimal("0.002500"), 1)]
    assert _groups(usage.by_model(session, data["owner"], **kw)) == [
        ("GPT-4o", 70, Decimal("0.350000"), 2), ("DALL·E 3 (quality)", 20, Decimal("0.080000"), 1),
        ("GPT-4o mini", 10, Decimal("0.010000"), 1), ("+cmd", 5, Decimal("0.002500"), 1)]  # by display name
    assert _groups(usage.by_user(session, data["owner"], **kw)) == [
        ("admin@a.example", 45, Decimal("0.202500"), 2), ("owner@a.example", 40, Decimal("0.160000"), 2),
        (usage.NO_USER, 20, Decimal("0.080000"), 1)]
    by_user_alpha = usage.by_user(session, data["owner"], **kw, site_ids=[data["alpha"].id])
    assert _groups(by_user_alpha)[0] == ("owner@a.example", 40, Decimal("0.160000"), 2)


def test_balance_over_time(session, data):
    points = usage.balance_over_time(session, data["owner"], **WINDOW)
    assert [(p.day, p.balance) for p in points] == [(D1, 950), (date(2025, 3, 2), 950), (D3, 945)]  # end of day
    later = usage.balance_over_time(session, data["owner"], start=date(2025, 3, 4), end=date(2025, 3, 5))
    assert [(p.day, p.balance) for p in later] == [(date(2025, 3, 4), 945), (date(2025, 3, 5), 944)]
    tokyo = usage.balance_over_time(session, data["owner"], start=D1, end=D1, tz="Asia/Tokyo")
    assert [(p.day, p.balance) for p in tokyo] == [(D1, 990)]  # Tokyo's 03-01 ends 15:00 UTC: not the 20:00 row
    assert usage.balance_over_time(session, data["owner"], start=date(2024, 1, 1), end=date(2024, 1, 2)) == []
    future = usage.balance_over_time(session, data["owner"], start=date.today(), end=date.today() + timedelta(3))
    assert [p.balance for p in future] == [944]  # days that have not begun have no balance yet


def test_most_expensive_tasks_with_titles(session, data):
    got = [(c.object_type, c.object_id, c.title, c.credits, c.cost_usd, c.calls)
           for c in usage.most_expensive_tasks(session, data["owner"], **WINDOW)]
    assert got == [("content", data["content"].id, "Trail guide", 50, Decimal("0.230000"), 2),
                   ("task", data["task"].id, "Best running shoes", 40, Decimal("0.200000"), 1),
                   ("cluster", data["cluster"].id, "Shoes", 10, Decimal("0.010000"), 1)]
    assert len(usage.most_expensive_tasks(session, data["owner"], **WINDOW, limit=2)) == 2


def test_report_bundles_everything(session, data):
    rep = usage.report(session, data["owner"], **WINDOW)
    assert (rep.totals.credits, rep.balance, len(rep.per_day), len(rep.by_site), len(rep.costliest)) == (
        105, data["a"].credits, 5, 3, 3)


def test_list_usage_keyset_pages(session, data):
    rows = data["rows"]
    pages, before = [], None
    while True:
        page = usage.list_usage(session, data["owner"], **WINDOW, limit=2, before_id=before)
        if not page:
            break
        pages.append([r.id for r in page])
        before = page[-1].id
    assert pages == [[rows[4].id, rows[3].id], [rows[2].id, rows[1].id], [rows[0].id]]
    first = usage.list_usage(session, data["owner"], **WINDOW, limit=1)[0]
    assert (first.site, first.user, first.model, first.credits, first.cost_usd) == (
        usage.NO_SITE, "admin@a.example", "+cmd", 5, Decimal("0.002500"))
    scheduler = usage.list_usage(session, data["owner"], **WINDOW, limit=1, before_id=rows[4].id)[0]
    assert (scheduler.site, scheduler.user) == ("Alpha", usage.NO_USER)


@pytest.mark.parametrize("role", [Role.editor, Role.viewer])
def test_editors_and_viewers_are_refused(session, data, role):
    who = f.actor(session, f.user(session, data["a"], role=role))
    for fn in (usage.summary, usage.by_site, usage.report, usage.list_usage):
        with pytest.raises(AccessDenied, match="owners, admins and developers"):
            fn(session, who, **WINDOW)
    with pytest.raises(AccessDenied):
        usage.export_usage_csv(session, who, **WINDOW, out=io.StringIO())


def test_developer_sees_the_picked_account(session, data):
    dev = f.actor(session, f.user(session, None, role=Role.developer), account_id=data["a"].id)
    assert usage.summary(session, dev, **WINDOW).credits == 105
    nowhere = f.actor(session, f.user(session, None, role=Role.developer))
    with pytest.raises(ValidationFailed, match="Choose an account"):
        usage.summary(session, nowhere, **WINDOW)


@pytest.mark.parametrize(("start", "end", "tz", "message"), [
    (date(2025, 3, 5), date(2025, 3, 1), "UTC", "The start date 2025-03-05 is after the end date 2025-03-01."),
    (date(2024, 1, 1), date(2025, 1, 1), "UTC", "Pick at most 366 days at a time (this range has 367)."),
    (D1, D3, "Mars/Olympus", "“Mars/Olympus” is not a known time zone"),
    (datetime(2025, 3, 1, tzinfo=UTC), D3, "UTC", "Give the date range as two calendar dates."),
])
def test_date_range_is_validated(session, data, start, end, tz, message):
    with pytest.raises(ValidationFailed) as info:
        usage.summary(session, data["owner"], start=start, end=end, tz=tz)
    assert str(info.value).startswith(message)
    assert usage.summary(session, data["owner"], start=date(2024, 3, 3), end=D3).credits == 112  # 366 days: fine


def test_csv_export(session, data):
    out = io.StringIO()
    assert usage.export_usage_csv(session, data["owner"], **WINDOW, out=out) == 5
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == list(usage.CSV_COLUMNS)
    assert [int(r[0]) for r in lines[1:]] == [r.id for r in data["rows"]]  # oldest first
    assert lines[1][1:] == ["2025-03-01T09:00:00+00:00", "Alpha", "owner@a.example", "clustering", "gpt-4o-mini",
                            "100", "50", "10", "0.010000", "cluster", str(data["cluster"].id)]
    assert lines[2][2] == "'=HYPERLINK(1)"  # a formula in a site name is made text
    assert (lines[5][2], lines[5][3], lines[5][5], lines[5][11]) == (usage.NO_SITE, "admin@a.example", "'+cmd", "")
    alpha = io.StringIO()
    assert usage.export_usage_csv(session, data["owner"], **WINDOW, site_ids=[data["alpha"].id], out=alpha) == 3


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_safe_quotes_formula_starts(text):
    assert usage.csv_safe(text) == "'" + text
    assert usage.csv_safe("plain =x") == "plain =x"
    assert usage.csv_safe(-1) == -1  # numbers are numbers, not formulas
