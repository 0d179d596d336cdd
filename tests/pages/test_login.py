"""Login gate: success, wrong password, lockout, logout, ended sessions, changing one's own password."""
from __future__ import annotations

from core.identity import auth, users
from db.enums import Role
from tests.pages.conftest import (
    OWNER_EMAIL,
    PASSWORD,
    click,
    go,
    login,
    open_app,
    submit_login,
    texts,
)


def test_login_form_first(app_db):
    at = open_app()
    assert texts(at.title) == ["IGNY8 Dashboard"]
    assert at.text_input(key="login_email").value == ""
    assert "auth_ticket" not in at.session_state


def test_login_success_shows_overview_and_who(app_db):
    at = login()
    assert texts(at.title) == ["Overview"]
    assert not at.error
    assert texts(at.sidebar.text) == [f"{OWNER_EMAIL} · owner"]
    with app_db.tx() as s:
        assert app_db.user(s, OWNER_EMAIL).last_login_at is not None


def test_wrong_password_is_refused_and_counted(app_db):
    app_db.add_user("wrong@example.com", Role.editor)
    at = submit_login(open_app(), "wrong@example.com", "not-the-password-1")
    assert texts(at.error) == [auth.BAD_CREDENTIALS]
    assert texts(at.title) == ["IGNY8 Dashboard"]
    assert "auth_ticket" not in at.session_state
    with app_db.tx() as s:  # the failure was committed although the login failed
        assert app_db.user(s, "wrong@example.com").failed_logins == 1


def test_unknown_email_gets_the_same_message(app_db):
    at = submit_login(open_app(), "nobody@example.com", "whatever-123")
    assert texts(at.error) == [auth.BAD_CREDENTIALS]


def test_lockout_after_repeated_failures(app_db):
    app_db.add_user("locked@example.com", Role.viewer)
    at = open_app()
    for _ in range(3):
        submit_login(at, "locked@example.com", "bad-password-99")
    assert texts(at.error) == [auth.BAD_CREDENTIALS]  # locking tells nothing an unknown e-mail would not
    submit_login(at, "locked@example.com", PASSWORD)  # even the right password waits
    assert texts(at.error) == [auth.BAD_CREDENTIALS]
    assert "auth_ticket" not in at.session_state
    with app_db.tx() as s:
        assert app_db.user(s, "locked@example.com").locked_until is not None


def test_logout_from_sidebar(app_db):
    at = login()
    click(at, "logout")
    assert texts(at.title) == ["IGNY8 Dashboard"]
    assert texts(at.success) == ["You are logged out."]
    assert "auth_ticket" not in at.session_state
    assert "scope_site_id" not in at.session_state
    at.run()  # still logged out on the next run
    assert texts(at.title) == ["IGNY8 Dashboard"]


def test_logout_from_my_account(app_db):
    at = go(login(), "pages/my_account.py")
    assert texts(at.title) == ["My account"]
    click(at, "logout_me")
    assert texts(at.title) == ["IGNY8 Dashboard"]
    assert "auth_ticket" not in at.session_state


def test_session_ended_elsewhere_shows_message_and_login(app_db):
    app_db.add_user("reset@example.com", Role.editor)
    at = login("reset@example.com", PASSWORD)
    with app_db.tx() as s:  # an admin resets the password: open sessions end
        users.reset_password(s, app_db.actor(s), user_id=app_db.user(s, "reset@example.com").id,
                             new_password="brand-new-pass-7")
    at.run()
    assert not at.exception
    assert texts(at.warning) == ["Your session is no longer valid. Please log in again."]
    assert texts(at.title) == ["IGNY8 Dashboard"]
    assert "auth_ticket" not in at.session_state


def test_change_own_password_keeps_this_session(app_db):
    app_db.add_user("changer@example.com", Role.viewer)
    at = go(login("changer@example.com", PASSWORD), "pages/my_account.py")
    at.text_input(key="pw_current").input(PASSWORD)
    at.text_input(key="pw_new").input("another-pass-88")
    at.text_input(key="pw_repeat").input("another-pass-88")
    click(at, "pw_submit")
    assert texts(at.success) == ["Password changed. Other sessions of yours have ended."]
    at.run()  # the reissued ticket carries the new session version
    assert texts(at.title) == ["My account"]
    assert not at.warning
    assert texts(submit_login(open_app(), "changer@example.com", PASSWORD).error) == [auth.BAD_CREDENTIALS]
    assert texts(login("changer@example.com", "another-pass-88").title) == ["Overview"]


def test_change_own_password_wrong_current_is_an_error(app_db):
    app_db.add_user("typo@example.com", Role.editor)
    at = go(login("typo@example.com", PASSWORD), "pages/my_account.py")
    at.text_input(key="pw_current").input("not-my-password-1")
    at.text_input(key="pw_new").input("another-pass-88")
    at.text_input(key="pw_repeat").input("another-pass-88")
    click(at, "pw_submit")
    assert texts(at.error) == ["The current password is wrong."]
    assert texts(at.title) == ["My account"]  # still logged in
