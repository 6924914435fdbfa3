"""LoopLagProbe on a real event loop: a stall shows as one late timer, and stop() stops it."""

from __future__ import annotations

import asyncio
import time

import pytest

from connector.observe.loop_lag import LoopLagProbe


async def test_a_stall_of_the_loop_shows_as_one_late_sample() -> None:
    samples: list[float] = []
    probe = LoopLagProbe(asyncio.get_running_loop(), samples.append, interval_s=0.01)
    probe.start()
    time.sleep(0.2)  # the loop can run nothing else: the timer due in 10 ms waits 200 ms
    for _ in range(200):  # bounded: 5 more samples take ~50 ms
        if len(samples) >= 6:
            break
        await asyncio.sleep(0.01)
    probe.stop()
    assert samples[0] >= 0.18
    # Re-armed from when it fired, not from when it was due: no burst of catch-up samples,
    # so only the first one is that late.
    assert sum(1 for s in samples if s >= 0.1) == 1
    assert all(s >= 0.0 for s in samples)


async def test_stop_ends_sampling_and_start_twice_arms_one_timer() -> None:
    samples: list[float] = []
    probe = LoopLagProbe(asyncio.get_running_loop(), samples.append, interval_s=0.01)
    probe.start()
    probe.start()
    was_running = probe.running
    await asyncio.sleep(0.105)
    probe.stop()
    assert was_running
    assert not probe.running
    taken = len(samples)
    # One timer: at most one sample per 10 ms (two timers would give about twice as many).
    assert 1 <= taken <= 11
    await asyncio.sleep(0.05)
    assert len(samples) == taken


def test_a_non_positive_interval_is_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="interval_s must be > 0"):
            LoopLagProbe(loop, lambda _: None, interval_s=0)
    finally:
        loop.close()
