"""The shared rate budget (GCRA over Redis TIME) against a real private redis-server.

Several `RateBudget` objects on one key stand for several hosts (each its own connection):
grants never exceed `want`; the permit times of every grant together are never closer than
`interval_us` (1 µs of rounding allowed); no permit lies beyond now + horizon (a spoken-for
horizon grants nothing and names the next free slot); after an idle spell the schedule starts
again at Redis's now; and a window of continuous asking is granted about rate * window plus a
horizon's worth. Times are Redis's (the replies carry `now_us`), never the test's clock.
"""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest
import redis.asyncio as aioredis

from connector.streams.budget import Grant, RateBudget

KEY = "sms:{sms:outbound}:tps:airtel-cd"
ROUNDING_US = 1.0


def _budgets(clients: list[aioredis.Redis], horizon_s: float) -> list[RateBudget]:
    return [RateBudget(client, KEY, horizon_s=horizon_s) for client in clients]


def _permits(grant: Grant) -> list[float]:
    return [grant.first_us + k * grant.interval_us for k in range(grant.count)]


def _assert_spaced(grants: list[Grant]) -> list[float]:
    """Every permit of every grant, in order; never two closer than the interval."""
    times = sorted(t for grant in grants for t in _permits(grant))
    assert len(times) == len(set(times)), "a slot was granted twice"
    for earlier, later in itertools.pairwise(times):
        assert later - earlier >= grants[0].interval_us - ROUNDING_US, (earlier, later)
    return times


async def _redis_now_us(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


async def test_a_grant_never_exceeds_want(clients: list[aioredis.Redis]) -> None:
    budget = RateBudget(clients[0], KEY, horizon_s=1.0)  # room for 1001 slots at 1000/s
    for want in (0, 1, 5, 17, 3, 0, 40):
        grant = await budget.grant(1000.0, want)
        assert 0 <= grant.count <= want
        if want:
            assert grant.count == want  # the horizon still has room: all of it
    assert grant.interval_us == pytest.approx(1000.0)


async def test_hosts_asking_at_once_never_get_permits_closer_than_the_interval(
    clients: list[aioredis.Redis],
) -> None:
    rate = 3000.0  # interval 333.33 µs: not a whole number of microseconds
    budgets = _budgets(clients, horizon_s=0.05)
    grants: list[Grant] = []
    for round_ in range(40):
        wants = [1 + (round_ * 7 + i * 3) % 23 for i in range(len(budgets) * 2)]
        replies = await asyncio.gather(
            *(budgets[i % len(budgets)].grant(rate, want) for i, want in enumerate(wants))
        )
        for grant, want in zip(replies, wants, strict=True):
            assert 0 <= grant.count <= want
        grants.extend(replies)
        await asyncio.sleep(0.002 * (round_ % 3))
    granted = [grant for grant in grants if grant.count > 0]
    assert len(granted) > 10
    times = _assert_spaced(granted)
    assert len(times) == sum(grant.count for grant in grants)


async def test_no_permit_beyond_now_plus_horizon(clients: list[aioredis.Redis]) -> None:
    budgets = _budgets(clients, horizon_s=0.02)
    for _ in range(30):
        replies = await asyncio.gather(*(budget.grant(2000.0, 50) for budget in budgets))
        for grant in replies:
            if grant.count:
                assert grant.first_us <= grant.now_us + budgets[0].horizon_us
                last = _permits(grant)[-1]
                assert last <= grant.now_us + budgets[0].horizon_us + ROUNDING_US


async def test_a_spoken_for_horizon_grants_nothing_and_names_the_next_free_slot(
    clients: list[aioredis.Redis],
) -> None:
    # One permit a second, half a second of horizon: the first grant takes the slot at now,
    # and for the next half second every host is told "nothing; the next slot is now + 1 s".
    budgets = _budgets(clients, horizon_s=0.5)
    first = await budgets[0].grant(1.0, 10)
    assert first.count == 1
    assert first.first_us == first.now_us
    next_free = first.first_us + 1_000_000
    for budget in budgets * 3:
        grant = await budget.grant(1.0, 10)
        assert grant.first_us == next_free  # spoken for or not, the next slot is the same
        if grant.now_us + budget.horizon_us < next_free:
            assert grant.count == 0
        else:  # a very busy machine: half a second passed, the horizon reached the slot
            assert grant.count == 1
            break


async def test_after_an_idle_spell_the_schedule_restarts_at_now(
    clients: list[aioredis.Redis],
) -> None:
    rate = 100.0
    budget = RateBudget(clients[0], KEY, horizon_s=0.05)
    full = await budget.grant(rate, 1000)
    assert full.count == math.floor(0.05 * rate) + 1  # a horizon's worth, not 1000
    await asyncio.sleep(0.3)  # well past the last permit (now + 50 ms)
    later = await budget.grant(rate, 1000)
    assert later.now_us - full.now_us >= 250_000
    assert later.first_us >= later.now_us
    assert later.first_us == later.now_us  # no slot of the idle spell is handed out
    assert later.count == math.floor(0.05 * rate) + 1


async def test_a_schedule_left_long_ago_grants_no_burst_of_old_slots(
    clients: list[aioredis.Redis],
) -> None:
    now_us = await _redis_now_us(clients[0])
    await clients[0].set(KEY, str(now_us - 30_000_000))  # last used 30 s ago
    budget = RateBudget(clients[1], KEY, horizon_s=0.1)
    grant = await budget.grant(200.0, 100_000)
    assert grant.first_us >= now_us
    assert grant.first_us == grant.now_us
    assert grant.count == math.floor(0.1 * 200.0) + 1  # 21, not 30 s * 200/s


async def test_total_over_a_window_is_about_rate_times_window_plus_a_horizon(
    clients: list[aioredis.Redis],
) -> None:
    rate = 500.0
    horizon_s = 0.25
    budgets = _budgets(clients, horizon_s=horizon_s)
    grants: list[Grant] = []
    for round_ in range(400):  # bounded; ends after about one second of Redis time
        replies = await asyncio.gather(*(budget.grant(rate, 200) for budget in budgets))
        grants.extend(replies)
        if replies[0].now_us - grants[0].now_us >= 1_000_000:
            break
        await asyncio.sleep(0.005 + 0.005 * (round_ % 4))
    start_us = min(grant.now_us for grant in grants)
    end_us = max(grant.now_us for grant in grants)
    window_s = (end_us - start_us) / 1e6
    assert window_s >= 0.5, "too few rounds in the loop's bound to cover the window"
    total = sum(grant.count for grant in grants)
    _assert_spaced([grant for grant in grants if grant.count])
    # Asked for far more than the rate every few milliseconds: the schedule stayed full from
    # its start to the last grant's horizon, and never went past it.
    assert total >= math.floor(window_s * rate)
    assert total <= math.floor((window_s + horizon_s) * rate) + 1
