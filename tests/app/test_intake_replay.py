"""Intake after a crash: every entry this consumer read but never wrote is taken in, once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from connector.app.intake import CarrierPlanning, Intake
from connector.domain.routing import Router
from connector.streams.store import Store

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
