"""Who adds credits: customers pay for them, so only platform admins (developers and the system account's owners and
admins) grant them, acting on the account they name or the one in their scope. A customer account's owner or admin
is refused in core, for their own account and any other, having written nothing. (The scheduler's monthly plan
credits, credits.grant_plan_period, are tested in test_credits.py.)"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.billing import credits
from core.errors import AccessDenied, NotFound, ValidationFailed
from db.enums import Role
from db.models import Account, CreditTransaction
from tests import factories as f

TOP_UP = "ask them to top up this account"


def _ledger(session, account_id: int) -> list[tuple[int, str, int | None]]:
    """(amount, description, created_by_id) of an account's ledger rows, oldest first."""
    rows = session.execute(select(CreditTransaction.amount, CreditTransaction.description,
                                  CreditTransaction.created_by_id)
                           .where(CreditTransaction.account_id == account_id).order_by(CreditTransaction.id))
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_a_customer_accounts_owner_or_admin_adds_no_credits(session, role):
    mine, other = f.account(session), f.account(session)
    customer = f.actor(session, f.user(session, mine, role=role))
    assert customer.is_admin and not customer.is_platform_admin
    attempts = {"own account": lambda: credits.grant(session, customer, amount=500, kind="purchase", reason="free"),
                "own account named": lambda: credits.grant(session, customer, account_id=mine.id, amount=500,
                                                           kind="purchase", reason="free"),
                "another account": lambda: credits.grant(session, customer, account_id=other.id, amount=500,
                                                         kind="purchase", reason="free"),
                "the choices": lambda: credits.grant_targets(session, customer)}
    for label, attempt in attempts.items():
        err = f.refused(session, AccessDenied, attempt)
        assert str(err) == credits.GRANT_REFUSED and TOP_UP in str(err), label
    assert (mine.credits, other.credits) == (0, 0)
    # They still read their own balance and ledger.
    assert credits.balance(session, customer) == 0 and credits.list_ledger(session, customer) == []


def test_editors_and_viewers_add_no_credits_even_in_the_system_account(session):
    system_account = f.account(session, is_system=True)
    for role in (Role.editor, Role.viewer):
        member = f.actor(session, f.user(session, system_account, role=role))
        f.refused(session, AccessDenied, lambda a=member: credits.grant(session, a, amount=5, kind="purchase",
                                                                        reason="x"), match="platform team")


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_the_system_accounts_owner_or_admin_tops_up_a_customer_account_they_choose(session, role):
    customer = f.account(session, name="Customer Co")
    platform = f.platform_admin(session, role=role)
    assert credits.grant_targets(session, platform)[customer.id] == f"Customer Co ({customer.slug})"
    tx = credits.grant(session, platform, account_id=customer.id, amount=1_000, kind="purchase",
                       reason="Invoice 7")
    assert (tx.account_id, tx.balance_after) == (customer.id, 1_000)
    assert _ledger(session, customer.id) == [(1_000, "Invoice 7", platform.user_id)]
    assert _ledger(session, platform.account_id) == []  # their own account got nothing
    # Without naming one, the credits go to the account in their scope: their own.
    credits.grant(session, platform, amount=5, kind="adjustment", reason="own top-up")
    assert session.get(Account, platform.account_id).credits == 5


def test_naming_an_account_gives_no_other_right_in_it(session):
    customer = f.account(session)
    platform = f.platform_admin(session)
    credits.grant(session, platform, account_id=customer.id, amount=50, kind="purchase", reason="x")
    # Reads stay in their own account, and they cannot step into the customer's account as its admin.
    assert credits.balance(session, platform) == 0 and credits.list_ledger(session, platform) == []
    with pytest.raises(AccessDenied, match="your own account"):
        platform.in_account(customer.id)


def test_developers_top_up_the_account_picked_or_named(session):
    customer = f.account(session)
    developer = f.actor(session, f.user(session, None, role=Role.developer))
    credits.grant(session, developer.in_account(customer.id), amount=30, kind="purchase", reason="picked")
    credits.grant(session, developer, account_id=customer.id, amount=12, kind="refund", reason="named")
    credits.grant(session, tenancy.operator_actor(customer.id), amount=-2, kind="adjustment", reason="cli")
    assert [(amount, who) for amount, _, who in _ledger(session, customer.id)] == \
        [(30, developer.user_id), (12, developer.user_id), (-2, None)]
    assert credits.ledger_sum(session, account_id=customer.id) == 40 == session.get(Account, customer.id).credits
    assert customer.id in credits.grant_targets(session, developer)


def test_a_platform_admin_must_name_an_existing_account(session):
    developer = f.actor(session, f.user(session, None, role=Role.developer))
    with pytest.raises(ValidationFailed, match="Choose an account"):
        credits.grant(session, developer, amount=5, kind="purchase", reason="x")
    platform = f.platform_admin(session)
    missing = (session.scalar(select(Account.id).order_by(Account.id.desc()).limit(1)) or 0) + 1000
    f.refused(session, NotFound, lambda: credits.grant(session, platform, account_id=missing, amount=5,
                                                       kind="purchase", reason="x"))

