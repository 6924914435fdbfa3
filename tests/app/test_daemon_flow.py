"""The daemon end to end, in-process: a real redis-server, the simulator over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connector.simulator.smsc import OutcomeRule
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    running_daemon,
    start_smsc,
)


@pytest.fixture
async def harness(redis_url: str) -> AsyncIterator[DaemonHarness]:
    smsc = await start_smsc(
        receipt_delay_s=0.05,
        outcomes=[OutcomeRule(pattern=r"^243990", stat="UNDELIV")],
    )
    async with running_daemon(redis_url, [CarrierUnderTest("airtel-cd", smsc=smsc)]) as h:
        yield h


async def test_quickstart_message_goes_processing_sent_delivered(harness: DaemonHarness) -> None:
    await harness.send()
    await harness.wait_final(["+243998857000"])
    events = await harness.events()
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


async def test_undelivered_receipt_and_no_route_and_bad_number(harness: DaemonHarness) -> None:
    await harness.send(to=["+243990000001", "+33612345678", "+12"])
    by_to = await harness.wait_final(["+243990000001", "+33612345678", "+12"])
    assert by_to["+243990000001"] == ["processing", "sent", "undelivered"]
    assert by_to["+33612345678"] == ["failed"]
    assert by_to["+12"] == ["rejected"]
