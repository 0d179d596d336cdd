"""Keywords page: counts and rows, filters, inline edit + save, bulk delete + restore, paging — in AppTest."""
from __future__ import annotations

import pytest

from core.identity import sites
from core.planner import clusters, keyword_edits, keywords
from core.planner.keywords import KeywordFilter
from db.enums import Role
from tests.pages.conftest import PASSWORD, click, finish_job, go, login, texts


@pytest.fixture(scope="module")
def kw_site(app_db):
    """A site with one sector holding 60 keywords (volume 10 … 600), ten of them in cluster “Beans”."""
    site_id = app_db.add_site("Keyword Site", sectors=("Coffee",))
    with app_db.tx() as s:
        owner = app_db.actor(s)
        sector = sites.list_sectors(s, owner, site_id=site_id)[0]
        beans = clusters.create(s, owner, site_id=site_id, sector_id=sector.id, name="Beans")
        for i in range(1, 61):
            keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=sector.id,
                                   keyword=f"{'arabica' if i % 2 else 'robusta'} coffee {i:02d}", volume=i * 10,
                                   difficulty=i % 101, cluster_id=beans.id if i > 50 else None)
        return {"site": site_id, "sector": sector.id, "beans": beans.id}


def _open(app_db, kw_site, email=None):
    at = login(email, PASSWORD) if email else login()
    if at.session_state["scope_site_id"] != kw_site["site"]:
        at.sidebar.selectbox(key="scope_site_id").set_value(kw_site["site"]).run()
    return go(at, "pages/keywords.py")


def _rows(at):
    return at.data_editor[0].value


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _edit(at, edited_rows: dict) -> None:
    """What the browser sends when cells are edited (AppTest cannot type into a data editor)."""
    at.session_state[at.data_editor[0].key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def _keywords(app_db, kw_site, **filters):
    with app_db.tx() as s:
        return keywords.list_keywords(s, app_db.actor(s), site_id=kw_site["site"], sector_id=kw_site["sector"],
                                      filters=KeywordFilter(**filters), limit=500).rows


def test_shows_counts_and_first_page(app_db, kw_site):
    at = _open(app_db, kw_site)
    assert texts(at.title) == ["Keywords"]
    assert _metrics(at) == {"New": "50", "Mapped": "10", "Matching filters": "60"}
    rows = _rows(at)
    assert len(rows) == 50 and rows["Volume"].tolist()[:3] == [600, 590, 580]  # volume, high → low
    assert rows["Cluster"].tolist()[0] == kw_site["beans"]
    assert "Page 1 · 50 shown · 0 selected" in texts(at.caption)


def test_filter_search_and_status(app_db, kw_site):
    at = _open(app_db, kw_site)
    at.text_input(key="kw_f_search").input("ARABICA")
    at.selectbox(key="kw_f_status").set_value("new")
    click(at, "kw_f_apply")
    rows = _rows(at)
    assert len(rows) == 25 and all(k.startswith("arabica") for k in rows["Keyword"])
    assert _metrics(at) == {"New": "25", "Mapped": "5", "Matching filters": "25"}
    at.number_input(key="kw_f_vol_min").set_value(100)
    at.number_input(key="kw_f_vol_max").set_value(200)
    at.selectbox(key="kw_sort").set_value("keyword")
    at.radio(key="kw_dir").set_value("asc")
    click(at, "kw_f_apply")
    assert _rows(at)["Keyword"].tolist() == [f"arabica coffee {i}" for i in (11, 13, 15, 17, 19)]


def test_edit_and_save_and_an_invalid_edit(app_db, kw_site):
    at = _open(app_db, kw_site)
    first, second = _rows(at)["Keyword"].tolist()[:2]
    _edit(at, {0: {"Volume": 4321, "Intent": "Commercial"}, 1: {"Cluster": None}})
    click(at, "kw_save")
    assert texts(at.success) == ["Saved changes to 2 keywords."]
    by_name = {r.keyword: r for r in _keywords(app_db, kw_site)}
    assert (by_name[first].volume, by_name[first].intent) == (4321, "Commercial")
    assert (by_name[second].cluster_id, by_name[second].status) == (None, "new")
    assert _metrics(at)["Mapped"] == "9"

    _edit(at, {0: {"Volume": 1}, 12: {"Status": "mapped", "Difficulty": 50}})
    third = _rows(at)["Keyword"].tolist()[12]  # in no cluster
    click(at, "kw_save")
    assert texts(at.error) == [f"Keyword “{third}”: status “mapped” needs a cluster; pick one in the cluster column."]
    assert {r.keyword: r.volume for r in _keywords(app_db, kw_site)}[first] == 4321  # nothing written


def test_bulk_delete_selected_then_restore_all_deleted(app_db, kw_site):
    at = _open(app_db, kw_site)
    doomed = _rows(at)["Keyword"].tolist()[3:5]
    _edit(at, {3: {"Select": True}, 4: {"Select": True}})
    assert "Page 1 · 50 shown · 2 selected" in texts(at.caption)
    at.selectbox(key="kw_bulk_action").set_value("delete")
    click(at, "kw_bulk_apply")
    assert texts(at.success) == ["Delete: 2 keywords changed."]
    assert not set(doomed) & {r.keyword for r in _keywords(app_db, kw_site)}

    at.selectbox(key="kw_f_deleted").set_value("only")
    click(at, "kw_f_apply")
    assert sorted(_rows(at)["Keyword"]) == sorted(doomed)
    at.radio(key="kw_bulk_target").set_value("filtered").run()
    click(at, "kw_bulk_apply")
    assert texts(at.warning) == ["Tick the confirmation to act on every filtered keyword."]
    at.checkbox(key="kw_bulk_confirm").check()
    click(at, "kw_bulk_apply")  # the filtered set: a background job with a progress bar, then the message
    finish_job(at, "kw_bulk_job")
    assert texts(at.success) == ["Restore: 2 keywords changed."]
    assert set(doomed) <= {r.keyword for r in _keywords(app_db, kw_site)}


def test_paging_next_and_previous(app_db, kw_site):
    at = _open(app_db, kw_site)
    page1 = _rows(at)["Keyword"].tolist()
    assert at.button(key="kw_prev").disabled
    click(at, "kw_next")
    page2 = _rows(at)["Keyword"].tolist()
    assert len(page2) == 10 and not set(page1) & set(page2)
    assert at.button(key="kw_next").disabled and "Page 2 · 10 shown · 0 selected" in texts(at.caption)
    click(at, "kw_prev")
    assert _rows(at)["Keyword"].tolist() == page1 and at.button(key="kw_prev").disabled


def test_viewer_sees_rows_but_no_edit_or_bulk(app_db, kw_site):
    app_db.add_user("kw-viewer@example.com", Role.viewer, site_ids=(kw_site["site"],))
    at = _open(app_db, kw_site, "kw-viewer@example.com")
    assert len(_rows(at)) == 50
    assert not [b for b in at.button if b.key in ("kw_save", "kw_bulk_apply")]
