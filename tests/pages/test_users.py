"""Users page: create users, change role and status, reset passwords, grant editors and viewers their sites."""
from __future__ import annotations

import pytest

from core.identity import users
from db.enums import Role
from tests.pages.conftest import PASSWORD, click, go, login, open_app, submit_login, texts


@pytest.fixture(scope="module")
def two_sites(app_db):
    return app_db.add_site("North Site", sectors=("N1",)), app_db.add_site("South Site", sectors=("S1",))


@pytest.fixture
def users_page(app_db, two_sites):
    return go(login(), "pages/users.py")


def _create_user(at, email: str, password: str, role: str, first: str = "", last: str = ""):
    at.text_input(key="user_email").input(email)
    at.text_input(key="user_password").input(password)
    at.selectbox(key="user_role").set_value(role)
    at.text_input(key="user_first").input(first)
    at.text_input(key="user_last").input(last)
    return click(at, "user_create_submit")


def _user_id(app_db, email: str) -> int:
    with app_db.tx() as s:
        return app_db.user(s, email).id


def test_create_user_and_grant_site_access(app_db, two_sites, users_page):
    north, south = two_sites
    at = _create_user(users_page, "Writer@Example.com", PASSWORD, "editor", "Wanda", "Writer")
    assert texts(at.success) == ["User writer@example.com created."]
    with app_db.tx() as s:
        user = app_db.user(s, "writer@example.com")
        assert (user.role, user.first_name, user.last_name, user.is_active) == (Role.editor, "Wanda", "Writer", True)
        uid = user.id
    assert "writer@example.com" in at.container(key="users_table").dataframe[0].value["E-mail"].tolist()

    at.selectbox(key="user_pick").set_value(uid).run()
    assert at.multiselect(key=f"user_sites_pick_{uid}").value == []
    at.multiselect(key=f"user_sites_pick_{uid}").set_value([south])
    click(at, f"user_sites_submit_{uid}")
    assert texts(at.success) == ["Site access of writer@example.com saved."]
    with app_db.tx() as s:
        assert [x.id for x in users.list_site_access(s, app_db.actor(s), user_id=uid)] == [south]

    writer = login("writer@example.com", PASSWORD)  # the editor now works in that site only
    assert writer.sidebar.selectbox(key="scope_site_id").options == ["South Site"]


def test_weak_password_and_duplicate_email_are_messages(app_db, users_page):
    at = _create_user(users_page, "weak@example.com", "short", "viewer")
    assert texts(at.error) == ["The password needs at least 10 characters."]
    at = _create_user(at, "owner@example.com", PASSWORD, "viewer")
    assert texts(at.error) == ["A user with e-mail owner@example.com exists already."]
    with app_db.tx() as s:
        assert "weak@example.com" not in [u.email for u in users.list_users(s, app_db.actor(s))]


def test_the_last_owner_cannot_be_deactivated(app_db, users_page):
    owner_id = _user_id(app_db, "owner@example.com")
    at = users_page
    at.selectbox(key="user_pick").set_value(owner_id).run()
    at.checkbox(key=f"user_edit_active_{owner_id}").uncheck()
    click(at, f"user_edit_submit_{owner_id}")
    assert texts(at.error) == ["An account needs at least one active owner. Make someone else owner first."]
    with app_db.tx() as s:
        assert app_db.user(s, "owner@example.com").is_active is True


def test_change_role_deactivate_and_reset_password(app_db, two_sites):
    uid = app_db.add_user("staff@example.com", Role.viewer)
    at = go(login(), "pages/users.py")
    at.selectbox(key="user_pick").set_value(uid).run()
    at.selectbox(key=f"user_edit_role_{uid}").set_value("admin")
    click(at, f"user_edit_submit_{uid}")
    assert texts(at.success) == ["User staff@example.com saved."]
    with app_db.tx() as s:
        assert app_db.user(s, "staff@example.com").role == Role.admin
    assert "Site access" in texts(at.subheader)
    assert not at.multiselect  # admins see every site: no site access to grant

    at.text_input(key=f"user_reset_password_{uid}").input("fresh-start-55")
    click(at, f"user_reset_submit_{uid}")
    assert texts(at.success) == ["Password of staff@example.com changed; their open sessions ended."]
    assert texts(login("staff@example.com", "fresh-start-55").title) == ["Overview"]

    at.checkbox(key=f"user_edit_active_{uid}").uncheck()
    click(at, f"user_edit_submit_{uid}")
    with app_db.tx() as s:
        assert app_db.user(s, "staff@example.com").is_active is False
    refused = submit_login(open_app(), "staff@example.com", "fresh-start-55")
    assert texts(refused.error) == ["This user is deactivated. Ask an admin."]


def test_admin_is_offered_only_roles_they_may_give(app_db, two_sites):
    app_db.add_user("deputy@example.com", Role.admin)
    at = go(login("deputy@example.com", PASSWORD), "pages/users.py")
    assert at.selectbox(key="user_role").options == ["admin", "editor", "viewer"]


def test_the_site_access_note_reads_an_owner_and_an_admin(app_db, two_sites):
    admin_id = app_db.add_user("second-admin@example.com", Role.admin)
    at = go(login(), "pages/users.py")
    for user_id, note in ((_user_id(app_db, "owner@example.com"), "An owner sees every site of the account."),
                          (admin_id, "An admin sees every site of the account.")):
        at.selectbox(key="user_pick").set_value(user_id).run()
        assert note in texts(at.caption)
