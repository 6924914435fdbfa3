"""`tps_scope = "global"` inside one in-process daemon: permits from Redis, the metric of
permits this host dropped, and grants whose replies were handled too late to place their permits
safely (dropped, then smaller batches until a reply is fast; mapped anyway, with a warning,
once slow replies have lasted longer than the patience)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from connector.app.daemon import Daemon
from connector.app.dispatch import CarrierDispatcher
from connector.config.load import parse_config
from connector.flow.permits import probe_size
from connector.streams.budget import Grant
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


async def _global_daemon(redis_url: str) -> tuple[Any, Daemon, aioredis.Redis, DaemonHarness]:
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 50, "tps_scope": "global"})
    daemon = Daemon.build(parse_config(config_text(redis_url, [carrier])))
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    return smsc, daemon, client, DaemonHarness(daemon, task, client, "sms")


async def _send(client: aioredis.Redis, smsc: Any, n: int, first: int = 0) -> None:
    """Enqueue `n` one-recipient messages (numbered from `first`: the SMSC has had `first`
    submits) and wait until the SMSC has every submit."""
    pipe = client.pipeline(transaction=False)
    for k in range(first, first + n):
        data = {"message_id": f"s{k}", "to": [f"+24399{k:07d}"], "message": "hi"}
        pipe.xadd("sms:outbound", {"data": json.dumps({**data, "sender_id": "MYAPP"})})
    await pipe.execute()

    async def all_sent() -> bool:
        return len(smsc.records) >= first + n

    await wait_until(all_sent, timeout_s=15, what=f"{first + n} submits")


def _slow_budget(
    dispatcher: CarrierDispatcher, slow: Callable[[int], bool]
) -> list[tuple[int, int]]:
    """Make the budget's replies late (the loop busy after each arrives) for the calls that
    `slow(call number)` picks; returns (permits asked for, permits granted) per call."""
    budget, permits = dispatcher.budget, dispatcher.permits
    assert budget is not None
    assert permits is not None
    real_grant = budget.grant
    late = 2 * permits.slack + 0.03  # beyond the round trip the bound allows
    grants: list[tuple[int, int]] = []

    async def slow_grant(rate: float, want: int) -> Grant:
        grant = await real_grant(rate, want)
        grants.append((want, grant.count))
        if slow(len(grants)):
            time.sleep(late)  # the loop is busy: this reply is handled late
        return grant

    budget.grant = slow_grant  # type: ignore[method-assign]
    return grants


async def test_a_grant_handled_too_late_is_dropped_and_the_host_probes_with_one_permit(
    redis_url: str,
) -> None:
    smsc, daemon, client, h = await _global_daemon(redis_url)
    try:
        await h.wait_ready(["airtel-cd"])
        dispatcher = daemon.dispatchers["airtel-cd"]
        grants = _slow_budget(dispatcher, lambda call: call <= 2)
        expired_before = dispatcher.permits_expired()
        await _send(client, smsc, 30)
        timing = dispatcher.grant_timing
        assert timing.dropped >= 2  # (more if this machine stalled the loop on its own)
        assert timing.mapped_late == 0
        wants = [want for want, _count in grants]
        assert wants[0] > 1  # a whole batch first
        assert wants[1] == probe_size(50) == 1  # then a probe while replies are slow
        assert any(want > 1 for want in wants[2:])  # whole batches again once one was fast
        # The dropped grants' permits count as expired, and were never used.
        assert dispatcher.permits_expired() - expired_before >= grants[0][1] + grants[1][1]
        assert dispatcher.permits is not None
        assert dispatcher.permits.used == 30
    finally:
        await h.stop()
        await client.aclose()
        await smsc.stop()


async def test_slow_grants_beyond_the_patience_are_used_with_a_warning(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="connector.app.dispatch")
    smsc, daemon, client, h = await _global_daemon(redis_url)
    try:
        await h.wait_ready(["airtel-cd"])
        dispatcher = daemon.dispatchers["airtel-cd"]
        dispatcher.grant_timing.patience = 0.0  # Redis "always" this far away
        slow = True
        grants = _slow_budget(dispatcher, lambda call: slow)
        await _send(client, smsc, 20)
        timing = dispatcher.grant_timing
        assert (timing.late, timing.dropped) == (True, 0)
        assert timing.mapped_late >= 1

        def budget_lines() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.name == "connector.app.dispatch" and "shared rate budget" in r.getMessage()
            ]

        assert len(budget_lines()) == 1, budget_lines()  # once, when it starts
        assert "airtel-cd" in budget_lines()[0]
        assert "may exceed tps" in budget_lines()[0]

        slow = False  # Redis answers in time again: said once, and permits are placed as usual
        calls = len(grants)
        await _send(client, smsc, 40, first=20)
        assert len(grants) > calls
        assert (timing.late, timing.dropped) == (False, 0)
        assert budget_lines()[1:] == [
            "carrier airtel-cd: the shared rate budget answers in time again"
        ]
    finally:
        await h.stop()
        await client.aclose()
        await smsc.stop()
