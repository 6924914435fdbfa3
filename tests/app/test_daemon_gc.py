"""Garbage collection: what start-up built is frozen out of the cyclic collector's sight."""

from __future__ import annotations

import asyncio
import gc

import redis.asyncio as aioredis

from connector.app.daemon import GC_YOUNG_THRESHOLD, Daemon
from connector.config.load import parse_config
from tests.support.daemon_harness import CarrierUnderTest, DaemonHarness, config_text, start_smsc


async def test_start_up_objects_frozen_and_young_collections_rarer_once_ready(
    redis_url: str,
) -> None:
    """A full collection then walks only what traffic created (it had paused the loop for up
    to 18 ms at 9,000 msg/s, walking every module, metric and pool object each time)."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    threshold = gc.get_threshold()
    gc.set_threshold(700, *threshold[1:])
    smsc = await start_smsc(receipts=False)
    daemon = Daemon.build(parse_config(config_text(redis_url, [CarrierUnderTest(smsc=smsc)])))
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    h = DaemonHarness(daemon, task, client, "sms")
    try:
        await h.wait_ready(["airtel-cd"])
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the daemon's own objects and every module it imported
        # Young collections 14 times rarer than the default's 700 (5 % of the CPU at full load).
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
    finally:
        await h.stop()
        await client.aclose()
        await smsc.stop()
        gc.unfreeze()
        gc.set_threshold(*threshold)
