"""Redis killed and restarted mid-run: binds stay up, intake pauses, receipts get a temporary
error, the daemon reconnects and carries on; nothing lost, no crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.support.daemon_harness import CarrierUnderTest, running_daemon, start_smsc, wait_until
from tests.support.redis_server import RedisServer


async def test_redis_killed_and_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", aof=True)
    server.start()
    smsc = await start_smsc(receipt_delay_s=0.05, receipt_retry_delay_s=0.2)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 200, "window": 10})
    numbers = [f"+24399{n:07d}" for n in range(300)]
    try:
        async with running_daemon(server.url, [carrier]) as h:
            pipe = h.redis.pipeline(transaction=False)
            for n, number in enumerate(numbers):
                data = {
                    "message_id": f"m{n}",
                    "to": [number],
                    "message": f"hello {n}",
                    "sender_id": "MYAPP",
                }
                pipe.xadd("sms:outbound", {"data": json.dumps(data)})
            await pipe.execute()

            async def some_delivered() -> bool:
                seqs = await h.sequences()
                return sum(1 for s in seqs.values() if "delivered" in s) >= 50

            await wait_until(some_delivered, timeout_s=15, what="traffic flowing")
            server.kill()
            await asyncio.sleep(1.0)
            assert all(bind.is_bound for bind in h.daemon.pools["airtel-cd"].transmitters)
            assert not h.task.done()
            server.start()
            await h.redis.connection_pool.disconnect()
            seqs = await h.wait_final(numbers, timeout_s=60)
            for number in numbers:
                statuses = seqs[number]
                assert statuses[-1] == "delivered", (number, statuses)
                # At-least-once after an outage: repeats allowed, order kept.
                assert statuses.index("processing") < statuses.index("sent")
                assert statuses.index("sent") < statuses.index("delivered")
            await h.wait_idle(["airtel-cd"], timeout_s=20)
    finally:
        server.stop()
