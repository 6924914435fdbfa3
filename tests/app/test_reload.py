"""SIGHUP: a reload applies tps, window and routing live without dropping binds; a broken
file is refused and the running configuration stays; bursts of reloads coalesce."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import redis.asyncio as aioredis

from connector.app.daemon import Daemon
from connector.config.load import load_config
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    config_text,
    start_smsc,
    wait_until,
)


def _rate(timestamps: list[float], start: float, end: float) -> float:
    return sum(1 for t in timestamps if start <= t < end) / (end - start)


async def _backlog(client: aioredis.Redis, count: int) -> None:
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        data = {
            "message_id": f"m{n}",
            "to": [f"+24399{n:07d}"],
            "message": f"hello {n}",
            "sender_id": "MYAPP",
        }
        pipe.xadd("sms:outbound", {"data": json.dumps(data)})
    await pipe.execute()


async def test_reload_halves_tps_live_and_refuses_a_broken_file(
    redis_url: str, tmp_path: Path
) -> None:
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 100, "window": 10})
    path = tmp_path / "connector.toml"
    path.write_text(config_text(redis_url, [carrier]))
    daemon = Daemon.build(load_config(path))
    daemon.config_path = str(path)
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    h = DaemonHarness(daemon, task, client, "sms")
    try:
        await h.wait_ready(["airtel-cd"])
        binds_before = [bind.client for bind in daemon.pools["airtel-cd"].transmitters]
        await _backlog(client, 600)

        async def flowing_for(seconds: float) -> bool:
            stamps = [r.ts for r in smsc.records]
            return bool(stamps) and stamps[-1] - stamps[0] >= seconds

        await wait_until(lambda: flowing_for(2.0), timeout_s=10, what="2 s of traffic")
        before = [r.ts for r in smsc.records]
        rate_before = _rate(before, before[-1] - 1.0, before[-1])

        # A broken file first: refused, nothing changes.
        path.write_text(config_text(redis_url, [carrier]).replace("tps = 100", "tps = -5"))
        assert await daemon.reload() is False
        assert daemon.dispatchers["airtel-cd"].settings.tps == 100

        # Then half the tps, in a burst of reload requests (as SIGHUPs would arrive).
        halved = CarrierUnderTest(smsc=smsc, options={"tps": 50, "window": 5})
        path.write_text(config_text(redis_url, [halved]))
        for _ in range(20):
            daemon.request_reload()
        await wait_until(
            lambda: _is(daemon.dispatchers["airtel-cd"].settings.tps == 50),
            timeout_s=5,
            what="the reload",
        )
        reloaded_at = smsc.records[-1].ts
        await wait_until(
            lambda: flowing_for(reloaded_at - before[0] + 2.0),
            timeout_s=10,
            what="2 s of traffic after the reload",
        )
        after = [r.ts for r in smsc.records]
        rate_after = _rate(after, after[-1] - 1.0, after[-1])

        assert 80 <= rate_before <= 101  # the cap is exact; the floor allows a busy CI
        assert 40 <= rate_after <= 51
        binds_after = [bind.client for bind in daemon.pools["airtel-cd"].transmitters]
        assert binds_after == binds_before  # same sessions: nothing was dropped
        assert binds_after[0] is not None
        assert binds_after[0].session.window == 5
    finally:
        daemon.stop()
        assert await asyncio.wait_for(task, 20) == 0
        await smsc.stop()
        await client.aclose()


async def _is(value: bool) -> bool:
    return value
