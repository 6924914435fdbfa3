"""A carrier that is down when the daemon starts, then comes back.

While it is down the daemon holds at most its prefetch in memory (the backlog stays in Redis)
and does not spin; once it is back the backlog flows, except the recipients whose
`expires_at` passed meanwhile: those end `expired` and never reach the carrier (CONTRACT §1:
"not submitted after this time"). In-process daemon, real redis-server, loopback only.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.simulator.smsc import Smsc
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    running_daemon,
    start_smsc,
    wait_until,
)
from tests.support.redis_server import free_port

CARRIER = "airtel-cd"
LIFECYCLE = ["processing", "sent", "delivered"]
ENTRIES = 10
PER_ENTRY = 50  # 500 recipients
# Both past the prefetch (80 work items: entries 0 and 1), so still in Redis when they expire;
# for recipients that expire while held in the prefetch, see the test below.
EXPIRING_ENTRIES = (4, 9)
EXPIRES_IN_S = 2.0
DOWN_FOR_S = 3.0
MAX_XREADGROUP_PER_S = 50


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def xreadgroup_calls(h: DaemonHarness) -> int:
    stats: Any = await h.redis.info("commandstats")
    return int(stats.get("cmdstat_xreadgroup", {}).get("calls", 0))


async def test_carrier_down_then_back_memory_bounded_and_expired_not_sent(
    redis_url: str,
) -> None:
    port = free_port()  # nobody listens here yet
    carrier = CarrierUnderTest(CARRIER, port=port, options={"tps": 500, "window": 20})
    expiring: list[str] = []
    lasting: list[str] = []
    revived: Smsc | None = None
    try:
        async with running_daemon(redis_url, [carrier]) as h:
            dispatcher = h.daemon.dispatchers[CARRIER]
            pool = h.daemon.pools[CARRIER]
            prefetch = dispatcher.settings.prefetch
            assert prefetch <= min(EXPIRING_ENTRIES) * PER_ENTRY
            expires_at = datetime.now(UTC) + timedelta(seconds=EXPIRES_IN_S)
            for e in range(ENTRIES):
                to = [f"+2439980{e:02d}{n:03d}" for n in range(PER_ENTRY)]
                fields: dict[str, Any] = {"message_id": f"outage-{e:02d}", "to": to}
                if e in EXPIRING_ENTRIES:
                    fields["expires_at"] = rfc3339(expires_at)
                    expiring += to
                else:
                    lasting += to
                await h.send(**fields)
            everyone = expiring + lasting
            assert prefetch < len(everyone)

            async def taken_in() -> bool:
                return dispatcher.in_flight >= min(prefetch, len(everyone))

            await wait_until(taken_in, timeout_s=5, what="the dispatcher's prefetch filled")

            # Down for a while: bounded memory, an idle loop.
            in_flight: list[int] = []
            queued: list[int] = []
            calls_before = await xreadgroup_calls(h)
            cpu_before = time.process_time()
            wall_before = time.monotonic()
            for _ in range(int(DOWN_FOR_S / 0.1)):
                await asyncio.sleep(0.1)
                in_flight.append(dispatcher.in_flight)
                queued.append(dispatcher.queued_parts)
            elapsed = time.monotonic() - wall_before
            cpu = time.process_time() - cpu_before
            calls = await xreadgroup_calls(h) - calls_before
            assert datetime.now(UTC) > expires_at  # the outage outlived the expiring messages

            assert max(in_flight) <= prefetch, in_flight
            assert max(queued) <= prefetch, queued
            assert pool.bound_count() == 0
            assert dispatcher.stats.submitted == 0
            held = await h.work_pending(CARRIER) + await h.work_unread(CARRIER)
            assert held == len(everyone)  # the backlog waits in Redis
            rate = calls / elapsed
            print(f"carrier down: {rate:.1f} XREADGROUP/s, {cpu / elapsed:.0%} CPU")
            assert rate < MAX_XREADGROUP_PER_S, f"{calls} XREADGROUP in {elapsed:.1f} s"
            assert cpu < 0.5 * elapsed, f"{cpu:.2f} s of CPU in {elapsed:.1f} s while idle"
            seqs = await h.sequences()
            assert all(seqs.get(to) == ["processing"] for to in everyone)

            # The carrier comes back on its port.
            revived = await start_smsc(port=port, keep_records=True)
            seqs = await h.wait_final(everyone, timeout_s=15)
            by_to = await h.by_recipient()
            await h.wait_idle([CARRIER])
            assert max([*in_flight, dispatcher.in_flight]) <= prefetch
    finally:
        if revived is not None:
            await revived.stop()

    assert revived is not None
    wrong = {to: seqs[to] for to in lasting if seqs[to] != LIFECYCLE}
    assert not wrong, f"{len(wrong)} not delivered, e.g. {dict(list(wrong.items())[:5])}"
    not_expired = {to: seqs[to] for to in expiring if seqs[to] != ["processing", "expired"]}
    assert not not_expired, (
        f"{len(not_expired)} of {len(expiring)} expiring recipients not `expired`, "
        f"e.g. {dict(list(not_expired.items())[:5])}"
    )
    assert all(by_to[to][-1]["error"]["code"] == "expired" for to in expiring)
    submitted = {r.destination for r in revived.records}
    sent_expired = sorted(to for to in expiring if to[1:] in submitted)
    assert not sent_expired, f"{len(sent_expired)} expired recipients submitted: {sent_expired[:5]}"
    # Each lasting recipient submitted once.
    assert Counter(r.destination for r in revived.records) == Counter(to[1:] for to in lasting)


async def test_expired_while_held_in_the_prefetch_is_not_sent(redis_url: str) -> None:
    port = free_port()  # nobody listens here yet
    carrier = CarrierUnderTest(CARRIER, port=port)
    recipients = [f"+24399800{n:04d}" for n in range(10)]
    revived: Smsc | None = None
    try:
        async with running_daemon(redis_url, [carrier]) as h:
            dispatcher = h.daemon.dispatchers[CARRIER]
            expires_at = datetime.now(UTC) + timedelta(seconds=0.5)
            await h.send(to=recipients, expires_at=rfc3339(expires_at))

            async def held() -> bool:
                return dispatcher.queued_parts == len(recipients)

            await wait_until(held, timeout_s=5, what="the parts waiting in the prefetch")
            await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
            revived = await start_smsc(port=port, keep_records=True)
            seqs = await h.wait_final(recipients, timeout_s=10)
            await h.wait_idle([CARRIER])
    finally:
        if revived is not None:
            await revived.stop()

    assert revived is not None
    assert [r.destination for r in revived.records] == []  # never submitted after expires_at
    assert all(seqs[to] == ["processing", "expired"] for to in recipients), seqs
