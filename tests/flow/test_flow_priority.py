"""PriorityLanes: high first, normal/low weighted round robin, low never starves."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.flow import HIGH, LANES, LOW, NORMAL, Lane, PriorityLanes

flags = st.tuples(st.booleans(), st.booleans(), st.booleans())
weights = st.integers(1, 20)


@given(normal_weight=weights, low_weight=weights, rounds=st.lists(flags, max_size=200))
def test_high_first_and_never_an_empty_lane(
    normal_weight: int, low_weight: int, rounds: list[tuple[bool, bool, bool]]
) -> None:
    lanes = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
    for has_high, has_normal, has_low in rounds:
        lane = lanes.pick(has_high, has_normal, has_low)
        if not (has_high or has_normal or has_low):
            assert lane is None
            continue
        assert lane is not None
        assert {HIGH: has_high, NORMAL: has_normal, LOW: has_low}[lane]
        if has_high:
            assert lane == HIGH
    picked = [lane for lane in (lanes.pick(*r) for r in rounds) if lane is not None]
    assert sum(lanes.served.values()) == 2 * len(picked)


@settings(max_examples=200)
@given(
    normal_weight=weights,
    low_weight=weights,
    warmup=st.lists(flags, max_size=50),
    pattern=st.lists(st.booleans(), min_size=1, max_size=500),
)
def test_low_gets_its_weighted_share_while_normal_is_always_busy(
    normal_weight: int, low_weight: int, warmup: list[tuple[bool, bool, bool]], pattern: list[bool]
) -> None:
    """Normal and low always have work, high comes and goes: among the picks not taken by high,
    every prefix gives low its exact share to within one pick (so at least floor(share))."""
    lanes = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
    for has in warmup:
        lanes.pick(*has)
    total = normal_weight + low_weight
    contended = 0
    low = 0
    for has_high in pattern:
        lane = lanes.pick(has_high, True, True)
        if lane == HIGH:
            continue
        contended += 1
        low += lane == LOW
        share = contended * low_weight / total
        assert share - 1 < low < share + 1
        assert low >= math.floor(share)
    if contended % total == 0 and not warmup:
        assert low == contended * low_weight // total


@pytest.mark.parametrize("normal_weight", range(1, 11))
def test_share_is_within_one_pick_from_every_point_of_the_cycle(normal_weight: int) -> None:
    for low_weight in range(1, 11):
        total = normal_weight + low_weight
        for offset in range(total):
            lanes = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
            for _ in range(offset):
                lanes.pick(False, True, True)
            low = 0
            for m in range(1, 2 * total + 1):
                low += lanes.pick(False, True, True) == LOW
                assert abs(low - m * low_weight / total) < 1
            assert low == 2 * low_weight


def test_default_weights_give_low_one_slot_in_ten() -> None:
    lanes = PriorityLanes()
    picks = [lanes.pick(False, True, True) for _ in range(1000)]
    assert picks.count(LOW) == 100
    assert picks.count(NORMAL) == 900
    # Spread out, not bunched: every run of ten consecutive picks has exactly one low.
    assert all(picks[i : i + 10].count(LOW) == 1 for i in range(len(picks) - 9))


def test_an_idle_lane_earns_no_credit() -> None:
    lanes = PriorityLanes()
    for _ in range(1000):
        assert lanes.pick(False, True, False) == NORMAL
    picks = [lanes.pick(False, True, True) for _ in range(10)]
    assert picks.count(LOW) == 1  # no burst of low after normal ran alone


def test_pick_with_a_single_lane() -> None:
    lanes = PriorityLanes()
    assert lanes.pick(False, False, True) == LOW
    assert lanes.pick(False, True, False) == NORMAL
    assert lanes.pick(True, False, False) == HIGH
    assert lanes.pick(False, False, False) is None
    assert lanes.served == {HIGH: 1, NORMAL: 1, LOW: 1}


counts = st.integers(0, 500)


@settings(max_examples=300)
@given(
    normal_weight=weights,
    low_weight=weights,
    warmup=st.lists(flags, max_size=40),
    n=st.integers(0, 2000),
    available=st.fixed_dictionaries({}, optional={HIGH: counts, NORMAL: counts, LOW: counts}),
)
def test_split_equals_successive_picks(
    normal_weight: int,
    low_weight: int,
    warmup: list[tuple[bool, bool, bool]],
    n: int,
    available: dict[Lane, int],
) -> None:
    batch = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
    single = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
    for has in warmup:
        batch.pick(*has)
        single.pick(*has)
    taken = batch.split(n, available)
    left = {lane: available.get(lane, 0) for lane in LANES}
    expected = dict.fromkeys(LANES, 0)
    for _ in range(n):
        lane = single.pick(left[HIGH] > 0, left[NORMAL] > 0, left[LOW] > 0)
        if lane is None:
            break
        left[lane] -= 1
        expected[lane] += 1
    assert taken == expected
    assert batch.served == single.served
    assert sum(taken.values()) == min(n, sum(available.values()))
    assert all(0 <= taken[lane] <= available.get(lane, 0) for lane in LANES)
    # The round robin state is the same afterwards.
    assert [batch.pick(False, True, True) for _ in range(30)] == [
        single.pick(False, True, True) for _ in range(30)
    ]


def test_split_fixed_cases() -> None:
    lanes = PriorityLanes()
    assert lanes.split(100, {HIGH: 30, NORMAL: 1000, LOW: 1000}) == {
        HIGH: 30,
        NORMAL: 63,
        LOW: 7,
    }
    assert lanes.split(10, {LOW: 3}) == {HIGH: 0, NORMAL: 0, LOW: 3}
    assert lanes.split(0, {HIGH: 5}) == {HIGH: 0, NORMAL: 0, LOW: 0}


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="weights"):
        PriorityLanes(low_weight=0)
    lanes = PriorityLanes()
    with pytest.raises(ValueError, match="n must"):
        lanes.split(-1, {})
    with pytest.raises(ValueError, match="available"):
        lanes.split(1, {NORMAL: -1})


@given(normal_weight=weights, low_weight=weights, rounds=st.lists(flags, max_size=200))
def test_peek_names_the_lane_pick_would_take_and_takes_no_turn(
    normal_weight: int, low_weight: int, rounds: list[tuple[bool, bool, bool]]
) -> None:
    lanes = PriorityLanes(normal_weight=normal_weight, low_weight=low_weight)
    for has in rounds:
        first = lanes.peek(*has)
        assert lanes.peek(*has) == first  # looking twice changes nothing
        assert lanes.pick(*has) == first
