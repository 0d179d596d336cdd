"""In Chromium against the real loopback WordPress: run the connection doctor on a connected site and read its
steps, publish an approved article from its Publishing tab, follow the link to the live post, and see the article
on the publishing calendar."""
from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import tenancy
from core.identity import sites
from core.publishing import connection
from db.enums import ContentStatus
from db.models import Content, User
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in
from tests.fakes.wordpress import wordpress

STATE: dict = {}


def _fill(rt) -> None:
    wp = wordpress()
    with rt.transaction() as s:
        owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
        site = sites.create_site(s, owner, name="Press Blog")
        sector = sites.create_sector(s, owner, site_id=site.id, name="Coffee")
        connection.set_wordpress(s, owner, site_id=site.id, url=wp.url, username=wp.user, app_password=wp.password)
        STATE["marker"] = "e2e" + uuid.uuid4().hex[:8]
        c = Content(account_id=site.account_id, site_id=site.id, sector_id=sector.id,
                    title=f"Moka pots {STATE['marker']}", content_html="<p>Stovetop coffee, explained.</p>",
                    status=ContentStatus.approved)
        s.add(c)
        s.flush()
        STATE["id"] = c.id


@pytest.fixture(scope="module")
def publishing_dashboard(backend, fresh_database, tmp_path_factory):
    wordpress()  # skip (or fail under CI) before starting anything when there is no WordPress
    with dashboard_on(fresh_database(), tmp_path_factory.mktemp("e2e-publishing"), _fill) as url:
        yield url


def test_doctor_publish_and_calendar_in_a_browser(browser, publishing_dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        log_in(page, publishing_dashboard)
        page.goto(f"{publishing_dashboard}/publishing-wordpress")
        page.get_by_role("button", name="Run the connection doctor").click()
        expect(page.get_by_text("Authorization header")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Logged in as")).to_be_visible()

        page.goto(f"{publishing_dashboard}/writer-article?id={STATE['id']}")
        page.get_by_role("tab", name="Publishing").click()
        page.get_by_role("button", name="Publish now").click()
        expect(page.get_by_text("Published: http")).to_be_visible(timeout=60_000)
        page.get_by_role("tab", name="Publishing").click()
        post_link = page.locator(f"a[href^='{wordpress().url}']").first
        expect(post_link).to_be_visible()
        href = post_link.get_attribute("href")
        assert href and STATE["marker"] in httpx.get(href, follow_redirects=True, timeout=30).text

        page.goto(f"{publishing_dashboard}/publishing-calendar")
        expect(page.locator(".st-key-pub_days")).to_be_visible()
        expect(page.get_by_text("Publishing settings")).to_be_visible()
    finally:
        ctx.close()
