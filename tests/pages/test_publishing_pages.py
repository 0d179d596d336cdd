"""Publishing screens in AppTest against the real loopback WordPress: connect a site and run the doctor, sync its
terms, save publishing settings (a bad slot refused with nothing saved), place approved articles into slots on the
calendar, publish an article from its page, and find every action in the sync log."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from core.publishing import connection
from core.publishing import settings as publishing_settings
from db.enums import ContentStatus, SiteStatus
from db.models import Content, Sector
from tests.fakes.wordpress import Admin, wordpress
from tests.pages.conftest import click, go, login, texts


@pytest.fixture(scope="module")
def wp():
    return wordpress()


@pytest.fixture(scope="module")
def world(app_db, wp):
    site_id = app_db.add_site("Publishing Blog", sectors=("Coffee",), timezone="Europe/Berlin")
    with app_db.tx() as s:  # connected through core, so that each test stands alone (the first one uses the form)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        connection.set_wordpress(s, app_db.actor(s), site_id=site_id, url=wp.url, username=wp.user,
                                 app_password=wp.password)
    return {"site": site_id, "sector": sector_id, "marker": "pg" + uuid.uuid4().hex[:8]}


def _article(app_db, world, title: str) -> int:
    with app_db.tx() as s:
        c = Content(account_id=app_db.actor(s).account_id, site_id=world["site"], sector_id=world["sector"],
                    title=f"{title} {world['marker']}", content_html="<p>Body.</p><h2>Part</h2><p>More.</p>",
                    status=ContentStatus.approved)
        s.add(c)
        s.flush()
        return c.id


def _pick_site(at, site_id):
    if at.session_state["scope_site_id"] != site_id:
        at.sidebar.selectbox(key="scope_site_id").set_value(site_id).run()
    assert not at.exception, at.exception
    return at


def test_connect_a_site_run_the_doctor_and_sync(app_db, world, wp):
    at = _pick_site(go(login(), "pages/wordpress.py"), world["site"])
    at.text_input(key="wp_url").input(wp.url)
    at.text_input(key="wp_user").input(wp.user)
    at.text_input(key="wp_password").input(wp.password)
    click(at, "wp_connect_submit")
    assert texts(at.success) == ["Connection saved. Run the connection doctor to check it."]
    click(at, "wp_doctor")
    assert not at.error, texts(at.error)
    shown = " ".join(m.value for m in at.markdown)
    assert "REST API" in shown and "Authorization header" in shown and "Permissions" in shown
    assert any("Europe/Berlin" in w for w in texts(at.warning))  # WordPress runs in UTC, the site here in Berlin
    click(at, "wp_sync")
    assert any(t.startswith("Synced:") for t in texts(at.success))
    assert "Uncategorized" in at.container(key="wp_terms").dataframe[0].value["Name"].tolist()


def test_settings_refuse_a_bad_slot_then_save_and_place_articles_on_the_calendar(app_db, world, wp):
    ids = [_article(app_db, world, f"Grinder {k}") for k in range(3)]
    at = _pick_site(go(login(), "pages/publishing.py"), world["site"])
    at.text_input(key="pub_times").input("09:00, 25:00")
    click(at, "pub_settings_submit")
    assert any("“25:00” is not a time" in e for e in texts(at.error))
    with app_db.tx() as s:  # nothing of the refused form was saved: the site keeps the defaults it was made with
        kept = publishing_settings.for_site(s, site_id=world["site"])
    assert kept == publishing_settings.Settings(**{**publishing_settings.defaults(world["site"]).__dict__,
                                                   "configured": True})
    at.text_input(key="pub_times").input("10:00, 16:30")
    at.multiselect(key="pub_days_pick").set_value(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    at.toggle(key="pub_auto_publish").set_value(False)
    click(at, "pub_settings_submit")
    assert texts(at.success) == ["Settings saved."]
    with app_db.tx() as s:
        saved = publishing_settings.for_site(s, site_id=world["site"])
    assert saved.time_slots == ("10:00", "16:30") and not saved.auto_publish and len(saved.days) == 7
    plan = at.container(key="pub_plan").dataframe[0].value
    assert len(plan) == 3 and all(("10:00" in v or "16:30" in v) for v in plan["Next free slot"])
    click(at, "pub_place")
    assert texts(at.success) == ["Scheduled 3 article(s)."]
    with app_db.tx() as s:
        rows = s.scalars(select(Content).where(Content.id.in_(ids))).all()
        assert {r.site_status for r in rows} == {SiteStatus.scheduled}
    assert at.get("plotly_chart")  # the calendar's timeline
    days = at.container(key="pub_days").dataframe[0].value
    assert days["Scheduled"].sum() == 3


def test_publish_an_article_from_its_page_and_see_it_in_the_sync_log(app_db, world, wp):
    cid = _article(app_db, world, "Espresso")
    at = login()
    at.session_state["article_id"] = cid
    at = _pick_site(go(at, "pages/article.py"), world["site"])
    click(at, "art_publish_now")
    assert any(t.startswith("Published: http") for t in texts(at.success)), texts(at.error)
    with app_db.tx() as s:
        c = s.get(Content, cid)
        assert c.site_status == SiteStatus.published and c.external_id
    posts = Admin(wp).posts(world["marker"])
    assert [p["id"] for p in posts if "espresso" in p["slug"]] == [int(c.external_id)]
    at = go(at, "pages/sync_log.py")
    log = at.container(key="log_table").dataframe[0].value
    assert log["Action"].tolist()[0] == "publish" and log["Outcome"].tolist()[0] == "ok"
