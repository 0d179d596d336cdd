"""Keyword library page: platform admins add to the library (a customer account's owner only browses it); users
add library keywords to their sector, and a library of another industry sector is refused with a clear message."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.identity import sites
from core.planner import library
from db.enums import Role
from db.models import Keywords
from tests.pages.conftest import APP, PASSWORD, click, go, login, texts


@pytest.fixture(scope="module")
def world(app_db):
    with app_db.tx() as s:
        actor = app_db.actor(s)
        industry = sites.list_industries(s)[0]
        own, other = sites.list_industry_sectors(s, industry_id=industry.id)[:2]
        site = sites.create_site(s, actor, name="Library Site", industry_id=industry.id)
        sector = sites.create_sector(s, actor, site_id=site.id, name="Tied", industry_sector_id=own.id)
        for kw, vol in (("espresso machine", 900), ("milk frother", 400)):
            library.create_seed(s, actor, industry_sector_id=own.id, keyword=kw, volume=vol)
        library.create_seed(s, actor, industry_sector_id=other.id, keyword="unrelated thing", volume=50)
        ids = {"site": site.id, "sector": sector.id, "own": own.id, "other": other.id, "industry": industry.id,
               "own_name": own.name, "other_name": other.name}
    app_db.add_user("lib-editor@example.com", Role.editor, site_ids=(ids["site"],))
    return ids


def _sector_keywords(app_db, world) -> set[str]:
    with app_db.tx() as s:
        return set(s.scalars(select(Keywords.keyword).where(Keywords.sector_id == world["sector"])))


def _page(email: str | None = None):
    at = login(email, PASSWORD) if email else login()
    return go(at, "pages/keyword_library.py")


def test_editor_adds_selected_library_keywords_to_the_sector(app_db, world):
    at = _page("lib-editor@example.com")
    assert at.selectbox(key=f"lib_isec_{world['industry']}").value == world["own"]  # the sector's own library
    table = at.container(key="library_table").dataframe[0].value
    assert table["Keyword"].tolist() == ["espresso machine", "milk frother"]
    assert not any(b.key == "lib_create_submit" for b in at.button)  # curating is for admins only
    picker = next(m for m in at.multiselect if m.key.startswith("lib_picked_"))
    picker.set_value([_seed_id(app_db, world, "espresso machine")]).run()
    click(at, "lib_add_selected")
    assert texts(at.success) == ["Added 1 library keyword(s) to sector “Tied”."]
    click(at, "lib_add_all")
    assert texts(at.success) == ["Added 1 library keyword(s) to sector “Tied”. 1 were in the sector already and "
                                 "were skipped."]
    assert _sector_keywords(app_db, world) == {"espresso machine", "milk frother"}


def test_another_industry_sector_is_refused_with_a_message(app_db, world):
    at = _page()
    at.selectbox(key=f"lib_isec_{world['industry']}").set_value(world["other"]).run()
    assert at.container(key="library_table").dataframe[0].value["Keyword"].tolist() == ["unrelated thing"]
    click(at, "lib_add_all")
    assert texts(at.error) == [f"These library keywords belong to industry sector “{world['other_name']}”, but "
                               f"sector “Tied” is tied to “{world['own_name']}”."]
    picker = next(m for m in at.multiselect if m.key.startswith("lib_picked_"))
    picker.set_value([_seed_id(app_db, world, "unrelated thing")]).run()
    click(at, "lib_add_selected")
    assert texts(at.error) == [f"1 of the selected library keywords belong to industry sector "
                               f"“{world['other_name']}”, but sector “Tied” is tied to “{world['own_name']}”."]
    assert "unrelated thing" not in _sector_keywords(app_db, world)


def test_admin_adds_a_library_keyword(app_db, world):
    at = _page()
    at.text_input(key="lib_new_keyword").input("Pour over kettle")
    at.text_input(key="lib_new_volume").input("1,300")
    click(at, "lib_create_submit")
    assert texts(at.error) == ["Volume must be a whole number, not “1,300”."]
    at.text_input(key="lib_new_volume").input("1300")
    click(at, "lib_create_submit")
    assert texts(at.success) == [f"“Pour over kettle” added to the library of “{world['own_name']}”."]
    assert at.container(key="library_table").dataframe[0].value["Keyword"].tolist()[0] == "Pour over kettle"


def test_a_customer_accounts_owner_browses_but_does_not_curate(app_db, world):
    app_db.add_customer_user("Library Customer", "lib-customer@example.com", Role.owner)
    at = _page("lib-customer@example.com")
    at.selectbox(key=f"lib_isec_{world['industry']}").set_value(world["own"]).run()
    assert "espresso machine" in at.container(key="library_table").dataframe[0].value["Keyword"].tolist()
    keys = {b.key for b in at.button}
    assert not keys & {"lib_create_submit", "lib_disable", "lib_import"}
    assert "lib_disabled" not in {c.key for c in at.checkbox}  # disabled keywords are the curators' concern


def _seed_id(app_db, world, keyword: str) -> int:
    with app_db.tx() as s:
        page = library.list_seeds(s, app_db.actor(s), industry_sector_id=world["own"], include_inactive=True)
        other = library.list_seeds(s, app_db.actor(s), industry_sector_id=world["other"])
        return next(r.id for r in [*page.rows, *other.rows] if r.keyword == keyword)


@pytest.mark.parametrize("name", ["clusters.py", "ideas.py", "keyword_library.py"])
def test_planner_pages_alone_without_login_show_nothing(app_db, name):
    at = AppTest.from_file(str(APP.parent / "pages" / name), default_timeout=30).run()
    assert not at.exception, at.exception
    assert texts(at.warning) == ["Please log in first."]
    assert not at.title and not at.dataframe and not at.button
