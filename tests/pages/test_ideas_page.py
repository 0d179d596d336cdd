"""Ideas page: create by hand, filter, queue selected ideas as writer tasks (and the refusal of queued ones);
Generate ideas (AI) shows its estimate, runs in the background against the fake OpenAI server and lists the ideas."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.ai import prompts
from core.billing import credits
from core.planner import clusters, ideas, keyword_edits
from db.enums import IdeaStatus, TaskStatus
from db.models import ContentIdeas, Sector, Tasks
from tests.ai.helpers import configure
from tests.pages.conftest import click, finish_job, go, login, texts


@pytest.fixture(scope="module")
def world(app_db):
    site_id = app_db.add_site("Idea Blog", sectors=("Coffee",))
    with app_db.tx() as s:
        actor = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        cid = clusters.create(s, actor, site_id=site_id, sector_id=sector_id, name="Grinders").id
        credits.grant(s, actor, amount=500, kind="purchase", reason="page tests")
    return {"site": site_id, "sector": sector_id, "cluster": cid}


def _ideas(app_db, world) -> dict[str, ContentIdeas]:
    with app_db.tx() as s:
        return {i.idea_title: i for i in s.scalars(select(ContentIdeas).where(ContentIdeas.sector_id == world["sector"]))}


def _picker(at):
    return next(m for m in at.multiselect if m.key.startswith("id_picked_"))


def test_create_by_hand_then_queue_as_tasks(app_db, world):
    at = go(login(), "pages/ideas.py")
    at.selectbox(key="id_new_cluster").set_value(world["cluster"])
    at.text_input(key="id_new_title").input("Burr vs blade grinders")
    at.text_area(key="id_new_desc").input("Which one and why")
    at.selectbox(key="id_new_structure").set_value("comparison")
    at.number_input(key="id_new_words").set_value(1600)
    at.text_input(key="id_new_keywords").input("burr grinder, blade grinder")
    click(at, "id_create_submit")
    assert texts(at.success) == ["Idea “Burr vs blade grinders” created."]
    idea = _ideas(app_db, world)["Burr vs blade grinders"]
    assert (idea.keyword_cluster_id, idea.content_structure.value, idea.estimated_word_count, idea.target_keywords) == (
        world["cluster"], "comparison", 1600, "burr grinder, blade grinder")
    assert at.container(key="ideas_table").dataframe[0].value["Cluster"].tolist() == ["Grinders"]

    _picker(at).set_value([idea.id]).run()
    click(at, "id_queue")
    assert texts(at.success) == ["Queued 1 idea(s) as writer tasks."]
    with app_db.tx() as s:
        task = s.scalars(select(Tasks).where(Tasks.idea_id == idea.id)).one()
        assert (task.title, task.cluster_id, task.word_count, task.status) == (
            "Burr vs blade grinders", world["cluster"], 1600, TaskStatus.queued)
    assert _ideas(app_db, world)["Burr vs blade grinders"].status == IdeaStatus.queued


def test_queueing_an_already_queued_idea_is_refused(app_db, world):
    with app_db.tx() as s:
        actor = app_db.actor(s)
        done = ideas.create(s, actor, site_id=world["site"], sector_id=world["sector"], title="Already queued",
                            cluster_id=world["cluster"])
        fresh = ideas.create(s, actor, site_id=world["site"], sector_id=world["sector"], title="Fresh one",
                             cluster_id=world["cluster"])
        ideas.queue(s, actor, idea_ids=[done.id])
        ids = (done.id, fresh.id)
    at = go(login(), "pages/ideas.py")
    _picker(at).set_value(list(ids)).run()
    click(at, "id_queue")
    assert texts(at.error) == ["1 of the selected ideas are queued or completed already: “Already queued”. Nothing "
                               "was queued; deselect them and try again."]
    assert _ideas(app_db, world)["Fresh one"].status == IdeaStatus.new
    at.selectbox(key="id_status").set_value("new").run()
    assert "Already queued" not in at.container(key="ideas_table").dataframe[0].value["Title"].tolist()


def test_generate_ideas_with_ai_shows_the_estimate_progress_then_the_ideas(app_db, world, fake):
    configure(app_db.rt, fake, openai_config={"timeout_s": 15.0})  # the reply below is slow on purpose
    fake.reset()
    with app_db.tx() as s:
        actor = app_db.actor(s)
        cid = clusters.create(s, actor, site_id=world["site"], sector_id=world["sector"], name="Espresso").id
        for kw in ("espresso machine", "espresso grind size"):
            keyword_edits.create_keyword(s, actor, site_id=world["site"], sector_id=world["sector"], keyword=kw,
                                   cluster_id=cid)
    before = app_db.balance()
    at = go(login(), "pages/ideas.py")
    at.selectbox(key="id_ai_cluster").set_value(cid)
    at.number_input(key="id_ai_count").set_value(2).run()
    click(at, "id_ai_estimate")
    assert texts(at.info)[-1] == (f"Estimated cost: up to 4 credits for 1 cluster(s) — 1 AI call(s) on gpt-4o-mini. "
                                  f"Balance: {before:,} credits.")
    assert at.button(key="id_ai_run").label == "Generate ideas (up to 4 credits)"
    assert fake.requests == []  # the estimate calls nothing

    fake.reply_json({"ideas": [
        {"title": "Espresso grind size explained", "description": "From fine to coarse", "content_type": "post",
         "content_structure": "guide", "target_keywords": ["espresso grind size"], "estimated_word_count": 1800},
        {"title": "Best espresso machines", "description": "Roundup", "content_type": "post",
         "content_structure": "listicle", "target_keywords": ["espresso machine"], "estimated_word_count": 2200},
    ]}, delay=3.0)
    click(at, "id_ai_run")
    [bar] = at.progress  # the page stays usable while the AI answers
    assert bar.text.startswith("Generating ideas — Generating ideas for cluster 1 of 1")
    assert not any(b.key == "id_ai_run" for b in at.button)  # the estimate is used up

    finish_job(at, "ideas_job")
    assert texts(at.success) == ["Created 2 idea(s) for cluster “Espresso”. 4 credit(s) used."]
    assert not at.progress and app_db.balance() == before - 4
    prompt = fake.posts("/chat/completions")[0].json["messages"][-1]["content"]
    assert "Espresso" in prompt and "espresso grind size" in prompt
    table = at.container(key="ideas_table").dataframe[0].value
    listed = table[table["Cluster"] == "Espresso"].set_index("Title")
    assert listed[["Status", "Structure", "Words", "Target keywords"]].to_dict("index") == {
        "Best espresso machines": {"Status": "new", "Structure": "listicle", "Words": 2200,
                                   "Target keywords": "espresso machine"},
        "Espresso grind size explained": {"Status": "new", "Structure": "guide", "Words": 1800,
                                          "Target keywords": "espresso grind size"}}
    assert {i.keyword_cluster_id for t, i in _ideas(app_db, world).items() if "espresso" in t.lower()} == {cid}


def test_a_content_strategy_shapes_the_ideas(app_db, world, fake):
    configure(app_db.rt, fake)
    fake.reset()
    with app_db.tx() as s:
        actor = app_db.actor(s)
        cid = clusters.create(s, actor, site_id=world["site"], sector_id=world["sector"], name="Milk frothing").id
        keyword_edits.create_keyword(s, actor, site_id=world["site"], sector_id=world["sector"], keyword="milk frother",
                               cluster_id=cid)
        mine = prompts.create_strategy(s, actor, name="Buyer guides", description="Help people choose",
                                       prompt_types=["ideas"], section_logic={"intro": "Start with the budget"}).id
        prompts.create_strategy(s, actor, name="Long reads", prompt_types=["content_generation"])
    at = go(login(), "pages/ideas.py")
    at.selectbox(key="id_ai_cluster").set_value(cid).run()
    picker = at.selectbox(key="id_ai_strategy")
    assert picker.options[0] == "No strategy (the defaults)" and "Buyer guides" in picker.options
    assert "Long reads" not in picker.options  # meant for articles only
    picker.set_value(mine)
    at.number_input(key="id_ai_count").set_value(1).run()
    click(at, "id_ai_estimate")
    fake.reply_json({"ideas": [{"title": "Choosing a milk frother", "description": "By budget", "content_type": "post",
                                "content_structure": "guide", "target_keywords": ["milk frother"],
                                "estimated_word_count": 1500}]})
    click(at, "id_ai_run")
    finish_job(at, "ideas_job")
    assert texts(at.success)[0].startswith("Created 1 idea(s) for cluster “Milk frothing”.")
    prompt = fake.posts("/chat/completions")[0].json["messages"][-1]["content"]
    assert "Buyer guides: Help people choose" in prompt and "intro: Start with the budget" in prompt
