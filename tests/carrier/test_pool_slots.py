"""Bind pools sharing `max_binds` through leases in a real redis-server, against the simulator.

Two pools stand for two hosts (holder prefixes "a/" and "b/", each its own Redis connection)
with two binds each and two slots between them: exactly two sessions are bound at the
simulator, the other two binds wait for a slot; when pool a stops, its slots come free and
pool b's binds take them. A lease taken away in Redis makes its bind unbind within about the
lease's ttl and wait for a slot again. Receiver binds never take a slot. Leases are short here
(ttl 2 s, renewals every 0.3 s, retries every 0.1 s); every wait polls against a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from connector.carrier.pool import BindPool, BindSettings, BindState
from connector.simulator.smsc import SimulatorConfig, Smsc
from connector.streams.leases import RedisBindSlots

SYSTEM_ID = "lisoloo"
PASSWORD = "pw"
KEY = "sms:{sms:outbound}:binds:airtel-cd"
TTL_S = 2.0
RENEW_S = 0.3
RETRY_S = 0.1


async def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Poll `check` until it holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    simulator = Smsc(SimulatorConfig(system_id=SYSTEM_ID, password=PASSWORD))
    await simulator.start("127.0.0.1", 0)
    yield simulator
    await simulator.stop()


def _settings(smsc: Smsc, **overrides: object) -> BindSettings:
    assert smsc.address is not None
    options: dict[str, object] = {
        "binds": 2,
        "reconnect_initial_s": 0.05,
        "reconnect_max_s": 0.2,
        "connect_timeout_s": 3.0,
        "response_timeout_s": 3.0,
    }
    options.update(overrides)
    return BindSettings(
        "airtel-cd",
        smsc.address[0],
        smsc.address[1],
        SYSTEM_ID,
        PASSWORD,
        **options,  # type: ignore[arg-type]
    )


def _slots(client: aioredis.Redis, max_binds: int) -> RedisBindSlots:
    return RedisBindSlots(client, KEY, max_binds, ttl_s=TTL_S, renew_s=RENEW_S, retry_s=RETRY_S)


def _bound_at_simulator(smsc: Smsc) -> int:
    return smsc.stats_dict()["sessions_bound"]


async def test_two_pools_share_two_slots_and_the_waiting_binds_take_freed_ones(
    smsc: Smsc, clients: list[aioredis.Redis]
) -> None:
    slots_a = _slots(clients[0], 2)
    slots_b = _slots(clients[1], 2)
    pool_a = BindPool(_settings(smsc), slots=slots_a, holder_prefix="a/")
    pool_b = BindPool(_settings(smsc), slots=slots_b, holder_prefix="b/")
    pool_a.start()
    try:
        await wait_until(lambda: pool_a.bound_count() == 2, "pool a binds twice")
        pool_b.start()
        await wait_until(lambda: pool_b.waiting_for_slot() == 2, "pool b waits for slots")
        # Several renewals and retries later, still only pool a's two sessions.
        await asyncio.sleep(4 * RENEW_S)
        assert _bound_at_simulator(smsc) == 2
        assert pool_a.bound_count() == 2
        assert pool_b.bound_count() == 0
        assert pool_b.waiting_for_slot() == 2
        assert all(bind.state is BindState.WAITING_FOR_SLOT for bind in pool_b.transmitters)
        assert sorted(await slots_a.holders()) == ["a/airtel-cd/tr0", "a/airtel-cd/tr1"]

        await pool_a.stop()  # unbinds, then gives its slots back
        assert all(bind.state is BindState.STOPPED for bind in pool_a.binds)
        assert not [h for h in await slots_a.holders() if h.startswith("a/")]  # released now
        await wait_until(lambda: pool_b.bound_count() == 2, "pool b binds on the freed slots")
        await wait_until(lambda: _bound_at_simulator(smsc) == 2, "two sessions at the carrier")
        assert pool_b.waiting_for_slot() == 0
        assert sorted(await slots_b.holders()) == ["b/airtel-cd/tr0", "b/airtel-cd/tr1"]
        assert smsc.stats.sessions_bound_peak == 2  # the carrier never saw a third bind
    finally:
        await asyncio.gather(pool_a.stop(), pool_b.stop())
    assert await slots_b.holders() == []  # stopping gives every slot back


async def test_a_lease_taken_away_unbinds_its_bind_within_about_the_ttl(
    smsc: Smsc, clients: list[aioredis.Redis], caplog: pytest.LogCaptureFixture
) -> None:
    slots = _slots(clients[0], 2)
    pool = BindPool(_settings(smsc), slots=slots, holder_prefix="b/")
    pool.start()
    try:
        await wait_until(lambda: pool.bound_count() == 2, "both binds bound")
        victim, other = pool.transmitters
        assert victim.holder == "b/airtel-cd/tr0"
        # Another host's view of the world: the lease is gone and its slot taken.
        seconds, _ = await clients[2].time()
        await clients[2].zrem(KEY, victim.holder)
        await clients[2].zadd(KEY, {"foreign/airtel-cd/tr0": (int(seconds) + 600) * 1000})
        taken_at = time.monotonic()
        await wait_until(
            lambda: victim.state is not BindState.BOUND, "the bind gives up its session", TTL_S
        )
        lost_after = time.monotonic() - taken_at
        await wait_until(
            lambda: victim.state is BindState.WAITING_FOR_SLOT, "the bind waits for a slot"
        )
        assert lost_after <= TTL_S
        assert any(
            "bind slot lost: its lease was taken over" in record.getMessage()
            for record in caplog.records
        )
        await wait_until(lambda: _bound_at_simulator(smsc) == 1, "one session left")
        assert other.state is BindState.BOUND
        assert sorted(await slots.holders()) == ["b/airtel-cd/tr1", "foreign/airtel-cd/tr0"]

        await clients[2].zrem(KEY, "foreign/airtel-cd/tr0")  # the other host lets go
        await wait_until(lambda: pool.bound_count() == 2, "the bind gets its slot back")
        await wait_until(lambda: _bound_at_simulator(smsc) == 2, "two sessions again")
    finally:
        await pool.stop()


async def test_receiver_binds_never_take_a_slot(smsc: Smsc, clients: list[aioredis.Redis]) -> None:
    slots = _slots(clients[0], 1)
    seconds, _ = await clients[2].time()
    await clients[2].zadd(KEY, {"foreign/airtel-cd/tr0": (int(seconds) + 600) * 1000})
    settings = _settings(smsc, bind="transmitter", binds=1, receiver_binds=2)
    pool = BindPool(settings, slots=slots, holder_prefix="a/")
    pool.start()
    try:
        await wait_until(
            lambda: all(bind.state is BindState.BOUND for bind in pool.receivers),
            "both receivers bound though every slot is held",
        )
        await wait_until(lambda: pool.waiting_for_slot() == 1, "the transmitter waits")
        await asyncio.sleep(4 * RENEW_S)
        assert await slots.holders() == ["foreign/airtel-cd/tr0"]
        assert _bound_at_simulator(smsc) == 2
        assert all(bind.state is BindState.BOUND for bind in pool.receivers)

        await clients[2].zrem(KEY, "foreign/airtel-cd/tr0")
        await wait_until(lambda: pool.bound_count() == 1, "the transmitter binds")
        await wait_until(lambda: _bound_at_simulator(smsc) == 3, "three sessions")
        assert await slots.holders() == ["a/airtel-cd/tr0"]  # the transmitter's only
    finally:
        await pool.stop()


class SlowFirstReply:
    """Bind slots whose first `acquire` reply arrives late (a slow link to Redis, a pause):
    Redis started the lease when the request arrived, not when the reply did."""

    def __init__(self, inner: RedisBindSlots, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.ttl_s = inner.ttl_s
        self.renew_s = inner.renew_s
        self.retry_s = inner.retry_s
        self.calls = 0

    async def acquire(self, holder: str) -> bool:
        held = await self.inner.acquire(holder)
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(self.delay_s)
        return held

    async def release(self, holder: str) -> None:
        await self.inner.release(holder)


async def test_a_lease_that_runs_out_before_the_first_renewal_never_means_an_extra_bind(
    smsc: Smsc, clients: list[aioredis.Redis]
) -> None:
    # ttl 2 s, renewals every 0.6 s: the lease is counted from when its acquire was sent, so
    # a bind that got its slot late must not wait for its first renewal (bound + 0.6 s, past
    # the lease's end in Redis) while another host takes the slot and binds.
    ttl_s, renew_s = 2.0, 0.6
    slow = SlowFirstReply(
        RedisBindSlots(clients[0], KEY, 1, ttl_s=ttl_s, renew_s=renew_s, retry_s=RETRY_S), 1.8
    )
    fast = RedisBindSlots(clients[1], KEY, 1, ttl_s=ttl_s, renew_s=renew_s, retry_s=RETRY_S)
    pool_a = BindPool(_settings(smsc, binds=1), slots=slow, holder_prefix="a/")
    pool_b = BindPool(_settings(smsc, binds=1), slots=fast, holder_prefix="b/")
    pool_a.start()
    try:
        await wait_until(lambda: slow.calls == 1, "pool a's first acquire answered by Redis")
        pool_b.start()
        await wait_until(lambda: pool_b.waiting_for_slot() == 1, "pool b waits for the slot")
        # Past the end of a's first lease (2 s after its acquire) and its first renewal.
        await asyncio.sleep(ttl_s + renew_s)
        assert smsc.stats.sessions_bound_peak == 1  # never two binds at the carrier
        assert pool_a.bound_count() + pool_b.bound_count() == 1
        assert len(await fast.holders()) == 1
    finally:
        await asyncio.gather(pool_a.stop(), pool_b.stop())
