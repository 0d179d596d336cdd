"""Identity's scheduler job against a real database (committed transaction, both backends): housekeeping removes
expired reset tokens and clears elapsed login locks, and leaves live ones alone."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from core import runtime
from core.identity import jobs as identity_jobs
from db.base import utcnow
from db.enums import Role
from db.models import PasswordResetToken, User
from tests import factories as f


def test_housekeeping_clears_what_has_elapsed_in_one_transaction(fresh_database, caplog):
    rt = runtime.start(url=fresh_database())
    try:
        now = utcnow()
        with rt() as s:
            locked, live = (f.user(s, f.account(s), role=Role.editor) for _ in range(2))
            locked.locked_until, live.locked_until = now - timedelta(minutes=1), now + timedelta(hours=1)
            s.add_all([PasswordResetToken(account_id=u.account_id, user_id=u.id, token_hash=f"h{u.id}-{n}",
                                          expires_at=now + delta)
                       for n, (u, delta) in enumerate([(locked, -timedelta(hours=1)), (live, timedelta(hours=1))])])
            s.flush()
            locked_id, live_id = locked.id, live.id
        with caplog.at_level(logging.INFO, logger="igny8.scheduler"):
            identity_jobs.housekeeping(rt)
        assert [r.getMessage() for r in caplog.records] == ["housekeeping {'expired_tokens': 1, 'locks_cleared': 1}"]
        with rt() as s:
            assert s.get(User, locked_id).locked_until is None and s.get(User, live_id).locked_until is not None
            assert s.scalars(select(PasswordResetToken.user_id)).all() == [live_id]
    finally:
        rt.engine.dispose()
