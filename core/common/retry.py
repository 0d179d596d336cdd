"""The one retry policy of every outside service (the AI client, the WordPress adapter): attempts, backoff with
equal jitter, Retry-After honoured with a little jitter, and a loop that asks the caller what a failure means.

The loop knows nothing of any provider: the caller's `classify` sorts an exception into a `Fault` (or re-raises what
is not a service fault) and its `give_up` builds the exception a person reads when we stop.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, TypeVar

T = TypeVar("T")
# Worth another try: request timeout, conflict, too many requests, and any server error.
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
# Why the loop stopped: attempts used up, the service asks for a pause beyond our patience, or a fault retrying
# cannot fix.
Reason = Literal["exhausted", "wait_too_long", "not_retryable"]


def is_retryable_status(status: int | None) -> bool:
    """Whether an HTTP status is worth another try (408, 409, 429, 5xx)."""
    return status in RETRY_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    """How hard we try: attempts in all, per-request timeout, exponential backoff with jitter."""

    attempts: int = 4
    timeout_s: float = 60.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 20.0
    max_retry_after_s: float = 60.0  # a service asking for a longer pause makes us give up at once

    @classmethod
    def from_config(cls, config: dict) -> RetryPolicy:
        """The policy of a service (config keys max_attempts, timeout_s, backoff_base_s, backoff_max_s,
        max_retry_after_s); values out of range fall back to the defaults."""
        d = cls()

        def num(key: str, default: float, low: float, high: float) -> float:
            try:
                value = float(config.get(key, default))
            except (TypeError, ValueError):
                return default
            return value if low <= value <= high else default

        return cls(int(num("max_attempts", d.attempts, 1, 10)), num("timeout_s", d.timeout_s, 0.05, 600),
                   num("backoff_base_s", d.backoff_base_s, 0, 60), num("backoff_max_s", d.backoff_max_s, 0, 300),
                   num("max_retry_after_s", d.max_retry_after_s, 0, 3600))

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        step = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The pause after a failed attempt: the service's Retry-After plus up to 10 % (so that clients told the
        same pause do not come back at once together), else our backoff."""
        return self.backoff(attempt) if retry_after is None else retry_after * random.uniform(1, 1.1)


@dataclass(frozen=True)
class Fault:
    """What one failed attempt means: whether to try again, the pause the service asked for, and what the caller
    needs to say what happened (a kind, an HTTP status, a detail)."""

    retryable: bool = True
    retry_after: float | None = None
    kind: str = ""
    status: int | None = None
    detail: str = ""


def retry_after_seconds(headers: object) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    ms = get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def run(attempt: Callable[[], T], *, policy: RetryPolicy, classify: Callable[[Exception], Fault],
        give_up: Callable[[Fault, int, float, Reason], Exception], sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None) -> tuple[T, int]:
    """Call `attempt` until it returns, at most `policy.attempts` times; returns (result, attempts used).

    `classify` sorts each exception into a Fault, or raises (that exception then goes up unchanged). On a fault not
    retryable, when attempts are used up, or when the service asks for a pause over `policy.max_retry_after_s`,
    raises `give_up(fault, attempts, seconds elapsed since the first attempt, reason)`. `sleep` and `clock` are
    looked up when called (time.sleep, time.monotonic) unless given."""
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    started = clock()
    for number in range(1, policy.attempts + 1):
        try:
            return attempt(), number
        except Exception as exc:  # noqa: BLE001 - classify re-raises what is not a service fault
            fault = classify(exc)
            if not fault.retryable:
                raise give_up(fault, number, clock() - started, "not_retryable") from exc
        elapsed = clock() - started
        if number == policy.attempts:
            raise give_up(fault, number, elapsed, "exhausted")
        if fault.retry_after is not None and fault.retry_after > policy.max_retry_after_s:
            raise give_up(fault, number, elapsed, "wait_too_long")
        sleep(policy.delay(number, fault.retry_after))
    raise AssertionError("unreachable")
