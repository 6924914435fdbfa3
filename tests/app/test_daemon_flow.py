"""The daemon end to end, in-process: a real redis-server, the simulator over TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from connector.app.daemon import Daemon
from connector.config.load import parse_config
from connector.simulator.smsc import OutcomeRule, SimulatorConfig, Smsc


@dataclass
class Harness:
    daemon: Daemon
    task: asyncio.Task[int]
    smsc: Smsc
    redis: aioredis.Redis

    async def send(self, **fields: Any) -> str:
        entry = {
            "message_id": "507f1f77bcf86cd799439011",
            "sender_id": "MYAPP",
            "message": "Hello from Lisoloo!",
            "to": ["+243998857000"],
        }
        entry.update(fields)
        entry_id = await self.redis.xadd("sms:outbound", {"data": json.dumps(entry)})
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def statuses(self) -> list[dict[str, Any]]:
        entries = await self.redis.xrange("sms:status") or []
        return [json.loads(fields[b"data"]) for _, fields in entries if fields]

    async def wait_for(
        self, count: int, final_for: int | None = None, timeout_s: float = 15
    ) -> list[dict[str, Any]]:
        """Until `count` events exist (bounded)."""
        for _ in range(int(timeout_s / 0.02)):
            events = await self.statuses()
            if len(events) >= count:
                return events
            await asyncio.sleep(0.02)
        raise AssertionError(f"only {len(await self.statuses())} events: {await self.statuses()}")


def _config(redis_url: str, port: int, **carrier: Any) -> str:
    extra = "\n".join(f"{k} = {json.dumps(v)}" for k, v in carrier.items())
    return f"""
[redis]
url = "{redis_url}"
consumer = "test-host"
block_ms = 50
claim_idle_s = 5

[carriers.airtel-cd]
host = "127.0.0.1"
port = {port}
system_id = "lisoloo"
password = "pw"
binds = 1
tps = 500
window = 20
prefixes = ["+24397", "+24398", "+24399"]
reconnect_initial_s = 0.1
reconnect_max_s = 0.5
retry_initial_s = 0.05
retry_max_s = 0.2
{extra}
"""


@pytest.fixture
async def harness(redis_url: str) -> AsyncIterator[Harness]:
    smsc = Smsc(
        SimulatorConfig(
            system_id="lisoloo",
            password="pw",
            receipt_delay_s=0.05,
            outcomes=[OutcomeRule(pattern=r"^243990", stat="UNDELIV")],
        )
    )
    _, port = await smsc.start()
    config = parse_config(_config(redis_url, port))
    daemon = Daemon.build(config)
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    yield Harness(daemon, task, smsc, client)
    daemon.stop()
    assert await asyncio.wait_for(task, 20) == 0
    await smsc.stop()
    await client.aclose()


async def test_quickstart_message_goes_processing_sent_delivered(harness: Harness) -> None:
    await harness.send()
    events = await harness.wait_for(3)
    assert [e["status"] for e in events] == ["processing", "sent", "delivered"]
    sent, delivered = events[1], events[2]
    assert sent["carrier"] == "airtel-cd"
    assert sent["smsc_ids"]
    assert sent["smsc_ids"] == delivered["smsc_ids"]
    assert delivered["receipt"]["stat"] == "DELIVRD"
    assert delivered["error"] is None
    assert await harness.redis.xpending("sms:outbound", "connector") == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


async def test_undelivered_receipt_and_no_route_and_bad_number(harness: Harness) -> None:
    await harness.send(to=["+243990000001", "+33612345678", "+12"])
    events = await harness.wait_for(5)
    by_to: dict[str, list[str]] = {}
    for e in events:
        by_to.setdefault(e["to"], []).append(e["status"])
    assert by_to["+243990000001"] == ["processing", "sent", "undelivered"]
    assert by_to["+33612345678"] == ["failed"]
    assert by_to["+12"] == ["rejected"]
