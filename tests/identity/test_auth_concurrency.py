"""Concurrency on PostgreSQL: processes racing one user's lockout, other users not waiting, no lost version bumps."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from core import runtime
from core.config import settings
from core.identity import auth, users
from core.runtime import Runtime
from db.base import utcnow
from db.models import Account, User
from tests import factories as f
from tests import races

WRONG, THRESHOLD = 11, 3  # eleven wrong passwords and one right one, all at once
LOCKOUT_ENV = {"IGNY8_LOCKOUT_THRESHOLD": str(THRESHOLD), "IGNY8_LOCKOUT_BASE_SECONDS": "30",
               "IGNY8_LOCKOUT_MAX_SECONDS": "900"}

pytestmark = pytest.mark.pg_only


@pytest.fixture
def rt(pg_runtime) -> Runtime:
    return pg_runtime


def _new_user(rt: Runtime) -> tuple[int, str]:
    with rt() as s:
        u = f.user(s, f.account(s))
        return u.id, u.email


def _attempt(url: str, email: str, password: str, go: Any) -> tuple[bool, str, bool, Any]:
    """A process of its own (its settings from the environment, its runtime): one login in one transaction."""
    s = settings()
    assert (s.lockout_threshold, s.lockout_base_seconds) == (THRESHOLD, 30), "lockout settings not from env"
    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as session:
            session.execute(select(1))  # connect before the start: the race is in logging in, not in start-up
        go()
        with rt() as session:  # as the login page does: the failure is committed although login fails
            result = auth.login(session, email=email, password=password)
            # A counted failure holds the row until commit: this reads the value its own increment left.
            count = session.scalar(select(User.failed_logins).where(User.email == email))
        return password == f.PASSWORD, result.outcome.value, result.ok, count
    finally:
        rt.engine.dispose()


def _race(rt: Runtime, email: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, str, bool, Any]]:
    """WRONG wrong and one right login of one user, each in its own process, released together."""
    for name, value in LOCKOUT_ENV.items():
        monkeypatch.setenv(name, value)  # the spawned processes read their settings from here
    url = rt.engine.url.render_as_string(hide_password=False)
    passwords = [f"wrong-password-{i}" for i in range(WRONG)]
    passwords.insert(WRONG // 2, f.PASSWORD)
    return races.run_together(_attempt, [(url, email, pw) for pw in passwords], timeout=300)


def test_processes_racing_one_users_logins_keep_the_lockout(rt, monkeypatch):
    user_id, email = _new_user(rt)
    got = _race(rt, email, monkeypatch)
    assert [g for g in got if g[1] == "error"] == []
    with rt() as s:
        user = s.get(User, user_id)
        failed, locked_until = user.failed_logins, user.locked_until
    (right,) = [g for g in got if g[0]]
    wrong = [g for g in got if not g[0]]
    counted = sorted(count for _, outcome, _, count in wrong if outcome == "wrong")
    # Whatever the order, the 3rd counted failure locks the user and every later attempt is refused unchecked:
    # the counter ends at the threshold, and a lost update would leave it lower.
    assert failed == THRESHOLD, f"failed_logins {failed} after {len(counted)} counted failures {counted}"
    assert locked_until is not None and locked_until > utcnow()
    assert {outcome for _, outcome, _, _ in wrong} <= {"wrong", "locked"}
    if right[2]:  # the right password came before the 3rd failure: it reset the count, which then started over
        assert right[1] == "ok"
        before = Counter(counted) - Counter(range(1, THRESHOLD + 1))
        assert sorted(before.elements()) == list(range(1, before.total() + 1)) and before.total() < THRESHOLD
    else:  # it came after: refused as locked, though right
        assert right[1] == "locked"
        assert counted == list(range(1, THRESHOLD + 1)), f"increments lost or doubled: {counted}"


def test_different_users_never_wait_on_each_other(rt):
    busy_id, busy_email = _new_user(rt)
    _, other_email = _new_user(rt)
    with rt() as holder:
        assert not auth.login(holder, email=busy_email, password="wrong-password-1").ok  # holds busy's row
        with rt() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            assert auth.login(s, email=other_email, password=f.PASSWORD).ok
            assert not auth.login(s, email="nobody@example.com", password=f.PASSWORD).ok
        with rt() as s, pytest.raises(OperationalError, match="lock timeout"):  # one user's attempts do queue
            s.execute(text("SET LOCAL lock_timeout = '200ms'"))
            auth.login(s, email=busy_email, password="wrong-password-2")
    with rt() as s:
        assert s.get(User, busy_id).failed_logins == 1


def test_session_version_bumps_are_never_lost(rt):
    """A password change racing an admin's reset: both bumps count, so the reset still ends every older session."""
    user_id, email = _new_user(rt)
    with rt() as mine:
        me = mine.get(User, user_id)  # my session has read version 1 ...
        with rt() as admin:  # ... when an admin resets my password (version 2) and commits
            owner = f.owner_actor(admin, admin.get(Account, me.account_id))
            users.reset_password(admin, owner, user_id=user_id, new_password="admin-set-pass-1")
        auth.change_password(mine, me, current=f.PASSWORD, new="my-own-pass-22")
        ticket = auth.issue_ticket(me)
    with rt() as s:
        assert s.get(User, user_id).session_version == 3 == ticket.session_version
