"""Grants racing charges in several processes (PostgreSQL): balance == sum(ledger) == the last balance_after."""
from __future__ import annotations

import argparse
from typing import Any

import pytest
from sqlalchemy import func, select

from core import runtime, tenancy
from core.billing import credits
from core.cli import billing as billing_cli
from core.runtime import Runtime
from db.enums import Role, TransactionType
from db.models import Account, CreditTransaction
from tests import factories as f
from tests import races

pytestmark = pytest.mark.pg_only

CHARGERS, GRANTERS = 3, 2
CHARGES, GRANTS = 100, 50  # per process: 400 operations in all
START = CHARGERS * CHARGES  # enough for every charge even before any grant lands
ROLES = {**{f"c{n}": "charge" for n in range(CHARGERS)}, **{f"g{n}": "grant" for n in range(GRANTERS)}}


@pytest.fixture
def rt(pg_runtime) -> Runtime:
    return pg_runtime


def _charges(rt: Runtime, actor: tenancy.Actor, name: str) -> None:
    for i in range(CHARGES):
        with rt() as s:
            credits.charge(s, actor, credits=1, idempotency_key=f"{name}-{i}", description="race")


def _grants(rt: Runtime, slug: str, name: str) -> None:
    # The operator's `grant-credits`: the command looks the account up (loading it into the session), then grants.
    for i in range(GRANTS):
        args = argparse.Namespace(account=slug, amount=1, kind="purchase", reason=f"{name} top-up {i}",
                                  idempotency_key=None)
        with rt() as s:
            billing_cli.cmd_grant_credits(s, args)


def _worker(url: str, role: str, name: str, actor: tenancy.Actor, slug: str, go: Any) -> str:
    """One process with its own engine; charges or grants in a loop once released."""
    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            s.execute(select(1))  # connect before the start: the race is in the ledger, not in start-up
        go()
        (_charges(rt, actor, name) if role == "charge" else _grants(rt, slug, name))
        return name
    finally:
        rt.engine.dispose()


def _account(rt: Runtime) -> tuple[tenancy.Actor, str]:
    with rt() as s:
        acct = f.account(s)
        actor = tenancy.actor_for(s, f.user(s, acct, role=Role.owner))
        credits.grant(s, tenancy.operator_actor(acct.id), amount=START, kind="purchase", reason="start")
        return actor, acct.slug


def _race(rt: Runtime, actor: tenancy.Actor, slug: str) -> list[str]:
    url = rt.engine.url.render_as_string(hide_password=False)
    return races.run_together(_worker, [(url, role, name, actor, slug) for name, role in ROLES.items()])


def test_grants_racing_charges_in_processes_lose_nothing(rt):
    actor, slug = _account(rt)
    assert sorted(_race(rt, actor, slug)) == sorted(ROLES)  # every process finished (a failure fails run_together)
    with rt() as s:
        balance = s.scalar(select(Account.credits).where(Account.id == actor.account_id))
        total = credits.ledger_sum(s, account_id=actor.account_id)
        last = s.scalar(select(CreditTransaction.balance_after).where(CreditTransaction.account_id == actor.account_id)
                        .order_by(CreditTransaction.id.desc()).limit(1))
        kinds = dict(s.execute(select(CreditTransaction.transaction_type, func.count())
                               .where(CreditTransaction.account_id == actor.account_id)
                               .group_by(CreditTransaction.transaction_type)).all())
    assert balance == total == last, f"balance {balance}, ledger sum {total}, last balance_after {last}"
    assert kinds == {TransactionType.deduction: CHARGERS * CHARGES, TransactionType.purchase: GRANTERS * GRANTS + 1}
    assert balance == START - CHARGERS * CHARGES + GRANTERS * GRANTS
