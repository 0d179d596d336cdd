"""Navigation per role, the scope picker, and what a viewer may (not) do."""
from __future__ import annotations

import pytest

from core.identity import accounts, users
from db.enums import Role
from tests.pages.conftest import OWNER_EMAIL, OWNER_PASSWORD, PASSWORD, click, go, in_navigation, login, texts

PAGES = {
    "pages/overview.py": "Overview",
    "pages/sites.py": "Sites & sectors",
    "pages/users.py": "Users",
    "pages/accounts.py": "Accounts",
    "pages/plans.py": "Plans",
    "pages/my_account.py": "My account",
    "pages/automation.py": "Automation",
    "pages/automation_runs.py": "Automation runs",
    "pages/schedulers.py": "Scheduler status",
}
AUTOMATION = {"pages/automation.py", "pages/automation_runs.py", "pages/schedulers.py"}  # every role reads them
VISIBLE = {
    "owner": {"pages/overview.py", "pages/sites.py", "pages/users.py", "pages/my_account.py", *AUTOMATION},
    "admin": {"pages/overview.py", "pages/sites.py", "pages/users.py", "pages/my_account.py", *AUTOMATION},
    "editor": {"pages/overview.py", "pages/my_account.py", *AUTOMATION},
    "viewer": {"pages/overview.py", "pages/my_account.py", *AUTOMATION},
    "developer": set(PAGES),
}


@pytest.fixture(scope="module")
def world(app_db):
    """Two sites of the owner's account, and a user of every role (editor and viewer granted site B only)."""
    site_a = app_db.add_site("Alpha Blog", sectors=("Coffee", "Tea"))
    site_b = app_db.add_site("Beta Shop", sectors=("Shoes",), timezone="Europe/Berlin")
    for role in (Role.admin, Role.editor, Role.viewer, Role.developer):
        app_db.add_user(f"{role.value}@example.com", role, site_ids=(site_b,) if role in users.SITE_SCOPED_ROLES else ())
    return {"a": site_a, "b": site_b}


def _login_as(role: str):
    return login(OWNER_EMAIL, OWNER_PASSWORD) if role == "owner" else login(f"{role}@example.com", PASSWORD)


@pytest.mark.parametrize("role", list(VISIBLE))
def test_navigation_lists_only_what_the_role_may_use(app_db, world, role):
    at = _login_as(role)
    for page, title in PAGES.items():
        shown = in_navigation(at, page)
        assert shown == (page in VISIBLE[role]), f"{role} / {page}"
        if shown:
            assert texts(at.title) == [title], f"{role} / {page}"
            assert not at.error, f"{role} / {page}: {texts(at.error)}"


def test_scope_picker_switches_site_and_sector(app_db, world):
    at = login()
    site_box = at.sidebar.selectbox(key="scope_site_id")
    assert site_box.options == ["Alpha Blog", "Beta Shop"]
    assert at.session_state["scope_site_id"] == world["a"]
    assert at.sidebar.selectbox(key="scope_sector_id").options == ["Coffee", "Tea"]
    site_box.set_value(world["b"]).run()
    assert not at.exception
    assert at.session_state["scope_site_id"] == world["b"]
    assert at.sidebar.selectbox(key="scope_sector_id").options == ["Shoes"]
    assert texts(at.caption)[0] == "Beta Shop · Shoes"
    go(at, "pages/users.py")  # the pick is kept per browser session across pages
    assert at.session_state["scope_site_id"] == world["b"]
    assert at.sidebar.selectbox(key="scope_site_id").value == world["b"]


def test_editor_picks_only_granted_sites(app_db, world):
    at = login("editor@example.com", PASSWORD)
    assert at.sidebar.selectbox(key="scope_site_id").options == ["Beta Shop"]
    assert texts(at.caption)[0] == "Beta Shop · Shoes"


def test_developer_picks_an_account_first(app_db, world):
    with app_db.tx() as s:
        dev = app_db.actor(s, "developer@example.com")
        other = accounts.create_account(s, dev, name="Zeta Corp", status="active")
        users.create_user(s, dev.in_account(other.id), email="zeta@example.com", password=PASSWORD, role="owner")
        other_id = other.id
    at = login("developer@example.com", PASSWORD)
    account_box = at.sidebar.selectbox(key="scope_account_id")
    assert "Zeta Corp" in account_box.options and "My Agency" in account_box.options
    account_box.set_value(other_id).run()
    assert not at.exception
    assert at.session_state["scope_account_id"] == other_id
    assert at.session_state.get("scope_site_id") is None
    assert texts(at.sidebar.caption) == [
        "This account has no active site yet. Create one under Admin → Sites & sectors."]
    go(at, "pages/users.py")  # the developer now manages Zeta's users
    assert at.dataframe[0].value["E-mail"].tolist() == ["zeta@example.com"]


def test_viewer_cannot_change_anything(app_db, world):
    at = login("viewer@example.com", PASSWORD)
    assert texts(at.title) == ["Overview"]
    assert [m.value for m in at.metric] == ["0"] * 6  # reads work
    assert not at.main.button  # no action anywhere on the screen, no form to submit
    for page in ("pages/sites.py", "pages/users.py", "pages/accounts.py", "pages/plans.py"):
        assert not in_navigation(at, page)


def test_demoted_admin_loses_the_admin_page(app_db, world):
    app_db.add_user("shortlived-admin@example.com", Role.admin)
    at = go(login("shortlived-admin@example.com", PASSWORD), "pages/sites.py")
    assert texts(at.title) == ["Sites & sectors"]
    with app_db.tx() as s:
        users.update_user(s, app_db.actor(s), user_id=app_db.user(s, "shortlived-admin@example.com").id,
                          role="viewer")
    at.run()
    assert not at.exception
    assert texts(at.title) != ["Sites & sectors"]
    assert not at.main.form_submit_button
    assert not in_navigation(at, "pages/sites.py")


def test_logout_button_is_in_the_sidebar(app_db, world):
    at = login("viewer@example.com", PASSWORD)
    assert [b.key for b in at.sidebar.button] == ["logout"]
    click(at, "logout")
    assert "auth_ticket" not in at.session_state
