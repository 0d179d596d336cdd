"""Import keywords page: upload → preview with an editable mapping → import in the background → report — in AppTest."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core.identity import sites
from db.enums import Role
from db.models import Keywords
from tests.fakes import keyword_files as kf
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts


@pytest.fixture(scope="module")
def imp_site(app_db):
    site_id = app_db.add_site("Import Site", sectors=("Imports",))
    with app_db.tx() as s:
        sector = sites.list_sectors(s, app_db.actor(s), site_id=site_id)[0]
    return {"site": site_id, "sector": sector.id}


def _open(imp_site, email=None):
    at = login(email, PASSWORD) if email else login()
    if at.session_state["scope_site_id"] != imp_site["site"]:
        at.sidebar.selectbox(key="scope_site_id").set_value(imp_site["site"]).run()
    return go(at, "pages/keyword_import.py")


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="kwimport_file").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def _finish(at, timeout: float = 60):
    """Rerun until the background import has ended and its report shows (the browser's fragment does this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if "kwimport_report" in at.session_state:
            return at
        time.sleep(0.2)
    raise AssertionError("the import did not finish")


def _stored(app_db, sector_id: int) -> dict[str, Keywords]:
    with app_db.tx() as s:
        return {k.keyword_norm: k for k in s.scalars(select(Keywords).where(Keywords.sector_id == sector_id))}


def test_upload_preview_map_import_and_report(app_db, imp_site):
    at = _upload(_open(imp_site), "planner.csv", kf.GKP)
    assert texts(at.title) == ["Import keywords"]
    assert any("Google Keyword Planner" in c and "header on line 3" in c for c in texts(at.caption))
    fid = next(k for k in at.session_state if k.startswith("kwimport_map_volume_"))
    assert at.selectbox(key=fid).value == "Avg. monthly searches"
    preview = at.container(key="kwimport_preview").dataframe[0].value
    assert preview["Keyword"].tolist()[:2] == ["wordpress website builder", "wordpress plugins"]
    assert preview["Volume"].tolist()[:2] == [1000, 10000]
    # The user maps difficulty to the competition index instead of leaving it in the attributes.
    at.selectbox(key=fid.replace("volume", "difficulty")).set_value("Competition (indexed value)").run()
    assert at.container(key="kwimport_preview").dataframe[0].value["Difficulty"].tolist()[0] == 77
    click(at, "kwimport_submit")
    at = _finish(at)
    assert texts(at.success) == ["4 rows read: 4 imported, 0 updated, 0 skipped."]
    assert {m.label: m.value for m in at.metric} == {"Rows read": "4", "Imported": "4", "Updated": "0",
                                                     "Skipped": "0"}
    assert at.get("download_button")
    stored = _stored(app_db, imp_site["sector"])
    assert (stored["wordpress website builder"].volume, stored["wordpress website builder"].difficulty) == (1000, 77)
    click(at, "kwimport_again")
    assert "kwimport_report" not in at.session_state


def test_bad_rows_are_listed_and_all_or_nothing_writes_nothing(app_db, imp_site):
    data = kf.csv_bytes(["Keyword", "Volume"], [["<script>alert(1)</script>", "5"], ["page one", "lots"]])
    at = _upload(_open(imp_site), "bad.csv", data)
    preview = at.container(key="kwimport_preview").dataframe[0].value
    assert preview["Skipped because"].tolist() == ["", "Volume “lots” is not a number (column “Volume”)."]
    at.checkbox(key=next(k for k in at.session_state if k.startswith("kwimport_strict_"))).check()
    click(at, "kwimport_submit")
    at = _finish(at)
    assert texts(at.error)[0].startswith("Nothing was imported: line 3 cannot be imported")
    problems = at.container(key="kwimport_problems").dataframe[0].value
    assert problems["Line"].tolist() == [3]
    assert "<script>alert(1)</script>" not in _stored(app_db, imp_site["sector"])


def test_unreadable_file_is_a_message(app_db, imp_site):
    at = _upload(_open(imp_site), "broken.csv", b'Keyword,Volume\r\n"never closed,1\r\n')
    assert "never closed" in texts(at.error)[0]
    assert not at.get("form_submit_button")  # nothing to import: no form


def test_viewers_do_not_see_the_page_editors_do(app_db, imp_site):
    app_db.add_user("imp-viewer@example.com", Role.viewer, site_ids=(imp_site["site"],))
    app_db.add_user("imp-editor@example.com", Role.editor, site_ids=(imp_site["site"],))
    assert not in_navigation(login("imp-viewer@example.com", PASSWORD), "pages/keyword_import.py")
    at = _upload(_open(imp_site, "imp-editor@example.com"), "list.txt", kf.ONE_COLUMN)
    click(at, "kwimport_submit")
    at = _finish(at)
    assert texts(at.success)[0].startswith("4 rows read: 3 imported")
