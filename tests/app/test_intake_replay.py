"""Intake after a crash: every entry this consumer read but never wrote is taken in, once."""

from __future__ import annotations

import asyncio
import json

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
