"""The credit usage screen in headless Chromium: its charts are drawn, days are counted in the time zone of the sites
in view, operations and models appear by their display names. (How fast: bench/page_bench.py, never asserted.)"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from core.billing import credits
from core.identity import sites
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on
from tests.e2e.test_browser import login
from tests.pages.conftest import AppDB

DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return app?.dataset.testScriptState === 'notRunning' && charts.length === 3
    && charts.every(c => c.querySelector('.main-svg .trace'));
}"""
CALLS = [("Hub", 30, "content_generation", "gpt-4o", "0.150000", 2), ("Forge", 20, "image_generation", "dall-e-3",
                                                                        "0.080000", 1),
         ("Hub", 10, "clustering", "gpt-4o-mini", "0.010000", 0)]  # site, credits, operation, model, USD, days ago


def _fill(rt) -> None:
    """Sites Hub (New York) and Forge (London), and three priced AI calls of the last days."""
    db = AppDB(rt.engine.url.render_as_string(hide_password=False), rt)
    with db.tx() as s:
        owner = db.actor(s, OWNER_EMAIL)
        ids = {name: sites.create_site(s, owner, name=name, timezone=tz).id
               for name, tz in (("Hub", "America/New_York"), ("Forge", "Europe/London"))}
        credits.grant(s, owner, amount=500, kind="purchase", reason="Opening balance")
        now = datetime.now(UTC)
        for n, (site, amount, op, model, usd, ago) in enumerate(CALLS):
            credits.charge(s, owner, credits=amount, idempotency_key=f"e2e-usage-{n}", description=op,
                           now=now - timedelta(days=ago, hours=1),
                           usage=credits.Usage(operation_type=op, model_used=model, cost_usd=Decimal(usd),
                                               site_id=ids[site]))


@pytest.fixture(scope="module")
def usage_dashboard(backend, fresh_database, tmp_path_factory):
    """A running dashboard on a fresh database of the current backend with the usage above."""
    with dashboard_on(fresh_database(), tmp_path_factory.mktemp("e2e-usage"), _fill) as url:
        yield url


@pytest.fixture
def usage_page(browser, usage_dashboard) -> Page:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1600})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    login(pg, usage_dashboard)
    pg.get_by_role("link", name="Credit usage").click()
    pg.wait_for_function(DRAWN, timeout=60_000)
    yield pg
    ctx.close()


def test_the_charts_are_drawn_with_display_names(usage_page):
    page = usage_page
    expect(page.get_by_role("heading", name="Credit usage")).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".legendtext", has_text="Content generation")).to_be_visible()  # the legend
    assert not page.get_by_text("content_generation").count()
    page.get_by_role("radio", name="model", exact=True).click()
    page.wait_for_function(DRAWN)
    expect(charts.nth(1).locator(".ytick", has_text="GPT-4o mini")).to_be_visible()
    assert sorted(charts.nth(1).locator(".ytick").all_text_contents()) == ["DALL·E 3 (quality)", "GPT-4o", "GPT-4o mini"]
    assert "$0.00" in charts.nth(1).locator(".x2tick").all_text_contents()  # dollars with cents


def test_the_days_follow_the_time_zone_of_the_picked_site(usage_page):
    page = usage_page
    expect(page.get_by_text("Days in UTC: the sites lie in different time zones", exact=False)).to_be_visible()
    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name="Forge", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("Days in Europe/London · Forge", exact=False)).to_be_visible()
    page.wait_for_function(DRAWN)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("20")  # Forge's one call
