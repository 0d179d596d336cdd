"""Pages check the login themselves: Streamlit may run a file of pages/ without app.py (directory discovery on a
process's first run), so a page must never trust that the gate ran."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.identity import auth
from db.enums import Role
from tests.pages.conftest import PASSWORD, texts

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _page_alone(name: str, ticket=None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    if ticket is not None:
        at.session_state["auth_ticket"] = ticket
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", ["overview.py", "sites.py", "users.py", "accounts.py", "plans.py",
                                  "my_account.py", "ai_pricing.py", "automation.py", "automation_runs.py",
                                  "schedulers.py"])
def test_page_without_login_shows_nothing(app_db, name):
    at = _page_alone(name)
    assert texts(at.warning) == ["Please log in first."]
    assert not at.title and not at.dataframe and not at.button


def test_admin_page_refuses_an_editor_even_with_a_valid_ticket(app_db):
    app_db.add_user("sneaky@example.com", Role.editor)
    with app_db.tx() as s:
        ticket = auth.issue_ticket(auth.login(s, email="sneaky@example.com", password=PASSWORD).user)
    at = _page_alone("sites.py", ticket)
    assert texts(at.error) == ["Only an owner, admin or developer can do this."]
    assert not at.title and not at.dataframe
    at = _page_alone("plans.py", ticket)
    assert texts(at.error) == ["Only a developer can do this."]
    at = _page_alone("overview.py", ticket)  # a page the editor may use works on its own
    assert texts(at.title) == ["Overview"]
