"""The outbox relay against a real private redis-server (plain streams, no cluster needed).

Entries reach their stream under the outbox's own ids, with their fields, in order, and leave
the outbox; a relay that died between copying and deleting is repeated without a duplicate
(the repeats are refused and counted); two relays racing over a growing outbox lose nothing,
duplicate nothing and keep the order; `maxlen` trims the stream approximately; `run()` wakes up
when an entry arrives instead of sleeping out its block.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from connector.streams.relay import Relay

OUTBOX = "sms:{sms:outbound}:outbox:status"
STREAM = "sms:status"
OUTBOX_MO = "sms:{sms:outbound}:outbox:mo"
STREAM_MO = "sms:mo"

Entries = list[tuple[bytes, dict[bytes, bytes]]]


async def _produce(client: aioredis.Redis, outbox: str, n: int, tag: str = "") -> None:
    for i in range(n):
        fields: dict[str, str] = {"data": f'{{"n":{i}{tag}}}'}
        if i % 3 == 0:
            fields["extra"] = f"x{i}"
        await client.xadd(outbox, fields)  # type: ignore[arg-type]


async def _entries(client: aioredis.Redis, key: str) -> Entries:
    raw: Any = await client.xrange(key)
    return [(entry_id, dict(fields)) for entry_id, fields in raw]


class DiesBeforeDelete:
    """A connection that breaks right after the copy: the outbox keeps what was copied."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def xdel(self, *_args: Any) -> int:
        raise RedisConnectionError("connection lost")


async def test_entries_arrive_with_their_ids_fields_and_order_and_leave_the_outbox(
    clients: list[aioredis.Redis],
) -> None:
    client = clients[0]
    await _produce(client, OUTBOX, 25)
    await _produce(client, OUTBOX_MO, 7, tag=',"mo":1')
    expected = await _entries(client, OUTBOX)
    expected_mo = await _entries(client, OUTBOX_MO)
    relay = Relay(client, [(OUTBOX, STREAM, 0), (OUTBOX_MO, STREAM_MO, 0)], batch=10)
    moved = 0
    for _ in range(10):  # batches of 10: three passes empty the outboxes
        step = await relay.step()
        moved += step
        if step == 0:
            break
    assert moved == 32
    assert relay.moved == 32
    assert relay.refused == 0
    assert await _entries(client, STREAM) == expected
    assert await _entries(client, STREAM_MO) == expected_mo
    assert await client.xlen(OUTBOX) == 0
    assert await client.xlen(OUTBOX_MO) == 0
    assert await relay.step() == 0


async def test_a_repeated_run_over_already_copied_entries_adds_nothing_twice(
    clients: list[aioredis.Redis],
) -> None:
    client = clients[0]
    await _produce(client, OUTBOX, 12)
    expected = await _entries(client, OUTBOX)
    dying = Relay(DiesBeforeDelete(clients[1]), [(OUTBOX, STREAM, 0)])
    with pytest.raises(RedisConnectionError):
        await dying.step()
    assert await _entries(client, STREAM) == expected  # copied ...
    assert await client.xlen(OUTBOX) == 12  # ... but never deleted from the outbox
    await _produce(client, OUTBOX, 5, tag=',"late":1')  # and more came in meanwhile
    expected = expected + (await _entries(client, OUTBOX))[12:]

    relay = Relay(client, [(OUTBOX, STREAM, 0)])
    assert await relay.step() == 17
    assert relay.refused == 12  # every already-copied entry refused, none added again
    assert await _entries(client, STREAM) == expected
    assert await client.xlen(OUTBOX) == 0


async def test_two_relays_racing_over_a_growing_outbox_lose_and_duplicate_nothing(
    clients: list[aioredis.Redis],
) -> None:
    producer_client, client_a, client_b = clients
    total = 400
    relays = [
        Relay(client, [(OUTBOX, STREAM, 0)], batch=batch)
        for client, batch in ((client_a, 16), (client_b, 23))
    ]
    produced = asyncio.Event()

    async def produce() -> None:
        for i in range(total):
            await producer_client.xadd(OUTBOX, {"data": f'{{"n":{i}}}'})
            if i % 5 == 0:
                await asyncio.sleep(0)
        produced.set()

    async def keep_stepping(relay: Relay) -> None:
        for _ in range(20_000):  # bounded; ends once everything produced has crossed
            moved = await asyncio.gather(relay.step(), relay.step())
            if produced.is_set() and sum(moved) == 0 and await client_a.xlen(OUTBOX) == 0:
                return
            await asyncio.sleep(0)
        raise AssertionError("the relays never emptied the outbox")

    await asyncio.gather(produce(), *(keep_stepping(relay) for relay in relays))
    stream = await _entries(producer_client, STREAM)
    numbers = [int(fields[b"data"][5:-1]) for _, fields in stream]
    assert numbers == list(range(total))  # nothing lost, nothing twice, in order
    ids = [entry_id for entry_id, _ in stream]
    assert len(set(ids)) == total
    assert await producer_client.xlen(OUTBOX) == 0
    # Every copy attempt either added an entry (once per entry) or was refused.
    moved = sum(relay.moved for relay in relays)
    refused = sum(relay.refused for relay in relays)
    assert moved - refused == total
    assert refused > 0  # they did race over the same entries


async def test_maxlen_trims_the_stream_approximately(clients: list[aioredis.Redis]) -> None:
    client = clients[0]
    await _produce(client, OUTBOX, 1000)
    await _produce(client, OUTBOX_MO, 300)
    expected = await _entries(client, OUTBOX)
    relay = Relay(client, [(OUTBOX, STREAM, 50), (OUTBOX_MO, STREAM_MO, 0)], batch=200)
    for _ in range(20):
        if await relay.step() == 0:
            break
    length = await client.xlen(STREAM)
    config: Any = await client.config_get("stream-node-max-entries")
    node = int(config["stream-node-max-entries"])
    assert 50 <= length < 50 + node  # `~`: whole nodes only, never under maxlen
    assert await _entries(client, STREAM) == expected[-length:]  # the newest are kept
    assert await client.xlen(STREAM_MO) == 300  # maxlen 0: never trimmed


async def _blocked_in_xread(client: aioredis.Redis) -> bool:
    listed: Any = await client.client_list()
    return any(entry.get("cmd") == "xread" and "b" in entry.get("flags", "") for entry in listed)


async def test_run_wakes_up_when_an_entry_arrives(clients: list[aioredis.Redis]) -> None:
    watcher, relay_client, producer = clients
    relay = Relay(relay_client, [(OUTBOX, STREAM, 0)], block_ms=60_000)
    task = asyncio.ensure_future(relay.run())
    try:
        deadline = time.monotonic() + 10.0
        while not await _blocked_in_xread(watcher):
            assert time.monotonic() < deadline, "the relay never went to wait on its outbox"
            assert not task.done()
            await asyncio.sleep(0.02)
        entry_id = await producer.xadd(OUTBOX, {"data": "{}"})
        # Bounded well under the 60 s block: only a wake-up on the entry gets it there.
        deadline = time.monotonic() + 10.0
        while await watcher.xlen(STREAM) == 0:
            assert time.monotonic() < deadline, "the relay slept through the entry"
            assert not task.done()
            await asyncio.sleep(0.02)
        assert [entry[0] for entry in await _entries(watcher, STREAM)] == [entry_id]
        assert relay.moved == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
