"""The browser side of a login: the session cookie that lets a reload or a new tab keep it.

The cookie holds a signed, expiring token (core/identity/tokens.py); ui.py checks it against the database on every
run. Streamlit reads cookies (st.context.cookies: what the browser sent when the session opened) but cannot set
them, so a one-line script in the page writes and clears it: SameSite=Strict, Path=/, Secure over https, Max-Age
the rest of the session's lifetime. HttpOnly cannot be set from JavaScript. The script is drawn on every run in the
same place with the same text until the token changes, so the browser runs it only when it changed.
It lives beside ui.py, not in pages/, for the reason ui.py gives.
"""
from __future__ import annotations

import re
from datetime import timedelta

import streamlit as st

from core.identity import tokens
from core.identity.auth import SessionTicket

COOKIE = "igny8_session"
REFRESH = timedelta(minutes=1)  # how stale the cookie's “last seen” may get (the idle limit reads it after a reload)
# Keys in st.session_state.
HELD = "_cookie_held"  # (token, ticket) last written into this browser's cookie
SPENT = "_cookie_spent"  # the token this session was opened with, once refused or logged out: never tried again
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.-]*")  # base64url and dots: never markup, quotes or a cookie separator


def _sent() -> str | None:
    """The cookie's value as the browser sent it when this session opened (to_dict: AppTest's stand-in client
    answers any key of .get() with a mock)."""
    value = st.context.cookies.to_dict().get(COOKIE)
    return value if isinstance(value, str) else None


def ticket_from_cookie() -> SessionTicket | None:
    """The ticket the browser's cookie carries, when it sent one not spent yet; a bad token raises
    AuthenticationFailed (with the message for the login form)."""
    token = _sent()
    if not token or token == st.session_state.get(SPENT):
        return None
    return tokens.read(token)


def spend() -> None:
    """Forget the cookie of this session: the token it was opened with is not tried again, a new one is written
    after the next login."""
    st.session_state.pop(HELD, None)
    st.session_state[SPENT] = _sent()


def _script(value: str, max_age: int) -> str:
    if not _TOKEN_CHARS.fullmatch(value):
        raise ValueError("not a session token")
    return (f'<script>document.cookie = "{COOKIE}={value}; Path=/; Max-Age={max(max_age, 0)}; SameSite=Strict"'
            ' + (location.protocol === "https:" ? "; Secure" : "");</script>')


def write(ticket: SessionTicket) -> None:
    """Keep the cookie in step with the ticket (in the sidebar): re-signed when the login changed (a new login, a
    password change) or its “last seen” is older than REFRESH."""
    token, signed = st.session_state.get(HELD) or (None, None)
    if (signed is None or (signed.user_id, signed.session_version, signed.issued_at)
            != (ticket.user_id, ticket.session_version, ticket.issued_at)
            or ticket.last_seen_at - signed.last_seen_at >= REFRESH):
        token, signed = tokens.sign(ticket), ticket
        st.session_state[HELD] = (token, signed)
    max_age = int((tokens.expires_at(signed) - signed.last_seen_at).total_seconds())  # the rest of its lifetime
    st.sidebar.html(_script(token, max_age), width="content", unsafe_allow_javascript=True)


def clear() -> None:
    """Delete the cookie (on the login form: whatever the browser still holds was refused, logged out or absent)."""
    st.html(_script("", 0), width="content", unsafe_allow_javascript=True)
