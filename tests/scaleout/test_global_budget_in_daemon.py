"""`tps_scope = "global"` inside one in-process daemon: permits from Redis, and the metric of
permits this host dropped."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from connector.app.daemon import Daemon
from connector.config.load import parse_config
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    config_text,
    start_smsc,
    wait_until,
)


async def test_a_global_carrier_sends_on_permits_and_counts_the_ones_it_drops(
    redis_url: str,
) -> None:
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 50, "tps_scope": "global"})
    daemon = Daemon.build(parse_config(config_text(redis_url, [carrier])))
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    h = DaemonHarness(daemon, task, client, "sms")
    try:
        await h.wait_ready(["airtel-cd"])
        pipe = client.pipeline(transaction=False)
        for n in range(60):
            data = {"message_id": f"g{n}", "to": [f"+24399{n:07d}"], "message": "hi"}
            pipe.xadd("sms:outbound", {"data": json.dumps({**data, "sender_id": "MYAPP"})})
        await pipe.execute()

        async def all_sent() -> bool:
            return len(smsc.records) >= 60

        await wait_until(all_sent, timeout_s=15, what="60 submits")
        dispatcher = daemon.dispatchers["airtel-cd"]
        assert dispatcher.permits is not None
        assert dispatcher.permits.used == 60  # every submit spent one permit of the budget
        assert await client.exists("{sms:outbound}:tps:airtel-cd")

        # Permits this host held but could not use in time are dropped and counted.
        loop = asyncio.get_running_loop()
        dispatcher.permits.clear()  # any left over count as dropped too
        dispatcher.permits.add(loop.time() - 5.0, 0.001, 3)
        dispatcher.permits.next_at(loop.time())
        assert dispatcher.permits_expired() >= 3
        text = (await daemon.metrics.render_async()).decode()
        line = next(
            row
            for row in text.splitlines()
            if row.startswith('smpp_connector_permits_expired_total{carrier="airtel-cd"}')
        )
        assert float(line.rsplit(" ", 1)[1]) == dispatcher.permits_expired()
    finally:
        await h.stop()
        await client.aclose()
        await smsc.stop()
