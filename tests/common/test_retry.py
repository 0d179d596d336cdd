"""The shared retry policy with no network: backoff and jitter, config bounds, Retry-After forms, and the loop."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from core.common import retry
from core.common.retry import Fault, RetryPolicy


class Clock:
    """Fake time: each attempt takes `work` seconds, each sleep moves the clock on; sleeps are recorded."""

    def __init__(self, work: float = 0.0):
        self.now, self.work, self.sleeps = 100.0, work, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class GaveUp(Exception):
    def __init__(self, fault: Fault, attempts: int, elapsed: float, reason: str):
        super().__init__(reason)
        self.fault, self.attempts, self.elapsed, self.reason = fault, attempts, elapsed, reason


def failing(clock: Clock, faults: list[Exception], result: str = "done"):
    """An attempt that raises each of `faults` in turn, then returns `result`; counts its calls."""
    calls = []

    def attempt() -> str:
        calls.append(clock.now)
        clock.now += clock.work
        if len(calls) <= len(faults):
            raise faults[len(calls) - 1]
        return result

    return attempt, calls


def by_message(exc: Exception) -> Fault:
    """The test's classifier: 'retry', 'retry after N', 'stop'; anything else is re-raised."""
    text = str(exc)
    if text == "retry":
        return Fault(kind="flaky")
    if text.startswith("retry after "):
        return Fault(retry_after=float(text.removeprefix("retry after ")), kind="slow_down")
    if text == "stop":
        return Fault(retryable=False, kind="refused")
    raise exc


def run(attempt, clock: Clock, policy: RetryPolicy):
    return retry.run(attempt, policy=policy, classify=by_message, give_up=GaveUp, sleep=clock.sleep, clock=clock)


@pytest.fixture
def low(monkeypatch):
    """random.uniform(a, b) answers a: the fixed half of every jitter."""
    monkeypatch.setattr(random, "uniform", lambda a, b: a)


@pytest.fixture
def high(monkeypatch):
    """random.uniform(a, b) answers b: the largest jitter."""
    monkeypatch.setattr(random, "uniform", lambda a, b: b)


# --- the policy ---------------------------------------------------------------------------------------------------

def test_backoff_doubles_from_the_base_up_to_the_cap_with_the_lowest_jitter(low):
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=20.0)
    assert [policy.backoff(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_with_the_highest_jitter_is_the_whole_step(high):
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=20.0)
    assert [policy.backoff(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]


def test_backoff_jitter_stays_in_the_upper_half_of_the_step():
    policy = RetryPolicy(backoff_base_s=2.0, backoff_max_s=20.0)
    third = [policy.backoff(3) for _ in range(500)]  # step 8 s
    assert all(4.0 <= d <= 8.0 for d in third)
    assert max(third) - min(third) > 1.0  # really random, not a constant


def test_zero_base_means_no_pause():
    assert RetryPolicy(backoff_base_s=0.0).backoff(3) == 0.0


def test_delay_honours_retry_after_with_at_most_ten_percent_more(low):
    assert RetryPolicy().delay(1, 3.0) == 3.0
    assert RetryPolicy().delay(1, None) == 0.5  # no Retry-After: the backoff


def test_delay_retry_after_upper_jitter(high):
    assert RetryPolicy().delay(4, 10.0) == pytest.approx(11.0)
    assert all(5.0 <= RetryPolicy().delay(1, 5.0) <= 5.5 for _ in range(10))


def test_retry_after_jitter_is_random_between_one_and_one_point_one():
    delays = [RetryPolicy().delay(2, 10.0) for _ in range(500)]
    assert all(10.0 <= d <= 11.0 for d in delays) and max(delays) - min(delays) > 0.1


def test_defaults():
    assert RetryPolicy() == RetryPolicy(attempts=4, timeout_s=60.0, backoff_base_s=1.0, backoff_max_s=20.0,
                                        max_retry_after_s=60.0)
    assert RetryPolicy.from_config({}) == RetryPolicy()


def test_from_config_reads_every_key():
    policy = RetryPolicy.from_config({"max_attempts": "3", "timeout_s": 0.3, "backoff_base_s": 0.01,
                                      "backoff_max_s": 0.05, "max_retry_after_s": 120})
    assert policy == RetryPolicy(attempts=3, timeout_s=0.3, backoff_base_s=0.01, backoff_max_s=0.05,
                                 max_retry_after_s=120.0)


@pytest.mark.parametrize("key, value, field, expected", [
    ("max_attempts", 0, "attempts", 4), ("max_attempts", 11, "attempts", 4), ("max_attempts", 10, "attempts", 10),
    ("max_attempts", 1, "attempts", 1), ("max_attempts", 2.7, "attempts", 2),
    ("timeout_s", 0.01, "timeout_s", 60.0), ("timeout_s", 601, "timeout_s", 60.0), ("timeout_s", 0.05, "timeout_s", 0.05),
    ("backoff_base_s", -1, "backoff_base_s", 1.0), ("backoff_base_s", 61, "backoff_base_s", 1.0),
    ("backoff_base_s", 0, "backoff_base_s", 0.0),
    ("backoff_max_s", 301, "backoff_max_s", 20.0), ("backoff_max_s", 300, "backoff_max_s", 300.0),
    ("max_retry_after_s", 3601, "max_retry_after_s", 60.0), ("max_retry_after_s", 0, "max_retry_after_s", 0.0),
    ("timeout_s", "soon", "timeout_s", 60.0), ("max_attempts", None, "attempts", 4),
    ("backoff_max_s", [1], "backoff_max_s", 20.0),
])
def test_from_config_falls_back_to_the_default_out_of_range(key, value, field, expected):
    assert getattr(RetryPolicy.from_config({key: value}), field) == expected


@pytest.mark.parametrize("status, retryable", [
    (408, True), (409, True), (429, True), (500, True), (503, True), (599, True),
    (200, False), (400, False), (401, False), (403, False), (404, False), (422, False), (600, False), (None, False),
])
def test_retryable_statuses(status, retryable):
    assert retry.is_retryable_status(status) is retryable


# --- Retry-After --------------------------------------------------------------------------------------------------

def test_retry_after_seconds():
    assert retry.retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry.retry_after_seconds({"retry-after": "2.5"}) == 2.5  # any mapping with .get
    assert retry.retry_after_seconds(httpx.Headers({"Retry-After": "-5"})) == 0.0


def test_retry_after_ms_wins_over_seconds():
    assert retry.retry_after_seconds(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry.retry_after_seconds(httpx.Headers({"retry-after-ms": "-20"})) == 0.0


def test_garbage_retry_after_ms_falls_back_to_retry_after():
    assert retry.retry_after_seconds(httpx.Headers({"retry-after-ms": "soon", "retry-after": "4"})) == 4.0
    assert retry.retry_after_seconds(httpx.Headers({"retry-after-ms": "soon"})) is None


def test_retry_after_http_date():
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry.retry_after_seconds(httpx.Headers({"retry-after": future})) <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry.retry_after_seconds(httpx.Headers({"retry-after": past})) == 0.0


@pytest.mark.parametrize("headers", [
    httpx.Headers({"retry-after": "soon"}), httpx.Headers({"retry-after": ""}), httpx.Headers({}),
    httpx.Headers({"retry-after": "Mon, 99 Foo 2024 25:61:00"}), None, "retry-after: 3", 42,
])
def test_retry_after_garbage_is_none(headers):
    assert retry.retry_after_seconds(headers) is None


# --- the loop -----------------------------------------------------------------------------------------------------

def test_first_success_returns_at_once():
    clock = Clock()
    attempt, calls = failing(clock, [])
    assert run(attempt, clock, RetryPolicy()) == ("done", 1)
    assert clock.sleeps == [] and len(calls) == 1


def test_retries_then_succeeds_with_backoff_between_attempts(low):
    clock = Clock()
    attempt, calls = failing(clock, [RuntimeError("retry"), RuntimeError("retry")])
    assert run(attempt, clock, RetryPolicy(attempts=4, backoff_base_s=1.0)) == ("done", 3)
    assert clock.sleeps == [0.5, 1.0] and calls == [100.0, 100.5, 101.5]


def test_gives_up_after_the_last_attempt_with_attempts_and_elapsed(low):
    clock = Clock(work=2.0)
    attempt, calls = failing(clock, [RuntimeError("retry")] * 5)
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=3, backoff_base_s=1.0))
    # three attempts of 2 s each and the two pauses between them (0.5 s, 1 s); no pause after the last
    assert (info.value.attempts, info.value.elapsed, info.value.reason) == (3, 7.5, "exhausted")
    assert info.value.fault == Fault(kind="flaky") and clock.sleeps == [0.5, 1.0] and len(calls) == 3


def test_one_attempt_means_no_retry():
    clock = Clock(work=0.25)
    attempt, calls = failing(clock, [RuntimeError("retry")])
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=1))
    assert (info.value.attempts, info.value.elapsed, info.value.reason) == (1, 0.25, "exhausted")
    assert clock.sleeps == [] and len(calls) == 1


def test_a_fault_not_retryable_stops_at_once():
    clock = Clock(work=1.5)
    boom = RuntimeError("stop")
    attempt, calls = failing(clock, [RuntimeError("retry"), boom])
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=4, backoff_base_s=0.0))
    assert (info.value.attempts, info.value.elapsed, info.value.reason) == (2, 3.0, "not_retryable")
    assert info.value.__cause__ is boom and len(calls) == 2 and clock.sleeps == [0.0]


def test_what_the_classifier_reraises_goes_up_unchanged():
    clock = Clock()
    bug = KeyError("not a service fault")
    attempt, calls = failing(clock, [bug])
    with pytest.raises(KeyError) as info:
        run(attempt, clock, RetryPolicy())
    assert info.value is bug and len(calls) == 1 and clock.sleeps == []


def test_retry_after_is_honoured_instead_of_the_backoff(low):
    clock = Clock()
    attempt, _ = failing(clock, [RuntimeError("retry after 7"), RuntimeError("retry"), RuntimeError("retry after 0")])
    assert run(attempt, clock, RetryPolicy(attempts=4, backoff_base_s=1.0)) == ("done", 4)
    assert clock.sleeps == [7.0, 1.0, 0.0]


def test_retry_after_gets_up_to_ten_percent_more(high):
    clock = Clock()
    attempt, _ = failing(clock, [RuntimeError("retry after 20")])
    assert run(attempt, clock, RetryPolicy()) == ("done", 2)
    assert clock.sleeps == [pytest.approx(22.0)]


def test_a_retry_after_at_our_limit_is_waited_for(low):
    clock = Clock()
    attempt, _ = failing(clock, [RuntimeError("retry after 60")])
    assert run(attempt, clock, RetryPolicy(max_retry_after_s=60.0)) == ("done", 2)
    assert clock.sleeps == [60.0]


def test_a_retry_after_beyond_our_patience_gives_up_without_waiting():
    clock = Clock(work=0.5)
    attempt, calls = failing(clock, [RuntimeError("retry after 3600")])
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=4, max_retry_after_s=60.0))
    assert (info.value.attempts, info.value.elapsed, info.value.reason) == (1, 0.5, "wait_too_long")
    assert info.value.fault.retry_after == 3600.0 and clock.sleeps == [] and len(calls) == 1


def test_on_the_last_attempt_a_long_retry_after_counts_as_attempts_used_up():
    clock = Clock()
    attempt, _ = failing(clock, [RuntimeError("retry"), RuntimeError("retry after 3600")])
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=2, backoff_base_s=0.0))
    assert (info.value.attempts, info.value.reason) == (2, "exhausted")


def test_elapsed_counts_from_before_the_first_attempt_to_after_the_last(low):
    clock = Clock(work=10.0)
    attempt, _ = failing(clock, [RuntimeError("retry after 5")] * 4)
    with pytest.raises(GaveUp) as info:
        run(attempt, clock, RetryPolicy(attempts=4))
    assert info.value.elapsed == 55.0 and clock.sleeps == [5.0, 5.0, 5.0]  # 4 × 10 s of work, 3 × 5 s of waiting


def test_sleep_and_clock_default_to_the_time_module_looked_up_when_called(monkeypatch, low):
    clock = Clock()
    monkeypatch.setattr(retry.time, "sleep", clock.sleep)
    monkeypatch.setattr(retry.time, "monotonic", clock)
    attempt, _ = failing(clock, [RuntimeError("retry")])
    assert retry.run(attempt, policy=RetryPolicy(backoff_base_s=4.0), classify=by_message, give_up=GaveUp) == (
        "done", 2)
    assert clock.sleeps == [2.0]
