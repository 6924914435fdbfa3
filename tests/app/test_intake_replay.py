"""Intake after a crash: every entry this consumer read but never wrote is taken in, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from connector.app.intake import CarrierPlanning, Intake
from connector.domain.routing import Router
from connector.streams.store import Store
from tests.support.daemon_harness import wait_until

PLANNING = CarrierPlanning(
    max_parts=10, smart_encoding=False, concat="udh", gsm7_form="unpacked", reference_16bit=False
)


async def test_replay_pages_through_the_whole_pending_list(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="host-a")
    await store.ensure_groups(["airtel-cd"])
    for n in range(7):
        entry = {
            "message_id": f"m{n}",
            "to": ["+243998857000"],
            "message": "hi",
            "sender_id": "MYAPP",
        }
        await client.xadd("sms:outbound", {"data": json.dumps(entry)})
    # A previous life read all seven, wrote the first two, then died.
    read = await store.read(["sms:outbound"], 100, block_ms=None)
    intake = Intake(
        store, Router({"airtel-cd": ["+24399"]}), {"airtel-cd": PLANNING}, batch_size=2, block_ms=10
    )
    assert await intake.take(read[0][1][:2]) == [1, 1]

    task = asyncio.ensure_future(intake.run())
    for _ in range(200):
        if await client.xlen(store.work_stream("airtel-cd", "normal")) >= 7:
            break
        await asyncio.sleep(0.01)
    intake.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert await client.xlen(store.work_stream("airtel-cd", "normal")) == 7
    events = [json.loads(f[b"data"]) for _, f in await client.xrange("sms:status") or [] if f]
    assert sorted(e["message_id"] for e in events) == [f"m{n}" for n in range(7)]
    assert all(e["status"] == "processing" for e in events)
    await client.aclose()


async def test_control_characters_in_a_message_and_its_meta_cross_intake_intact(
    redis_url: str,
) -> None:
    """The intake script receives its JSON texts joined by \\x1e: a gateway's text holding that
    very character (and its neighbours) arrives escaped in every text, and comes back out of
    the work item and the status event exactly as sent."""
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="host-a")
    await store.ensure_groups(["airtel-cd"])
    text = "a\x1eb\x1fc\x1dd\x00e"
    entry = {
        "message_id": "ctl1",
        "to": ["+243998857000", "not-a-number\x1e"],
        "message": text,
        "sender_id": "MYAPP",
        "meta": {"note": "x\x1ey"},
    }
    await client.xadd("sms:outbound", {"data": json.dumps(entry)})
    await client.xadd("sms:outbound", {"data": b'{"message_id": "\x1e'})  # dead-lettered
    read = await store.read(["sms:outbound"], 10, block_ms=None)
    intake = Intake(store, Router({"airtel-cd": ["+24399"]}), {"airtel-cd": PLANNING})
    assert await intake.take(read[0][1], fresh=True) == [1, 1]
    work: Any = await client.xrange(store.work_stream("airtel-cd", "normal"))
    item = json.loads(work[0][1][b"w"])
    assert item["text"] == text
    assert json.loads(item["meta"]) == {"note": "x\x1ey"}
    events = [json.loads(f[b"data"]) for _, f in await client.xrange("sms:status") or [] if f]
    assert sorted(e["status"] for e in events) == ["processing", "rejected"]
    assert all(e["meta"] == {"note": "x\x1ey"} for e in events)
    assert [e["to"] for e in events if e["status"] == "rejected"] == ["not-a-number\x1e"]
    dead: Any = await client.xrange("sms:dead")
    assert len(dead) == 1
    assert json.loads(dead[0][1][b"data"])["fields"]["data"] == '{"message_id": "\x1e'
    await client.aclose()


def _entry(n: int) -> Any:
    return {"data": json.dumps({"message_id": f"m{n}", "to": ["+243998857000"], "message": "hi",
                                "sender_id": "MYAPP"})}  # fmt: skip


async def _wait_for(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_until(check, timeout_s=5.0, what=what, interval_s=0.01)


@dataclass
class _HeldWrites:
    """An intake running against the test's Redis whose first write waits for `gate`, then
    goes on or fails with a connection error (`_held_writes(fail=...)`)."""

    client: aioredis.Redis
    store: Store
    intake: Intake
    gate: asyncio.Event

    async def pending(self, n: int) -> bool:
        info = await self.client.xpending("sms:outbound", "connector")
        return int(info["pending"]) == n

    async def written(self, n: int) -> bool:
        return int(await self.client.xlen(self.store.work_stream("airtel-cd", "normal"))) == n

    async def events(self) -> list[dict[str, Any]]:
        return [
            json.loads(fields[b"data"])
            for _, fields in await self.client.xrange("sms:status") or []
            if fields
        ]


@contextlib.asynccontextmanager
async def _held_writes(redis_url: str, *, fail: bool) -> AsyncIterator[_HeldWrites]:
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="host-a")
    await store.ensure_groups(["airtel-cd"])
    gate = asyncio.Event()
    write = store.intake
    held: list[int] = []

    async def held_write(*args: Any, **kwargs: Any) -> list[int]:
        if not held:
            held.append(1)
            await gate.wait()
            if fail:
                raise RedisConnectionError("connection reset by the test")
        return await write(*args, **kwargs)

    store.intake = held_write  # type: ignore[method-assign]
    intake = Intake(
        store, Router({"airtel-cd": ["+24399"]}), {"airtel-cd": PLANNING}, block_ms=2000
    )
    task = asyncio.ensure_future(intake.run())
    try:
        yield _HeldWrites(client, store, intake, gate)
    finally:
        intake.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


async def test_the_next_read_is_in_flight_while_a_batch_is_written(redis_url: str) -> None:
    """While the intake script of one batch is on its way, the intake has already asked for
    the next entries: one that arrives meanwhile is read (pending here) before that batch's
    write is done, instead of one write's round trip later."""
    async with _held_writes(redis_url, fail=False) as h:
        await h.client.xadd("sms:outbound", _entry(0))
        await _wait_for(lambda: h.pending(1), "the first entry to be read")
        await h.client.xadd("sms:outbound", _entry(1))
        # The first batch's write is still held: only a read sent ahead can take entry 1.
        await _wait_for(lambda: h.pending(2), "entry 1 to be read while entry 0 is written")
        assert await h.client.xlen("sms:status") == 0
        h.gate.set()
        await _wait_for(lambda: h.written(2), "both entries to be written")
        events = await h.events()
    assert sorted((e["message_id"], e["status"]) for e in events) == [
        ("m0", "processing"),
        ("m1", "processing"),
    ]


async def test_entries_read_ahead_of_a_failed_write_are_taken_in_once(redis_url: str) -> None:
    """The write of a batch fails while the next read has taken entries: those are pending
    here, and the replay that follows the failure takes every entry in, each once."""
    async with _held_writes(redis_url, fail=True) as h:
        await h.client.xadd("sms:outbound", _entry(0))
        await _wait_for(lambda: h.pending(1), "the first entry to be read")
        async with h.client.pipeline(transaction=True) as both:  # one read takes both
            both.xadd("sms:outbound", _entry(1))
            both.xadd("sms:outbound", _entry(2))
            await both.execute()
        await _wait_for(lambda: h.pending(3), "the read ahead to take entries 1 and 2")
        h.gate.set()  # the first batch's write fails now
        await _wait_for(lambda: h.written(3), "every entry to be written after the failure")
        events = await h.events()
    assert sorted(e["message_id"] for e in events) == ["m0", "m1", "m2"]
    assert h.intake.stats.replayed == 3  # the failed batch and the two entries read ahead
