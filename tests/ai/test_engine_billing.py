"""What a run charges and records: the estimate checked before the call is a ceiling, and provider work that is
not charged (a failed run, answers thrown away) still leaves a 0-credit usage row with its tokens and USD."""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import tenancy
from core.ai import engine
from core.ai.errors import AIOutputError, AIProviderError
from core.billing import credits, usage
from core.errors import InsufficientCredits
from db.base import utcnow
from db.models import AIModelConfig, Content, CreditCostConfig, CreditTransaction, CreditUsageLog, Images
from tests.ai.helpers import balance, content, keywords, task

ARTICLE_3000 = "<h2>Grip</h2><p>" + "lugs " * 2999 + "</p>"


def _spend_down_to(rt, w, left: int) -> None:
    with rt.transaction() as s:
        op = tenancy.operator_actor(w.account_id)
        credits.grant(s, op, amount=left - credits.balance(s, op), kind="adjustment", reason="test")


def _rows(rt, account_id: int) -> tuple[list[CreditUsageLog], int]:
    """The account's usage rows (oldest first) and its ledger row count."""
    with rt.transaction() as s:
        logs = list(s.scalars(select(CreditUsageLog).where(CreditUsageLog.account_id == account_id)
                              .order_by(CreditUsageLog.id)))
        ledger = s.scalar(select(func.count()).select_from(CreditTransaction)
                          .where(CreditTransaction.account_id == account_id))
    return logs, ledger


def test_a_longer_article_than_estimated_is_kept_and_charged_the_estimate(rt, fake, world):
    """The audit's case: a 1,200-word task is estimated at 12 credits; with 20 left the AI writes 3,000 words
    (30 credits at 1 per 100 words). The article is kept and the charge stops at the estimate."""
    tid = task(rt, world)
    _spend_down_to(rt, world, 20)
    with rt.transaction() as s:
        quoted = engine.estimate(s, world.actor, function="generate_content", task_id=tid)
    assert quoted.credits == 12 and quoted.affordable
    fake.reply_json({"content_html": ARTICLE_3000, "meta_title": "Grip"}, completion_tokens=4200)
    res = engine.generate_content(rt, world.actor, task_id=tid)
    assert res.credits == 12 and "3,000 words" in res.message
    with rt.transaction() as s:
        assert s.scalars(select(Content).where(Content.task_id == tid)).one().word_count == 3000
        log = s.get(CreditUsageLog, res.usage_log_id)
        assert credits.ledger_sum(s, account_id=world.account_id) == 8
    assert balance(rt, world) == 8
    assert log.credits_used == 12
    assert (log.metadata_["uncapped_credits"], log.metadata_["estimated_credits"]) == (30, 12)


@pytest.fixture
def clustering_per_item(rt):
    """Clustering priced per cluster made (a global price row: put back afterwards)."""
    with rt.transaction() as s:
        s.get(CreditCostConfig, "clustering").unit = "per_item"
    yield
    with rt.transaction() as s:
        s.get(CreditCostConfig, "clustering").unit = "per_request"


def test_auto_cluster_per_item_is_charged_at_most_its_estimate(rt, fake, world, clustering_per_item):
    ids = keywords(rt, world, ["trail shoes", "hydration vest", "running poles", "gaiters"])
    with rt.transaction() as s:
        ceiling = engine.estimate(s, world.actor, function="auto_cluster", sector_id=world.sector_id,
                                  keyword_ids=ids).credits
    _spend_down_to(rt, world, ceiling)  # exactly the estimate left
    fake.reply_json({"clusters": [{"name": n, "keywords": [k]} for n, k in
                                  zip("ABCD", ["trail shoes", "hydration vest", "running poles", "gaiters"], strict=True)]})
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    assert len(res.created["clusters"]) == 4 and res.credits == ceiling < 4
    assert balance(rt, world) == 0
    with rt.transaction() as s:
        assert s.get(CreditUsageLog, res.usage_log_id).metadata_["uncapped_credits"] == 4


def test_a_run_failing_on_malformed_output_records_its_usage_unbilled(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes", "hydration vest"])
    for _ in range(3):
        fake.reply_json({"clusters": [{"name": "A", "keywords": ["road shoes"]}]},
                        prompt_tokens=400, completion_tokens=50)
    with pytest.raises(AIOutputError, match="not usable after 3 tries.*Nothing was charged"):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    (row,), ledger = _rows(rt, world.account_id)
    assert ledger == 1 and balance(rt, world) == 1000  # the grant only
    assert (row.credits_used, row.transaction_id, row.tokens_input, row.tokens_output) == (0, None, 1200, 150)
    assert row.cost_usd == Decimal("0.000270")  # gpt-4o-mini: 1,200 × $0.15 + 150 × $0.60 per million tokens
    assert (row.operation_type, row.related_object_type, row.related_object_id) == \
        ("clustering", "sector", world.sector_id)
    meta = row.metadata_
    assert (meta["status"], meta["function"], meta["answers"]) == ("failed", "auto_cluster", 3)
    assert "not usable after 3 tries" in meta["reason"]
    with rt.transaction() as s:  # the report (read from the hourly rollup) shows it, as the log does
        today = utcnow().date()
        window = {"start": today - timedelta(days=1), "end": today + timedelta(days=1)}
        totals = usage.summary(s, world.actor, **window)
        qy = usage.prepare(s, world.actor, **window)
        assert qy.hourly and usage._totals(s, world.actor, dataclasses.replace(qy, hourly=False)) == totals
    assert (totals.credits, totals.cost_usd, totals.calls, totals.tokens_input) == (0, row.cost_usd, 1, 1200)


def test_answers_received_before_a_provider_failure_are_recorded(rt, fake, world):
    texts = [f"keyword {i}" for i in range(10)]
    ids = keywords(rt, world, texts)
    fake.reply_json({"clusters": [{"name": "A", "keywords": texts[:5]}]}, prompt_tokens=500, completion_tokens=90)
    fake.fail(500, times=4)  # the second batch never gets an answer
    with pytest.raises(AIProviderError, match="keeps failing"):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids, batch_size=5)
    (row,), ledger = _rows(rt, world.account_id)
    assert (row.credits_used, row.tokens_input, row.tokens_output, row.metadata_["status"]) == (0, 500, 90, "failed")
    assert ledger == 1 and balance(rt, world) == 1000


def test_provider_errors_without_any_answer_record_nothing(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes"])
    fake.fail(500, times=4)
    with pytest.raises(AIProviderError):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    assert _rows(rt, world.account_id) == ([], 1)


def test_results_thrown_away_for_a_balance_spent_meanwhile_are_recorded_unbilled(rt, fake, world):
    """The one gap the estimate cannot close: another run spends the balance between the check and the charge.
    The charge is refused, the article thrown away, and what the provider billed stays visible."""
    tid = task(rt, world)
    _spend_down_to(rt, world, 20)

    def spend_while_writing(done: int, total: int, message: str) -> None:
        if message == "Article received":  # phase 2 is over, phase 3 not begun: another run spends it all
            _spend_down_to(rt, world, 0)

    fake.reply_json({"content_html": "<p>Grip matters.</p>", "meta_title": "Grip"}, prompt_tokens=700, completion_tokens=30)
    with pytest.raises(InsufficientCredits, match="but the account has 0"):
        engine.generate_content(rt, world.actor, task_id=tid, on_progress=spend_while_writing)
    (row,), ledger = _rows(rt, world.account_id)
    assert (row.credits_used, row.tokens_input, row.metadata_["status"]) == (0, 700, "discarded")
    assert "but the account has 0" in row.metadata_["reason"]
    assert balance(rt, world) == 0 and ledger == 3  # grant and two adjustments, no charge
    with rt.transaction() as s:
        assert s.scalar(select(Content.id).where(Content.task_id == tid)) is None


def test_answers_thrown_away_inside_a_run_count_in_its_usage_not_its_credits(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes"])
    fake.reply_content("not json", prompt_tokens=400, completion_tokens=10)
    fake.reply_json({"clusters": [{"name": "A", "keywords": ["trail shoes"]}]}, prompt_tokens=400,
                    completion_tokens=20)
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    (row,), _ = _rows(rt, world.account_id)
    assert row.id == res.usage_log_id and row.credits_used == res.credits == 1
    assert (row.tokens_input, row.tokens_output, row.cost_usd) == (800, 30, Decimal("0.000138"))  # 800 × 0.15 + 30 × 0.60
    assert (row.metadata_["charged_tokens_input"], row.metadata_["charged_tokens_output"]) == (400, 20)


def test_images_thrown_away_are_recorded_unbilled(rt, fake, world):
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner", "in_article_prompts": ["Mud on the lugs"]})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)

    def spend_when_all_made(done: int, total: int, message: str) -> None:
        if done == total and message.startswith("Image "):
            _spend_down_to(rt, world, 0)

    with pytest.raises(InsufficientCredits):
        engine.generate_images(rt, world.actor, content_id=cid, on_progress=spend_when_all_made)
    (prompts_row, images_row), _ = _rows(rt, world.account_id)
    assert prompts_row.credits_used == 1 and prompts_row.transaction_id is not None
    assert (images_row.operation_type, images_row.credits_used, images_row.metadata_["status"]) == \
        ("image_generation", 0, "discarded")
    with rt.transaction() as s:
        model = s.scalars(select(AIModelConfig).where(AIModelConfig.model_name == images_row.model_used)).one()
        assert (model.model_name, images_row.cost_usd) == ("dall-e-3", Decimal("0.080000"))  # 2 images × $0.04
        assert {str(i.status) for i in s.scalars(select(Images).where(Images.content_id == cid))} == {"pending"}
