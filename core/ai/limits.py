"""Limits per provider: concurrent calls and requests per minute (a sliding window).

Every attempt, retries included, passes through `slot()`, so a burst of retries cannot exceed the provider's
rate either. A connection made from a database that a runtime shared (`share(engine)`: the app, each scheduler
process and the CLI do) is limited in that database, so the limits hold across every process together: a call
holds one of the provider's `provider_slot` rows (a lease, freed when its holder dies) and its start is counted in
`provider_call`. A connection made by hand (tests of the client) is limited in this process only.
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from core.common import claim
from db.base import utcnow
from db.models import ProviderCall, ProviderSlot
from db.session import transaction

DEFAULT_CONCURRENCY = 4
DEFAULT_RPM = 60
N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Limits:
    max_concurrency: int = DEFAULT_CONCURRENCY
    rpm: int = DEFAULT_RPM
    window_s: float = 60.0  # the rate window; only tests shorten it

    @classmethod
    def from_config(cls, config: dict) -> Limits:
        """Limits from a provider's config JSON ({"max_concurrency": 4, "rpm": 60}); bad values fall back."""
        return cls(_clamped(config.get("max_concurrency"), int, DEFAULT_CONCURRENCY, 1, 256),
                   _clamped(config.get("rpm"), int, DEFAULT_RPM, 1, 1_000_000),
                   _clamped(config.get("rate_window_s"), float, 60.0, 0.01, 3600.0))


def _clamped(value: object, kind: Callable[[Any], N], default: N, low: N, high: N) -> N:
    """`value` as `kind`, kept within [low, high]; the default when it is missing or not a number."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


class ProviderLimiter:
    """Concurrency and rate limit of one provider."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_concurrency)
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()

    def _wait_for_rate(self) -> None:
        # Sliding window: at most `rpm` starts within any `window_s`; sleep (outside the lock) until the oldest
        # start leaves the window.
        while True:
            with self._lock:
                now = time.monotonic()
                while self._starts and self._starts[0] <= now - self.limits.window_s:
                    self._starts.popleft()
                if len(self._starts) < self.limits.rpm:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + self.limits.window_s - now
            time.sleep(max(wait, 0.001))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one concurrent-call slot, started within the rate limit, for the duration of one request."""
        self._slots.acquire()
        try:
            self._wait_for_rate()
            yield
        finally:
            self._slots.release()


SLOT_LEASE_MARGIN_S = 30.0  # a slot's lease outlasts the call's timeout by this much (then a dead holder's frees)
POLL_S = (0.02, 0.08)  # how long a caller waits before asking again for a full provider's slot (random in range)


class SharedLimiter:
    """A provider's limits kept in the database, so they hold across every process that uses it."""

    def __init__(self, provider_id: str, limits: Limits, factory: sessionmaker[Session], lease_s: float):
        self.provider_id, self.limits, self._factory = provider_id, limits, factory
        self._lease = timedelta(seconds=lease_s + SLOT_LEASE_MARGIN_S)
        self._made = False

    def _make_slots(self, session: Session) -> None:
        # Rows for slots 0..n-1 (an admin may raise the limit later: the missing rows are added then).
        rows = [{"provider_id": self.provider_id, "slot": n} for n in range(self.limits.max_concurrency)]
        dialect = session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(make(ProviderSlot).values(rows).on_conflict_do_nothing())

    def _try(self, holder: str) -> tuple[int | None, float]:
        """One short transaction: take a free slot within the rate, or say how long to wait."""
        with transaction(self._factory) as session:
            if not self._made:
                self._make_slots(session)
                self._made = True
            # The provider's slot 0 is its gate: holding its row lock serialises the check-and-take of every
            # process (on SQLite, BEGIN IMMEDIATE already does). The time is read once the lock is held, so a
            # process that waited for it does not record an earlier start than the one it waited behind.
            session.execute(select(ProviderSlot.slot).where(ProviderSlot.provider_id == self.provider_id,
                                                            ProviderSlot.slot == 0).with_for_update())
            now = utcnow()
            free = session.scalar(select(ProviderSlot.slot).where(
                ProviderSlot.provider_id == self.provider_id, ProviderSlot.slot < self.limits.max_concurrency,
                or_(ProviderSlot.holder.is_(None), ProviderSlot.lease_until < now)).order_by(ProviderSlot.slot)
                .limit(1))
            if free is None:
                return None, random.uniform(*POLL_S)
            since = now - timedelta(seconds=self.limits.window_s)
            started, oldest = session.execute(select(func.count(), func.min(ProviderCall.started_at)).where(
                ProviderCall.provider_id == self.provider_id, ProviderCall.started_at > since)).one()
            if started >= self.limits.rpm:
                return None, max((oldest - since).total_seconds(), 0.001)
            session.execute(update(ProviderSlot).where(ProviderSlot.provider_id == self.provider_id,
                                                       ProviderSlot.slot == free)
                            .values(holder=holder, lease_until=now + self._lease))
            session.execute(insert(ProviderCall).values(provider_id=self.provider_id, started_at=now))
            if random.random() < 0.05:  # now and then, forget starts that left the window
                session.execute(delete(ProviderCall).where(ProviderCall.provider_id == self.provider_id,
                                                           ProviderCall.started_at <= since))
            return free, 0.0

    def _release(self, slot: int, holder: str) -> None:
        with transaction(self._factory) as session:
            session.execute(update(ProviderSlot).where(
                ProviderSlot.provider_id == self.provider_id, ProviderSlot.slot == slot,
                ProviderSlot.holder == holder).values(holder=None, lease_until=None))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the provider's slots, shared by every process, for the duration of one request."""
        holder = claim.worker_id()
        while True:
            taken, wait = self._try(holder)
            if taken is not None:
                break
            time.sleep(wait)
        try:
            yield
        finally:
            self._release(taken, holder)


_registry: dict[tuple[str, int], ProviderLimiter | SharedLimiter] = {}
_registry_lock = threading.Lock()
_shared: dict[int, sessionmaker[Session]] = {}  # id(engine) → a session factory of the engine


def share(engine: Engine) -> None:
    """Keep the provider limits of connections made from this engine's database in that database."""
    with _registry_lock:
        _shared[id(engine)] = sessionmaker(engine, expire_on_commit=False)


def shared_engine(bind: Any) -> Engine | None:
    """The engine behind a session's bind when a runtime shared it (else None: limits stay in this process)."""
    engine = getattr(bind, "engine", bind)
    return engine if id(engine) in _shared else None


def limiter_for(provider_id: str, config: dict, engine: Engine | None = None,
                lease_s: float = 120.0) -> ProviderLimiter | SharedLimiter:
    """The limiter of a provider (kept in `engine`'s database when given); rebuilt when an admin changed its
    limits (calls in flight keep the old one until they finish)."""
    limits = Limits.from_config(config)
    key = (provider_id, id(engine) if engine is not None else 0)
    with _registry_lock:
        current = _registry.get(key)
        if current is None or current.limits != limits:
            factory = _shared.get(id(engine)) if engine is not None else None
            current = _registry[key] = (SharedLimiter(provider_id, limits, factory, lease_s) if factory is not None
                                        else ProviderLimiter(limits))
        return current
