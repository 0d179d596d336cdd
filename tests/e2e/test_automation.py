"""In Chromium, with a real scheduler process and the real loopback WordPress: set up a site's automation on the
Automation screen, press Run now, watch the run's page follow it to the end, and find its posts on WordPress."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core import tenancy
from core.billing import credits
from core.identity import sites
from core.publishing import connection
from db.models import User
from tests.ai.helpers import API_KEY, configure
from tests.automation.conftest import World, add_tasks
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in
from tests.fakes.openai_server import FakeAI
from tests.fakes.pipeline_ai import Pipeline
from tests.fakes.wordpress import Admin, wordpress

ROOT = Path(__file__).resolve().parents[2]
STATE: dict = {}


@pytest.fixture(scope="module")
def automation_dashboard(backend, fresh_database, tmp_path_factory):
    wp = wordpress()  # skip (or fail under CI) before starting anything when there is no WordPress
    tmp = tmp_path_factory.mktemp("e2e-automation-run")
    with FakeAI(api_key=API_KEY) as fake:
        fake.chat_responder = Pipeline()

        def fill(rt) -> None:
            configure(rt, fake)
            with rt.transaction() as s:
                owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
                credits.grant(s, tenancy.operator_actor(owner.account_id), amount=10_000, kind="purchase",
                              reason="e2e")
                site = sites.create_site(s, owner, name="Auto Blog")
                sector = sites.create_sector(s, owner, site_id=site.id, name="Coffee")
                connection.set_wordpress(s, owner, site_id=site.id, url=wp.url, username=wp.user,
                                         app_password=wp.password)
                world = World(owner.account_id, site.id, sector.id, owner)
            STATE["marker"] = "a" + uuid.uuid4().hex[:8]
            add_tasks(rt, world, 2, title=f"Espresso {STATE['marker']} guide")

        url = fresh_database()
        with dashboard_on(url, tmp, fill) as address:
            env = {**os.environ, "DATABASE_URL": url, "IGNY8_DATA_DIR": str(tmp / "data"),
                   "IGNY8_AUTOMATION_POLL_SECONDS": "1", "IGNY8_PUBLISH_POLL_SECONDS": "3600"}
            with open(tmp / "scheduler.log", "w") as log:
                sched = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
                try:
                    yield address, wp
                finally:
                    sched.send_signal(signal.SIGTERM)
                    try:
                        sched.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        sched.kill()


def _number(page: Page, key: str, value: int) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))


def _choose(page: Page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_set_up_run_now_watch_and_find_the_posts(browser, automation_dashboard):
    address, wp = automation_dashboard
    ctx = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        log_in(page, address)
        page.get_by_role("link", name="Automation", exact=True).click()
        expect(page.get_by_role("button", name="Save settings")).to_be_visible()
        for stage in range(4, 9):
            _number(page, f"auto_stage_{stage}_batch_size", 2)
        _number(page, "auto_within_stage_delay", 0)
        _number(page, "auto_between_stage_delay", 0)
        _choose(page, "auto_auto_approve", "On")
        _choose(page, "auto_auto_publish", "On")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Automation settings saved")).to_be_visible()
        expect(page.locator(".st-key-auto_forecast")).to_be_visible()
        page.get_by_role("button", name="Run now").click()
        expect(page.get_by_text(re.compile("Started run-"))).to_be_visible()
        page.get_by_role("link", name="Open the run's page").first.click()
        expect(page).to_have_url(re.compile(r"/automation-runs\?run=\d+$"))
        # the page follows the scheduler's progress by itself, to the end
        expect(page.get_by_text(re.compile(r"— completed · "))).to_be_visible(timeout=180_000)
    finally:
        ctx.close()
    posts = Admin(wp).posts(STATE["marker"])
    assert len(posts) == 2 and {p["status"] for p in posts} == {"future"}
