"""In Chromium: the clustering preview shows in the tab it was started from, the first time as every time after
(the tabs used to be drawn anew when the progress bar came and went, and fell back to the first tab)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import tenancy
from core.identity import sites
from core.planner import keyword_edits
from db.models import User
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in

KEYWORDS = ["trail running shoes", "best trail running shoes", "trail running shoes women", "coffee grinder",
            "best coffee grinder", "manual coffee grinder", "xylophone lessons"]


def _fill(rt) -> None:
    with rt.transaction() as s:
        owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
        site = sites.create_site(s, owner, name="Gear Blog")
        sector = sites.create_sector(s, owner, site_id=site.id, name="Gear")
        for i, text in enumerate(KEYWORDS):
            keyword_edits.create_keyword(s, owner, site_id=site.id, sector_id=sector.id, keyword=text, volume=100 - i)


@pytest.fixture(scope="module")
def gear_dashboard(backend, fresh_database, tmp_path_factory):
    with dashboard_on(fresh_database(), tmp_path_factory.mktemp("e2e-clusters"), _fill) as url:
        yield url


@pytest.fixture
def tab_page(browser, gear_dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def test_the_first_preview_shows_in_the_tab_it_was_started_from(tab_page, gear_dashboard):
    page = tab_page
    log_in(page, gear_dashboard)
    page.get_by_role("link", name="Clusters", exact=True).click()
    page.get_by_role("tab", name="Cluster keywords").click()
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_text("Preview (nothing written yet)")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("tab", name="Cluster keywords")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("button", name="Apply", exact=True)).to_be_visible()
