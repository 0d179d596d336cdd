"""Login gate: success, wrong password, lockout, logout, ended sessions, changing one's own password."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core.config import settings
from core.errors import AuthenticationFailed
from core.identity import auth, tokens, users
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
from ui_session import COOKIE, HELD


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


# ---------------------------------------------------------------- the login cookie (a reload and new tabs keep the login)
# AppTest cannot send cookies (st.context.cookies), so these check what the page writes; tests/e2e/test_session_cookie.py
# reloads a real browser.
_SET = re.compile(rf'document.cookie = "{COOKIE}=([A-Za-z0-9_.-]+); Path=/; Max-Age=(\d+); SameSite=Strict"'
                  r' \+ \(location.protocol === "https:" \? "; Secure" : ""\);')


def _written(at: AppTest) -> tuple[str, int]:
    """The token and Max-Age of the one cookie script in the sidebar."""
    found = [m.groups() for h in at.sidebar.html if (m := _SET.search(h.value))]
    assert len(found) == 1, [h.value for h in at.html]
    return found[0][0], int(found[0][1])


def _clears(at: AppTest) -> bool:
    return any(f'"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict"' in h.value for h in at.main.html)


def test_login_writes_a_signed_cookie_of_this_session(app_db):
    at = login()
    token, max_age = _written(at)
    ticket = tokens.read(token)
    held = at.session_state["auth_ticket"]
    assert (ticket.user_id, ticket.session_version) == (held.user_id, held.session_version)
    with app_db.tx() as s:
        assert ticket.user_id == app_db.user(s, OWNER_EMAIL).id
    lifetime = settings().session_ttl_minutes * 60
    assert lifetime - 120 <= max_age <= lifetime  # the rest of the session's lifetime
    assert not _clears(at)


def test_a_stale_cookie_is_signed_again(app_db):
    at = login()
    ticket = at.session_state[HELD][1]
    stale = replace(ticket, last_seen_at=ticket.last_seen_at - timedelta(minutes=2))  # as if written 2 minutes ago
    at.session_state[HELD] = (tokens.sign(stale), stale)
    at.run()
    fresh, _ = _written(at)
    assert tokens.read(fresh).last_seen_at > stale.last_seen_at  # the idle limit after a reload counts from now
    assert at.session_state[HELD][0] == fresh


def test_the_login_form_clears_the_cookie(app_db):
    at = open_app()
    assert _clears(at) and not at.sidebar.html


@pytest.mark.parametrize("button, page", [("logout", None), ("logout_me", "pages/my_account.py")])
def test_logout_ends_the_session_on_the_server(app_db, button, page):
    app_db.add_user(f"leaver-{button}@example.com", Role.editor)
    at = login(f"leaver-{button}@example.com", PASSWORD)
    elsewhere = login(f"leaver-{button}@example.com", PASSWORD)  # the same user in another browser
    if page:
        go(at, page)
    token, _ = _written(at)
    ticket = at.session_state["auth_ticket"]
    click(at, button)
    assert texts(at.title) == ["IGNY8 Dashboard"] and _clears(at)
    with app_db.tx() as s:  # a copy of the cookie or the ticket no longer works
        for ended in (ticket, tokens.read(token)):
            with pytest.raises(AuthenticationFailed, match="no longer valid"):
                auth.resume(s, ended)
    elsewhere.run()
    assert texts(elsewhere.warning) == ["Your session is no longer valid. Please log in again."]
    assert texts(elsewhere.title) == ["IGNY8 Dashboard"] and _clears(elsewhere)


def test_a_password_change_writes_the_cookie_of_the_new_session_version(app_db):
    app_db.add_user("rotate@example.com", Role.viewer)
    at = go(login("rotate@example.com", PASSWORD), "pages/my_account.py")
    before = tokens.read(_written(at)[0])
    at.text_input(key="pw_current").input(PASSWORD)
    at.text_input(key="pw_new").input("another-pass-88")
    at.text_input(key="pw_repeat").input("another-pass-88")
    click(at, "pw_submit")
    after = tokens.read(_written(at)[0])
    assert after.session_version == before.session_version + 1
    with app_db.tx() as s:
        assert auth.resume(s, after)[0].email == "rotate@example.com"
        with pytest.raises(AuthenticationFailed, match="no longer valid"):
            auth.resume(s, before)

