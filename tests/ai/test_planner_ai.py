"""core.ai.runs: the planner's AI buttons (estimate, then run) through the engine and the fake OpenAI server."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import providers
from core.ai import runs as planner_ai
from core.billing import credits
from core.errors import InsufficientCredits, LimitExceeded, ValidationFailed
from db.models import Clusters, ContentIdeas
from tests.ai.helpers import balance, cluster, keywords


def _idea(title: str) -> dict:
    return {"title": title, "description": "d", "content_type": "post", "content_structure": "article",
            "target_keywords": ["k"], "estimated_word_count": 1000}


def test_ideas_for_several_clusters_estimate_then_run(rt, fake, world):
    a, b = cluster(rt, world, name="A", kws=("a shoes",)), cluster(rt, world, name="B", kws=("b shoes",))
    with rt.transaction() as s:
        est = planner_ai.estimate_ideas(s, world.actor, cluster_ids=[a, b], count=2)
    assert (est.credits, est.calls, est.items, est.balance) == (8, 2, 2, 1000) and fake.requests == []
    assert est.message.startswith("Estimated cost: up to 8 credits for 2 cluster(s) — 2 AI call(s) on gpt-4o-mini.")
    fake.reply_json({"ideas": [_idea("A one"), _idea("A two")]}).reply_json({"ideas": [_idea("B one")]})
    steps = []
    summary = planner_ai.generate_ideas(rt, world.actor, cluster_ids=[b, a], count=2,
                                        on_progress=lambda m, frac: steps.append(frac))
    assert len(summary.created("content_ideas")) == 3 and summary.error is None
    assert summary.credits == 1000 - balance(rt, world) and steps[-1] == 1.0
    with rt.transaction() as s:
        titles = {i.idea_title: i.keyword_cluster_id for i in s.scalars(select(ContentIdeas))
                  if i.account_id == world.account_id}
    assert titles == {"A one": a, "A two": a, "B one": b}


def test_a_later_failure_keeps_earlier_clusters_and_says_why(rt, fake, world):
    a, b = cluster(rt, world, name="A", kws=("a",)), cluster(rt, world, name="B", kws=("b",))
    fake.reply_json({"ideas": [_idea("Only A")]})
    for _ in range(3):
        fake.reply_content("not json at all")
    summary = planner_ai.generate_ideas(rt, world.actor, cluster_ids=[a, b], count=1)
    assert len(summary.results) == 1 and "not usable" in summary.error and "Stopped:" in summary.message
    with pytest.raises(ValidationFailed, match="at least one cluster"):
        planner_ai.generate_ideas(rt, world.actor, cluster_ids=[], count=1)


def test_ai_cluster_estimate_and_run_on_the_new_keywords(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes", "trail running shoes", "hydration vest"])
    with rt.transaction() as s:
        est = planner_ai.estimate_ai_cluster(s, world.actor, site_id=world.site_id, sector_id=world.sector_id)
    assert est.items == 3 and est.available == 3 and est.credits >= 1 and "3 keyword(s)" in est.message
    fake.reply_json({"clusters": [{"name": "Trail shoes", "keywords": ["trail shoes", "trail running shoes"]},
                                  {"name": "Vests", "keywords": ["hydration vest"]}]})
    res = planner_ai.ai_cluster(rt, world.actor, site_id=world.site_id, sector_id=world.sector_id)
    assert sorted(res.created["keywords"]) == sorted(ids)
    with rt.transaction() as s:
        names = set(s.scalars(select(Clusters.name).where(Clusters.sector_id == world.sector_id)))
    assert names == {"Trail shoes", "Vests"}
    with rt.transaction() as s, pytest.raises(ValidationFailed, match="no new keywords"):
        planner_ai.estimate_ai_cluster(s, world.actor, site_id=world.site_id, sector_id=world.sector_id)
    with rt.transaction() as s, pytest.raises(LimitExceeded, match="at most"):
        planner_ai.ai_scope(s, world.actor, site_id=world.site_id, sector_id=world.sector_id,
                            keyword_ids=list(range(1, planner_ai.AI_MAX_KEYWORDS + 2)))


def test_no_key_and_no_credits_are_domain_errors(rt, fake, world):
    cid = cluster(rt, world, name="Broke", kws=("x",))
    with rt.transaction() as s:
        credits.grant(s, tenancy.operator_actor(world.account_id), amount=-balance(rt, world), kind="adjustment",
                      reason="empty it")
    with rt.transaction() as s:
        assert not planner_ai.estimate_ideas(s, world.actor, cluster_ids=[cid]).affordable
    with pytest.raises(InsufficientCredits):
        planner_ai.generate_ideas(rt, world.actor, cluster_ids=[cid])
    with rt.transaction() as s:
        providers.update_provider(s, tenancy.operator_actor(), provider_id="openai", api_key="")
    with rt.transaction() as s, pytest.raises(ValidationFailed, match="no API key"):
        planner_ai.estimate_ideas(s, world.actor, cluster_ids=[cid])
