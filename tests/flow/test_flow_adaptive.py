"""AdaptiveRate: multiplicative decrease, one event per burst, gradual capped recovery, pauses."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.flow import AdaptiveRate, AdaptiveSnapshot, backoff_ceiling


def non_decreasing(values: list[float]) -> bool:
    """Up to the rounding of `until - now`."""
    return all(b >= a - 1e-9 * max(1.0, abs(a)) for a, b in itertools.pairwise(values))


def make(tps: float = 100.0) -> AdaptiveRate:
    return AdaptiveRate(
        tps,
        min_fraction=0.1,
        decrease_factor=0.5,
        recovery_per_s=0.1,
        dedupe_s=0.25,
        throttle_backoff_initial_s=0.5,
        throttle_backoff_max_s=8.0,
    )


def test_starts_at_the_configured_rate_unpaused() -> None:
    rate = make()
    assert rate.rate(0.0) == 100.0
    assert not rate.paused(0.0)
    assert rate.paused_until == -math.inf
    assert rate.min_rate == pytest.approx(10.0)


def test_throttle_halves_the_rate_and_pauses() -> None:
    rate = make()
    until = rate.on_throttled(10.0, 0.5)
    assert until == pytest.approx(10.25)  # rand * initial = 0.5 * 0.5
    assert rate.paused(10.2)
    assert not rate.paused(10.25)
    assert rate.rate(10.0) == 50.0
    assert rate.rate(10.25) == 50.0  # recovery starts when the pause ends
    assert rate.throttle_events == 1
    assert rate.consecutive_throttles == 1


def test_a_burst_of_throttles_in_flight_counts_once() -> None:
    rate = make()
    first = rate.on_throttled(10.0, 0.9)
    for i in range(1, 50):  # every response of the window that was already in flight
        assert rate.on_throttled(10.0 + i * 0.005, 0.1) == first
    assert rate.rate(10.2) == 50.0
    assert rate.throttle_events == 1
    assert rate.throttled_responses == 50
    # The window does not slide: a carrier that keeps throttling counts again.
    rate.on_throttled(10.25, 0.0)
    assert rate.throttle_events == 2
    assert rate.rate(10.25) == 25.0


def test_recovery_is_gradual_capped_and_additive() -> None:
    rate = make()
    until = rate.on_throttled(0.0, 0.0)  # no pause: recovery starts at once
    assert until == 0.0
    assert rate.rate(0.0) == 50.0
    assert rate.rate(1.0) == pytest.approx(60.0)  # +10 % of configured per second
    assert rate.rate(2.5) == pytest.approx(75.0)
    assert rate.rate(5.0) == pytest.approx(100.0)
    assert rate.rate(500.0) == 100.0


def test_floor_is_respected() -> None:
    rate = make()
    for i in range(20):  # a throttle event every dedupe interval, no pause
        rate.on_throttled(i * 0.25, 0.0)
        assert rate.rate(i * 0.25) >= rate.min_rate
    assert rate.rate(19 * 0.25) == rate.min_rate


def test_pause_grows_with_consecutive_throttles_and_resets_after_recovery() -> None:
    rate = make()
    pauses = []
    now = 0.0
    for _ in range(7):
        until = rate.on_throttled(now, 0.99)
        pauses.append(until - now)
        now = until + 0.3  # throttled again soon after the pause
    assert non_decreasing(pauses)
    assert pauses[0] == pytest.approx(0.99 * 0.5)
    assert pauses[-1] == pytest.approx(0.99 * 8.0)  # capped at throttle_backoff_max_s
    assert rate.consecutive_throttles == 7
    # Fully recovered (from the floor: 10 s at +10 %/s): the episode is over.
    now += 20.0
    assert rate.rate(now) == 100.0
    rate.on_success(now)
    assert rate.consecutive_throttles == 0
    until = rate.on_throttled(now, 0.99)
    assert until - now == pytest.approx(0.99 * 0.5)


def test_a_throttle_after_full_recovery_starts_a_new_episode_without_on_success() -> None:
    rate = make()
    rate.on_throttled(0.0, 0.99)
    rate.on_throttled(1.0, 0.99)
    assert rate.consecutive_throttles == 2
    until = rate.on_throttled(100.0, 0.99)
    assert rate.consecutive_throttles == 1
    assert until - 100.0 == pytest.approx(0.99 * 0.5)


def test_on_success_while_recovering_keeps_the_episode() -> None:
    rate = make()
    rate.on_throttled(0.0, 0.0)
    rate.on_success(1.0)
    assert rate.successes == 1
    assert rate.consecutive_throttles == 1


def test_set_configured_at_full_rate_jumps_to_the_new_rate() -> None:
    rate = make()
    rate.set_configured(200.0, 5.0)
    assert rate.rate(5.0) == 200.0
    assert rate.min_rate == pytest.approx(20.0)
    rate.set_configured(40.0, 6.0)
    assert rate.rate(6.0) == 40.0


def test_set_configured_while_recovering_keeps_the_absolute_rate() -> None:
    rate = make()
    rate.on_throttled(0.0, 0.0)
    assert rate.rate(1.0) == pytest.approx(60.0)
    rate.set_configured(200.0, 1.0)
    assert rate.rate(1.0) == pytest.approx(60.0)
    assert rate.rate(2.0) == pytest.approx(80.0)  # +10 % of the new configured per second
    assert rate.rate(100.0) == 200.0
    rate.on_throttled(200.0, 0.0)
    rate.set_configured(20.0, 200.0)  # below the current effective rate: capped
    assert rate.rate(200.0) == 20.0


def test_set_configured_during_a_pause() -> None:
    rate = make()
    until = rate.on_throttled(0.0, 0.9)
    rate.set_configured(30.0, until / 2)
    assert rate.rate(until / 2) == 30.0
    assert rate.paused(until / 2)
    rate.set_configured(1000.0, until / 2)  # the floor follows the configured rate
    assert rate.rate(until) == 100.0


def test_snapshot_for_metrics() -> None:
    rate = make()
    rate.on_throttled(1.0, 0.5)
    rate.on_throttled(1.1, 0.5)
    rate.on_success(2.0)
    assert rate.snapshot(1.2) == AdaptiveSnapshot(
        configured_tps=100.0,
        effective_tps=50.0,
        paused_until=1.25,
        paused=True,
        throttle_events=1,
        throttled_responses=2,
        successes=1,
        consecutive_throttles=1,
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_fraction": 0.0}, "min_fraction"),
        ({"min_fraction": 1.5}, "min_fraction"),
        ({"decrease_factor": 1.0}, "decrease_factor"),
        ({"decrease_factor": 0.0}, "decrease_factor"),
        ({"recovery_per_s": 0.0}, "recovery_per_s"),
        ({"dedupe_s": -1.0}, "dedupe_s"),
        ({"throttle_backoff_initial_s": 2.0, "throttle_backoff_max_s": 1.0}, "max_s"),
        ({"throttle_backoff_initial_s": -1.0}, "initial_s"),
    ],
)
def test_rejects_bad_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AdaptiveRate(10.0, **kwargs)


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_rejects_bad_configured_tps(bad: float) -> None:
    with pytest.raises(ValueError, match="configured tps"):
        AdaptiveRate(bad)
    with pytest.raises(ValueError, match="configured tps"):
        AdaptiveRate(10.0).set_configured(bad, 0.0)


# -- properties over random event sequences ---------------------------------------------------


@dataclass(frozen=True)
class Event:
    kind: str  # "throttle", "success", "wait"
    dt: float
    rand: float


events = st.builds(
    Event,
    st.sampled_from(["throttle", "throttle", "success", "wait"]),
    st.one_of(st.floats(0.0, 0.3), st.floats(0.0, 30.0)),
    st.floats(0.0, 1.0, exclude_max=True),
)


@settings(max_examples=300)
@given(
    tps=st.floats(0.5, 5000.0),
    min_fraction=st.floats(0.01, 1.0),
    decrease_factor=st.floats(0.05, 0.95),
    recovery_per_s=st.floats(0.01, 1.0),
    sequence=st.lists(events, max_size=60),
)
def test_invariants_over_random_event_sequences(
    tps: float,
    min_fraction: float,
    decrease_factor: float,
    recovery_per_s: float,
    sequence: list[Event],
) -> None:
    rate = AdaptiveRate(
        tps,
        min_fraction=min_fraction,
        decrease_factor=decrease_factor,
        recovery_per_s=recovery_per_s,
        dedupe_s=0.25,
        throttle_backoff_initial_s=0.1,
        throttle_backoff_max_s=5.0,
    )
    now = 1000.0
    counted_at: list[float] = []
    paused_until = rate.paused_until
    previous = rate.rate(now)
    slope = recovery_per_s * tps
    for event in sequence:
        before = now
        now += event.dt
        current = rate.rate(now)
        # Between throttle events the rate only recovers, at most `slope` per second.
        assert previous <= current <= previous + slope * (now - before) * (1 + 1e-9) + 1e-9
        if event.kind == "throttle":
            events_before = rate.throttle_events
            consecutive = rate.consecutive_throttles
            until = rate.on_throttled(now, event.rand)
            if rate.throttle_events > events_before:
                counted_at.append(now)
                assert rate.rate(now) == pytest.approx(
                    max(rate.min_rate, current * decrease_factor)
                )
                attempt = rate.consecutive_throttles - 1
                assert rate.consecutive_throttles in (1, consecutive + 1)
                assert until - now <= backoff_ceiling(attempt, initial_s=0.1, max_s=5.0) + 1e-9
            else:  # deduplicated: nothing changes but the response counter
                assert rate.rate(now) == current
            assert until == rate.paused_until >= paused_until
            paused_until = until
        elif event.kind == "success":
            rate.on_success(now)
        current = rate.rate(now)
        assert rate.min_rate * (1 - 1e-12) <= current <= tps
        previous = current
    # Counted events are at least dedupe_s apart; every response was seen.
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(counted_at))
    assert rate.throttle_events == len(counted_at)
    assert rate.throttled_responses == sum(e.kind == "throttle" for e in sequence)


@settings(max_examples=100)
@given(
    tps=st.floats(0.5, 5000.0),
    rand=st.floats(0.0, 1.0, exclude_max=True),
    gaps=st.lists(st.floats(0.3, 3.0), min_size=1, max_size=12),  # beyond dedupe_s
)
def test_pause_is_monotone_in_consecutive_events_for_the_same_rand(
    tps: float, rand: float, gaps: list[float]
) -> None:
    rate = AdaptiveRate(tps, recovery_per_s=0.01)  # recovery takes > 90 s: one episode
    now = 0.0
    pauses = []
    for gap in gaps:
        pauses.append(rate.on_throttled(now, rand) - now)
        now = max(now + gap, rate.paused_until)
    assert non_decreasing(pauses)
    assert all(p <= rate.throttle_backoff_max_s for p in pauses)
