"""Session tokens of the login cookie: signed, expiring, refused when tampered with, and only ever a claim that
auth.resume checks against the database (session version, user active, account open, lifetime, idle limit)."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.common import vault
from core.config import settings
from core.errors import AuthenticationFailed
from core.identity import auth, tokens, users
from db.enums import AccountStatus, Role
from tests import factories as f

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
KEY = tokens.signing_key(vault.KeyRing("the app secret of these tests"))


@pytest.fixture
def member(session):
    acct = f.account(session)
    return acct, f.user(session, acct, role=Role.editor)


def _token(u, at: datetime = T0) -> str:
    return tokens.sign(auth.issue_ticket(u, now=at), key=KEY)


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _with_claims(token: str, **changes) -> str:
    """The token with its payload changed and its signature kept (what a forger can do without the key)."""
    version, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({**_claims(token), **changes}).encode()).decode().rstrip("=")
    return f"{version}.{payload}.{signature}"


def _signed(claims: object) -> str:
    """A token of arbitrary claims signed with the real key (what only the server can make)."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"v1.{payload}.{tokens._mac(KEY, 'v1.' + payload)}"


def test_a_token_carries_the_ticket_and_resumes_the_session(session, member):
    _, u = member
    token = _token(u)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")  # cookie-safe
    ticket = tokens.read(token, now=T0 + timedelta(minutes=5), key=KEY)
    assert ticket == auth.SessionTicket(u.id, u.session_version, T0, T0)
    assert _claims(token)["exp"] == int((T0 + timedelta(minutes=settings().session_ttl_minutes)).timestamp())
    user, _ = auth.resume(session, ticket, now=T0 + timedelta(minutes=5))
    assert user is u


def test_default_key_comes_from_the_app_secret(member):
    _, u = member
    ticket = auth.issue_ticket(u)
    assert tokens.read(tokens.sign(ticket)) == auth.SessionTicket(
        u.id, u.session_version, ticket.issued_at.replace(microsecond=0), ticket.last_seen_at.replace(microsecond=0))
    assert tokens.signing_key() == tokens.signing_key(vault.keyring())
    assert tokens.signing_key(vault.KeyRing("another secret")) != KEY


@pytest.mark.parametrize("change", [{"u": 999_999}, {"v": 7}, {"exp": 4_102_444_800}, {"seen": 1_900_000_000}])
def test_a_changed_claim_breaks_the_signature(member, change):
    _, u = member
    with pytest.raises(AuthenticationFailed, match="saved login is not valid"):
        tokens.read(_with_claims(_token(u), **change), now=T0, key=KEY)


def test_another_users_id_cannot_be_claimed(session, member):
    acct, u = member
    other = f.user(session, acct, role=Role.owner)
    forged = _with_claims(_token(u), u=other.id, v=other.session_version)
    with pytest.raises(AuthenticationFailed, match="saved login is not valid"):
        tokens.read(forged, now=T0, key=KEY)


def test_a_token_of_another_key_or_a_broken_signature_is_refused(member):
    _, u = member
    token = _token(u)
    foreign = tokens.sign(auth.issue_ticket(u, now=T0), key=tokens.signing_key(vault.KeyRing("old secret")))
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (foreign, flipped, token[:-1], token.split(".", 1)[1], "v2" + token[2:]):
        with pytest.raises(AuthenticationFailed, match="saved login is not valid"):
            tokens.read(bad, now=T0, key=KEY)


@pytest.mark.parametrize("bad", ["", "garbage", "a.b.c", "v1..", "v1.%%%.x", "v1." + "A" * 600 + ".x", "v1.a.b.c"])
def test_malformed_tokens_are_refused(bad):
    with pytest.raises(AuthenticationFailed, match="saved login is not valid"):
        tokens.read(bad, now=T0, key=KEY)


@pytest.mark.parametrize("claims", [
    [1, 2, 3], "text", {"u": 1, "v": 0, "iat": 1, "seen": 1},  # not an object, a missing claim
    {"u": 1, "v": 0, "iat": 1, "seen": 1, "exp": 4_102_444_800, "role": "owner"},  # an extra claim
    {"u": True, "v": 0, "iat": 1, "seen": 1, "exp": 4_102_444_800},  # a bool is no user id
    {"u": "1", "v": 0, "iat": 1, "seen": 1, "exp": 4_102_444_800},
    {"u": 1, "v": -1, "iat": 1, "seen": 1, "exp": 4_102_444_800},
    {"u": 1, "v": 0, "iat": 10**20, "seen": 1, "exp": 10**21},  # out of any datetime's range
])
def test_signed_but_malformed_claims_are_refused(claims):
    with pytest.raises(AuthenticationFailed, match="saved login is not valid"):
        tokens.read(_signed(claims), now=T0, key=KEY)


def test_a_token_expires_with_the_session_lifetime(member):
    _, u = member
    token = _token(u)
    end = T0 + timedelta(minutes=settings().session_ttl_minutes)
    assert tokens.read(token, now=end - timedelta(seconds=1), key=KEY).user_id == u.id
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.read(token, now=end, key=KEY)


def test_the_idle_limit_reads_the_tokens_last_seen(session, member):
    _, u = member
    ticket = tokens.read(_token(u), now=T0, key=KEY)
    later = T0 + timedelta(minutes=settings().session_idle_minutes + 1)
    with pytest.raises(AuthenticationFailed, match="inactivity"):
        auth.resume(session, ticket, now=later)


def _ended(session, token: str) -> None:
    ticket = tokens.read(token, now=T0, key=KEY)  # still well made: the database is what ends it
    with pytest.raises(AuthenticationFailed, match="no longer valid"):
        auth.resume(session, ticket, now=T0)


def test_a_password_change_ends_the_tokens(session, member):
    _, u = member
    token = _token(u)
    auth.change_password(session, u, current=f.PASSWORD, new="brand-new-pass-9")
    _ended(session, token)
    assert auth.resume(session, tokens.read(_token(u), now=T0, key=KEY), now=T0)[0] is u  # a new login works


def test_logout_ends_the_token_and_the_users_other_logins(session, member):
    _, u = member
    token, elsewhere = _token(u), _token(u, T0 - timedelta(minutes=10))
    ticket = tokens.read(token, now=T0, key=KEY)
    assert auth.end_session(session, ticket) is True
    _ended(session, token)
    _ended(session, elsewhere)
    assert auth.end_session(session, ticket) is False  # ended already: the version moves on only once
    assert u.session_version == ticket.session_version + 1


def test_reset_deactivation_and_suspension_end_the_tokens(session, member):
    acct, u = member
    owner = f.owner_actor(session, acct)
    token = _token(u)
    users.reset_password(session, owner, user_id=u.id, new_password="brand-new-pass-9")
    _ended(session, token)
    token = _token(u)
    users.update_user(session, owner, user_id=u.id, is_active=False)
    _ended(session, token)
    users.update_user(session, owner, user_id=u.id, is_active=True)
    token = _token(u)
    acct.status = AccountStatus.suspended
    session.flush()
    with pytest.raises(AuthenticationFailed, match="suspended or cancelled"):
        auth.resume(session, tokens.read(token, now=T0, key=KEY), now=T0)


def test_a_deleted_user_is_refused(session, member):
    _, u = member
    token = _token(u)
    session.delete(u)
    session.flush()
    with pytest.raises(AuthenticationFailed, match="no longer valid"):
        auth.resume(session, tokens.read(token, now=T0, key=KEY), now=T0)
