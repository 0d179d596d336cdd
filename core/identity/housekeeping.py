"""Housekeeping the scheduler runs: expired reset tokens go, elapsed login locks are cleared."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from db.base import utcnow
from db.models import PasswordResetToken, User


def run(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """One pass; returns what it changed (for the scheduler's log)."""
    now = now or utcnow()
    tokens = session.execute(delete(PasswordResetToken).where(PasswordResetToken.expires_at < now)).rowcount
    unlocked = session.execute(update(User).where(User.locked_until.is_not(None), User.locked_until < now)
                               .values(locked_until=None)).rowcount
    return {"expired_tokens": tokens or 0, "locks_cleared": unlocked or 0}
