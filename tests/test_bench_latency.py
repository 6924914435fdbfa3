"""bench/bench_latency.py's episode arithmetic (the bench itself never runs in `make test`)."""

from __future__ import annotations

import pytest

from bench import bench_latency as bl


def test_episodes_are_the_slices_whose_own_p99_is_over_the_limit() -> None:
    slices = {0: [0.002] * 100, 1: [0.002] * 98 + [0.030] * 2, 2: [0.004]}
    assert bl.episode_slices(slices) == {1}
    assert bl.episode_slices(slices, limit_s=0.003) == {1, 2}


def test_the_legs_are_split_between_episodes_and_the_rest() -> None:
    legs = {0: [(0.001, 0.002)] * 10, 1: [(0.004, 0.008)] * 10}
    assert bl.leg_percentiles(legs, {1}, inside=True) == (0.004, 0.004, 0.008, 0.008)
    assert bl.leg_percentiles(legs, {1}, inside=False) == (0.001, 0.001, 0.002, 0.002)
    assert bl.leg_percentiles(legs, set(), inside=True) is None


def test_the_report_says_where_an_episodes_time_went(capsys: pytest.CaptureFixture[str]) -> None:
    bl.report_legs({0: [(0.001, 0.002)], 1: [(0.004, 0.008)]}, {1})
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "  inside episodes: entry -> processing p50 4.00 / p99 4.00 ms, processing -> sent "
        "p50 8.00 / p99 8.00 ms",
        "  outside them: entry -> processing p50 1.00 / p99 1.00 ms, processing -> sent "
        "p50 2.00 / p99 2.00 ms",
    ]
