"""Send permits from the shared rate budget (pure, simulated time): examples and properties.

Examples pin the reservoir's rules: a permit is never usable before its time, one older than
`slack` is dropped and counted as expired, permits are used oldest first, `add` keeps the order.
Properties (hypothesis):

- the bound of the module docstring holds with the whole allowance: a closed window of length
  ``1 + 3 * slack`` (the slack plus the two thirds left for the round trip) holds at most
  ``floor(tps) + 1`` permits spaced ``1 / budget_rate(tps)`` apart;
- a simulated sender trying at arbitrary non-decreasing times (single tries and greedy bursts)
  over a schedule of permits exactly ``1 / budget_rate(tps)`` apart never sends more than
  ``floor(tps) + 1`` times in any closed one-second window, and every send happens at or after
  its permit and at most `slack` after it;
- hosts sharing one schedule, each mapping its grants by the moment it handled the reply, keep
  the bound when GrantTiming drops the grants whose replies were handled too late, and break it
  (an example) when those are mapped anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.flow.permits import (
    MARGIN,
    GrantTiming,
    PermitReservoir,
    budget_rate,
    probe_size,
    slack_for,
)

TPS = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False, allow_infinity=False)


# --- examples ------------------------------------------------------------------------------


def test_budget_rate_runs_margin_under_tps() -> None:
    assert budget_rate(100.0) == pytest.approx(100.0 * (1.0 - MARGIN))
    assert budget_rate(100.0, margin=0.1) == pytest.approx(90.0)
    assert 0.0 < slack_for(100.0) < 1.0


def test_a_permit_is_never_usable_before_its_time() -> None:
    reservoir = PermitReservoir(slack=0.5)
    reservoir.add(10.0, 1.0, 1)
    assert not reservoir.ready(9.999)
    assert not reservoir.take(9.999)
    assert len(reservoir) == 1
    assert reservoir.used == 0
    assert reservoir.take(10.0)
    assert reservoir.used == 1
    assert len(reservoir) == 0


def test_a_permit_later_than_slack_is_dropped_and_counted_expired() -> None:
    reservoir = PermitReservoir(slack=0.5)
    reservoir.add(10.0, 1.0, 3)  # 10, 11, 12
    assert reservoir.ready(10.5)  # exactly `slack` late: still usable
    assert reservoir.expired == 0
    assert not reservoir.take(10.75)  # 10 is too late; 11 not yet due
    assert reservoir.expired == 1
    assert len(reservoir) == 2
    assert reservoir.next_at(10.75) == 11.0
    # Both remaining permits are too late at 12.6 (11 and 12 both older than 12.1).
    assert reservoir.next_at(12.6) is None
    assert reservoir.expired == 3
    assert reservoir.used == 0
    assert reservoir.granted == 3


def test_take_consumes_in_order() -> None:
    reservoir = PermitReservoir(slack=10.0)
    reservoir.add(1.0, 0.5, 4)  # 1.0, 1.5, 2.0, 2.5
    seen: list[float] = []
    for _ in range(4):
        due = reservoir.next_at(5.0)
        assert due is not None
        assert reservoir.take(5.0)
        seen.append(due)
    assert seen == [1.0, 1.5, 2.0, 2.5]
    assert not reservoir.take(5.0)
    assert reservoir.used == 4
    assert reservoir.expired == 0


def test_take_uses_only_the_due_ones() -> None:
    reservoir = PermitReservoir(slack=10.0)
    reservoir.add(1.0, 1.0, 3)  # 1, 2, 3
    assert reservoir.take(2.5)
    assert reservoir.take(2.5)
    assert not reservoir.take(2.5)  # 3 is not due yet
    assert reservoir.next_at(2.5) == 3.0
    assert reservoir.take(3.0)


def test_next_at() -> None:
    reservoir = PermitReservoir(slack=0.2)
    assert reservoir.next_at(0.0) is None
    assert reservoir.horizon() == -math.inf
    reservoir.add(5.0, 0.25, 3)  # 5.0, 5.25, 5.5
    assert reservoir.next_at(0.0) == 5.0  # a future permit is reported, not dropped
    assert reservoir.horizon() == 5.5
    assert reservoir.next_at(5.3) == 5.25  # 5.0 is 0.3 late: dropped
    assert reservoir.expired == 1
    assert reservoir.next_at(6.0) is None
    assert reservoir.expired == 3


def test_add_keeps_order_and_ignores_overlapping_times() -> None:
    reservoir = PermitReservoir(slack=100.0)
    reservoir.add(1.0, 1.0, 3)  # 1, 2, 3
    reservoir.add(2.5, 1.0, 3)  # 2.5 is not after 3: ignored; 3.5 and 4.5 kept
    reservoir.add(0.0, 1.0, 2)  # entirely before the horizon: ignored
    assert reservoir.granted == 8  # what was granted, whether kept or not
    times: list[float] = []
    for _ in range(10):
        due = reservoir.next_at(50.0)
        if due is None:
            break
        assert reservoir.take(50.0)
        times.append(due)
    assert times == [1.0, 2.0, 3.0, 3.5, 4.5]
    assert times == sorted(times)


def test_clear_drops_every_permit_as_expired() -> None:
    reservoir = PermitReservoir(slack=1.0)
    reservoir.add(1.0, 1.0, 4)
    assert reservoir.take(1.0)
    reservoir.clear()
    assert len(reservoir) == 0
    assert reservoir.expired == 3
    assert reservoir.next_at(2.0) is None
    assert not reservoir.take(4.0)
    reservoir.add(10.0, 1.0, 1)  # usable again after a clear
    assert reservoir.take(10.0)


# --- the docstring's bound -------------------------------------------------------------------


@given(TPS)
@example(1.0)
@example(5000.0)
@example(1.9999999)
@example(49.0)
@example(50.0)
@settings(max_examples=2000)
def test_whole_allowance_keeps_a_window_within_floor_tps_plus_one(tps: float) -> None:
    rate = budget_rate(tps)
    slack = slack_for(tps)
    assert slack > 0.0
    # One second plus the slack plus the two thirds of the allowance left for the round trip.
    assert math.floor((1.0 + slack * 3.0) * rate) + 1 <= math.floor(tps) + 1


# --- a simulated sender ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    delay: float  # seconds after the previous try
    tries: int  # how many sends it attempts at that instant (stops at the first refusal)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[float, list[Step]]:
    tps = draw(TPS)
    interval = 1.0 / budget_rate(tps)
    slack = slack_for(tps)
    delay = st.one_of(
        st.floats(0.0, 3.0).map(lambda u: u * interval),  # around the permit spacing
        st.floats(0.0, 2.0).map(lambda u: u * slack),  # around the slack: late uses
        st.floats(0.0, 1.5),  # idle spells
        st.just(0.0),
    )
    steps = draw(
        st.lists(
            st.builds(Step, delay, st.integers(1, 64)),
            min_size=1,
            max_size=400,
        )
    )
    return tps, steps


def _max_in_closed_window(times: list[float], length: float) -> int:
    worst = 0
    j = 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j + 1 < len(times) and times[j + 1] - start <= length:
            j += 1
        worst = max(worst, j - i + 1)
    return worst


@given(scenarios())
@example((5000.0, [Step(0.0, 64)] + [Step(slack_for(5000.0), 64)] * 399))
@example((1.0, [Step(0.0, 64)] + [Step(slack_for(1.0), 64)] * 30))
@example((7.5, [Step(slack_for(7.5) * 0.999, 64)] * 200))
@settings(max_examples=300)
def test_sender_never_exceeds_floor_tps_plus_one_per_second_nor_uses_a_permit_early_or_late(
    scenario: tuple[float, list[Step]],
) -> None:
    tps, steps = scenario
    interval = 1.0 / budget_rate(tps)
    slack = slack_for(tps)
    reservoir = PermitReservoir(slack)
    start = 100.0  # the schedule: permits at start + k * interval, k = 0, 1, ...
    next_k = 0  # first permit not handed to this reservoir yet
    batch = max(1, math.ceil(0.25 * budget_rate(tps)))  # a horizon's worth per grant
    now = start - 0.5
    sends: list[float] = []
    permits_used: list[float] = []
    for step in steps:
        now += step.delay
        if start + next_k * interval < now - slack:
            # Skip the permits this host was never given (spent by other hosts meanwhile).
            next_k = max(next_k, math.floor((now - slack - start) / interval))
        while reservoir.horizon() < now + 0.25:  # top up like the dispatcher does
            reservoir.add(start + next_k * interval, interval, batch)
            next_k += batch
        for _ in range(step.tries):
            due = reservoir.next_at(now)
            if not reservoir.take(now):
                break
            assert due is not None
            sends.append(now)
            permits_used.append(due)
    for at, permit in zip(sends, permits_used, strict=True):
        assert permit <= at, (permit, at)
        assert at - permit <= slack, (permit, at, slack)
    assert permits_used == sorted(permits_used)
    assert len(set(permits_used)) == len(permits_used)
    assert _max_in_closed_window(sends, 1.0) <= math.floor(tps) + 1
    assert reservoir.used == len(sends)


def test_window_helper_counts_a_closed_window() -> None:
    assert _max_in_closed_window([], 1.0) == 0
    assert _max_in_closed_window([0.0, 1.0, 2.0], 1.0) == 2
    assert _max_in_closed_window([0.0, 0.5, 0.9, 1.0, 1.01], 1.0) == 4


# --- grants handled late (GrantTiming) ---------------------------------------------------------


def test_a_reply_handled_within_the_round_trip_allowance_is_mapped() -> None:
    timing = GrantTiming()
    assert timing.accept(10.0, 10.0, slack=0.01)
    assert timing.accept(10.0, 10.02, slack=0.01)  # exactly 2 * slack
    assert not timing.probing
    assert (timing.dropped, timing.mapped_late, timing.late) == (0, 0, False)


def test_a_slow_reply_is_dropped_and_the_host_probes_until_one_is_fast() -> None:
    timing = GrantTiming()
    assert not timing.accept(10.0, 10.0201, slack=0.01)
    assert (timing.probing, timing.dropped) == (True, 1)
    assert not timing.accept(10.1, 10.2, slack=0.01)
    assert (timing.probing, timing.dropped) == (True, 2)
    assert timing.accept(10.3, 10.301, slack=0.01)  # fast again: mapped, no longer probing
    assert (timing.probing, timing.dropped, timing.mapped_late) == (False, 2, 0)


def test_slow_replies_for_longer_than_the_patience_are_mapped_until_one_is_fast() -> None:
    timing = GrantTiming(patience=2.0)
    assert not timing.accept(10.0, 10.5, slack=0.01)
    assert not timing.accept(10.5, 11.9, slack=0.01)  # 1.9 s of slow replies: still dropped
    assert timing.accept(11.9, 12.1, slack=0.01)  # 2.1 s: Redis is that far away
    assert (timing.late, timing.probing) == (True, False)  # mapped late, with whole batches
    assert timing.accept(12.1, 12.3, slack=0.01)
    assert (timing.dropped, timing.mapped_late) == (2, 2)
    assert timing.accept(12.3, 12.3, slack=0.01)  # a fast one ends it
    assert (timing.late, timing.probing) == (False, False)
    assert not timing.accept(13.0, 13.5, slack=0.01)  # and the patience starts over
    assert timing.dropped == 3


@given(TPS)
@example(100.0)
@example(20_000.0)
def test_dropping_every_probe_burns_at_most_a_quarter_of_the_shared_rate(tps: float) -> None:
    size = probe_size(tps)
    assert size >= 1
    # A dropped probe's reply took more than 2 * slack: at most `size` permits per that long.
    burned_per_second = size / (2.0 * slack_for(tps))
    assert size == 1 or burned_per_second <= budget_rate(tps) / 4.0


@dataclass(frozen=True)
class Ask:
    host: int
    gap: float  # seconds of real time after the previous ask, over all hosts
    redis_at: float  # when Redis reads its clock, as a fraction of the reply's round trip
    rtt: float  # seconds between asking and handling the reply


@dataclass(frozen=True)
class Hosts:
    tps: float
    offsets: list[float]  # host k's local clock = real time + offsets[k]
    lateness: list[float]  # host k uses each permit this fraction of `slack` after it is due
    asks: list[Ask]


@st.composite
def shared_schedules(draw: st.DrawFn) -> Hosts:
    tps = draw(st.floats(5.0, 500.0))
    hosts = draw(st.integers(2, 4))
    offsets = draw(st.lists(st.floats(-1e4, 1e4), min_size=hosts, max_size=hosts))
    lateness = draw(
        st.lists(st.sampled_from([0.0, 1.0]) | st.floats(0, 1), min_size=hosts, max_size=hosts)
    )
    slack = slack_for(tps)
    rtt = st.one_of(
        st.floats(0.0, 2.0).map(lambda u: u * slack),  # within the allowance (2 * slack)
        st.floats(2.0, 40.0).map(lambda u: u * slack),  # a busy loop: handled late
    )
    ask = st.builds(Ask, st.integers(0, hosts - 1), st.floats(0.0, 0.2), st.floats(0, 1), rtt)
    asks = draw(st.lists(ask, min_size=1, max_size=120))
    return Hosts(tps, offsets, lateness, asks)


def _simulate(hosts: Hosts, timing: list[GrantTiming]) -> list[float]:
    """Hosts sharing one GCRA schedule (Redis's clock is real time). Each grant is mapped like
    the dispatcher maps it, by the local time its reply was handled, or dropped when its
    GrantTiming says so; each host uses every permit it keeps `lateness * slack` after it falls
    due. Returns the real time of every send, sorted."""
    rate = budget_rate(hosts.tps)
    interval = 1.0 / rate
    slack = slack_for(hosts.tps)
    batch = max(1, int(rate * 0.1))
    reservoirs = [PermitReservoir(slack) for _ in hosts.offsets]
    tat = 0.0  # the shared schedule's next free slot (Redis time)
    real = 1000.0
    replies: list[tuple[float, float, int, float, float]] = []  # handled, asked, host, first, now
    for ask in hosts.asks:
        real += ask.gap
        redis_now = real + ask.redis_at * ask.rtt
        first = max(tat, redis_now)
        tat = first + batch * interval
        replies.append((real + ask.rtt, real, ask.host, first, redis_now))
    for handled, asked, host, first, redis_now in sorted(replies):
        offset = hosts.offsets[host]
        if timing[host].accept(asked + offset, handled + offset, slack):
            reservoirs[host].add(first + (handled + offset - redis_now), interval, batch)
        else:
            reservoirs[host].discard(batch)
    sends: list[float] = []
    for host, reservoir in enumerate(reservoirs):
        late = hosts.lateness[host] * slack
        while (due := reservoir.next_at(-math.inf)) is not None:
            assert reservoir.take(due + late)
            sends.append(due + late - hosts.offsets[host])
    return sorted(sends)


@given(shared_schedules())
@settings(max_examples=300)
def test_hosts_dropping_late_grants_never_exceed_floor_tps_plus_one_per_second(
    hosts: Hosts,
) -> None:
    timing = [GrantTiming(patience=math.inf) for _ in hosts.offsets]
    sends = _simulate(hosts, timing)
    assert _max_in_closed_window(sends, 1.0) <= math.floor(hosts.tps) + 1


def test_hosts_mapping_a_late_grant_anyway_can_exceed_the_limit() -> None:
    """Why grants are dropped: host 1's reply, handled 0.3 s after Redis gave it the slots
    right behind host 0's, puts its permits 0.3 s late, on top of host 0's next ones."""
    tps = 100.0
    slack = slack_for(tps)
    asks = [Ask(0, 0.0, 0.0, 0.0)]  # host 0: ~100 ms of permits, mapped at once
    asks += [Ask(1, 0.0, 0.0, 0.3)]  # host 1: the next 100 ms, its reply handled 0.3 s later
    asks += [Ask(0, 0.05, 0.0, 0.0)] * 30  # host 0 keeps asking, every 50 ms
    hosts = Hosts(tps, [0.0, 5.0], [0.0, 0.0], asks)
    mapped_anyway = _simulate(hosts, [GrantTiming(patience=0.0) for _ in range(2)])
    assert _max_in_closed_window(mapped_anyway, 1.0) > math.floor(tps) + 1
    timing = [GrantTiming() for _ in range(2)]
    dropped = _simulate(hosts, timing)
    assert timing[1].dropped == 1
    assert _max_in_closed_window(dropped, 1.0) <= math.floor(tps) + 1
    assert slack < 0.3 / 2
