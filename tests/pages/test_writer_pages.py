"""Writer screens in AppTest: the queue (create, filter, assign, due dates, delete and restore), a bulk run against
the fake OpenAI server (estimate, a line per task, a failure retried), the article editor (save, a stale save,
the live preview), revisions (diff, restore), review steps with comments, and the content list with bulk approve."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from core.billing import credits
from core.planner import clusters
from core.writer import content as articles
from core.writer import tasks
from db.enums import ContentStatus
from db.models import Content, ContentRevision, Sector, Tasks
from tests.ai.helpers import configure
from tests.fakes.openai_server import Reply, completion
from tests.pages.conftest import click, finish_job, go, login, texts


@pytest.fixture(scope="module")
def world(app_db):
    site_id = app_db.add_site("Writer Blog", sectors=("Running",))
    with app_db.tx() as s:
        actor = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        cid = clusters.create(s, actor, site_id=site_id, sector_id=sector_id, name="Trail shoes").id
        other = clusters.create(s, actor, site_id=site_id, sector_id=sector_id, name="Marathon training").id
        credits.grant(s, actor, amount=1000, kind="purchase", reason="page tests")
        owner_id = actor.user_id
    return {"site": site_id, "sector": sector_id, "cluster": cid, "other": other, "owner": owner_id}


def _task(app_db, world, title: str, cluster: str = "cluster") -> int:
    with app_db.tx() as s:
        return tasks.create(s, app_db.actor(s), site_id=world["site"], sector_id=world["sector"], title=title,
                            cluster_id=world[cluster], keywords=title.lower()).id


def _table(at, key: str):
    return at.container(key=key).dataframe[0].value


def _picker(at, prefix: str):
    return next(m for m in at.multiselect if m.key.startswith(prefix))


def test_create_a_task_by_hand_assign_it_and_find_it_under_my_tasks(app_db, world):
    at = go(login(), "pages/writer_tasks.py")
    at.text_input(key="wq_new_title").input("Waterproof trail shoes reviewed")
    at.selectbox(key="wq_new_cluster").set_value(world["cluster"])
    at.text_area(key="wq_new_brief").input("Five pairs tested in the rain")
    at.text_input(key="wq_new_keywords").input("waterproof trail shoes, gore-tex")
    at.number_input(key="wq_new_words").set_value(1800)
    at.date_input(key="wq_new_due").set_value(date(2030, 5, 1))
    click(at, "wq_create_submit")
    assert texts(at.success) == ["Task “Waterproof trail shoes reviewed” created."]
    with app_db.tx() as s:
        t = s.scalars(select(Tasks).where(Tasks.title == "Waterproof trail shoes reviewed")).one()
        assert (t.cluster_id, t.word_count, t.due_date, t.keywords, t.assigned_to_id) == (
            world["cluster"], 1800, date(2030, 5, 1), "waterproof trail shoes, gore-tex", None)
    assert "Waterproof trail shoes reviewed" in _table(at, "wq_table")["Title"].tolist()

    at.selectbox(key="wq_assignee").set_value(tasks.MINE).run()
    assert "Waterproof trail shoes reviewed" not in (_table(at, "wq_table")["Title"].tolist()
                                                     if at.container(key="wq_table").dataframe else [])
    at.selectbox(key="wq_assignee").set_value(None).run()
    _picker(at, "wq_picked_").set_value([t.id]).run()
    at.selectbox(key="wq_assign_to").set_value(world["owner"]).run()
    click(at, "wq_assign")
    assert texts(at.success) == ["1 task(s) assigned."]
    at.selectbox(key="wq_assignee").set_value(tasks.MINE).run()
    assert _table(at, "wq_table")["Title"].tolist() == ["Waterproof trail shoes reviewed"]


def test_bulk_due_date_delete_and_restore(app_db, world):
    ids = [_task(app_db, world, f"Hill repeats week {n}", "other") for n in (1, 2)]
    at = go(login(), "pages/writer_tasks.py")
    at.text_input(key="wq_search").input("Hill repeats").run()
    _picker(at, "wq_picked_").set_value(ids).run()
    at.date_input(key="wq_due_to").set_value(date(2031, 1, 2)).run()
    click(at, "wq_set_due")
    assert texts(at.success) == ["Due date of 2 task(s) set."]
    _picker(at, "wq_picked_").set_value(ids).run()
    at.checkbox(key="wq_delete_ok").check().run()
    click(at, "wq_delete")
    assert texts(at.success) == ["Deleted 2 task(s); tick “Deleted tasks” to restore them."]
    with app_db.tx() as s:
        assert s.scalar(select(func.count()).where(Tasks.id.in_(ids), Tasks.deleted_at.is_not(None))) == 2
    at.checkbox(key="wq_deleted").check().run()
    _picker(at, "wq_picked_").set_value(ids).run()
    click(at, "wq_restore")
    assert texts(at.success) == ["Restored 2 task(s)."]
    with app_db.tx() as s:
        rows = s.scalars(select(Tasks).where(Tasks.id.in_(ids))).all()
        assert [(r.deleted_at, r.due_date) for r in rows] == [(None, date(2031, 1, 2))] * 2


def _articles_by_title(fail: str):
    def answer(body: dict) -> Reply:
        prompt = body["messages"][-1]["content"]
        if fail in prompt:
            return Reply(status=500, body={"error": {"message": "the provider is down"}})
        return Reply(body=completion(json.dumps({"content_html": "<h2>Fit</h2><p>Snug heel, roomy toes.</p>",
                                                 "meta_title": "A guide", "meta_description": "What to buy",
                                                 "primary_keyword": "trail", "secondary_keywords": []})))
    return answer


def test_bulk_run_shows_a_line_per_task_and_retries_the_failed_one(app_db, world, fake):
    fake.reset()
    configure(app_db.rt, fake)
    ids = [_task(app_db, world, "Best budget gravel shoes"), _task(app_db, world, "Descending steep scree safely")]
    fake.chat_responder = _articles_by_title("Descending steep scree")
    at = go(login(), "pages/writer_tasks.py")
    at.text_input(key="wq_search").input("s").run()
    _picker(at, "wq_picked_").set_value(ids).run()
    at.checkbox(key="wq_gen_overlap").check().run()
    click(at, "wq_gen_estimate")
    assert [m for m in texts(at.info) if m.startswith("Estimated cost: up to ")], texts(at.info)
    before = app_db.balance()
    click(at, "wq_gen_run")
    finish_job(at, "wq_job")
    with app_db.tx() as s:
        made = s.scalars(select(Content).where(Content.task_id.in_(ids))).all()
        assert [c.title for c in made] == ["Best budget gravel shoes"]
    lines = next(t for t in at.dataframe if "Line" in t.value.columns).value
    got = dict(zip(lines["Task"], lines["Status"], strict=True))
    assert got == {"Best budget gravel shoes": "done", "Descending steep scree safely": "failed"}
    failed_line = lines[lines["Task"] == "Descending steep scree safely"]["Line"].iloc[0]
    assert "the provider is down" in failed_line and "Nothing was charged" in failed_line
    spent = before - app_db.balance()
    assert spent == lines["Credits"].sum() > 0  # only the saved article was paid for

    fake.chat_responder = _articles_by_title("no title fails now")
    retry = next(b for b in at.button if b.key.startswith("wq_retry_"))
    retry.click().run()
    finish_job(at, "wq_job")
    with app_db.tx() as s:
        assert s.scalar(select(func.count()).where(Content.task_id.in_(ids))) == 2


def _article(app_db, world, title: str = "Trail shoe fit guide") -> int:
    with app_db.tx() as s:
        actor = app_db.actor(s)
        t = tasks.create(s, actor, site_id=world["site"], sector_id=world["sector"], title=title,
                         cluster_id=world["cluster"])
        c = Content(account_id=t.account_id, site_id=t.site_id, sector_id=t.sector_id, task_id=t.id, title=title,
                    content_html="<h2>Fit</h2><p>Leave a thumb of room.</p>", word_count=6, cluster_id=t.cluster_id)
        s.add(c)
        s.flush()
        return c.id


def _open(cid: int):
    at = login()
    at.session_state["article_id"] = cid
    return go(at, "pages/article.py")


def test_the_editor_saves_a_revision_and_a_stale_save_keeps_the_text(app_db, world):
    cid = _article(app_db, world)
    at = _open(cid)
    body = "<h2>Fit</h2><p>Leave a thumb of room at the toes.</p><script>alert(1)</script>"
    at.text_area(key=f"art_body_{cid}").input(body)
    at.text_input(key=f"art_meta_title_{cid}").input("T" * 70).run()
    assert "70 / 60 characters" in texts(at.warning)
    click(at, "art_save")
    assert any(m.startswith("Saved revision") for m in texts(at.success)), texts(at.success)
    with app_db.tx() as s:
        c = s.get(Content, cid)
        assert "<script>" not in c.content_html and "thumb of room at the toes" in c.content_html
        assert c.word_count == 9 and c.version == 2
        assert s.scalar(select(func.count()).where(ContentRevision.content_id == cid)) == 2

    with app_db.tx() as s:  # someone else saves meanwhile
        articles.save(s, app_db.actor(s), content_id=cid, base_version=2, title="Trail shoe fit guide",
                      content_html="<p>Their version</p>", meta_title="", meta_description="", primary_keyword="",
                      secondary_keywords=[])
    at.text_area(key=f"art_body_{cid}").input("<p>My version, kept</p>")
    click(at, "art_save")
    assert texts(at.error) and "saved" in texts(at.error)[0].lower(), texts(at.error)
    assert at.text_area(key=f"art_body_{cid}").value == "<p>My version, kept</p>"
    with app_db.tx() as s:
        assert s.get(Content, cid).content_html == "<p>Their version</p>"


def test_revision_diff_and_restore(app_db, world):
    cid = _article(app_db, world, "Lacing for downhill")
    with app_db.tx() as s:
        articles.save(s, app_db.actor(s), content_id=cid, base_version=1, title="Lacing for downhill",
                      content_html="<h2>Fit</h2><p>Lock the heel with a runner's loop.</p>", meta_title="Lacing",
                      meta_description="", primary_keyword="", secondary_keywords=[])
    at = _open(cid)
    at.selectbox(key="art_diff_a").set_value(1)
    at.selectbox(key="art_diff_b").set_value(2).run()
    lines = [m.value for m in at.container(key="art_diff").markdown]
    assert any("runner" in line and "green" in line for line in lines), lines
    assert any("thumb of room" in line and "red" in line for line in lines), lines
    at.selectbox(key="art_restore_pick").set_value(1).run()
    click(at, "art_restore")
    with app_db.tx() as s:
        c = s.get(Content, cid)
        assert "thumb of room" in c.content_html and c.version == 3


def test_review_steps_need_a_comment_to_go_back_and_show_in_the_history(app_db, world):
    cid = _article(app_db, world, "Ankle support myths")
    at = _open(cid)
    click(at, "art_to_review")
    with app_db.tx() as s:
        assert s.get(Content, cid).status == ContentStatus.review
    click(at, "art_to_draft")
    assert texts(at.error), "sending back to draft without a comment is refused"
    with app_db.tx() as s:
        assert s.get(Content, cid).status == ContentStatus.review
    at.text_input(key=f"art_comment_{cid}").input("Cite the *2019* study")
    click(at, "art_to_draft")
    with app_db.tx() as s:
        assert s.get(Content, cid).status == ContentStatus.draft
    history = _table(at, "art_history")
    assert "Cite the *2019* study" in history["Comment"].tolist()


def test_content_list_counts_and_bulk_approve(app_db, world):
    ids = [_article(app_db, world, f"Gaiters compared {n}") for n in (1, 2)]
    at = go(login(), "pages/content.py")
    at.text_input(key="ct_search").input("Gaiters compared").run()
    assert sorted(_table(at, "ct_table")["Title"].tolist()) == ["Gaiters compared 1", "Gaiters compared 2"]
    _picker(at, "ct_picked_").set_value(ids).run()
    click(at, "ct_approve")
    with app_db.tx() as s:
        assert {s.get(Content, i).status for i in ids} == {ContentStatus.approved}
    at.selectbox(key="ct_status").set_value("approved").run()
    assert sorted(_table(at, "ct_table")["Title"].tolist()) == ["Gaiters compared 1", "Gaiters compared 2"]
