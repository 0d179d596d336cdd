"""In Chromium: a site and a sector named with HTML, Markdown links and bare URLs show as that text on the Keywords
screen (its caption, the sidebar) — the DOM has no image or link to the named address, and the browser asks it for
nothing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import tenancy
from core.identity import sites
from db.models import User
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in
from ui_text import WORD_JOINER

EVIL = ('<img src="https://evil.example/x.png"> ![i](https://evil.example/y.png) '
        '[Session expired - log in again](https://evil.example) https://evil.example/bare www.evil.example')
SITE, SECTOR = f"Site {EVIL}", f"Sector {EVIL} **bold** :red[x]"


def _fill(rt) -> None:
    with rt.transaction() as s:
        owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
        site = sites.create_site(s, owner, name=SITE)
        sites.create_sector(s, owner, site_id=site.id, name=SECTOR)


@pytest.fixture(scope="module")
def evil_dashboard(backend, fresh_database, tmp_path_factory):
    with dashboard_on(fresh_database(), tmp_path_factory.mktemp("e2e-markup"), _fill) as url:
        yield url


@pytest.fixture
def evil_page(browser, evil_dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    asked: list[str] = []
    pg.on("request", lambda request: asked.append(request.url) if "evil.example" in request.url else None)
    yield pg, asked
    ctx.close()


def test_the_keywords_screen_shows_a_marked_up_sector_name_as_text(evil_page, evil_dashboard):
    page, asked = evil_page
    log_in(page, evil_dashboard)
    page.get_by_role("link", name="Keywords", exact=True).click()
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Sector").first
    expect(caption).to_be_visible()
    expect(page.get_by_role("button", name="Apply", exact=True).first).to_be_visible()  # the filters: page drawn
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.locator("[data-testid='stMarkdownContainer'] strong", has_text="bold").count() == 0
    assert asked == []
    assert caption.inner_text().replace(WORD_JOINER, "") == f"{SITE} · {SECTOR}"  # as written, in the caption
