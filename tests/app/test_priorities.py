"""Priorities within a carrier: `high` overtakes any backlog; `low` never starves."""

from __future__ import annotations

import itertools
import json
import time

from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    running_daemon,
    start_smsc,
    wait_until,
)


async def _enqueue(h: DaemonHarness, prefix: str, count: int, priority: str) -> list[str]:
    numbers = [f"+24399{prefix}{n:05d}" for n in range(count)]
    pipe = h.redis.pipeline(transaction=False)
    for n, number in enumerate(numbers):
        data = {
            "message_id": f"{priority}-{n}",
            "to": [number],
            "message": f"{priority} {n}",
            "sender_id": "MYAPP",
            "priority": priority,
        }
        pipe.xadd("sms:outbound", {"data": json.dumps(data)})
    await pipe.execute()
    return numbers


async def test_high_message_overtakes_a_backlog_of_1000_normal(redis_url: str) -> None:
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 100, "window": 10})
    async with running_daemon(redis_url, [carrier]) as h:
        await _enqueue(h, "1", 1000, "normal")

        async def flowing() -> bool:
            return len(smsc.records) >= 50

        await wait_until(flowing, timeout_s=10, what="the normal backlog flowing")
        enqueued = time.time()
        [otp] = await _enqueue(h, "2", 1, "high")
        await h.wait_statuses([otp], lambda s: "sent" in s, timeout_s=5)
        submitted = next(r.ts for r in smsc.records if "+" + r.destination == otp)
        normal_before = sum(1 for r in smsc.records if r.ts <= submitted)
        assert submitted - enqueued < 1.0
        assert normal_before < 500  # most of the backlog was still waiting


async def test_low_is_served_while_normal_has_a_backlog(redis_url: str) -> None:
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 200, "window": 10})
    async with running_daemon(redis_url, [carrier]) as h:
        normal = await _enqueue(h, "3", 400, "normal")
        low = await _enqueue(h, "4", 10, "low")
        await h.wait_statuses(low, lambda s: "sent" in s, timeout_s=10)
        seqs = await h.sequences()
        sent_normal = sum(1 for to in normal if "sent" in seqs.get(to, []))
        assert sent_normal < len(normal)  # low did not wait for the whole normal backlog


async def test_a_paced_carrier_gives_low_exactly_its_weight_of_the_sends(redis_url: str) -> None:
    """A lane's turn is spent only on a send. While both lanes have work, low gets exactly one
    submit in ten, every ten: the pace refusing a part must not spend the turn of the lane
    that part came from (with one send per paced wake-up, low's turn could fall on the
    refused pick every time, and low waited for the whole normal backlog)."""
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(smsc=smsc, options={"tps": 100, "window": 10, "binds": 1})
    async with running_daemon(redis_url, [carrier]) as h:
        await _enqueue(h, "3", 300, "normal")
        low = {to[1:] for to in await _enqueue(h, "4", 10, "low")}  # (no "+" on the wire)

        async def low_submitted() -> bool:
            return sum(1 for r in smsc.records if r.destination in low) == len(low)

        await wait_until(low_submitted, timeout_s=10, what="every low message submitted")
        order = [r.destination for r in smsc.records]
    at = [i for i, destination in enumerate(order) if destination in low]
    assert len(order) < 300, "low waited for the whole normal backlog"
    assert [b - a for a, b in itertools.pairwise(at)] == [10] * 9, at
