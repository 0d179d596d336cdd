"""Login: argon2 password hashes, a growing lockout after failed attempts, session expiry, the first owner."""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.common.text import clean_email
from core.config import settings
from core.errors import AuthenticationFailed, ValidationFailed
from db.base import utcnow
from db.enums import AccountStatus, Role
from db.models import Account, User

_hasher = PasswordHasher()
MIN_PASSWORD = 10
BAD_CREDENTIALS = "Wrong e-mail or password."


@functools.cache
def _dummy_hash() -> str:
    # Made on first use, not at import: every CLI and scheduler start would otherwise pay for it.
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of a password that meets the policy."""
    check_password_policy(password)
    return _hasher.hash(password)


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
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str = ""

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
    now = now or utcnow()
    user = session.scalars(select(User).where(User.email == (email or "").strip().lower())).one_or_none()
    if user is None:
        _verify(_dummy_hash(), password or "")  # same work as a real check: no user enumeration by timing
        return LoginResult(None, BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        return LoginResult(None, f"Too many failed attempts. Try again in {wait} seconds.")
    if not _verify(user.password_hash, password or ""):
        user.failed_logins += 1
        delay = lockout_seconds(user.failed_logins)
        user.locked_until = now + timedelta(seconds=delay) if delay else None
        session.flush()
        if delay:
            return LoginResult(None, f"{BAD_CREDENTIALS} Too many failed attempts: locked for {delay} seconds.")
        return LoginResult(None, BAD_CREDENTIALS)
    if not user.is_active:
        return LoginResult(None, "This user is deactivated. Ask an admin.")
    if user.role != Role.developer and not _account_open(session, user.account_id):
        return LoginResult(None, "This account is suspended or cancelled. Contact support.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return LoginResult(user)


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


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Set a new password after checking the current one; other sessions of the user end."""
    if not _verify(user.password_hash, current or ""):
        raise ValidationFailed("The current password is wrong.")
    user.password_hash = hash_password(new)
    user.session_version += 1
    session.flush()


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
