"""Billing's scheduler job against a real database (committed transactions, both backends): every due account gets
its plan credits once a month, as the scheduler's system actor, and a second pass grants nothing."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from core import runtime
from core.billing import credits
from core.billing import jobs as billing_jobs
from core.common import uow
from core.identity import accounts
from db.enums import AccountStatus, TransactionType
from db.models import Account, CreditTransaction


@pytest.fixture
def rt(fresh_database):
    rt = runtime.start(url=fresh_database())
    yield rt
    rt.engine.dispose()


def _plan_grants(rt: runtime.Runtime) -> list[tuple[int, int, int | None]]:
    """(account_id, amount, created_by_id) of every plan-credit grant, by account."""
    with rt() as s:
        rows = s.execute(select(CreditTransaction.account_id, CreditTransaction.amount, CreditTransaction.created_by_id)
                         .where(CreditTransaction.transaction_type == TransactionType.subscription)
                         .order_by(CreditTransaction.account_id))
        return [tuple(r) for r in rows]


def test_every_due_account_gets_its_plan_credits_once(rt, caplog):
    with rt() as s:
        made = {name: accounts.create_account_record(s, name=name, plan_slug=plan, status=status).id
                for name, plan, status in [("Paid", "starter", AccountStatus.active),
                                           ("Trying", "growth", AccountStatus.trial),
                                           ("Gone", "growth", AccountStatus.cancelled)]}
        due = credits.accounts_due_plan_credits(s)
        plans = {a.id: a.plan.included_credits for a in s.scalars(select(Account).where(Account.id.in_(due)))}
    assert made["Paid"] in due and made["Trying"] in due and made["Gone"] not in due
    with caplog.at_level(logging.INFO, logger="igny8.scheduler"):
        billing_jobs.plan_credits(uow.of(rt.factory))  # any unit of work, not only a Runtime
        billing_jobs.plan_credits(rt)  # a second pass in the same month grants nothing
    assert _plan_grants(rt) == [(aid, plans[aid], None) for aid in sorted(due)]  # once each, by the scheduler
    assert [r.getMessage() for r in caplog.records] == [f"plan credits granted to {len(due)} of {len(due)} due "
                                                        "accounts"]  # the second pass had nothing due
    with rt() as s:
        assert credits.accounts_due_plan_credits(s) == []
        assert all(credits.ledger_sum(s, account_id=aid) == s.get(Account, aid).credits == plans[aid] for aid in due)
