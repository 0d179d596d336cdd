"""Login: argon2 password hashes, a growing lockout after failed attempts, session expiry, the first owner."""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.common.text import clean_email
from core.config import settings
from core.errors import AuthenticationFailed, ValidationFailed
from db.base import utcnow
from db.enums import AccountStatus, Role
from db.models import Account, User

# The one hasher; a test may replace it with a subclass that counts its work (same parameters, real hashing).
hasher = PasswordHasher()
MIN_PASSWORD = 10
BAD_CREDENTIALS = "Wrong e-mail or password."


@functools.cache
def _dummy_hash() -> str:
    # Made on first use, not at import: every CLI and scheduler start would otherwise pay for it.
    return hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of a password that meets the policy."""
    check_password_policy(password)
    return hasher.hash(password)


def check_password_policy(password: str) -> None:
    """At least 10 characters, not all the same kind, at most 256."""
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"The password needs at least {MIN_PASSWORD} characters.")
    if len(password) > 256:
        raise ValidationFailed("The password is too long (at most 256 characters).")
    if password.isdigit() or password.isalpha():
        raise ValidationFailed("The password needs both letters and digits or symbols.")


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class Outcome(StrEnum):
    """Why a login ended so: for logs and tests; the person sees only the message."""

    ok = "ok"
    unknown = "unknown"
    wrong = "wrong"
    locked = "locked"
    inactive = "inactive"
    closed = "closed"


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str = ""
    outcome: Outcome = Outcome.ok

    @property
    def ok(self) -> bool:
        return self.user is not None


def lockout_seconds(failed: int) -> int:
    """How long an account stays locked after `failed` consecutive failures (doubling, capped)."""
    s = settings()
    if failed < s.lockout_threshold:
        return 0
    return min(s.lockout_base_seconds * 2 ** (failed - s.lockout_threshold), s.lockout_max_seconds)


def login(session: Session, *, email: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check credentials; failures are counted (the caller commits them) and lock the user for a growing delay."""
    # Unknown e-mail, wrong password and a locked user read alike and cost one argon2 verification each.
    now = now or utcnow()
    password = password or ""
    user = session.scalars(select(User).where(User.email == (email or "").strip().lower())
                           .execution_options(populate_existing=True)).one_or_none()
    if user is None:
        _verify(_dummy_hash(), password)  # same work as a real check: no user enumeration by timing
        return _refused(Outcome.unknown)
    right = _verify(user.password_hash, password)  # also when locked: the same work on every path
    if user.locked_until is not None and user.locked_until > now:
        return _refused(Outcome.locked)  # even with the right password, and without a hint
    if not right:
        return _refused(_count_failure(session, user, now))
    if not user.is_active:
        return LoginResult(None, "This user is deactivated. Ask an admin.", Outcome.inactive)
    if user.role != Role.developer and not _account_open(session, user.account_id):
        return LoginResult(None, "This account is suspended or cancelled. Contact support.", Outcome.closed)
    if _set_unless_locked(session, user, now, failed_logins=0, locked_until=None, last_login_at=now) is None:
        return _refused(Outcome.locked)  # a concurrent attempt locked the user after the check above
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        session.flush()
    return LoginResult(user, "", Outcome.ok)


def _refused(outcome: Outcome) -> LoginResult:
    """A refusal that reads the same whatever its reason (unknown e-mail, wrong password, locked)."""
    return LoginResult(None, BAD_CREDENTIALS, outcome)


def _count_failure(session: Session, user: User, now: datetime) -> Outcome:
    """Count a failure in SQL and lock the user from the count the database returns."""
    counted = _set_unless_locked(session, user, now, failed_logins=User.failed_logins + 1)
    if counted is None:
        return Outcome.locked  # another attempt locked the user meanwhile: this one is not counted
    delay = lockout_seconds(counted["failed_logins"])
    if delay:  # the row is ours until commit: no other attempt decides in between
        _set_unless_locked(session, user, now, locked_until=now + timedelta(seconds=delay))
    return Outcome.wrong


def _set_unless_locked(session: Session, user: User, now: datetime, **values: Any) -> dict[str, Any] | None:
    """UPDATE the user's row unless it is locked at `now`; the values it now holds, or None when locked."""
    # The database decides under the row lock (a waiting UPDATE re-reads the row on PostgreSQL): one user's
    # concurrent attempts are serialised here, not during the argon2 check, and other users never wait.
    stmt = (update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
            .values(**values).returning(*(getattr(User, name) for name in values))
            .execution_options(synchronize_session=False))  # evaluating `+ 1` in Python would use a stale value
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    written = dict(zip(values, row, strict=True))
    for name, value in written.items():
        set_committed_value(user, name, value)
    return written


def bump_session_version(session: Session, user: User) -> int:
    """End the user's open sessions: the version goes up in SQL, so concurrent bumps are never lost."""
    version = session.execute(update(User).where(User.id == user.id)
                              .values(session_version=User.session_version + 1).returning(User.session_version)
                              .execution_options(synchronize_session=False)).scalar_one()
    set_committed_value(user, "session_version", version)
    return version


def _account_open(session: Session, account_id: int | None) -> bool:
    account = session.get(Account, account_id) if account_id is not None else None
    return account is not None and account.status not in (AccountStatus.suspended, AccountStatus.cancelled)


@dataclass(frozen=True)
class SessionTicket:
    """What a browser session keeps after login (server-side, in Streamlit's session state)."""

    user_id: int
    session_version: int
    issued_at: datetime
    last_seen_at: datetime


def issue_ticket(user: User, *, now: datetime | None = None) -> SessionTicket:
    """A new session for a user who just logged in."""
    now = now or utcnow()
    return SessionTicket(user.id, user.session_version, now, now)


def resume(session: Session, ticket: SessionTicket, *, now: datetime | None = None) -> tuple[User, SessionTicket]:
    """The user behind a live session, and the ticket refreshed; expired or revoked sessions raise."""
    now = now or utcnow()
    s = settings()
    if now - ticket.issued_at > timedelta(minutes=s.session_ttl_minutes):
        raise AuthenticationFailed("Your session has expired. Please log in again.")
    if now - ticket.last_seen_at > timedelta(minutes=s.session_idle_minutes):
        raise AuthenticationFailed("You were logged out after a period of inactivity. Please log in again.")
    user = session.get(User, ticket.user_id)
    if user is None or not user.is_active or user.session_version != ticket.session_version:
        raise AuthenticationFailed("Your session is no longer valid. Please log in again.")
    if user.role != Role.developer and not _account_open(session, user.account_id):
        raise AuthenticationFailed("This account is suspended or cancelled. Contact support.")
    return user, SessionTicket(ticket.user_id, ticket.session_version, ticket.issued_at, now)


def end_session(session: Session, ticket: SessionTicket) -> bool:
    """Log out: the user's session version goes up (in SQL, only from the ticket's own version), so this login's
    ticket and cookie token are refused from now on, and so are the user's logins in other browsers (a token
    cannot be revoked alone). False when the session had ended already."""
    ended = session.execute(update(User).where(User.id == ticket.user_id,
                                               User.session_version == ticket.session_version)
                            .values(session_version=User.session_version + 1).returning(User.session_version)
                            .execution_options(synchronize_session=False)).scalar_one_or_none()
    user = session.get(User, ticket.user_id) if ended is not None else None
    if user is not None:
        set_committed_value(user, "session_version", ended)
    return ended is not None


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Set a new password after checking the current one; other sessions of the user end."""
    if not _verify(user.password_hash, current or ""):
        raise ValidationFailed("The current password is wrong.")
    user.password_hash = hash_password(new)
    session.flush()
    bump_session_version(session, user)


def generate_password() -> str:
    """A random password that meets the policy (for the first owner and admin resets)."""
    return secrets.token_urlsafe(12) + "7a"


@dataclass(frozen=True)
class FirstOwner:
    email: str
    generated_password: str | None  # shown once when no password was configured


def ensure_first_owner(session: Session, *, email: str | None, password: str | None) -> FirstOwner | None:
    """On an empty database, create the system account (the team running the dashboard: its owners and admins
    administer the platform) and its owner (from the environment, or with a generated password)."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    from core.identity import accounts  # late import: accounts builds on auth

    address = clean_email(email or "owner@igny8.local")
    generated = None if password else generate_password()
    account = accounts.create_account_record(session, name="My Agency", plan_slug="agency",
                                             status=AccountStatus.active, is_system=True)
    user = User(account_id=account.id, email=address, password_hash=hash_password(password or generated),
                role=Role.owner, first_name="Owner")
    session.add(user)
    session.flush()
    account.owner_id = user.id
    session.flush()
    return FirstOwner(address, generated)
