"""The binds to one carrier, end to end in-process: credentials, bind modes, retries, rebinds.

A real redis-server, the simulator over TCP on loopback; every wait bounded.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from connector.carrier.pool import BindState
from connector.smpp import constants as c
from tests.support.daemon_harness import (
    PASSWORD,
    CarrierUnderTest,
    running_daemon,
    start_smsc,
    wait_until,
)

CARRIER = "airtel-cd"
LIFECYCLE = ["processing", "sent", "delivered"]


def numbers(count: int, prefix: str = "+2439980") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


async def test_wrong_password_backs_off_long_and_loudly(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wr0ngpw"
    assert wrong != PASSWORD
    smsc = await start_smsc()
    carrier = CarrierUnderTest(
        CARRIER,
        smsc=smsc,
        options={
            "password": wrong,
            "auth_failure_backoff_s": 30,
            "reconnect_initial_s": 0.05,
            "reconnect_max_s": 0.1,
        },
    )
    caplog.set_level(logging.INFO, logger="connector")
    async with running_daemon(redis_url, [carrier], ready_timeout_s=None) as h:
        pool = h.daemon.pools[CARRIER]

        async def refused() -> bool:
            return smsc.stats.bind_failures >= 1

        await wait_until(refused, timeout_s=5, what="the first bind attempt")
        # Long after `reconnect_initial_s`, well within `auth_failure_backoff_s`.
        await asyncio.sleep(1.5)
        stats = smsc.stats_dict()
        states = [bind.state for bind in pool.binds]
        last_error = pool.binds[0].last_error
        bound = pool.bound_count()

    assert stats["connections"] == 1, stats  # one attempt, no hammering
    assert stats["bind_failures"] == 1, stats
    assert stats["binds"] == 0, stats
    assert states == [BindState.BACKING_OFF]
    assert bound == 0
    assert "ESME_RINVPASWD" in last_error
    loud = [
        r
        for r in caplog.records
        if r.name == "connector.carrier.pool" and r.levelno >= logging.ERROR
    ]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    message = loud[0].getMessage()
    assert "credentials" in message
    assert "ESME_RINVPASWD" in message
    assert "30 s" in message  # says how long it waits
    assert wrong not in caplog.text  # the password itself is never logged


async def test_transmitter_plus_receiver_binds_get_receipts_on_the_receiver(
    redis_url: str,
) -> None:
    recipients = numbers(20)
    smsc = await start_smsc(receipt_delay_s=0.02)
    carrier = CarrierUnderTest(
        CARRIER,
        smsc=smsc,
        options={"bind": "transmitter", "binds": 1, "receiver_binds": 1},
    )
    async with running_daemon(redis_url, [carrier]) as h:
        pool = h.daemon.pools[CARRIER]

        async def receiver_bound() -> bool:
            return all(bind.is_bound for bind in pool.receivers) and smsc.receivers() == 1

        await wait_until(receiver_bound, timeout_s=5, what="the receiver bind")
        await h.send(to=recipients)
        seqs = await h.wait_final(recipients, timeout_s=10)
        await h.wait_idle([CARRIER])
        modes = sorted(bind.mode for bind in pool.binds if bind.is_bound)
        transmitter_bound = [bind.is_bound for bind in pool.transmitters]
        receiver_bound_at_end = [bind.is_bound for bind in pool.receivers]
        receipts = dict(h.daemon.dispatchers[CARRIER].stats.receipts)
        stats = smsc.stats_dict()

    assert all(seqs[to] == LIFECYCLE for to in recipients), seqs
    assert modes == ["receiver", "transmitter"]
    assert transmitter_bound == [True]
    assert receiver_bound_at_end == [True]
    assert len(pool.binds) == 2
    # Two sessions, one of them the only receiver the simulator could deliver receipts to.
    assert stats["binds"] == 2, stats
    assert stats["receipts_acked"] == len(recipients), stats
    assert stats["receipts_failed"] == 0, stats
    assert receipts.get("matched", 0) + receipts.get("held", 0) == len(recipients), receipts


async def test_temporary_errors_retry_until_the_deadline_then_fail(redis_url: str) -> None:
    refused_to = "+243998000001"
    fine_to = "+243997000002"
    smsc = await start_smsc(
        keep_records=True, reject_pattern=r"^243998000001$", reject_status=c.ESME_RSYSERR
    )
    carrier = CarrierUnderTest(
        CARRIER,
        smsc=smsc,
        options={"retry_deadline_s": 1, "retry_initial_s": 0.05, "retry_max_s": 0.1},
    )
    loop = asyncio.get_running_loop()
    async with running_daemon(redis_url, [carrier]) as h:
        started = loop.time()
        await h.send(message_id="refused", to=[refused_to])
        await h.send(message_id="fine", to=[fine_to])
        fine = await h.wait_final([fine_to], timeout_s=5)
        refused_then = fine.get(refused_to, [])
        seqs = await h.wait_final([refused_to], timeout_s=10)
        failed_at = loop.time() - started
        by_to = await h.by_recipient()
        await h.wait_idle([CARRIER])
        dispatch = h.daemon.dispatchers[CARRIER].stats

    assert fine[fine_to] == LIFECYCLE
    assert refused_then == ["processing"]  # delivered while the other was still retried
    assert seqs[refused_to] == ["processing", "failed"]
    failed = by_to[refused_to][-1]
    assert failed["error"]["code"] == "retries_exhausted", failed
    assert 0.8 <= failed_at < 5.0  # about the retry deadline, not at once and not forever
    attempts = [r for r in smsc.records if r.destination == refused_to[1:]]
    assert attempts == []  # never accepted
    assert smsc.stats.submits_rejected > 1  # several attempts
    assert dispatch.temporary == smsc.stats.submits_rejected
    assert dispatch.permanent == 0
    assert [r.destination for r in smsc.records] == [fine_to[1:]]


async def test_rebinds_after_the_link_drops(redis_url: str) -> None:
    recipients = numbers(30)
    smsc = await start_smsc(keep_records=True, drop_after_submits=5)
    carrier = CarrierUnderTest(
        CARRIER, smsc=smsc, options={"reconnect_initial_s": 0.02, "reconnect_max_s": 0.1}
    )
    async with running_daemon(redis_url, [carrier]) as h:
        await h.send(to=recipients)
        seqs = await h.wait_final(recipients, timeout_s=20)
        await h.wait_idle([CARRIER])

    assert all(seqs[to] == LIFECYCLE for to in recipients), {
        to: s for to, s in seqs.items() if s != LIFECYCLE
    }
    # Four accepted per connection, the fifth drops it: several rebinds.
    assert smsc.stats.connections_dropped >= 7, smsc.stats_dict()
    assert smsc.stats.binds > 1
    assert smsc.stats.binds >= smsc.stats.connections_dropped
    # Every recipient accepted; a repeat only for a response lost with its link.
    assert {r.destination for r in smsc.records} == {to[1:] for to in recipients}
    assert len(smsc.records) - len(recipients) <= smsc.stats.connections_dropped
