"""In headless Chromium: the login survives a reload and a new tab (the signed session cookie), lands on the page
that was opened, and ends with the logout everywhere; a tampered or logged-out cookie is refused."""
from __future__ import annotations

import base64
import json
import re
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from core import config
from tests.e2e.conftest import OWNER_EMAIL, OWNER_PASSWORD
from ui_session import COOKIE


@pytest.fixture(scope="module", autouse=True)
def _visited(browser, dashboard):
    """One visit to the new server first: until one run has called st.navigation, Streamlit uses directory
    discovery, and the very first link to a page after a server start meets its “Page not found” dialog."""
    context = browser.new_context()
    first = context.new_page()
    first.goto(dashboard)
    expect(first.get_by_role("button", name="Log in")).to_be_visible(timeout=60_000)  # the start migrates first
    first.reload()
    expect(first.get_by_role("button", name="Log in")).to_be_visible()
    expect(first.get_by_role("navigation")).to_have_count(0)  # no list of the page files beside the login form
    context.close()


def _log_in(page: Page) -> None:
    page.get_by_label("E-mail").fill(OWNER_EMAIL)
    page.get_by_role("textbox", name="Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _title(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", name=text, exact=True)).to_be_visible()


def _logged_out(page: Page, notice: str | None = None) -> None:
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    if notice:
        expect(page.get_by_text(notice)).to_be_visible()


def _session_cookie(context: BrowserContext) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def _wait_for_cookie(page: Page) -> dict:
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')")
    cookie = _session_cookie(page.context)
    assert cookie is not None
    return cookie


def _with_cookie(page: Page, dashboard: str, value: str) -> Page:
    """A new browser (context) that holds only the given session cookie, on the overview."""
    other = page.context.browser.new_context()
    other.add_cookies([{"name": COOKIE, "value": value, "url": dashboard, "sameSite": "Strict"}])
    fresh = other.new_page()
    fresh.set_default_timeout(20_000)
    fresh.goto(dashboard)
    return fresh


def test_login_survives_reload_and_new_tab_until_logout(page, dashboard):
    page.goto(dashboard)
    _log_in(page)
    _title(page, "Overview")
    cookie = _wait_for_cookie(page)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/" and not cookie["secure"]  # plain http here
    lifetime = config.load().session_ttl_minutes * 60  # Max-Age: it outlives the window, not the session
    assert time.time() + lifetime - 300 < cookie["expires"] <= time.time() + lifetime
    page.goto(f"{dashboard}/planner-library")  # a link to a page, opened in this tab
    _title(page, "Keyword library")
    page.reload()
    _title(page, "Keyword library")
    expect(page).to_have_url(re.compile(r"/planner-library$"))
    tab = page.context.new_page()
    tab.goto(f"{dashboard}/admin-sites")
    _title(tab, "Sites & sectors")
    old_token = _wait_for_cookie(tab)["value"]

    page.get_by_role("button", name="Log out").click()
    _logged_out(page, "You are logged out.")
    page.wait_for_function(f"!document.cookie.includes('{COOKIE}=')")
    assert _session_cookie(page.context) is None
    page.reload()
    _logged_out(page)
    tab.reload()  # the other tab of this browser is logged out too
    _logged_out(tab)
    # A copy of the cookie taken before the logout no longer works: the session ended on the server.
    copy = _with_cookie(page, dashboard, old_token)
    _logged_out(copy, "Your session is no longer valid. Please log in again.")
    copy.context.close()


def test_tampered_cookie_is_refused(page, dashboard):
    page.goto(dashboard)
    _log_in(page)
    _title(page, "Overview")
    version, payload, signature = _wait_for_cookie(page)["value"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 365 * 24 * 3600  # a longer life, with the old signature
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    for value in (f"{version}.{forged}.{signature}", f"{version}.{payload}.{signature[:-2]}AA", "garbage"):
        other = _with_cookie(page, dashboard, value)
        _logged_out(other, "Your saved login is not valid. Please log in again.")
        other.wait_for_function(f"!document.cookie.includes('{COOKIE}=')")  # the bad cookie is deleted
        other.context.close()
    page.reload()  # the real cookie still works
    _title(page, "Overview")


def test_login_lands_on_the_page_that_was_opened(page, dashboard):
    page.goto(f"{dashboard}/admin-users")  # a link opened without a login
    _logged_out(page)
    _log_in(page)
    _title(page, "Users")
    expect(page).to_have_url(re.compile(r"/admin-users$"))
    page.get_by_role("button", name="Log out").click()  # the first click after the login counts
    _logged_out(page, "You are logged out.")
