"""Full-jitter backoff, reconnect delays (auth failures back off long) and retry deadlines."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.flow import ReconnectBackoff, RetrySchedule, backoff_ceiling, full_jitter

rands = st.floats(0.0, 1.0, exclude_max=True)
durations = st.floats(0.001, 3600.0)
attempts = st.integers(0, 5000)


@given(attempt=attempts, initial=durations, cap=durations, rand=rands)
def test_full_jitter_is_within_zero_and_the_capped_ceiling(
    attempt: int, initial: float, cap: float, rand: float
) -> None:
    delay = full_jitter(attempt, initial_s=initial, max_s=cap, rand=rand)
    ceiling = backoff_ceiling(attempt, initial_s=initial, max_s=cap)
    assert 0.0 <= delay <= ceiling <= cap
    assert ceiling == min(cap, initial * 2.0 ** min(attempt, 1023))
    assert math.isfinite(delay)


@given(initial=durations, cap=durations, attempts=st.lists(attempts, min_size=2, max_size=20))
def test_ceiling_is_monotone_and_reaches_the_cap(
    initial: float, cap: float, attempts: list[int]
) -> None:
    ceilings = [backoff_ceiling(a, initial_s=initial, max_s=cap) for a in sorted(attempts)]
    assert ceilings == sorted(ceilings)
    assert backoff_ceiling(10_000, initial_s=initial, max_s=cap) == cap


@given(attempt=attempts, initial=durations, cap=durations, low=rands, high=rands)
def test_full_jitter_is_monotone_in_rand(
    attempt: int, initial: float, cap: float, low: float, high: float
) -> None:
    low, high = min(low, high), max(low, high)
    a = full_jitter(attempt, initial_s=initial, max_s=cap, rand=low)
    b = full_jitter(attempt, initial_s=initial, max_s=cap, rand=high)
    assert a <= b


def test_full_jitter_fixed_values() -> None:
    assert full_jitter(0, initial_s=1.0, max_s=60.0, rand=0.5) == 0.5
    assert full_jitter(3, initial_s=1.0, max_s=60.0, rand=0.5) == 4.0
    assert full_jitter(10, initial_s=1.0, max_s=60.0, rand=0.5) == 30.0
    assert full_jitter(10**9, initial_s=1.0, max_s=60.0, rand=0.25) == 15.0
    assert full_jitter(4, initial_s=1.0, max_s=60.0, rand=0.0) == 0.0


@pytest.mark.parametrize("rand", [-0.1, 1.5, math.nan])
def test_full_jitter_rejects_rand_outside_unit_interval(rand: float) -> None:
    with pytest.raises(ValueError, match="rand"):
        full_jitter(0, initial_s=1.0, max_s=2.0, rand=rand)


def test_backoff_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_ceiling(-1, initial_s=1.0, max_s=2.0)
    with pytest.raises(ValueError, match="initial_s"):
        backoff_ceiling(0, initial_s=-1.0, max_s=2.0)
    with pytest.raises(ValueError, match="max_s"):
        backoff_ceiling(0, initial_s=1.0, max_s=math.inf)
    with pytest.raises(ValueError, match="max_s"):
        ReconnectBackoff(5.0, 1.0, 60.0)
    with pytest.raises(ValueError, match="auth_failure_s"):
        ReconnectBackoff(1.0, 5.0, -1.0)
    with pytest.raises(ValueError, match="max_s"):
        RetrySchedule(60.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="deadline_s"):
        RetrySchedule(-1.0, 1.0, 5.0)


# -- reconnects ---------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    initial=st.floats(0.01, 10.0),
    extra=st.floats(0.0, 600.0),
    auth=st.floats(0.0, 900.0),
    failures=st.lists(st.tuples(rands, st.booleans(), st.booleans()), max_size=40),
)
def test_reconnect_delays_are_bounded_and_auth_failures_back_off_long(
    initial: float, extra: float, auth: float, failures: list[tuple[float, bool, bool]]
) -> None:
    cap = initial + extra
    backoff = ReconnectBackoff(initial, cap, auth)
    attempt = 0
    for rand, auth_failure, bound in failures:
        ceiling = backoff.ceiling()
        assert ceiling == backoff_ceiling(attempt, initial_s=initial, max_s=cap) <= cap
        delay = backoff.next_delay(rand, auth_failure=auth_failure)
        attempt += 1
        assert backoff.attempt == attempt
        if auth_failure:
            assert auth <= delay <= auth + ceiling
        else:
            assert 0.0 <= delay <= ceiling
        if bound:  # a successful bind
            backoff.reset()
            attempt = 0
            assert backoff.ceiling() == initial


def test_reconnect_delays_grow_then_cap_and_reset_after_a_bind() -> None:
    backoff = ReconnectBackoff(1.0, 30.0, 120.0)
    delays = [backoff.next_delay(0.999) for _ in range(8)]
    assert delays == sorted(delays)
    assert delays[0] == pytest.approx(0.999)
    assert delays[-1] == pytest.approx(0.999 * 30.0)
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay(0.999) == pytest.approx(0.999)


def test_auth_failure_never_hammers() -> None:
    backoff = ReconnectBackoff(0.5, 30.0, 60.0)
    assert backoff.next_delay(0.0, auth_failure=True) == 60.0
    assert backoff.next_delay(0.5, auth_failure=True) == pytest.approx(60.5)


# -- retry deadlines ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    deadline=st.floats(0.0, 3600.0),
    initial=st.floats(0.01, 10.0),
    extra=st.floats(0.0, 300.0),
    first_at=st.floats(0.0, 1e6),
    elapsed=st.floats(0.0, 4000.0),
    attempt=st.integers(1, 100),
    rand=rands,
    expires_in=st.one_of(st.none(), st.floats(-100.0, 4000.0)),
)
def test_retry_schedule_respects_deadline_and_expiry(
    deadline: float,
    initial: float,
    extra: float,
    first_at: float,
    elapsed: float,
    attempt: int,
    rand: float,
    expires_in: float | None,
) -> None:
    schedule = RetrySchedule(deadline, initial, initial + extra)
    now = first_at + elapsed
    expires_at = None if expires_in is None else first_at + expires_in
    at = schedule.next_retry_at(first_at, attempt, now, rand, expires_at=expires_at)
    delay = full_jitter(attempt - 1, initial_s=initial, max_s=initial + extra, rand=rand)
    limit = first_at + deadline if expires_at is None else min(first_at + deadline, expires_at)
    assert schedule.deadline(first_at, expires_at=expires_at) == limit
    if now + delay > limit:
        assert at is None
    else:
        assert at == now + delay
        assert now <= at <= first_at + deadline
        assert expires_at is None or at <= expires_at


def test_retry_schedule_fixed_cases() -> None:
    schedule = RetrySchedule(60.0, 1.0, 16.0)
    assert schedule.next_retry_at(100.0, 1, 101.0, 0.5) == 101.5
    assert schedule.next_retry_at(100.0, 4, 110.0, 0.5) == 114.0
    assert schedule.next_retry_at(100.0, 9, 150.0, 0.5) == 158.0
    assert schedule.next_retry_at(100.0, 9, 155.0, 0.5) is None  # 163 > 160: exhausted
    assert schedule.next_retry_at(100.0, 1, 161.0, 0.0) is None  # already past the deadline
    assert schedule.next_retry_at(100.0, 1, 101.0, 0.5, expires_at=101.2) is None
    assert schedule.next_retry_at(100.0, 1, 101.0, 0.5, expires_at=101.5) == 101.5
    with pytest.raises(ValueError, match="attempt"):
        schedule.next_retry_at(100.0, 0, 100.0, 0.5)
