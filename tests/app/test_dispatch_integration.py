"""Issue 4 acceptance, part 1: message lifecycle, multipart, receipts, ids, permanent errors.

The daemon runs in-process against the private redis-server and the simulator on loopback;
every wait is bounded. Flow control lives in test_dispatch_flow_control.py, bad input in
test_dispatch_bad_input.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from connector.simulator.smsc import OutcomeRule, Smsc, SubmitRecord
from connector.smpp import constants as c
from connector.smpp import pdu as p
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    running_daemon,
    start_smsc,
    wait_until,
)

CARRIER = "airtel-cd"
LIFECYCLE = ["processing", "sent", "delivered"]


def numbers(count: int, prefix: str = "+2439980") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def records_for(smsc: Smsc, to: str) -> list[SubmitRecord]:
    return [r for r in smsc.records if r.destination == to.lstrip("+")]


@contextlib.asynccontextmanager
async def daemon_with(
    redis_url: str, *, carrier: dict[str, Any] | None = None, **simulator: Any
) -> AsyncIterator[tuple[DaemonHarness, Smsc]]:
    smsc = await start_smsc(keep_records=True, **simulator)
    under_test = CarrierUnderTest(CARRIER, smsc=smsc, options=carrier or {})
    async with running_daemon(redis_url, [under_test]) as harness:
        yield harness, smsc


# ------------------------------------------------------------------------------- (1) volume


async def test_thousand_recipients_each_processing_sent_delivered_entry_acked_at_end(
    redis_url: str,
) -> None:
    recipients = numbers(1000)
    async with daemon_with(redis_url, carrier={"tps": 1000, "window": 50}) as (h, smsc):
        await h.send(to=recipients)
        # Atomic snapshots while it flows: the entry stays pending until every recipient is
        # at least `sent` (CONTRACT §4).
        snapshots: list[tuple[int, int, int]] = []  # (pending, taken in, sent or final)

        async def snapshot() -> bool:
            async with h.redis.pipeline(transaction=True) as pipe:
                pipe.xpending(h.outbound, "connector")
                pipe.xrange(h.status)
                pending, entries = await pipe.execute()
            events = [json.loads(fields[b"data"]) for _, fields in entries]
            taken = sum(1 for e in events if e["status"] == "processing")
            sent = len({e["to"] for e in events if e["status"] != "processing"})
            snapshots.append((int(pending["pending"]), taken, sent))
            return sent == len(recipients) and int(pending["pending"]) == 0

        await wait_until(snapshot, timeout_s=15, what="every recipient sent", interval_s=0.05)
        seqs = await h.wait_final(recipients, timeout_s=15)
        await h.wait_idle([CARRIER])
        assert await h.work_unread(CARRIER) == 0

    assert all(seqs[to] == LIFECYCLE for to in recipients), {
        to: seq for to, seq in seqs.items() if seq != LIFECYCLE
    }
    assert len(smsc.records) == 1000
    # Once taken in, the entry is acknowledged only when all 1000 are sent...
    assert all(sent == 1000 for pending, taken, sent in snapshots if taken and pending == 0)
    # ... and it was seen pending while some were sent and others not yet.
    assert any(pending == 1 and 0 < sent < 1000 for pending, _, sent in snapshots)


# ---------------------------------------------------------------------------- (2) multipart


def reassemble(records: list[SubmitRecord]) -> str:
    """The text of a multipart message from its submits (8-bit UDH stripped)."""
    text = ""
    for record in sorted(records, key=lambda r: r.udh.seq if r.udh else 0):
        data = bytes.fromhex(record.short_message)
        body = data[1 + data[0] :]
        text += body.decode("utf-16-be") if record.data_coding == 0x08 else body.decode("ascii")
    return text


@dataclass
class Snapshot:
    acc: int
    fin: int
    statuses: list[str]


async def test_multipart_gsm7_and_ucs2_parts_udh_sent_and_delivered_after_every_part(
    redis_url: str,
) -> None:
    gsm = ("Lisoloo multipart GSM test 0123456789 " * 11)[:400]  # 400 GSM-7 chars: 3 parts
    ucs = ("Mbote! Ebóngi? Ж " * 9)[:150]  # 150 chars, 'Ж' is not GSM-7: UCS-2, 3 parts
    to_gsm, to_ucs = "+243971000001", "+243971000002"
    # 10 tps: parts 100 ms apart, receipts 250 ms after each part, so intermediate states
    # (some parts accepted, some receipts in) exist long enough to be observed.
    async with daemon_with(redis_url, carrier={"tps": 10}, receipt_delay_s=0.25) as (h, smsc):
        gsm_entry = await h.send(message_id="gsm7-400", message=gsm, to=[to_gsm])
        ucs_entry = await h.send(message_id="ucs2-150", message=ucs, to=[to_ucs])
        history: dict[str, list[Snapshot]] = {to_gsm: [], to_ucs: []}

        async def observe() -> bool:
            async with h.redis.pipeline(transaction=True) as pipe:
                pipe.hmget(f"{{sms:outbound}}:r:{gsm_entry}:0", "acc", "fin")
                pipe.hmget(f"{{sms:outbound}}:r:{ucs_entry}:0", "acc", "fin")
                pipe.xrange(h.status)
                gsm_state, ucs_state, entries = await pipe.execute()
            events = [json.loads(fields[b"data"]) for _, fields in entries]
            for to, (acc, fin) in ((to_gsm, gsm_state), (to_ucs, ucs_state)):
                statuses = [e["status"] for e in events if e["to"] == to]
                history[to].append(Snapshot(int(acc or 0), int(fin or 0), statuses))
            return all(s[-1].statuses[-1:] == ["delivered"] for s in history.values())

        await wait_until(observe, timeout_s=10, what="both delivered", interval_s=0.01)
        by_to = await h.by_recipient()

    for to, text, coding in ((to_gsm, gsm, 0x00), (to_ucs, ucs, 0x08)):
        records = records_for(smsc, to)
        assert len(records) == 3
        assert {r.data_coding for r in records} == {coding}
        assert all(r.esm_class & c.ESM_CLASS_UDHI for r in records)
        udhs = [r.udh for r in records]
        assert all(u is not None and u.total == 3 and u.bits == 8 for u in udhs)
        assert sorted(u.seq for u in udhs if u) == [1, 2, 3]
        assert len({u.ref for u in udhs if u}) == 1
        assert reassemble(records) == text
        events = by_to[to]
        assert [e["status"] for e in events] == LIFECYCLE
        assert all(e["parts"] == 3 for e in events)
        ids = [r.message_id for r in sorted(records, key=lambda r: r.udh.seq if r.udh else 0)]
        assert events[1]["smsc_ids"] == ids  # `sent` names every accepted part
        assert events[2]["smsc_ids"] == ids
        snaps = history[to]
        # `sent` never before every part was accepted; `delivered` never before every receipt.
        assert all(s.acc == 3 for s in snaps if "sent" in s.statuses)
        assert all(s.fin == 3 for s in snaps if "delivered" in s.statuses)
        # ... and the in-between states were really there.
        assert any(0 < s.acc < 3 and "sent" not in s.statuses for s in snaps)
        assert any("sent" in s.statuses and s.fin < 3 for s in snaps)


async def test_a_bulk_entry_is_planned_once_per_carrier_and_text_not_per_recipient(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipients of one entry share its text: the intake counts its parts once per
    carrier and the dispatcher plans a one-part text once, while a long text is still
    planned per recipient, each with its own concatenation reference."""
    from connector.text import count_parts, plan

    counted: list[str] = []
    planned: list[str] = []

    def counting(text: str, **options: Any) -> int:
        counted.append(text)
        return count_parts(text, **options)

    def planning(text: str, **options: Any) -> Any:
        planned.append(text)
        return plan(text, **options)

    monkeypatch.setattr("connector.app.intake.count_parts", counting)
    monkeypatch.setattr("connector.app.dispatch.plan", planning)
    short_to = numbers(20, "+2439981")
    long_to = numbers(3, "+2439982")
    long_text = "Lisoloo bulk " * 20  # 260 GSM-7 characters: 2 parts
    async with daemon_with(redis_url, carrier={"tps": 1000}) as (h, smsc):
        await h.send(message_id="bulk-short", message="Hello all", to=short_to)
        await h.send(message_id="bulk-long", message=long_text, to=long_to)
        seqs = await h.wait_final(short_to + long_to)

    assert all(seq == LIFECYCLE for seq in seqs.values())
    assert counted == ["Hello all", long_text]
    assert planned.count("Hello all") == 1
    assert planned.count(long_text) == 3
    assert all(len(records_for(smsc, to)) == 1 for to in short_to)
    references = set()
    for to in long_to:
        udhs = [r.udh for r in records_for(smsc, to)]
        assert sorted(u.seq for u in udhs if u) == [1, 2]
        assert len({u.ref for u in udhs if u}) == 1
        references |= {u.ref for u in udhs if u}
    assert len(references) == 3


async def test_multipart_with_undeliverable_receipts_is_undelivered_with_receipt_error(
    redis_url: str,
) -> None:
    # The simulator chooses a receipt's outcome by destination, so every part of this
    # message gets UNDELIV: the recipient's single final status is `undelivered`.
    to = "+243990000001"
    text = "x" * 400
    rule = OutcomeRule(pattern=r"^243990", stat="UNDELIV")
    async with daemon_with(redis_url, outcomes=[rule], receipt_delay_s=0.02) as (h, smsc):
        await h.send(message_id="undeliv-3", message=text, to=[to])
        await h.wait_final([to])
        events = (await h.by_recipient())[to]

    assert [e["status"] for e in events] == ["processing", "sent", "undelivered"]
    final = events[-1]
    assert final["parts"] == 3
    assert len(records_for(smsc, to)) == 3
    assert sorted(final["smsc_ids"]) == sorted(r.message_id for r in records_for(smsc, to))
    assert final["error"]["code"] == "receipt"
    assert final["receipt"]["stat"] == "UNDELIV"


def receipt(record: SubmitRecord, stat: str) -> p.DeliverSm:
    """A carrier's receipt for one accepted part, made by hand (text form only)."""
    text = (
        f"id:{record.message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
        f"submit date:2611261300 done date:2611261301 stat:{stat} err:000 text:"
    )
    return p.DeliverSm(
        source_addr=record.destination,
        destination_addr=record.source,
        esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
        short_message=text.encode(),
    )


async def test_multipart_one_part_undeliverable_is_undelivered_once_every_part_is_final(
    redis_url: str,
) -> None:
    # The simulator picks receipt outcomes per destination, the same for every part: here
    # receipts are made by hand, one per part, so the parts can disagree.
    mixed, reverse = "+243971000011", "+243971000012"
    async with daemon_with(redis_url, receipts=False) as (h, smsc):
        await h.send(message_id="mixed", message="m" * 400, to=[mixed])
        await h.send(message_id="reverse", message="r" * 400, to=[reverse])
        await h.wait_statuses([mixed, reverse], lambda seq: "sent" in seq, timeout_s=5)

        def parts(to: str) -> list[SubmitRecord]:
            return sorted(records_for(smsc, to), key=lambda r: r.udh.seq if r.udh else 0)

        async def statuses(to: str) -> list[str]:
            return (await h.sequences())[to]

        assert len(parts(mixed)) == len(parts(reverse)) == 3
        # Each receipt is answered only once stored, so the state can be read right after.
        one, two, three = parts(mixed)
        assert await smsc.send_deliver([receipt(one, "DELIVRD")]) == [c.ESME_ROK]
        assert await statuses(mixed) == ["processing", "sent"]
        assert await smsc.send_deliver([receipt(two, "UNDELIV")]) == [c.ESME_ROK]
        assert await statuses(mixed) == ["processing", "sent"]  # part 3 still open
        assert await smsc.send_deliver([receipt(three, "DELIVRD")]) == [c.ESME_ROK]
        assert await statuses(mixed) == ["processing", "sent", "undelivered"]
        # A repeated receipt changes nothing.
        assert await smsc.send_deliver([receipt(two, "UNDELIV")]) == [c.ESME_ROK]

        one, two, three = parts(reverse)
        assert await smsc.send_deliver([receipt(three, "DELIVRD")]) == [c.ESME_ROK]
        assert await smsc.send_deliver([receipt(one, "DELIVRD")]) == [c.ESME_ROK]
        assert await statuses(reverse) == ["processing", "sent"]
        assert await smsc.send_deliver([receipt(two, "DELIVRD")]) == [c.ESME_ROK]
        by_to = await h.by_recipient()
        results = dict(h.daemon.dispatchers[CARRIER].stats.receipts)

    assert [e["status"] for e in by_to[mixed]] == ["processing", "sent", "undelivered"]
    final = by_to[mixed][-1]
    assert final["error"]["code"] == "receipt"
    assert final["receipt"]["stat"] == "UNDELIV"
    assert final["smsc_ids"] == [r.message_id for r in parts(mixed)]
    assert [e["status"] for e in by_to[reverse]] == LIFECYCLE
    assert by_to[reverse][-1]["receipt"]["stat"] == "DELIVRD"
    assert results == {"matched": 6, "duplicate": 1}


# ------------------------------------------------------------------------------ (3) receipts


RECEIPT_CASES = {
    "+243971000001": ("DELIVRD", "delivered"),
    "+243971000002": ("UNDELIV", "undelivered"),
    "+243971000003": ("EXPIRED", "expired"),
    "+243971000004": ("REJECTD", "rejected"),
    "+243971000005": ("DELETED", "undelivered"),
    "+243971000006": ("UNKNOWN", "undelivered"),
}


async def test_each_receipt_state_maps_to_its_final_status(redis_url: str) -> None:
    rules = [
        OutcomeRule(pattern=f"^{to[1:]}$", stat=stat) for to, (stat, _) in RECEIPT_CASES.items()
    ]
    async with daemon_with(redis_url, outcomes=rules, receipt_delay_s=0.02) as (h, _):
        await h.send(to=list(RECEIPT_CASES))
        await h.wait_final(RECEIPT_CASES)
        by_to = await h.by_recipient()
        await h.wait_idle([CARRIER])

    for to, (stat, status) in RECEIPT_CASES.items():
        events = by_to[to]
        assert [e["status"] for e in events] == ["processing", "sent", status], to
        final = events[-1]
        assert final["receipt"]["stat"] == stat
        assert final["receipt"]["done_at"]
        if status == "delivered":
            assert final["error"] is None
        else:
            assert final["error"]["code"] == "receipt"
            assert final["error"]["smpp_status"] is None
            assert stat in final["error"]["description"]


async def test_receipt_arriving_before_submit_response_keeps_the_order(redis_url: str) -> None:
    single, multi = "+243998857000", "+243998857001"
    # Receipts leave the simulator at once, responses 300 ms later: every receipt (one per
    # part) reaches the daemon before the submit_sm_resp of its part.
    async with daemon_with(redis_url, response_delay_s=0.3, receipt_delay_s=0.0) as (h, smsc):
        await h.send(message_id="single", to=[single])
        await h.send(message_id="multi", message="y" * 300, to=[multi])
        seqs = await h.wait_final([single, multi])
        held = dict(h.daemon.dispatchers[CARRIER].stats.receipts)

    assert seqs[single] == LIFECYCLE
    assert seqs[multi] == LIFECYCLE
    # The receipts really came first: each was held until its part's response was recorded.
    assert held == {"held": 3}
    assert smsc.stats.receipts_acked == 3
    assert len(smsc.records) == 3


@pytest.mark.parametrize(("call", "queue"), [("outcomes", "_ops"), ("receipts", "_receipt_ops")])
async def test_script_calls_go_two_at_once_never_three(
    redis_url: str, call: str, queue: str
) -> None:
    """An accepted part (or a receipt, its deliver_sm unanswered meanwhile, holding a slot of
    the carrier's window) does not wait for the reply of the call before it: it goes in a
    second call at once. Two calls out is the most; what comes then waits its turn, and
    every message still ends processing → sent → delivered."""
    first, second, third = "+243998857000", "+243998857001", "+243998857002"
    async with daemon_with(redis_url) as (h, smsc):
        dispatcher = h.daemon.dispatchers[CARRIER]
        store = dispatcher.store
        write = getattr(store, call)
        gate = asyncio.Event()
        calls: list[int] = []

        async def held(ops: Any, at: str, now: float = 0.0) -> Any:
            calls.append(len(ops))
            await gate.wait()
            return await write(ops, at, now)

        setattr(store, call, held)
        await h.send(message_id="m1", to=[first])
        await wait_until(lambda: _true(len(calls) == 1), timeout_s=10, what="the first call")
        await h.send(message_id="m2", to=[second])
        await wait_until(lambda: _true(len(calls) == 2), timeout_s=10, what="a second call")
        await h.send(message_id="m3", to=[third])
        # m3's op is queued: with two calls out, it waits.
        ops = getattr(dispatcher, queue)
        await wait_until(lambda: _true(len(ops) == 1), timeout_s=10, what="m3's op")
        assert calls == [1, 1]
        if call == "receipts":
            assert smsc.stats.receipts_acked == 0  # every deliver_sm waits for its call
        gate.set()
        seqs = await h.wait_final([first, second, third])

    assert calls == [1, 1, 1]
    assert seqs == {first: LIFECYCLE, second: LIFECYCLE, third: LIFECYCLE}
    assert smsc.stats.receipts_acked == 3


async def _true(value: bool) -> bool:
    return value


def _answer_seconds(h: DaemonHarness, le: str | None = None) -> float:
    """`deliver_sm_answer_seconds` of the carrier: its count, or its bucket `le`."""
    registry = h.daemon.metrics.registry
    name = "smpp_connector_deliver_sm_answer_seconds"
    if le is None:
        value = registry.get_sample_value(f"{name}_count", {"carrier": CARRIER})
    else:
        value = registry.get_sample_value(f"{name}_bucket", {"carrier": CARRIER, "le": le})
    return value or 0.0


async def test_a_receipts_answer_time_counts_its_redis_write(redis_url: str) -> None:
    """The carrier's window slot is held from the deliver_sm until its answer, which waits for
    the receipt's script call: the histogram holds that whole time, one sample a receipt."""
    to = "+243998857000"
    async with daemon_with(redis_url) as (h, smsc):
        store = h.daemon.dispatchers[CARRIER].store
        write = store.receipts

        async def slow(ops: Any, at: str, now: float = 0.0) -> Any:
            await asyncio.sleep(0.12)
            return await write(ops, at, now)

        store.receipts = slow  # type: ignore[method-assign]
        await h.send(to=[to])
        assert (await h.wait_final([to]))[to] == LIFECYCLE
        await wait_until(
            lambda: _true(smsc.stats.receipts_acked == 1), timeout_s=10, what="the answer"
        )
        count, fast, slow_enough = (
            _answer_seconds(h),
            _answer_seconds(h, "0.1"),
            _answer_seconds(h, "0.25"),
        )

    assert (count, fast, slow_enough) == (1, 0, 1)


# ---------------------------------------------------------------------------------- (5) ids


@pytest.mark.parametrize("receipt_id", ["auto", "hex_to_dec"])
async def test_hex_submit_ids_match_decimal_receipt_ids(redis_url: str, receipt_id: str) -> None:
    to = "+243998857000"
    async with daemon_with(
        redis_url,
        carrier={"receipt_id": receipt_id},
        message_id_format="hex",
        receipt_id_format="dec",
        message_id_start=0x5F1A9C,
        receipt_delay_s=0.02,
    ) as (h, _):
        await h.send(to=[to])
        await h.wait_final([to])
        events = (await h.by_recipient())[to]

    assert [e["status"] for e in events] == LIFECYCLE
    assert events[-1]["smsc_ids"] == ["5f1a9c"]  # the receipt said id:6232732


async def test_hex_decimal_mismatch_is_not_matched_as_is(redis_url: str) -> None:
    """The control for the test above: the ids really differ, `as_is` cannot match them."""
    to = "+243998857000"
    async with daemon_with(
        redis_url,
        carrier={"receipt_id": "as_is"},
        message_id_format="hex",
        receipt_id_format="dec",
        message_id_start=0x5F1A9C,
    ) as (h, smsc):
        await h.send(to=[to])
        dispatcher = h.daemon.dispatchers[CARRIER]

        async def answered() -> bool:
            return smsc.stats.receipts_acked == 1

        await wait_until(answered, timeout_s=5, what="the receipt answered")
        seqs = await h.sequences()

    assert seqs[to] == ["processing", "sent"]
    assert dispatcher.stats.receipts == {"held": 1}


# ------------------------------------------------------------------------ (6) permanent error


async def test_permanent_error_rejects_with_smsc_rejected_and_is_not_retried(
    redis_url: str,
) -> None:
    to = "+243971234567"
    async with daemon_with(redis_url, reject_pattern=r"^243971") as (h, smsc):
        await h.send(to=[to])
        await h.wait_final([to])
        await h.wait_idle([CARRIER])
        # Longer than the retry schedule's first steps (0.05-0.2 s): nothing comes back.
        await asyncio.sleep(0.5)
        events = (await h.by_recipient())[to]
        stats = h.daemon.dispatchers[CARRIER].stats

    assert [e["status"] for e in events] == ["processing", "rejected"]
    assert events[-1]["error"] == {
        "code": "smsc_rejected",
        "smpp_status": 11,
        "description": "ESME_RINVDSTADR",
    }
    assert events[-1]["receipt"] is None
    assert smsc.stats.submits_received == 1
    assert smsc.stats.submits_rejected == 1
    assert stats.retries == 0
    assert stats.permanent == 1
