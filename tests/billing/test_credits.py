"""The credit ledger: grants, charges, idempotency, never negative, balance == sum(ledger)."""
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import tenancy
from core.billing import credits
from core.errors import AccessDenied, InsufficientCredits, NotFound, ValidationFailed
from db.enums import Role
from db.models import CreditTransaction, CreditUsageLog
from tests import factories as f


@pytest.fixture
def owner(session):
    acct = f.account(session)
    return acct, f.owner_actor(session, acct)


def _platform(a: tenancy.Actor) -> tenancy.Actor:
    """The platform team acting on a's account: only they add credits (see test_credit_grants.py)."""
    return tenancy.operator_actor(a.account_id)


def test_grant_then_charge_keeps_balance_equal_to_ledger(session, owner):
    acct, a = owner
    credits.grant(session, _platform(a), amount=100, kind="purchase", reason="Bought 100")
    res = credits.charge(session, a, credits=30, idempotency_key="job-1", description="ideas",
                         usage=credits.Usage(operation_type="idea_generation", model_used="gpt-4o-mini",
                                             tokens_input=1200, tokens_output=800, cost_usd=Decimal("0.00066")))
    assert res.balance_after == 70 and res.credits == 30 and not res.replayed
    log = session.get(CreditUsageLog, res.usage_log_id)
    assert log.credits_used == 30 and log.transaction_id == res.transaction_id and log.tokens_input == 1200
    assert credits.balance(session, a) == 70 == credits.ledger_sum(session, account_id=acct.id)


def test_repeated_idempotency_key_charges_once(session, owner):
    acct, a = owner
    credits.grant(session, _platform(a), amount=50, kind="purchase", reason="x")
    first = credits.charge(session, a, credits=10, idempotency_key="retry-me", description="c")
    again = credits.charge(session, a, credits=10, idempotency_key="retry-me", description="c")
    assert again.replayed and again.transaction_id == first.transaction_id and again.balance_after == 40
    assert credits.balance(session, a) == 40
    n = session.scalar(select(func.count()).select_from(CreditTransaction)
                       .where(CreditTransaction.account_id == acct.id))
    assert n == 2


def test_charge_beyond_balance_is_refused_and_writes_nothing(session, owner):
    acct, a = owner
    credits.grant(session, _platform(a), amount=5, kind="purchase", reason="x")
    with pytest.raises(InsufficientCredits, match="needs 6 credits but the account has 5"):
        with session.begin_nested():
            credits.charge(session, a, credits=6, idempotency_key="k", description="c",
                           usage=credits.Usage(operation_type="clustering"))
    assert credits.balance(session, a) == 5
    assert session.scalar(select(func.count()).select_from(CreditUsageLog)
                          .where(CreditUsageLog.account_id == acct.id)) == 0


def test_negative_adjustment_cannot_go_below_zero(session, owner):
    _, a = owner
    credits.grant(session, _platform(a), amount=10, kind="purchase", reason="x")
    credits.grant(session, _platform(a), amount=-4, kind="adjustment", reason="correction")
    with pytest.raises(InsufficientCredits):
        credits.grant(session, _platform(a), amount=-7, kind="adjustment", reason="too much")
    assert credits.balance(session, a) == 6


@pytest.mark.parametrize("kwargs, message", [
    ({"amount": 0, "kind": "purchase", "reason": "x"}, "positive"),
    ({"amount": -5, "kind": "refund", "reason": "x"}, "positive"),
    ({"amount": 5, "kind": "deduction", "reason": "x"}, "charges"),
    ({"amount": 5, "kind": "gift", "reason": "x"}, "Kind must be"),
    ({"amount": 5, "kind": "purchase", "reason": "  "}, "reason"),
    ({"amount": "ten", "kind": "purchase", "reason": "x"}, "whole number"),
])
def test_grant_input_is_checked(session, owner, kwargs, message):
    _, a = owner
    with pytest.raises(ValidationFailed, match=message):
        credits.grant(session, _platform(a), **kwargs)


def test_plan_credits_granted_once_per_month(session):
    acct = f.account(session, plan="starter")
    nov = datetime(2026, 11, 3, tzinfo=UTC)
    bot = tenancy.system_actor(acct.id)
    assert credits.grant_plan_period(session, bot, now=nov).amount == 1000
    assert credits.grant_plan_period(session, bot, now=nov.replace(day=28)) is None
    dec = credits.grant_plan_period(session, bot, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert dec.amount == 1000 and dec.balance_after == 2000
    assert credits.ledger_sum(session, account_id=acct.id) == 2000


@pytest.mark.parametrize("role", [Role.viewer, Role.editor, Role.admin, Role.owner, Role.system_bot])
def test_plan_credits_are_refused_to_the_accounts_people(session, role):
    acct = f.account(session, plan="starter")
    person = f.actor(session, f.user(session, acct, role=role))  # a system_bot *user* is still not the scheduler
    f.refused(session, AccessDenied, lambda: credits.grant_plan_period(session, person), match="by the scheduler")
    assert credits.ledger_sum(session, account_id=acct.id) == 0
    assert credits.accounts_due_plan_credits(session).count(acct.id) == 1  # still due: the scheduler grants it


def test_the_platform_team_may_grant_an_accounts_plan_credits(session):
    acct = f.account(session, plan="starter")
    tx = credits.grant_plan_period(session, tenancy.operator_actor(acct.id), now=datetime(2026, 11, 3, tzinfo=UTC))
    assert (tx.account_id, tx.amount, tx.transaction_type) == (acct.id, 1000, "subscription")


def test_ledger_is_keyset_paginated_newest_first(session, owner):
    _, a = owner
    for i in range(5):
        credits.grant(session, _platform(a), amount=i + 1, kind="purchase", reason=f"g{i}")
    page1 = credits.list_ledger(session, a, limit=2)
    page2 = credits.list_ledger(session, a, limit=2, before_id=page1[-1].id)
    assert [t.amount for t in page1] == [5, 4] and [t.amount for t in page2] == [3, 2]


def test_a_loaded_account_sees_the_charged_balance(session, owner):
    acct, a = owner
    credits.grant(session, _platform(a), amount=20, kind="purchase", reason="x")
    credits.charge(session, a, credits=7, idempotency_key="seen", description="c")
    assert acct.credits == 13
    session.flush()  # nothing stale to write back
    assert credits.balance(session, a) == 13 == credits.ledger_sum(session, account_id=acct.id)


def test_unbilled_usage_is_logged_without_touching_the_ledger(session, owner):
    acct, a = owner
    credits.grant(session, _platform(a), amount=10, kind="purchase", reason="x")
    site = f.site(session, acct)
    log_id = credits.record_unbilled(session, a, usage=credits.Usage(
        operation_type="clustering", model_used="gpt-4o-mini", tokens_input=900, tokens_output=40,
        cost_usd=Decimal("0.000159"), site_id=site.id, metadata={"status": "failed"}))
    log = session.get(CreditUsageLog, log_id)
    assert (log.credits_used, log.transaction_id, log.tokens_input, log.cost_usd, log.user_id, log.site_id) == \
        (0, None, 900, Decimal("0.000159"), a.user_id, site.id)
    assert credits.balance(session, a) == 10 == credits.ledger_sum(session, account_id=acct.id)
    assert session.scalar(select(func.count()).select_from(CreditTransaction)
                          .where(CreditTransaction.account_id == acct.id)) == 1


def test_unbilled_usage_is_kept_in_the_actors_account(session, owner):
    _, a = owner
    elsewhere = f.site(session, f.account(session))
    with pytest.raises(NotFound):
        credits.record_unbilled(session, a, usage=credits.Usage(operation_type="clustering", site_id=elsewhere.id))
    with pytest.raises(ValidationFailed, match="Choose an account"):
        credits.record_unbilled(session, tenancy.operator_actor(), usage=credits.Usage(operation_type="clustering"))


def _charge(session, actor, site_id=None):
    return credits.charge(session, actor, credits=3, idempotency_key="who-may", description="c",
                          usage=credits.Usage(operation_type="clustering", site_id=site_id))


def _unbilled(session, actor, site_id=None):
    return credits.record_unbilled(session, actor, usage=credits.Usage(operation_type="clustering", site_id=site_id))


@pytest.mark.parametrize("write", [_charge, _unbilled], ids=["charge", "record_unbilled"])
def test_a_viewer_may_not_charge_or_log_usage(session, owner, write):
    acct, a = owner
    credits.grant(session, _platform(a), amount=10, kind="purchase", reason="x")
    site = f.site(session, acct)
    viewer = f.actor(session, f.user(session, acct, role=Role.viewer))
    f.refused(session, AccessDenied, lambda: write(session, viewer, site.id), match="Viewers can look")
    f.refused(session, AccessDenied, lambda: write(session, viewer))
    assert credits.balance(session, a) == 10 == credits.ledger_sum(session, account_id=acct.id)


@pytest.mark.parametrize("write", [_charge, _unbilled], ids=["charge", "record_unbilled"])
def test_usage_names_only_a_site_the_actor_may_see(session, owner, write):
    acct, a = owner
    credits.grant(session, _platform(a), amount=10, kind="purchase", reason="x")
    mine, ungranted, elsewhere = f.site(session, acct), f.site(session, acct), f.site(session, f.account(session))
    editor = replace(f.actor(session, f.user(session, acct, role=Role.editor)), site_ids=frozenset({mine.id}))
    for actor, site in [(a, elsewhere), (editor, elsewhere), (editor, ungranted)]:
        err = f.refused(session, NotFound, lambda actor=actor, site=site: write(session, actor, site.id))
        assert str(err) == f"Site #{site.id} was not found."  # the answer a read of that site gets
    assert credits.balance(session, a) == 10 == credits.ledger_sum(session, account_id=acct.id)
    write(session, editor, mine.id)  # a granted site of the account is fine


@pytest.mark.parametrize("actor_of", [tenancy.system_actor, tenancy.operator_actor], ids=["scheduler", "operator"])
def test_the_scheduler_and_operators_still_charge_and_log(session, owner, actor_of):
    acct, a = owner
    credits.grant(session, _platform(a), amount=10, kind="purchase", reason="x")
    site = f.site(session, acct)
    assert _charge(session, actor_of(acct.id), site.id).balance_after == 7
    assert session.get(CreditUsageLog, _unbilled(session, actor_of(acct.id), site.id)).site_id == site.id
