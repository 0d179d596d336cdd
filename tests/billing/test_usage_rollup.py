"""The hourly usage rollup against the log it sums, both backends: charges keep it current, rebuild() remakes it
exactly, and every report read from it equals the same report summed from the log rows."""
from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import tenancy
from core.billing import credits, usage, usage_rollup
from core.billing.credits import Usage
from db.enums import Role
from db.models import CreditUsageRollup
from tests import factories as f

START = datetime(2025, 6, 1, tzinfo=UTC)
OPS = ("clustering", "idea_generation", "content_generation", "image_generation")
MODELS = ("gpt-4o-mini", "gpt-4o", "dall-e-3", "")


def _rollup(session, account_id: int) -> set[tuple]:
    R = CreditUsageRollup
    rows = session.execute(select(R.dimension, R.hour, R.site_key, R.key, R.credits, R.cost_micro_usd, R.calls,
                                  R.tokens_input, R.tokens_output).where(R.account_id == account_id))
    return {tuple(r) for r in rows}


@pytest.fixture
def charged(session):
    """300 charges over 10 days on two sites, no site, two users and the scheduler; another account charged too."""
    a, b = f.account(session), f.account(session)
    sites = [f.site(session, a), f.site(session, a), None]
    people = [f.actor(session, f.user(session, a, role=Role.owner)),
              f.actor(session, f.user(session, a, role=Role.admin)), None]
    credits.grant(session, tenancy.operator_actor(a.id), amount=1_000_000, kind="purchase", reason="test credits")
    credits.grant(session, tenancy.operator_actor(b.id), amount=1_000, kind="purchase", reason="test credits")
    rnd = random.Random(7)
    for n in range(300):
        site, person = rnd.choice(sites), rnd.choice(people)
        actor = person if person is not None else tenancy.system_actor(a.id)
        credits.charge(session, actor, credits=rnd.randint(1, 50), idempotency_key=f"k{n}", description="work",
                       now=START + timedelta(minutes=rnd.randint(0, 10 * 24 * 60)),
                       usage=Usage(rnd.choice(OPS), rnd.choice(MODELS), rnd.randint(0, 3000), rnd.randint(0, 3000),
                                   Decimal(rnd.randint(0, 2_000_000)) / 1_000_000, site.id if site else None))
    credits.charge(session, f.owner_actor(session, b), credits=9, idempotency_key="b", description="work",
                   now=START + timedelta(days=1), usage=Usage("clustering", "gpt-4o", 10, 10, Decimal("0.5")))
    return {"a": a, "b": b, "owner": people[0], "sites": [s.id for s in sites if s]}


def test_charges_keep_the_rollup_equal_to_a_rebuild(session, charged):
    a, b = charged["a"].id, charged["b"].id
    kept, other = _rollup(session, a), _rollup(session, b)
    assert len(kept) > 100 and {r[0] for r in kept} == {"operation", "model", "user"}
    assert sum(r[6] for r in kept if r[0] == "operation") == 300  # every call counted once per dimension
    assert usage_rollup.rebuild(session, account_id=a) == len(kept)
    assert _rollup(session, a) == kept
    assert _rollup(session, b) == other  # rebuilding one account leaves the others alone
    usage_rollup.rebuild(session)
    assert _rollup(session, a) == kept and _rollup(session, b) == other


def _same(fn, session, actor, qy):
    from_rollup = fn(session, actor, qy)
    from_log = fn(session, actor, dataclasses.replace(qy, hourly=False))
    assert from_rollup == from_log
    return from_rollup


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("sites", [None, "first", "both"])
def test_reports_from_the_rollup_equal_reports_from_the_log(session, charged, tz, sites):
    site_ids = {None: None, "first": charged["sites"][:1], "both": charged["sites"]}[sites]
    qy = usage.prepare(session, charged["owner"], start=date(2025, 6, 2), end=date(2025, 6, 8), site_ids=site_ids,
                       tz=tz)
    assert qy.hourly
    totals = _same(usage._totals, session, charged["owner"], qy)
    assert 0 < totals.calls < 300  # the window cuts the ten days
    per_day = _same(usage._per_day, session, charged["owner"], qy)
    assert {d.day for d in per_day} == {date(2025, 6, d) for d in range(2, 9)}
    for fn in (usage._by_site, usage._by_model, usage._by_user):
        groups = _same(fn, session, charged["owner"], qy)
        assert sum(g.credits for g in groups) == totals.credits
        assert sum(g.cost_usd for g in groups) == totals.cost_usd
    labels = {g.label for g in usage._by_user(session, charged["owner"], qy)}
    assert usage.NO_USER in labels or site_ids  # the scheduler's calls are named


def test_a_half_hour_zone_reads_the_log(session, charged):
    qy = usage.prepare(session, charged["owner"], start=date(2025, 6, 2), end=date(2025, 6, 8), tz="Asia/Kolkata")
    assert not qy.hourly  # its days start at HH:30 UTC, which no hourly row can split
    june = {"start": date(2025, 6, 1), "end": date(2025, 6, 30)}  # takes every charge in either zone
    assert usage.summary(session, charged["owner"], **june, tz="Asia/Kolkata") == \
        usage.summary(session, charged["owner"], **june)
    assert sum(d.credits for d in usage._per_day(session, charged["owner"], qy)) == \
        usage._totals(session, charged["owner"], qy).credits


def test_unbilled_usage_is_rolled_up_like_a_charge(session, charged):
    a, owner = charged["a"].id, charged["owner"]
    before = usage.summary(session, owner, start=date(2025, 6, 1), end=date(2025, 6, 11))
    credits.record_unbilled(session, owner, now=START + timedelta(hours=5), usage=Usage(
        "clustering", "gpt-4o-mini", 1200, 150, Decimal("0.00027"), charged["sites"][0]))
    after = usage.summary(session, owner, start=date(2025, 6, 1), end=date(2025, 6, 11))
    assert (after.credits, after.calls, after.cost_usd) == \
        (before.credits, before.calls + 1, before.cost_usd + Decimal("0.00027"))
    kept = _rollup(session, a)
    usage_rollup.rebuild(session, account_id=a)
    assert _rollup(session, a) == kept
