"""A price change made by a platform admin between two real runs (loopback OpenAI-compatible server): the next
estimate and charge use the new price, the earlier run's ledger and usage rows keep what it was charged."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import engine
from core.billing import pricing
from db.enums import TransactionType
from db.models import CreditTransaction, CreditUsageLog
from tests.ai.helpers import balance, cluster


def _ideas(*titles: str) -> dict:
    return {"ideas": [{"title": t, "description": "Guide", "content_type": "post", "content_structure": "guide",
                       "target_keywords": ["trail shoes"], "estimated_word_count": 1200} for t in titles]}


@pytest.fixture
def idea_price(rt):
    """Sets the base credits of idea generation (a global row) and puts the spec's price back afterwards."""
    def set_price(credits: int) -> None:
        with rt.transaction() as s:
            pricing.update_cost(s, tenancy.operator_actor(), operation_type="idea_generation", base_credits=credits)
    yield set_price
    set_price(2)


def test_the_next_run_pays_the_new_price_and_the_last_one_keeps_its_charge(rt, fake, world, idea_price):
    cid = cluster(rt, world)
    fake.reply_json(_ideas("Best trail shoes", "Trail shoes for mud"))
    first = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=2)
    assert first.credits == 4  # 2 credits per idea

    idea_price(5)
    with rt.transaction() as s:
        assert engine.estimate(s, world.actor, function="generate_ideas", cluster_id=cid, count=2).credits == 10
    fake.reply_json(_ideas("Trail shoes on a budget", "Trail shoes for winter"))
    second = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=2)
    assert second.credits == 10

    with rt.transaction() as s:
        charged = s.scalars(select(CreditTransaction.amount).where(
            CreditTransaction.account_id == world.account_id,
            CreditTransaction.transaction_type == TransactionType.deduction).order_by(CreditTransaction.id)).all()
        used = s.scalars(select(CreditUsageLog.credits_used).where(CreditUsageLog.account_id == world.account_id)
                         .order_by(CreditUsageLog.id)).all()
        assert s.get(CreditUsageLog, first.usage_log_id).credits_used == 4
    assert (charged, used) == ([-4, -10], [4, 10])
    assert balance(rt, world) == 1000 - 14
