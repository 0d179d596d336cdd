"""Clusters page: create, merge, delete through the screen; offline preview in the background, then apply; the AI
buttons show their estimated credits, run against the fake OpenAI server and report what they created."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import providers
from core.billing import credits
from core.planner import clusters, keyword_edits
from db.enums import KeywordStatus
from db.models import Clusters, ContentIdeas, Keywords, Sector
from tests.ai.helpers import configure
from tests.pages.conftest import click, finish_job, go, login, texts

JOB = "clusters_job"
TEXTS = ["trail running shoes", "best trail running shoes", "trail running shoes women", "coffee grinder",
         "best coffee grinder", "manual coffee grinder", "xylophone lessons"]


@pytest.fixture(scope="module")
def world(app_db):
    site_id = app_db.add_site("Gear Blog", sectors=("Gear",))
    with app_db.tx() as s:
        credits.grant(s, app_db.actor(s), amount=1000, kind="purchase", reason="page tests")
        return {"site": site_id, "sector": s.scalar(select(Sector.id).where(Sector.site_id == site_id))}


def _keywords(app_db, world, texts_: list[str], *, cluster_id: int | None = None) -> list[int]:
    with app_db.tx() as s:
        actor = app_db.actor(s)
        return [keyword_edits.create_keyword(s, actor, site_id=world["site"], sector_id=world["sector"], keyword=t,
                                       volume=100 - i, cluster_id=cluster_id).id for i, t in enumerate(texts_)]


def _clusters(app_db, world) -> dict[str, Clusters]:
    with app_db.tx() as s:
        return {c.name: c for c in s.scalars(select(Clusters).where(Clusters.sector_id == world["sector"],
                                                                    Clusters.deleted_at.is_(None)))}


def _cluster(app_db, world, name: str) -> int:
    with app_db.tx() as s:
        return clusters.create(s, app_db.actor(s), site_id=world["site"], sector_id=world["sector"], name=name).id


def _set_balance(app_db, target: int) -> None:
    """An adjustment that brings the account's balance to `target`."""
    with app_db.tx() as s:
        actor = app_db.actor(s)
        if (change := target - credits.balance(s, actor)) != 0:
            credits.grant(s, actor, amount=change, kind="adjustment", reason="page test balance")


def _ai_estimate(at, balance: int) -> int:
    """Press "Estimate AI clustering" on the 7 new keywords; the credits the page promises (and its run button)."""
    click(at, "cl_ai_estimate")
    shown = (texts(at.info) + texts(at.error))[-1]
    found = re.fullmatch(rf"Estimated cost: up to (\d+) credits for 7 keyword\(s\) — 1 AI call\(s\) on gpt-4o-mini\. "
                         rf"Balance: {balance:,} credits\.( Not enough credits: ask the platform team \(the team "
                         rf"running this dashboard\) to top up the account\.)?", shown)
    assert found, shown
    estimate = int(found.group(1))
    assert estimate > 0 and at.button(key="cl_ai_run").label == f"Run AI clustering (up to {estimate:,} credits)"
    return estimate


def _page(app_db):
    return go(login(), "pages/clusters.py")


def _reset(app_db, world):
    with app_db.tx() as s:
        ids = [c.id for c in s.scalars(select(Clusters).where(Clusters.sector_id == world["sector"],
                                                              Clusters.deleted_at.is_(None)))]
        if ids:
            clusters.delete(s, app_db.actor(s), cluster_ids=ids)
        s.execute(Keywords.__table__.delete().where(Keywords.sector_id == world["sector"]))


def test_create_merge_and_delete_through_the_screen(app_db, world):
    _reset(app_db, world)
    at = _page(app_db)
    at.text_input(key="cl_new_name").input("Trail shoes")
    click(at, "cl_create_submit")
    assert texts(at.success) == ["Cluster “Trail shoes” created."]
    at.text_input(key="cl_new_name").input("trail SHOES")
    click(at, "cl_create_submit")
    assert texts(at.error) == ["Sector “Gear” has a cluster named “Trail shoes” already."]
    road = _cluster(app_db, world, "Road shoes")
    trail = _clusters(app_db, world)["Trail shoes"].id
    _keywords(app_db, world, ["road shoes", "road running shoes"], cluster_id=road)
    at.run()
    table = at.container(key="clusters_table").dataframe[0].value
    assert table.set_index("Name").loc["Road shoes", "Keywords"] == 2

    picker = next(m for m in at.multiselect if m.key.startswith("cl_picked_"))
    picker.set_value([road]).run()
    at.selectbox(key="cl_merge_target").set_value(trail)
    click(at, "cl_merge")
    assert texts(at.success) == ["Merged 1 cluster(s) into “Trail shoes”: 2 keyword(s), 0 idea(s) and 0 task(s) moved."]
    assert set(_clusters(app_db, world)) == {"Trail shoes"} and _clusters(app_db, world)["Trail shoes"].keywords_count == 2

    picker = next(m for m in at.multiselect if m.key.startswith("cl_picked_"))
    picker.set_value([trail]).run()
    at.checkbox(key="cl_delete_ok").check().run()
    click(at, "cl_delete")
    assert texts(at.success) == ["Deleted 1 cluster(s): 2 keyword(s) are new again, 0 idea(s) no longer have a cluster."]
    with app_db.tx() as s:
        assert set(s.scalars(select(Keywords.status).where(Keywords.sector_id == world["sector"]))) == {"new"}
    assert not at.container(key="clusters_table").dataframe


def test_preview_runs_in_the_background_then_apply(app_db, world):
    _reset(app_db, world)
    _keywords(app_db, world, TEXTS)
    at = _page(app_db)
    at.slider(key="cl_granularity").set_value(0.5)
    click(at, "cl_preview")
    finish_job(at, JOB)
    assert [m.value for m in at.metric][:3] == ["2", "6 of 7", "14.3%"] and 0 < float(at.metric[3].value) <= 1
    preview = at.container(key="cluster_preview_table").dataframe[0].value
    assert sorted(preview["Name"]) == ["coffee grinder", "trail running shoes"]
    assert _clusters(app_db, world) == {}  # nothing written before Apply
    click(at, "cl_apply")
    assert texts(at.success) == ["Mapped 6 keyword(s): 2 new cluster(s), 0 existing cluster(s) extended."]
    made = _clusters(app_db, world)
    assert {n: c.keywords_count for n, c in made.items()} == {"trail running shoes": 3, "coffee grinder": 3}
    assert not at.metric  # the preview is gone once applied


def test_ai_buttons_show_the_estimate_then_create_ideas(app_db, world, fake):
    _reset(app_db, world)
    configure(app_db.rt, fake)
    fake.reset()
    cid = _cluster(app_db, world, "Coffee grinders")
    _keywords(app_db, world, ["coffee grinder", "burr grinder"], cluster_id=cid)
    at = _page(app_db)
    next(m for m in at.multiselect if m.key.startswith("cl_picked_")).set_value([cid]).run()
    at.number_input(key="cl_ideas_count").set_value(2).run()
    click(at, "cl_ideas_estimate")
    assert texts(at.info)[-1].startswith("Estimated cost: up to 4 credits for 1 cluster(s) — 1 AI call(s) on "
                                         "gpt-4o-mini. Balance:")
    assert fake.requests == []  # the estimate calls nothing
    fake.reply_json({"ideas": [
        {"title": "Burr vs blade", "description": "Compare", "content_type": "post", "content_structure": "comparison",
         "target_keywords": ["burr grinder"], "estimated_word_count": 1500},
        {"title": "Best coffee grinders", "description": "Roundup", "content_type": "post",
         "content_structure": "listicle", "target_keywords": ["coffee grinder"], "estimated_word_count": 2000}]})
    click(at, "cl_ideas_run")
    finish_job(at, JOB)
    assert texts(at.success) == ["Created 2 idea(s) for cluster “Coffee grinders”. 4 credit(s) used."]
    with app_db.tx() as s:
        titles = set(s.scalars(select(ContentIdeas.idea_title).where(ContentIdeas.keyword_cluster_id == cid)))
    assert titles == {"Burr vs blade", "Best coffee grinders"}


def test_ai_errors_are_messages(app_db, world, fake):
    _reset(app_db, world)
    configure(app_db.rt, fake)
    with app_db.tx() as s:
        providers.update_provider(s, tenancy.operator_actor(), provider_id="openai", api_key="")
    _keywords(app_db, world, ["a keyword", "another keyword"])
    at = _page(app_db)
    click(at, "cl_ai_estimate")
    assert texts(at.error) == ["Provider “OpenAI” has no API key. Ask the platform team (the team running this "
                               "dashboard) to set one on the “AI providers & models” screen."]
    configure(app_db.rt, fake)


def test_ai_clustering_shows_the_estimate_then_groups_the_keywords(app_db, world, fake):
    _reset(app_db, world)
    configure(app_db.rt, fake)
    fake.reset()
    ids = dict(zip(TEXTS, _keywords(app_db, world, TEXTS), strict=True))
    before = app_db.balance()
    at = _page(app_db)
    estimate = _ai_estimate(at, before)
    assert texts(at.error) == [] and fake.requests == []  # the estimate calls nothing
    assert not at.button(key="cl_ai_run").disabled
    fake.reply_json({"clusters": [
        {"name": "Trail running shoes", "description": "Shoes for trails",
         "keywords": ["trail running shoes", "best trail running shoes", "trail running shoes women"]},
        {"name": "Home coffee grinders", "description": "Grinding at home",
         "keywords": ["coffee grinder", "best coffee grinder", "manual coffee grinder"]},
        {"name": "Music", "keywords": []}]})  # an empty cluster is dropped; "xylophone lessons" stays new
    click(at, "cl_ai_run")
    finish_job(at, JOB)
    prompt = fake.posts("/chat/completions")[0].json["messages"][-1]["content"]
    assert len(fake.posts("/chat/completions")) == 1 and all(t in prompt for t in TEXTS)
    [shown] = texts(at.success)
    used = re.fullmatch(r"Grouped 6 keyword\(s\) into 2 cluster\(s\) \(2 new\)\. (\d+) credit\(s\) used\.", shown)
    assert used, shown
    assert 0 < int(used.group(1)) <= estimate and app_db.balance() == before - int(used.group(1))
    made = _clusters(app_db, world)
    assert {n: (c.description, c.keywords_count) for n, c in made.items()} == {
        "Trail running shoes": ("Shoes for trails", 3), "Home coffee grinders": ("Grinding at home", 3)}
    with app_db.tx() as s:
        rows = {k.keyword: (k.cluster_id, k.status) for k in s.scalars(select(Keywords).where(
            Keywords.id.in_(ids.values())))}
    grinders, trail = made["Home coffee grinders"].id, made["Trail running shoes"].id
    assert rows == {**{t: (trail, KeywordStatus.mapped) for t in TEXTS[:3]},
                    **{t: (grinders, KeywordStatus.mapped) for t in TEXTS[3:6]},
                    "xylophone lessons": (None, KeywordStatus.new)}
    table = at.container(key="clusters_table").dataframe[0].value.set_index("Name")
    assert table["Keywords"].to_dict() == {"Trail running shoes": 3, "Home coffee grinders": 3}
    assert not any(b.key == "cl_ai_run" for b in at.button)  # the estimate was used up by the run


def test_ai_clustering_needs_the_estimated_credits(app_db, world, fake):
    _reset(app_db, world)
    configure(app_db.rt, fake)
    fake.reset()
    _keywords(app_db, world, TEXTS)
    funded = app_db.balance()
    try:
        _set_balance(app_db, 0)
        at = _page(app_db)
        _ai_estimate(at, 0)
        assert texts(at.error)[-1].endswith("Not enough credits: ask the platform team (the team running this "
                                            "dashboard) to top up the account.")
        assert at.button(key="cl_ai_run").disabled
        # An estimate made while the balance sufficed, spent elsewhere before the click: the run refuses.
        _set_balance(app_db, funded)
        estimate = _ai_estimate(at, funded)
        _set_balance(app_db, 0)
        click(at, "cl_ai_run")
        finish_job(at, JOB)
        assert texts(at.error) == [f"This needs {estimate} credits but the account has 0. Ask the platform team (the "
                                   "team running this dashboard) to top up the account."]
        assert fake.requests == [] and _clusters(app_db, world) == {} and app_db.balance() == 0
    finally:
        _set_balance(app_db, funded)
