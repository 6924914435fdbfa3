"""Pacer properties in simulated time (hypothesis): the guard, burst bounds, long-run rate.

A simulated caller drives the pacer through random patterns: it sleeps until
`next_send_at` and wakes up late, polls at arbitrary times, asks for bursts of demand, goes
idle, changes the rate (below and above the limit), changes the limit and pauses the pacer.
Every grant is recorded with its time and the guard size in force; then:

- the guard: no closed one-second window holds more than floor(limit) + 1 sends, checked for
  every send against the send floor(limit) + 1 places earlier;
- no clustering: no closed window of length 1/rate holds more than floor((1/rate + H) * rate)
  + 1 sends (H the catch-up horizon), plus one for floating-point slot rounding;
- with continuous demand and wake-ups late by up to 5 ms, the count over 60 simulated seconds
  is within 1 % of rate * 60 (or one send, for rates under 1.67 tps where 1 % is under one).
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.flow import Pacer, guard_size

MAX_LATE = 0.005


@dataclass
class Recorder:
    """Send times (one entry per send) and the guard size in force for each."""

    times: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def add(self, now: float, count: int, size: int) -> None:
        self.times.extend([now] * count)
        self.sizes.extend([size] * count)


def guard_violations(rec: Recorder) -> list[int]:
    """Indexes of sends whose closed one-second window ending at them is over the guard size."""
    bad = []
    for j, (t, n) in enumerate(zip(rec.times, rec.sizes, strict=True)):
        if j >= n and not t - rec.times[j - n] > 1.0:
            bad.append(j)
    return bad


def max_in_window(times: list[float], width: float) -> int:
    """The most sends in any closed window of length `width` (times sorted ascending)."""
    best = 0
    i = 0
    for j, t in enumerate(times):
        while t - times[i] > width:
            i += 1
        best = max(best, j - i + 1)
    return best


def max_in_closed_second(times: list[float]) -> int:
    best = 0
    i = 0
    for j, t in enumerate(times):
        while not t - times[i] <= 1.0:
            i += 1
        best = max(best, j - i + 1)
    return best


# -- random caller patterns ------------------------------------------------------------------

late = st.floats(0.0, MAX_LATE)
demand = st.integers(1, 1_000_000)


@dataclass(frozen=True)
class Op:
    kind: str
    value: float = 0.0
    count: int = 0


def op(
    kind: str, value: st.SearchStrategy[float], count: st.SearchStrategy[int]
) -> st.SearchStrategy[Op]:
    return st.builds(Op, st.just(kind), value, count)


operations = st.one_of(
    op("wait", late, demand),  # sleep until next_send_at, wake up late, take n
    op("run", st.floats(0.0, 2.0), st.integers(0, 2**32)),  # busy for a while (count: seed)
    op("poll", st.floats(0.0, 0.3), demand),  # wake up at any time, take n
    op("try", st.floats(0.0, 0.01), st.integers(1, 40)),  # a try_acquire loop
    op("idle", st.floats(0.0, 5.0), st.just(0)),  # no demand at all
    op("rate", st.floats(0.05, 1.5), st.just(0)),  # set_rate(x * limit): adaptive, reload
    op("hold", st.floats(0.0, 2.0), st.just(0)),  # a throttle pause
)


@dataclass
class Sim:
    pacer: Pacer
    now: float
    rec: Recorder = field(default_factory=Recorder)
    max_rate: float = 0.0
    max_horizon: float = 0.0

    def __post_init__(self) -> None:
        self.track()

    def track(self) -> None:
        self.max_rate = max(self.max_rate, self.pacer.rate)
        self.max_horizon = max(self.max_horizon, self.pacer.horizon_s)

    def take(self, n: int) -> int:
        got = self.pacer.acquire_many(self.now, n)
        self.rec.add(self.now, got, self.pacer.window_max)
        return got

    def wait(self, lateness: float, n: int) -> None:
        at = self.pacer.next_send_at(self.now)
        assert at >= self.now
        if at > self.now:
            assert not self.pacer.try_acquire(self.now)  # a refusal changes nothing
        self.now = at + lateness
        assert self.take(n) >= 1  # asleep until the announced time: at least one is granted

    def apply(self, op: Op) -> None:
        if op.kind == "wait":
            self.wait(op.value, op.count)
        elif op.kind == "run":
            rng = random.Random(op.count)
            end = self.now + op.value
            while self.now < end:
                self.wait(rng.uniform(0.0, MAX_LATE), 1_000_000)
        elif op.kind == "poll":
            self.now += op.value
            self.take(op.count)
        elif op.kind == "try":
            self.now += op.value
            for _ in range(op.count):
                if self.pacer.try_acquire(self.now):
                    self.rec.add(self.now, 1, self.pacer.window_max)
        elif op.kind == "idle":
            self.now += op.value
        elif op.kind == "rate":
            self.pacer.set_rate(op.value * self.pacer.limit, self.now)
        elif op.kind == "hold":
            self.pacer.hold_until(self.now + op.value)
        else:
            raise AssertionError(op)
        self.track()


def burst_bound(width: float, rate: float, horizon: float) -> int:
    """floor((W + H) * r) + 1, plus one for floating-point rounding of slot times."""
    return math.floor((width + horizon) * rate) + 2


@settings(max_examples=150)
@given(
    tps=st.floats(0.5, 5000.0),
    start=st.floats(0.0, 1e6),
    ops=st.lists(operations, max_size=25),
)
@example(tps=5000.0, start=0.0, ops=[Op("run", 2.0, 1), Op("rate", 1.5), Op("run", 2.0, 2)])
@example(tps=1.0, start=0.3, ops=[Op("poll", 0.0, 5), Op("idle", 3.0), Op("poll", 0.0, 5)] * 3)
@example(tps=2.5, start=0.0, ops=[Op("run", 2.0, 3), Op("idle", 0.9), Op("try", 0.0, 10)])
def test_guard_and_bursts_under_random_caller_patterns(
    tps: float, start: float, ops: list[Op]
) -> None:
    sim = Sim(Pacer(tps), start)
    for op in ops:
        sim.apply(op)
    times = sim.rec.times
    assert times == sorted(times)
    assert guard_violations(sim.rec) == []
    assert max_in_closed_second(times) <= guard_size(tps)
    width = 1.0 / sim.max_rate
    assert max_in_window(times, width) <= burst_bound(width, sim.max_rate, sim.max_horizon)
    assert sim.pacer.sent == len(times)


@settings(max_examples=60)
@given(
    tps=st.floats(0.5, 2000.0),
    limits=st.lists(st.floats(0.5, 2000.0), min_size=1, max_size=4),
    seed=st.integers(0, 2**32),
)
def test_guard_holds_across_limit_changes(tps: float, limits: list[float], seed: int) -> None:
    """A rate above the limit, and the limit changed mid-stream: the guard in force holds."""
    sim = Sim(Pacer(tps), 100.0)
    rng = random.Random(seed)
    for limit in limits:
        sim.pacer.set_limit(limit)
        sim.pacer.set_rate(limit * rng.uniform(0.5, 3.0), sim.now)
        sim.apply(Op("run", rng.uniform(0.5, 2.0), rng.getrandbits(32)))
    assert guard_violations(sim.rec) == []


@st.composite
def lateness_patterns(draw: st.DrawFn) -> list[float]:
    """A cycle of wake-up delays in [0, 5 ms]: constant, alternating, random, rare spikes."""
    kind = draw(st.sampled_from(["uniform", "max", "alternating", "binary", "rare", "cycle"]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    if kind == "max":
        return [MAX_LATE]
    if kind == "alternating":
        return [0.0, MAX_LATE]
    if kind == "cycle":
        return draw(st.lists(late, min_size=1, max_size=8))
    size = 4096
    if kind == "binary":
        return [rng.choice((0.0, MAX_LATE)) for _ in range(size)]
    if kind == "rare":
        return [MAX_LATE if rng.random() < 0.01 else 0.0 for _ in range(size)]
    return [rng.uniform(0.0, MAX_LATE) for _ in range(size)]


def run_with_backlog(pacer: Pacer, start: float, end: float, delays: list[float]) -> int:
    """A caller with unlimited backlog: sleep until next_send_at, wake late, take all due."""
    now = start
    count = 0
    i = 0
    size = len(delays)
    while True:
        now = pacer.next_send_at(now) + delays[i % size]
        i += 1
        if now >= end:
            return count
        count += pacer.acquire_many(now, 1_000_000_000)


def within_one_percent(count: int, expected: float) -> bool:
    return abs(count - expected) <= max(0.01 * expected, 1.0)


@settings(max_examples=40)
@given(tps=st.floats(0.5, 5000.0), start=st.floats(0.0, 1e6), delays=lateness_patterns())
@example(tps=5000.0, start=0.0, delays=[MAX_LATE])
@example(tps=0.5, start=0.0, delays=[MAX_LATE])
@example(tps=1000.0, start=1e6, delays=[0.0, MAX_LATE])
def test_continuous_demand_is_within_one_percent_over_a_minute(
    tps: float, start: float, delays: list[float]
) -> None:
    count = run_with_backlog(Pacer(tps), start, start + 60.0, delays)
    assert within_one_percent(count, tps * 60.0), (count, tps * 60.0)


@settings(max_examples=25)
@given(
    tps=st.floats(1.0, 3000.0),
    first=st.floats(0.1, 1.0),
    second=st.floats(0.1, 1.0),
    delays=lateness_patterns(),
)
def test_rate_change_mid_stream_keeps_the_average(
    tps: float, first: float, second: float, delays: list[float]
) -> None:
    pacer = Pacer(tps)
    pacer.set_rate(first * tps, 0.0)
    count = run_with_backlog(pacer, 0.0, 30.0, delays)
    pacer.set_rate(second * tps, 30.0)
    count += run_with_backlog(pacer, 30.0, 60.0, delays)
    expected = (first + second) * tps * 30.0
    assert abs(count - expected) <= max(0.01 * expected, 2.0), (count, expected)


@settings(max_examples=100)
@given(
    tps=st.floats(0.5, 5000.0),
    ops=st.lists(operations.filter(lambda op: op.kind != "run"), max_size=12),
    at=st.floats(0.0, 3.0),
    n=st.integers(0, 10_000),
)
def test_acquire_many_equals_repeated_try_acquire(
    tps: float, ops: list[Op], at: float, n: int
) -> None:
    sim = Sim(Pacer(tps), 50.0)
    for op in ops:
        sim.apply(op)
    now = sim.now + at
    one_by_one = copy.deepcopy(sim.pacer)
    expected = 0
    while expected < n and one_by_one.try_acquire(now):
        expected += 1
    assert sim.pacer.acquire_many(now, n) == expected
    assert sim.pacer.next_send_at(now) == one_by_one.next_send_at(now)
    # next_send_at is exact: allowed at the announced time, not a moment before it.
    at_time = sim.pacer.next_send_at(now)
    if at_time > now:
        assert not copy.deepcopy(sim.pacer).try_acquire(math.nextafter(at_time, -math.inf))
    assert sim.pacer.try_acquire(at_time)


# -- fixed cases ------------------------------------------------------------------------------


def test_guard_allows_floor_tps_plus_one_in_a_closed_second() -> None:
    pacer = Pacer(10.0)
    pacer.set_rate(1000.0, 0.0)  # far above the limit: only the guard stops it
    rec = Recorder()
    now = 0.0
    while now < 5.0:
        rec.add(now, pacer.acquire_many(now, 1000), pacer.window_max)
        now += 0.001
    assert pacer.window_max == 11
    assert max_in_closed_second(rec.times) == 11
    assert guard_violations(rec) == []


def test_next_send_at_is_strictly_after_the_guard_at_large_clock_values() -> None:
    pacer = Pacer(1.0)
    now = 9_876_543.21
    assert pacer.acquire_many(now, 5) == 1
    pacer.set_rate(100.0, now)
    assert pacer.acquire_many(now + 0.5, 5) == 1  # the guard's second send
    at = pacer.next_send_at(now + 0.6)
    assert at > now + 1.0
    assert at - now > 1.0
    assert not pacer.try_acquire(math.nextafter(at, 0.0))
    assert pacer.try_acquire(at)


def test_first_grant_starts_the_schedule_without_a_burst() -> None:
    pacer = Pacer(100.0)
    assert pacer.acquire_many(1234.5, 1000) == 1
    assert pacer.next_send_at(1234.5) == pytest.approx(1234.51)


def test_idle_gap_restarts_the_schedule_with_a_small_catch_up() -> None:
    pacer = Pacer(8.0)  # horizon: max(10 ms, 2 slots) = 0.25 s
    assert pacer.horizon_s == 0.25
    assert pacer.acquire_many(0.0, 100) == 1
    # After 64 s of no demand: the slots of the last 0.25 s (3 of them), not 512.
    assert pacer.acquire_many(64.0, 1000) == 3
    assert pacer.acquire_many(64.0625, 1000) == 0
    assert pacer.acquire_many(64.125, 1000) == 1


def test_late_wake_up_catches_up_the_missed_slots() -> None:
    pacer = Pacer(1024.0)
    assert pacer.acquire_many(0.0, 1) == 1
    at = pacer.next_send_at(0.0)
    assert at == 1 / 1024
    # Woken 5 slots late (4.9 ms): the slots 1..6 are all due.
    assert pacer.acquire_many(at + 5 / 1024, 1000) == 6
    assert pacer.next_send_at(at) == 7 / 1024


def test_schedule_does_not_drift_with_late_wake_ups() -> None:
    pacer = Pacer(7.0)
    now = 0.0
    count = 0
    while True:
        now = pacer.next_send_at(now) + 0.004
        if now >= 100.0:
            break
        count += pacer.acquire_many(now, 10)
    assert count == 700


def test_set_rate_respaces_from_the_last_send_when_ahead() -> None:
    pacer = Pacer(100.0)
    assert pacer.try_acquire(10.0)
    pacer.set_rate(10.0, 10.001)
    assert pacer.next_send_at(10.001) == pytest.approx(10.1)
    pacer.set_rate(1000.0, 10.0015)  # 10.001 would have been due: no retroactive slots
    assert pacer.next_send_at(10.0015) == 10.0015
    assert pacer.acquire_many(10.0015, 100) == 1
    assert pacer.next_send_at(10.0015) == pytest.approx(10.0025)


def test_set_rate_keeps_due_slots_when_behind() -> None:
    pacer = Pacer(100.0)
    assert pacer.try_acquire(0.0)
    pacer.set_rate(50.0, 0.015)  # the slot at 10 ms is due and stays due
    assert pacer.acquire_many(0.015, 100) == 1
    assert pacer.next_send_at(0.015) == pytest.approx(0.03)


def test_hold_until_silences_and_restarts_the_schedule() -> None:
    pacer = Pacer(100.0)
    assert pacer.acquire_many(0.0, 1) == 1
    pacer.hold_until(2.0)
    assert pacer.next_send_at(0.5) == 2.0
    assert pacer.acquire_many(1.99, 100) == 0
    assert pacer.acquire_many(2.0, 100) == 1  # no burst of the slots of the pause
    pacer.hold_until(1.0)  # earlier than the schedule: no effect
    assert pacer.next_send_at(2.0) == pytest.approx(2.01)


def test_set_limit_keeps_the_newest_sends() -> None:
    pacer = Pacer(5.0)  # 6 per second
    pacer.set_rate(1000.0, 0.0)
    for i in range(6):
        assert pacer.try_acquire(0.1 * i)
    assert not pacer.try_acquire(0.6)
    pacer.set_limit(2.0)  # 3 per second: the third most recent send is at 0.3
    assert pacer.window_max == 3
    assert pacer.next_send_at(0.6) > 1.3
    pacer.set_limit(10.0)  # 11 per second: room for 8 more at once
    assert pacer.acquire_many(0.6, 100) == 8


def test_time_going_backwards_is_treated_as_the_last_grant() -> None:
    pacer = Pacer(1.0)
    assert pacer.try_acquire(100.0)
    assert not pacer.try_acquire(50.0)
    assert pacer.next_send_at(50.0) == 101.0


def test_fractional_tps_below_one() -> None:
    pacer = Pacer(0.5)
    assert pacer.window_max == 1
    assert pacer.try_acquire(0.0)
    assert pacer.next_send_at(0.0) == 2.0
    assert pacer.try_acquire(2.0)


def test_explicit_integer_limit() -> None:
    pacer = Pacer(5.0, limit_per_second=20)
    assert pacer.limit == 20.0
    assert pacer.window_max == 21
    assert pacer.rate == 5.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_rejects_non_positive_or_non_finite_rates(bad: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        Pacer(bad)
    pacer = Pacer(1.0)
    with pytest.raises(ValueError, match="positive finite"):
        pacer.set_rate(bad, 0.0)
    with pytest.raises(ValueError, match="positive finite"):
        pacer.set_limit(bad)


def test_zero_demand_grants_nothing() -> None:
    pacer = Pacer(10.0)
    assert pacer.acquire_many(0.0, 0) == 0
    assert pacer.acquire_many(0.0, -3) == 0
    assert pacer.sent == 0


# --- departures: the guard counts a send from when it left -----------------------------------


@dataclass(frozen=True)
class Pump:
    gap: float  # seconds after the previous pump's departure
    demand: int  # sends it tries
    write_after: float  # seconds between granting and writing them


@settings(max_examples=300)
@given(
    tps=st.one_of(st.floats(1.0, 50.0), st.floats(1.0, 3000.0)),
    pumps=st.lists(
        st.builds(
            Pump,
            st.one_of(st.just(0.0), st.floats(0.0, 0.01), st.floats(0.0, 0.5)),
            st.integers(1, 200),
            st.one_of(st.just(0.0), st.floats(0.0, 0.02), st.floats(0.0, 0.3)),
        ),
        max_size=1300,
    ),
)
# One send written 0.5 s (50 ms) after it was granted, then steady demand: without `departed`
# the second after its departure holds 12 (1 002).
@example(tps=10.0, pumps=[Pump(0.0, 1, 0.5), Pump(0.0, 20, 0.0)] + [Pump(0.1, 20, 0.0)] * 12)
@example(
    tps=1000.0, pumps=[Pump(0.0, 1, 0.05), Pump(0.0, 200, 0.0)] + [Pump(0.001, 200, 0.0)] * 1200
)
def test_departures_keep_the_guard_however_long_a_write_takes(
    tps: float, pumps: list[Pump]
) -> None:
    """A caller grants a pump's sends at `now` and writes them `write_after` later, then tells
    the pacer (`departed`): every closed second of departures holds at most floor(tps) + 1."""
    pacer = Pacer(tps)
    now = 1000.0
    left: list[float] = []
    for pump in pumps:
        now += pump.gap
        granted = 0
        while granted < pump.demand and pacer.try_acquire(now):
            granted += 1
        at = now + pump.write_after
        if granted:
            pacer.departed(granted, at)
            left.extend([at] * granted)
        now = at
    assert max_in_closed_second(left) <= guard_size(tps)


def test_without_departed_a_late_write_breaks_the_guard_at_the_carrier() -> None:
    """Why `departed` exists: 10 sends granted at 0.0 but written at 0.3 sit in the same
    second as the 10 granted (and written) at 1.01, which the guard alone allows."""
    for tell in (False, True):
        pacer = Pacer(10.0, catchup_s=2.0)
        left: list[float] = []
        for now, write_after in ((0.0, 0.3), (1.01, 0.0), (1.2, 0.0)):
            granted = pacer.acquire_many(now, 11)
            if tell and granted:
                pacer.departed(granted, now + write_after)
            left.extend([now + write_after] * granted)
        if tell:
            assert max_in_closed_second(left) <= guard_size(10.0)
        else:
            assert max_in_closed_second(left) > guard_size(10.0)


def test_departed_keeps_the_ring_ordered_and_ignores_an_earlier_time() -> None:
    pacer = Pacer(2.0)
    assert pacer.try_acquire(0.0)
    pacer.departed(1, -5.0)  # earlier than the grant: nothing changes
    assert pacer.next_send_at(0.0) == pytest.approx(0.5)
    pacer.departed(5, 0.2)  # more than were granted: only the ring's entries move
    assert pacer.try_acquire(0.5)
    assert pacer.try_acquire(1.0)
    assert pacer.try_acquire(1.0 + 1e-9) is False  # the schedule, not the guard, says no
