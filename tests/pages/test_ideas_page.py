"""Ideas page: create by hand, filter, queue selected ideas as writer tasks (and the refusal of queued ones)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import clusters, ideas
from db.enums import IdeaStatus, TaskStatus
from db.models import ContentIdeas, Sector, Tasks
from tests.pages.conftest import click, go, login, texts


@pytest.fixture(scope="module")
def world(app_db):
    site_id = app_db.add_site("Idea Blog", sectors=("Coffee",))
    with app_db.tx() as s:
        actor = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        cid = clusters.create(s, actor, site_id=site_id, sector_id=sector_id, name="Grinders").id
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
