"""Bind-slot leases in one Redis sorted set, against a real private redis-server.

At most `max_binds` holders get a slot; a holder renews its own even when every slot is held;
a release frees a slot; a lease not renewed within `ttl_s` is taken over, after which the old
holder is refused; `holders()` lists only unexpired leases. Several `RedisBindSlots` objects
on one key, each on its own connection, stand for several hosts.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from connector.streams.leases import RedisBindSlots

KEY = "sms:{sms:outbound}:binds:airtel-cd"


def _hosts(clients: list[aioredis.Redis], max_binds: int, ttl_s: float) -> list[RedisBindSlots]:
    return [RedisBindSlots(client, KEY, max_binds, ttl_s=ttl_s) for client in clients]


async def test_at_most_max_binds_holders_get_a_slot(clients: list[aioredis.Redis]) -> None:
    hosts = _hosts(clients, max_binds=3, ttl_s=30.0)
    holders = [f"host-{h}/airtel-cd/tr{i}" for h in range(3) for i in range(4)]
    replies = await asyncio.gather(
        *(hosts[n % len(hosts)].acquire(holder) for n, holder in enumerate(holders))
    )
    winners = sorted(holder for holder, won in zip(holders, replies, strict=True) if won)
    assert len(winners) == 3
    assert sorted(await hosts[0].holders()) == winners
    assert await clients[0].zcard(KEY) == 3
    # Nobody else gets in later either.
    for holder in holders:
        if holder not in winners:
            assert not await hosts[1].acquire(holder)


async def test_a_holder_renews_its_own_slot_even_when_full(
    clients: list[aioredis.Redis],
) -> None:
    a, b, _ = _hosts(clients, max_binds=2, ttl_s=30.0)
    assert await a.acquire("a/airtel-cd/tr0")
    assert await b.acquire("b/airtel-cd/tr0")
    assert not await b.acquire("b/airtel-cd/tr1")  # full
    before = await clients[0].zscore(KEY, "a/airtel-cd/tr0")
    await asyncio.sleep(0.01)
    assert await a.acquire("a/airtel-cd/tr0")  # a renewal, though every slot is held
    after = await clients[0].zscore(KEY, "a/airtel-cd/tr0")
    assert before is not None
    assert after is not None
    assert after > before  # the lease was pushed forward
    assert sorted(await a.holders()) == ["a/airtel-cd/tr0", "b/airtel-cd/tr0"]


async def test_release_frees_a_slot_for_another_holder(clients: list[aioredis.Redis]) -> None:
    a, b, _ = _hosts(clients, max_binds=1, ttl_s=30.0)
    assert await a.acquire("a/airtel-cd/tr0")
    assert not await b.acquire("b/airtel-cd/tr0")
    await a.release("a/airtel-cd/tr0")
    assert await a.holders() == []
    assert await b.acquire("b/airtel-cd/tr0")
    assert await a.holders() == ["b/airtel-cd/tr0"]
    assert not await a.acquire("a/airtel-cd/tr0")
    await a.release("a/airtel-cd/tr0")  # releasing what one does not hold changes nothing
    assert await a.holders() == ["b/airtel-cd/tr0"]


async def test_an_expired_lease_is_taken_over_and_its_old_holder_is_refused(
    clients: list[aioredis.Redis],
) -> None:
    a, b, _ = _hosts(clients, max_binds=1, ttl_s=0.3)
    assert await a.acquire("a/airtel-cd/tr0")
    assert not await b.acquire("b/airtel-cd/tr0")
    await asyncio.sleep(0.45)  # a's lease ran out (Redis time) without a renewal
    assert await b.acquire("b/airtel-cd/tr0")
    assert not await a.acquire("a/airtel-cd/tr0")  # its renewal comes too late: full
    assert await a.holders() == ["b/airtel-cd/tr0"]


async def test_holders_lists_only_unexpired_leases(clients: list[aioredis.Redis]) -> None:
    short = RedisBindSlots(clients[0], KEY, 3, ttl_s=0.3)
    long = RedisBindSlots(clients[1], KEY, 3, ttl_s=30.0)
    assert await short.acquire("a/airtel-cd/tr0")
    assert await long.acquire("b/airtel-cd/tr0")
    assert sorted(await long.holders()) == ["a/airtel-cd/tr0", "b/airtel-cd/tr0"]
    await asyncio.sleep(0.45)
    # The expired member is still in the set (nobody acquired since), but not listed.
    assert await clients[0].zscore(KEY, "a/airtel-cd/tr0") is not None
    assert await long.holders() == ["b/airtel-cd/tr0"]
    assert await short.holders() == ["b/airtel-cd/tr0"]
