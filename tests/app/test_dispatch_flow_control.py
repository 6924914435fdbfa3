"""Issue 4 acceptance, part 2: throttling, the TPS cap, a carrier down, dropped connections.

Rates are measured at the simulator (its record timestamps) to assert the cap, a behaviour;
nothing here asserts how fast the machine is. Every wait is bounded, every peer on loopback.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter

import pytest

from connector.app.dispatch import OUTCOME_BACKLOG
from connector.simulator.smsc import Smsc, SubmitRecord
from connector.smpp import constants as c
from connector.smpp.session import Session
from tests.support.daemon_harness import (
    CarrierUnderTest,
    running_daemon,
    start_smsc,
    wait_until,
)
from tests.support.redis_server import free_port

CARRIER = "airtel-cd"
LIFECYCLE = ["processing", "sent", "delivered"]


def numbers(count: int, prefix: str = "+2439980") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def max_in_one_second(stamps: list[float]) -> int:
    """Most submits in any closed one-second window [t, t + 1] (t a submit's time)."""
    ordered = sorted(stamps)
    return max(
        (bisect.bisect_right(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0
    )


def destinations(records: list[SubmitRecord]) -> Counter[str]:
    return Counter(r.destination for r in records)


# ---------------------------------------------------------------------------- (7) throttling


async def test_throttling_carrier_slows_the_rate_and_every_message_is_still_sent(
    redis_url: str,
) -> None:
    recipients = numbers(200)
    smsc = await start_smsc(keep_records=True, throttle_tps=50)
    carrier = CarrierUnderTest(
        CARRIER,
        smsc=smsc,
        options={"tps": 100, "throttle_backoff_initial_s": 0.05, "throttle_backoff_max_s": 0.3},
    )
    async with running_daemon(redis_url, [carrier]) as h:
        dispatcher = h.daemon.dispatchers[CARRIER]
        loop = asyncio.get_running_loop()
        rates: list[float] = []

        async def all_sent() -> bool:
            rates.append(dispatcher.adaptive.rate(loop.time()))
            seqs = await h.sequences()
            return all(seqs.get(to, [])[1:2] == ["sent"] for to in recipients)

        await h.send(to=recipients)
        await wait_until(all_sent, timeout_s=20, what="all 200 sent", interval_s=0.05)
        seqs = await h.wait_final(recipients, timeout_s=10)
        await h.wait_idle([CARRIER])
        snapshot = dispatcher.adaptive.snapshot(dispatcher.now())

    assert all(seqs[to] == LIFECYCLE for to in recipients)  # no loss, nothing failed
    assert smsc.stats.submits_throttled > 0
    assert dispatcher.stats.throttled == smsc.stats.submits_throttled
    assert snapshot.throttle_events >= 1
    assert snapshot.throttled_responses == smsc.stats.submits_throttled
    assert min(rates) < snapshot.configured_tps == 100  # the effective rate went down
    # Every message reached the carrier exactly once: throttled submits are not accepted.
    assert destinations(smsc.records) == Counter(to[1:] for to in recipients)


# ------------------------------------------------------------------------------ (8) TPS cap


async def test_tps_cap_holds_in_every_sliding_second_at_the_simulator(redis_url: str) -> None:
    tps, count = 100, 500
    recipients = numbers(count)
    smsc = await start_smsc(keep_records=True, receipts=False)
    # Two binds: the cap is for the carrier, all its binds together.
    carrier = CarrierUnderTest(CARRIER, smsc=smsc, options={"tps": tps, "window": 20, "binds": 2})
    async with running_daemon(redis_url, [carrier]) as h:
        await h.send(to=recipients)

        async def all_submitted() -> bool:
            return len(smsc.records) >= count

        await wait_until(all_submitted, timeout_s=15, what=f"{count} submits", interval_s=0.05)
        await h.wait_statuses(recipients, lambda seq: "sent" in seq, timeout_s=5)

    stamps = sorted(r.ts for r in smsc.records)
    assert len(stamps) == count
    assert smsc.stats.binds == 2
    assert max_in_one_second(stamps) <= tps + 1
    # After the first second the pace is the configured rate (the cap is not undershot).
    steady = [t for t in stamps if t >= stamps[0] + 1.0]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert abs(rate - tps) <= 0.05 * tps, rate


def _submits_in(data: bytes) -> int:
    """submit_sm PDUs in a buffer of whole PDUs."""
    count = pos = 0
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if int.from_bytes(data[pos + 4 : pos + 8], "big") == c.SUBMIT_SM:
            count += 1
        pos += max(length, 16)
    return count


async def test_tps_cap_holds_for_when_submits_leave_the_daemon(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pace's guard counts a send from when it is written to the socket, not from when it
    was granted: a loop turn can be long, and a send granted early in it used to leave at its
    end, next to the sends granted in the turn after (1 002 per second at tps 1 000)."""
    tps, count = 1000, 3000
    left: list[float] = []
    data_to_send = Session.data_to_send

    def recording(session: Session) -> bytes:
        data = data_to_send(session)
        submits = _submits_in(data)
        if submits:  # (the in-process SMSC's sessions send none)
            left.extend([time.monotonic()] * submits)
        return data

    monkeypatch.setattr(Session, "data_to_send", recording)
    recipients = numbers(count)
    smsc = await start_smsc(keep_records=True, receipts=False)
    carrier = CarrierUnderTest(CARRIER, smsc=smsc, options={"tps": tps, "window": 100, "binds": 2})
    async with running_daemon(redis_url, [carrier]) as h:
        for first in range(0, count, 500):
            await h.send(message_id=f"m{first}", to=recipients[first : first + 500])

        async def all_submitted() -> bool:
            return len(smsc.records) >= count

        await wait_until(all_submitted, timeout_s=30, what=f"{count} submits", interval_s=0.05)

    assert len(left) == count
    assert max_in_one_second(left) <= tps + 1
    steady = [t for t in left if t >= left[0] + 1.0]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert abs(rate - tps) <= 0.05 * tps, rate  # the cap is not undershot


# ------------------------------------------------------------------------ (9) carrier down


async def test_one_carrier_down_keeps_its_backlog_in_redis_while_another_flows(
    redis_url: str,
) -> None:
    live_tps = 200
    live_to = numbers(200, "+2439970")
    dead_to = numbers(300, "+2438100")
    live = await start_smsc(keep_records=True)
    dead_port = free_port()  # nobody listens here yet
    carriers = [
        CarrierUnderTest(CARRIER, smsc=live, options={"tps": live_tps}),
        CarrierUnderTest(
            "vodacom-cd", port=dead_port, prefixes=("+24381", "+24382"), options={"tps": 500}
        ),
    ]
    revived: Smsc | None = None
    try:
        # Entries idle 0.5 s count as abandoned: while the carrier is down, intake and the
        # dispatcher keep re-claiming its pending work (their own), which must change nothing.
        async with running_daemon(redis_url, carriers, redis={"claim_idle_s": 0.5}) as h:
            down = h.daemon.dispatchers["vodacom-cd"]
            prefetch = down.settings.prefetch
            in_flight: list[int] = []
            await h.send(message_id="to-the-dead-carrier", to=dead_to)
            await h.send(message_id="to-the-live-carrier", to=live_to)

            async def live_delivered() -> bool:
                in_flight.append(down.in_flight)
                seqs = await h.sequences()
                return all(seqs.get(to, [])[-1:] == ["delivered"] for to in live_to)

            await wait_until(live_delivered, timeout_s=15, what="live carrier delivered")
            # Stay down a while longer: a couple of claim rounds over the stalled work.
            entries_seen = h.daemon.intake.stats.entries
            for _ in range(22):
                await asyncio.sleep(0.1)
                in_flight.append(down.in_flight)
            assert h.daemon.intake.stats.entries > entries_seen  # the entry was re-claimed
            seqs = await h.sequences()
            assert all(seqs[to] == LIFECYCLE for to in live_to)
            # The dead carrier's recipients wait, taken in but not lost...
            assert all(seqs[to] == ["processing"] for to in dead_to)
            assert h.daemon.pools["vodacom-cd"].bound_count() == 0
            assert await h.outbound_pending() == 1  # only the dead carrier's entry
            assert await h.work_pending(CARRIER) == 0
            held = await h.work_pending("vodacom-cd")
            assert held + await h.work_unread("vodacom-cd") == len(dead_to)
            # ... and the daemon holds no more of them in memory than its prefetch.
            assert 0 < max(in_flight) <= prefetch < len(dead_to)
            assert held <= prefetch
            assert down.stats.submitted == 0

            # The carrier comes back on its port: the backlog flows.
            revived = await start_smsc(port=dead_port, keep_records=True)
            seqs = await h.wait_final(dead_to, timeout_s=15)
            assert all(seqs[to] == LIFECYCLE for to in dead_to)
            await h.wait_idle([CARRIER, "vodacom-cd"])
            assert max([*in_flight, down.in_flight]) <= prefetch
    finally:
        if revived is not None:
            await revived.stop()

    assert revived is not None
    assert destinations(revived.records) == Counter(to[1:] for to in dead_to)
    assert destinations(live.records) == Counter(to[1:] for to in live_to)
    # The live carrier ran at its own full rate meanwhile (its cap, measured at its SMSC).
    stamps = sorted(r.ts for r in live.records)
    assert max_in_one_second(stamps) <= live_tps + 1
    steady = [t for t in stamps if t >= stamps[0] + 0.25]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert rate >= 0.9 * live_tps, rate


# ------------------------------------------------------------------- (10) dropped connection


async def test_connection_dropped_mid_window_loses_nothing_and_resends_only_unanswered(
    redis_url: str,
) -> None:
    single = numbers(100, "+2439980")
    double = numbers(100, "+2439981")  # two GSM-7 parts each
    recipients = single + double
    parts = len(single) + 2 * len(double)
    # Responses 20 ms late at up to 1000 tps: the window is full when the 50th submit on a
    # link makes the simulator drop it, so ~20 submits are lost with their responses.
    smsc = await start_smsc(keep_records=True, drop_after_submits=50, response_delay_s=0.02)
    carrier = CarrierUnderTest(CARRIER, smsc=smsc, options={"tps": 1000, "window": 20})
    async with running_daemon(redis_url, [carrier]) as h:
        await h.send(message_id="single", to=single)
        await h.send(message_id="double", message="d" * 300, to=double)
        seqs = await h.wait_final(recipients, timeout_s=20)
        by_to = await h.by_recipient()
        await h.wait_idle([CARRIER])
        stats = h.daemon.dispatchers[CARRIER].stats

    assert smsc.stats.connections_dropped >= 5  # 300 submits, a drop every 50th on a link
    # Nothing lost, nothing doubled in the events: one `sent`, one final per recipient.
    assert all(seqs[to] == LIFECYCLE for to in recipients), {
        to: s for to, s in seqs.items() if s != LIFECYCLE
    }
    accepted = {to: by_to[to][1]["smsc_ids"] for to in recipients}
    assert all(len(accepted[to]) == 1 for to in single)
    assert all(len(accepted[to]) == 2 for to in double)
    known = {i for ids in accepted.values() for i in ids}
    for to in recipients:
        records = [r for r in smsc.records if r.destination == to[1:]]
        ids = [r.message_id for r in records]
        # Each id the daemon recorded was submitted once, one per part; any other submit of
        # the recipient is one whose response never reached the daemon.
        assert all(ids.count(i) == 1 for i in accepted[to]), (to, ids)
        assert all(i in accepted[to] or i not in known for i in ids), (to, ids)
        seqs_accepted = sorted(r.udh.seq if r.udh else 1 for r in records if r.message_id in known)
        assert seqs_accepted == list(range(1, len(accepted[to]) + 1)), (to, records)
    # Each part's response reached the daemon once; what was lost was resent, nothing else.
    assert stats.accepted == parts
    assert stats.submitted == stats.accepted + stats.retries
    # The drops cut through full windows: parts the carrier accepted whose response never
    # left (not in the record, which lists answered submits) ...
    unanswered = smsc.stats.submits_accepted - len(smsc.records)
    assert unanswered > 0
    # ... and every extra acceptance at the carrier is such a part, at most a window per drop.
    extra = smsc.stats.submits_accepted - parts
    assert extra <= stats.retries
    assert extra <= smsc.stats.connections_dropped * 20


# ------------------------------------------------------- the prefetch and the outcome writes


async def _held_outcomes(
    redis_url: str, count: int
) -> tuple[list[str], int, int, dict[str, list[str]]]:
    """`count` recipients on one bind of window 2 (prefetch 64) while every outcome write is
    held: what the simulator had received once the submits stopped, the dispatcher's items
    then, and each recipient's statuses once the writes are let through."""
    recipients = numbers(count)
    smsc = await start_smsc(keep_records=True)
    carrier = CarrierUnderTest(CARRIER, smsc=smsc, options={"binds": 1, "window": 2})
    async with running_daemon(redis_url, [carrier]) as h:
        dispatcher = h.daemon.dispatchers[CARRIER]
        assert dispatcher.settings.prefetch == 64
        store = dispatcher.store
        write = store.outcomes
        gate = asyncio.Event()

        async def held(ops: object, at: str, now: float = 0.0) -> tuple[list[int], list[str]]:
            await gate.wait()
            return await write(ops, at, now)  # type: ignore[arg-type]

        store.outcomes = held  # type: ignore[method-assign]
        await h.send(to=recipients)
        # Until the submits stop: no new one for 0.5 s.
        seen, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() - still_since < 0.5:
            assert time.monotonic() < deadline, "the submits never stopped"
            if len(smsc.records) != seen:
                seen, still_since = len(smsc.records), time.monotonic()
            await asyncio.sleep(0.02)
        items = len(dispatcher._items)
        gate.set()
        seqs = await h.wait_final(recipients, timeout_s=30)
    return recipients, seen, items, seqs


async def test_items_waiting_for_their_outcome_write_leave_the_prefetch_to_unsent_work(
    redis_url: str,
) -> None:
    """The prefetch (64 here) bounds work taken and not yet sent. Items whose parts are all
    accepted, their outcome still on its way to Redis, are not that: counted there, they
    filled it and the window went empty until the outcome calls came back."""
    recipients, submitted, items, seqs = await _held_outcomes(redis_url, 150)
    assert submitted == 150  # every one sent while the outcome writes were held
    assert items == 150
    assert seqs == dict.fromkeys(recipients, LIFECYCLE)


async def test_items_waiting_for_their_outcome_write_are_bounded(redis_url: str) -> None:
    """Redis slow to take outcomes: the carrier stops reading work once OUTCOME_BACKLOG items
    wait for theirs (plus what the prefetch had taken then), and nothing is lost."""
    recipients, submitted, items, seqs = await _held_outcomes(redis_url, OUTCOME_BACKLOG + 200)
    assert OUTCOME_BACKLOG <= submitted <= OUTCOME_BACKLOG + 64
    assert items == submitted
    assert seqs == dict.fromkeys(recipients, LIFECYCLE)
