"""End to end in headless Chromium: log in, move around, create a site and a sector, see errors, log out."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import OWNER_EMAIL, OWNER_PASSWORD


def login(page: Page, url: str, password: str = OWNER_PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("E-mail").fill(OWNER_EMAIL)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_wrong_password_is_refused_with_a_message(page, dashboard):
    login(page, dashboard, password="not-the-password-1")
    expect(page.get_by_text("Wrong e-mail or password.")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_owner_logs_in_creates_a_site_and_sectors_and_logs_out(page, dashboard):
    login(page, dashboard)
    expect(page.get_by_role("link", name="Sites & sectors")).to_be_visible()
    page.get_by_role("link", name="Sites & sectors").click()
    expect(page).to_have_url(re.compile(r"/admin-sites$"))
    page.get_by_label("Name", exact=True).first.fill("Browser Blog")
    page.get_by_label("Domain").first.fill("browser.example")
    page.get_by_role("button", name="Create site").click()
    expect(page.get_by_text("Site “Browser Blog” created.")).to_be_visible()
    for name in ["One", "Two"]:
        page.get_by_label("New sector name").fill(name)
        page.get_by_role("button", name="Add sector").click()
        expect(page.get_by_text(f"Sector “{name}” added.")).to_be_visible()
    expect(page.get_by_text("2 of 5 active sectors in use.")).to_be_visible()
    page.get_by_label("New sector name").fill("One")
    page.get_by_role("button", name="Add sector").click()
    expect(page.get_by_text(re.compile("has a sector with slug “one” already"))).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
