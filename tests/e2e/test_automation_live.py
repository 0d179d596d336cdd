"""In Chromium: the automation screens follow a run without anyone clicking — its page (opened by the link of the
Automation screen, ?run=ID) shows what the scheduler side changed within a few seconds, and Pause works there."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import runtime, tenancy
from core.automation import runs
from core.billing import credits
from core.identity import sites
from core.planner import keyword_edits
from db.enums import RunStatus
from db.models import AutomationRun, User
from tests.ai.helpers import API_KEY, configure
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in
from tests.fakes.openai_server import FakeAI

STATE: dict = {}


@pytest.fixture(scope="module")
def live_dashboard(backend, fresh_database, tmp_path_factory):
    with FakeAI(api_key=API_KEY) as fake:
        def fill(rt) -> None:
            configure(rt, fake)  # the forecast asks the providers for their prices
            with rt.transaction() as s:
                owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
                credits.grant(s, owner, amount=10_000, kind="purchase", reason="e2e")
                site = sites.create_site(s, owner, name="Live Blog")
                sector = sites.create_sector(s, owner, site_id=site.id, name="Coffee")
                for i in range(6):
                    keyword_edits.create_keyword(s, owner, site_id=site.id, sector_id=sector.id,
                                                 keyword=f"coffee grinder {i}", volume=100 - i)
                STATE["run"] = runs.start(s, owner, site_id=site.id).id

        STATE["url"] = fresh_database()
        with dashboard_on(STATE["url"], tmp_path_factory.mktemp("e2e-automation"), fill) as url:
            yield url


@pytest.fixture
def run_page(browser, live_dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def _set_processed(url: str, run_id: int, n: int) -> None:
    """What a scheduler's worker writes while it works (no scheduler runs here)."""
    rt = runtime.start(url=url)
    try:
        with rt.transaction() as s:
            run = s.get(AutomationRun, run_id)
            run.status, run.items_processed = RunStatus.running, n
    finally:
        rt.engine.dispose()


def test_the_run_page_follows_the_run_and_pauses_it(run_page, live_dashboard):
    page = run_page
    log_in(page, live_dashboard)
    page.get_by_role("link", name="Automation", exact=True).click()
    expect(page.get_by_text("waiting for a scheduler")).to_be_visible()
    page.get_by_role("link", name="Open the run's page").click()
    expect(page).to_have_url(re.compile(rf"/automation-runs\?run={STATE['run']}$"))
    expect(page.get_by_text("0 of", exact=False).first).to_be_visible()
    _set_processed(STATE["url"], STATE["run"], 3)  # the page shows it by itself (it refreshes every 2 s)
    expect(page.get_by_text(re.compile(r"— running · stage 1 of 8 .* · 3 of"))).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text(re.compile("^Paused run-"))).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
