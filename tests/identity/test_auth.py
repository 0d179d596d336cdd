"""Login, lockout, sessions and the first owner, on real databases."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from core import runtime
from core.config import settings
from core.errors import AuthenticationFailed, ValidationFailed
from core.identity import auth, users
from db.enums import AccountStatus, Role
from db.models import Account, User
from tests import factories as f

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "brand-new-pass-9"


@pytest.fixture
def member(session):
    acct = f.account(session)
    return acct, f.user(session, acct, role=Role.editor)


def _login(session, u: User, password: str = f.PASSWORD, at: datetime = T0) -> auth.LoginResult:
    return auth.login(session, email=u.email, password=password, now=at)


def test_login_succeeds_case_insensitively(session, member):
    _, u = member
    res = auth.login(session, email=f"  {u.email.upper()} ", password=f.PASSWORD, now=T0)
    assert res.ok and res.user is u and res.message == ""
    assert u.last_login_at == T0


def test_unknown_email_and_wrong_password_look_the_same(session, member):
    _, u = member
    unknown = auth.login(session, email="nobody@example.com", password=f.PASSWORD, now=T0)
    wrong = _login(session, u, "wrong-password-1")
    assert not unknown.ok and not wrong.ok
    assert unknown.message == wrong.message == auth.BAD_CREDENTIALS == "Wrong e-mail or password."


class CountingHasher(PasswordHasher):
    """The real argon2 hasher with the default parameters, counting its verifications."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's own name
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(auth, "hasher", counting)
    return counting


def _lock(session, u: User) -> None:
    for i in range(3):
        _login(session, u, f"bad-password-{i}")
    assert u.locked_until == T0 + timedelta(seconds=30)


def test_locked_unknown_and_wrong_password_read_alike(session, member):
    acct, u = member
    other = f.user(session, acct)
    unknown = auth.login(session, email="nobody@example.com", password=f.PASSWORD, now=T0).message
    wrong = _login(session, other, "wrong-password-1").message
    failures = [_login(session, u, f"bad-password-{i}").message for i in range(3)]  # the third one locks
    later = T0 + timedelta(seconds=10)
    locked_wrong = _login(session, u, "bad-password-9", later)
    locked_right = _login(session, u, f.PASSWORD, later)  # the right password tells a locked user nothing either
    assert [unknown, wrong, *failures, locked_wrong.message, locked_right.message] == [auth.BAD_CREDENTIALS] * 7
    assert not locked_right.ok and locked_right.outcome == auth.Outcome.locked  # the lockout still holds
    assert u.failed_logins == 3 and u.locked_until == T0 + timedelta(seconds=30)


def test_every_login_path_does_one_argon2_verification(session, member, hasher):
    acct, u = member
    locked = f.user(session, acct)
    _lock(session, locked)
    later = T0 + timedelta(seconds=10)
    attempts = {
        "unknown": lambda: auth.login(session, email="nobody@example.com", password=f.PASSWORD, now=later),
        "wrong": lambda: _login(session, u, "wrong-password-1", later),
        "locked, wrong": lambda: _login(session, locked, "bad-password-9", later),
        "locked, right": lambda: _login(session, locked, f.PASSWORD, later),
        "right": lambda: _login(session, u, f.PASSWORD, later),
    }
    verified = {}
    for case, attempt in attempts.items():
        hasher.verified = 0
        outcome = attempt().outcome
        verified[case] = (outcome.value, hasher.verified)
    assert verified == {"unknown": ("unknown", 1), "wrong": ("wrong", 1), "locked, wrong": ("locked", 1),
                        "locked, right": ("locked", 1), "right": ("ok", 1)}


def test_password_is_stored_as_argon2id(session, member):
    _, u = member
    raw = session.execute(text('SELECT password_hash FROM "user" WHERE id = :i'), {"i": u.id}).scalar_one()
    assert raw.startswith("$argon2id$") and f.PASSWORD not in raw


def test_lockout_grows_and_lifts(session, member):
    _, u = member
    assert settings().lockout_threshold == 3 and settings().lockout_base_seconds == 30
    assert _login(session, u, "bad-password-1", T0).message == auth.BAD_CREDENTIALS
    assert _login(session, u, "bad-password-2", T0).message == auth.BAD_CREDENTIALS
    third = _login(session, u, "bad-password-3", T0)
    assert third.message == auth.BAD_CREDENTIALS and u.locked_until == T0 + timedelta(seconds=30)
    during = _login(session, u, f.PASSWORD, T0 + timedelta(seconds=10))
    assert not during.ok and during.outcome == auth.Outcome.locked
    assert u.failed_logins == 3  # attempts while locked are not counted
    assert not _login(session, u, "bad-password-4", T0 + timedelta(seconds=31)).ok
    assert u.locked_until == T0 + timedelta(seconds=91) and u.failed_logins == 4  # then 60 s
    assert _login(session, u, f.PASSWORD, T0 + timedelta(seconds=90)).outcome == auth.Outcome.locked
    ok = _login(session, u, f.PASSWORD, T0 + timedelta(seconds=92))
    assert ok.ok and u.failed_logins == 0 and u.locked_until is None


def test_lockout_doubles_from_30_seconds_up_to_15_minutes():
    assert [auth.lockout_seconds(n) for n in range(1, 11)] == [0, 0, 30, 60, 120, 240, 480, 900, 900, 900]


def test_success_resets_the_failure_counter(session, member):
    _, u = member
    _login(session, u, "bad-password-1")
    _login(session, u, "bad-password-2")
    assert _login(session, u).ok and u.failed_logins == 0
    _login(session, u, "bad-password-3")
    assert u.failed_logins == 1 and u.locked_until is None  # the count started over: no lock


def test_lockout_counter_is_persisted(session, member):
    """login() flushes the counter so the caller's commit keeps it (login never raises for bad credentials)."""
    _, u = member
    for i in range(3):
        _login(session, u, f"bad-password-{i}")
    session.expire_all()
    row = session.execute(text('SELECT failed_logins FROM "user" WHERE id = :i'), {"i": u.id}).scalar_one()
    assert row == 3
    assert u.locked_until == T0 + timedelta(seconds=30)  # read back from the database as aware UTC
    assert _login(session, u, f.PASSWORD, T0 + timedelta(seconds=29)).outcome == auth.Outcome.locked


def test_deactivated_user_cannot_log_in(session, member):
    _, u = member
    u.is_active = False
    session.flush()
    assert _login(session, u).message == "This user is deactivated. Ask an admin."
    assert _login(session, u, "wrong-password-1").message == auth.BAD_CREDENTIALS  # no hint without the password


@pytest.mark.parametrize("status", [AccountStatus.suspended, AccountStatus.cancelled])
def test_suspended_or_cancelled_account_cannot_log_in(session, status):
    acct = f.account(session, status=status)
    res = _login(session, f.user(session, acct))
    assert not res.ok and "suspended or cancelled" in res.message


def test_suspending_an_account_ends_its_open_sessions(session, member):
    acct, u = member
    ticket = auth.issue_ticket(u, now=T0)
    auth.resume(session, ticket, now=T0 + timedelta(minutes=1))
    acct.status = AccountStatus.suspended
    session.flush()
    with pytest.raises(AuthenticationFailed, match="suspended or cancelled"):
        auth.resume(session, ticket, now=T0 + timedelta(minutes=2))


def test_trial_account_can_log_in(session):
    assert _login(session, f.user(session, f.account(session, status=AccountStatus.trial))).ok


def test_developer_without_account_logs_in(session):
    dev = f.user(session, None, role=Role.developer)
    assert dev.account_id is None and _login(session, dev).ok


def test_session_ttl_and_idle_expiry(session, member):
    _, u = member
    s = settings()
    ticket = auth.issue_ticket(u, now=T0)
    user, ticket = auth.resume(session, ticket, now=T0 + timedelta(minutes=30))
    assert user is u and ticket.last_seen_at == T0 + timedelta(minutes=30) and ticket.issued_at == T0
    idle = T0 + timedelta(minutes=30 + s.session_idle_minutes + 1)
    with pytest.raises(AuthenticationFailed, match="inactivity"):
        auth.resume(session, ticket, now=idle)
    now = T0
    ticket = auth.issue_ticket(u, now=T0)
    while now + timedelta(minutes=50) - T0 <= timedelta(minutes=s.session_ttl_minutes):
        now += timedelta(minutes=50)
        _, ticket = auth.resume(session, ticket, now=now)  # an active user stays in ...
    with pytest.raises(AuthenticationFailed, match="expired"):
        auth.resume(session, ticket, now=now + timedelta(minutes=50))  # ... until the TTL ends the session


def test_change_password_revokes_sessions(session, member):
    _, u = member
    ticket = auth.issue_ticket(u, now=T0)
    with pytest.raises(ValidationFailed, match="current password is wrong"):
        auth.change_password(session, u, current="not-my-password-1", new=NEW_PASSWORD)
    auth.resume(session, ticket, now=T0)  # a failed change revokes nothing
    auth.change_password(session, u, current=f.PASSWORD, new=NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed, match="no longer valid"):
        auth.resume(session, ticket, now=T0)
    assert not _login(session, u).ok and _login(session, u, NEW_PASSWORD).ok
    assert auth.resume(session, auth.issue_ticket(u, now=T0), now=T0)[0] is u


def test_reset_password_revokes_sessions_and_lifts_the_lock(session, member):
    acct, u = member
    owner = f.owner_actor(session, acct)
    ticket = auth.issue_ticket(u, now=T0)
    for i in range(3):
        _login(session, u, f"bad-password-{i}")
    users.reset_password(session, owner, user_id=u.id, new_password=NEW_PASSWORD)
    assert u.failed_logins == 0 and u.locked_until is None
    with pytest.raises(AuthenticationFailed, match="no longer valid"):
        auth.resume(session, ticket, now=T0)
    assert _login(session, u, NEW_PASSWORD).ok


def test_deactivation_revokes_sessions(session, member):
    acct, u = member
    ticket = auth.issue_ticket(u, now=T0)
    users.update_user(session, f.owner_actor(session, acct), user_id=u.id, is_active=False)
    with pytest.raises(AuthenticationFailed, match="no longer valid"):
        auth.resume(session, ticket, now=T0)


@pytest.mark.parametrize(("password", "fragment"), [
    ("short-1", "at least 10 characters"), ("", "at least 10 characters"),
    ("onlyletters", "letters and digits"), ("12345678901", "letters and digits"),
    ("a1" * 129, "too long"),
])
def test_password_policy_messages(session, member, password, fragment):
    _, u = member
    with pytest.raises(ValidationFailed, match=fragment):
        auth.hash_password(password)
    version, stored = u.session_version, u.password_hash
    with pytest.raises(ValidationFailed, match=fragment):
        auth.change_password(session, u, current=f.PASSWORD, new=password)
    assert (u.session_version, u.password_hash) == (version, stored)


def test_weak_password_refused_on_user_creation(session, member):
    acct, _ = member
    owner = f.owner_actor(session, acct)
    f.refused(session, ValidationFailed, lambda: users.create_user(session, owner, email="weak@example.com",
                                                                   password="password", role="viewer"))


def test_ensure_first_owner_does_nothing_when_users_exist(session, member):
    before = session.scalar(select(func.count()).select_from(User))
    assert auth.ensure_first_owner(session, email="boss@example.com", password=NEW_PASSWORD) is None
    assert session.scalar(select(func.count()).select_from(User)) == before


def _start(url: str, **overrides) -> runtime.Runtime:
    config = dataclasses.replace(settings(), **({"owner_email": None, "owner_password": None} | overrides))
    return runtime.start(config, url=url)


def test_first_owner_on_an_empty_database(fresh_database):
    url = fresh_database()
    rt = _start(url)
    try:
        first = rt.first_owner
        assert first is not None and first.email == "owner@igny8.local" and first.generated_password
        assert first.generated_password in runtime.first_owner_notice(first)
        with rt.transaction() as s:
            owners = s.scalars(select(User)).all()
            assert [(o.email, o.role) for o in owners] == [(first.email, Role.owner)]
            acct = s.get(Account, owners[0].account_id)
            assert acct.owner_id == owners[0].id and acct.status == AccountStatus.active
            assert owners[0].password_hash.startswith("$argon2id$")
            assert first.generated_password not in owners[0].password_hash
            assert auth.login(s, email=first.email, password=first.generated_password).ok
        again = _start(url)  # a second start (app and scheduler alike) creates nobody
        try:
            assert again.first_owner is None and runtime.first_owner_notice(None) is None
            with again.transaction() as s:
                assert s.scalar(select(func.count()).select_from(User)) == 1
        finally:
            again.engine.dispose()
    finally:
        rt.engine.dispose()


def test_first_owner_from_configured_credentials(fresh_database):
    rt = _start(fresh_database(), owner_email="Boss@Example.com", owner_password=NEW_PASSWORD)
    try:
        assert rt.first_owner.email == "boss@example.com" and rt.first_owner.generated_password is None
        assert "IGNY8_OWNER_PASSWORD" in runtime.first_owner_notice(rt.first_owner)
        with rt.transaction() as s:
            assert auth.login(s, email="boss@example.com", password=NEW_PASSWORD).ok
    finally:
        rt.engine.dispose()
