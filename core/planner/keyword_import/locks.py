"""One import per account at a time: the plan's keyword limit is per account, and two merges into one sector would
lock its unique index in opposite orders (a deadlock).

PostgreSQL: a transaction-level advisory lock keyed on the account, taken before the import counts or reads
anything, held until the caller commits or rolls back. A second import waits for it up to `wait` seconds (then it
re-checks the plan and the sector's keywords under the lock); past that it is refused with a message.
SQLite: every write transaction begins IMMEDIATE, so imports (and all other writes) are serialised already; an
import that waits longer than the database's busy timeout (10 s) gets the same message instead of SQLite's
"database is locked".
Keywords added outside an import — by hand (keyword_edits.create_keyword) or from the library
(library.add_to_sector) — take the same turn (take_turn_to_add) and count against the same plan limit (plan_room).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import Conflict, LimitExceeded
from core.planner.keyword_import.report import ImportRejected
from db.models import Account, Keywords, Plan

LOCK_SPACE = 0x4B57  # the first key of our advisory locks: "KW", keyword imports
WAIT_SECONDS = 10.0  # PostgreSQL's wait by default; SQLite's busy timeout (db/session.py) is the same

BUSY = ("Another keyword import into this account is running, so this one did not start; nothing was imported. "
        "Try again when it finishes.")
SQLITE_BUSY = ("The database is busy with another write (most likely another keyword import), so this import did "
               "not start; nothing was imported. Try again when it finishes.")
ADDING_BUSY = ("A keyword import into this account is running, so {what} could not be added; nothing was added. "
               "Try again when it finishes.")
COLLIDED = ("The import collided with another change to this sector's keywords and was stopped; nothing was "
            "imported. Run it again.")


def take_turn(session: Session, account_id: int, *, wait: float = WAIT_SECONDS) -> None:
    """Hold the account's import lock until the caller's transaction ends (PostgreSQL; SQLite's write transaction
    already serialises); ImportRejected when another import holds it for longer than `wait` seconds."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = {"space": LOCK_SPACE, "key": int(account_id) % 2**31}
    with session.begin_nested():  # a lock wait that times out leaves the caller's transaction usable
        if wait <= 0:
            got = session.execute(text("SELECT pg_try_advisory_xact_lock(:space, :key)"), key).scalar_one()
        else:
            before = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
            session.execute(text("SELECT set_config('lock_timeout', :ms, true)"),
                            {"ms": f"{max(1, round(wait * 1000))}ms"})
            try:
                session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"), key)
            except sa_exc.OperationalError as exc:
                if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                    raise ImportRejected(BUSY) from None
                raise
            session.execute(text("SELECT set_config('lock_timeout', :before, true)"), {"before": before})
            got = True
    if not got:
        raise ImportRejected(BUSY)


def take_turn_to_add(session: Session, account_id: int, *, what: str) -> None:
    """take_turn for keywords added outside an import (by hand, from the library): a running import is waited for
    up to WAIT_SECONDS, then Conflict says that `what` could not be added."""
    try:
        take_turn(session, account_id, wait=WAIT_SECONDS)  # read now: the module's value at the time of the call
    except ImportRejected:
        raise Conflict(ADDING_BUSY.format(what=what)) from None


@dataclass(frozen=True)
class Room:
    """The account's plan and its live keywords, counted once the account's turn is held."""

    plan: str
    limit: int
    used: int

    def check(self, adding: int, *, what: str, done: str = "added") -> None:
        """LimitExceeded when `adding` more keywords (that `what` would add) pass the plan's limit."""
        if adding > 0 and self.used + adding > self.limit:
            raise LimitExceeded(f"Plan “{self.plan}” allows {self.limit:,} keywords; the account has {self.used:,} "
                                f"and {what} would add {adding:,}. Nothing was {done}: delete keywords or upgrade "
                                "the plan first.")


def plan_room(session: Session, account_id: int) -> Room | None:
    """The account's plan limit and live (not deleted) keywords; None when the account has no plan."""
    plan = session.execute(select(Plan.name, Plan.max_keywords).join(Account, Account.plan_id == Plan.id)
                           .where(Account.id == account_id)).first()
    if plan is None:
        return None
    used = session.scalar(select(func.count()).select_from(Keywords).where(
        Keywords.account_id == account_id, Keywords.deleted_at.is_(None))) or 0
    return Room(plan.name, plan.max_keywords, used)


def check_room(session: Session, account_id: int, *, adding: int, what: str) -> None:
    """Refuse (LimitExceeded) `adding` keywords that would pass the account's plan limit; hold the turn first."""
    room = plan_room(session, account_id)
    if room is not None:
        room.check(adding, what=what)


@contextmanager
def refused_when_busy() -> Iterator[None]:
    """SQLite's "database is locked" (a write waited past the busy timeout) and a PostgreSQL deadlock with some
    other change to the sector, as ImportRejected messages; the caller's transaction is rolled back as for any
    refused import."""
    try:
        yield
    except (sa_exc.OperationalError, psycopg.errors.DeadlockDetected) as exc:
        orig = getattr(exc, "orig", exc)  # the COPY's own cursor raises psycopg's errors unwrapped
        if isinstance(orig, psycopg.errors.DeadlockDetected):
            raise ImportRejected(COLLIDED) from None
        if "database is locked" in str(orig):
            raise ImportRejected(SQLITE_BUSY) from None
        raise
