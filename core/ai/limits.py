"""Process-wide limits per provider: concurrent calls (a semaphore) and requests per minute (a sliding window).

Every attempt, retries included, passes through `slot()`, so a burst of retries cannot exceed the provider's
rate either. The limits live in this process only: the app and each scheduler process have their own.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

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


_registry: dict[str, ProviderLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(provider_id: str, config: dict) -> ProviderLimiter:
    """The process's limiter of a provider; rebuilt when an admin changed its limits (calls in flight keep
    the old one until they finish)."""
    limits = Limits.from_config(config)
    with _registry_lock:
        current = _registry.get(provider_id)
        if current is None or current.limits != limits:
            current = _registry[provider_id] = ProviderLimiter(limits)
        return current
