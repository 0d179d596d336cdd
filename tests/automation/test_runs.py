"""A run stage by stage on the loopback AI server: forecast, reservation, stage results, credits."""
from __future__ import annotations

from sqlalchemy import func, select

from core.automation import runs
from core.billing import credits
from db.models import Account, AutomationRunItem, Content, CreditTransaction, Images
from tests.automation.conftest import set_config, work_all


def test_a_run_goes_from_keywords_to_approved_articles(rt, world, pipeline):
    set_config(rt, world, stage_2_batch_size=2, ideas_per_cluster=2, stage_4_batch_size=3, stage_5_batch_size=3,
               stage_6_batch_size=3, auto_approve="on", auto_publish="off", credit_budget=5000)
    with rt.transaction() as s:
        fc = runs.forecast(s, world.actor, site_id=world.site_id)
        assert [st.items for st in fc.stages][:4] == [20, 2, 4, 3]
        run = runs.start(s, world.actor, site_id=world.site_id)
        run_id = run.id
        assert run.forecast_credits == fc.credits > 0
        assert s.scalar(select(Account.credits_reserved).where(Account.id == world.account_id)) == fc.credits
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, world.actor, run_id=run_id)
        assert view.status == "completed", view.message
        res = view.stage_results
        assert res["1"]["done"] == 1 and res["2"]["done"] == 2 and res["3"]["done"] == 4
        assert res["4"]["done"] == 3 and res["5"]["done"] == 3 and res["6"]["done"] == 3
        assert res["7"]["done"] == 3 and res["8"]["skipped"] == 3  # auto-publish is off
        approved = s.scalar(select(func.count()).select_from(Content).where(
            Content.site_id == world.site_id, Content.status == "approved"))
        assert approved == 3
        assert s.scalar(select(func.count()).select_from(Images).where(Images.site_id == world.site_id,
                                                                       Images.status == "generated")) == 15  # 3 × (1 featured + 4, the default max images)
        charged = -s.scalar(select(func.sum(CreditTransaction.amount)).where(
            CreditTransaction.account_id == world.account_id, CreditTransaction.amount < 0))
        assert view.credits_used == charged
        assert s.scalar(select(Account.credits_reserved).where(Account.id == world.account_id)) == 0
        assert credits.ledger_sum(s, account_id=world.account_id) == s.scalar(
            select(Account.credits).where(Account.id == world.account_id))
        assert s.scalar(select(func.count()).select_from(AutomationRunItem).where(
            AutomationRunItem.run_id == run_id, AutomationRunItem.status == "pending")) == 0


def test_ai_clustering_where_the_site_chose_it(rt, pipeline):
    from tests.automation.conftest import make_world

    w = make_world(rt, keywords=10)
    set_config(rt, w, clustering="ai", stage_1_batch_size=10, stage_2_batch_size=1, ideas_per_cluster=1,
               stage_3_batch_size=1, stage_4_batch_size=1, auto_approve="off", auto_publish="off")
    with rt.transaction() as s:
        fc = runs.forecast(s, w.actor, site_id=w.site_id)
        assert fc.stages[0].items == 10 and fc.stages[0].credits > 0  # AI clustering is charged
        run_id = runs.start(s, w.actor, site_id=w.site_id).id
    assert work_all(rt) == ["completed"]
    with rt.transaction() as s:
        view = runs.get(s, w.actor, run_id=run_id)
    assert view.stage_results["1"]["done"] == 1 and view.stage_results["1"]["credits"] > 0
    assert pipeline.calls["clusters"] == 1 and view.stage_results["4"]["done"] == 1
