"""The Redis scripts against a real private redis-server: atomicity, idempotency, order."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from connector.streams.store import LANES, IntakeEntry, Store

AT = "2026-11-26T13:00:04.213071Z"


@pytest.fixture(params=[False, True], ids=["redis-py", "lean"])
async def store(redis_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Every store test runs twice: scripts called through redis-py, and through resp.py."""
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="host-a", lean=request.param)
    assert store.lean is request.param
    await store.ensure_groups(["airtel-cd"])
    yield store
    await store.aclose()
    await client.aclose()


async def _statuses(store: Store) -> list[dict[str, Any]]:
    entries = await store.client.xrange(store.status) or []
    return [json.loads(fields[b"data"]) for _, fields in entries if fields]


async def _outbound_entry(store: Store) -> str:
    entry_id = await store.client.xadd(store.outbound, {"data": b"{}"})
    await store.read([store.outbound], 10, block_ms=None)
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _accept(
    entry: str, k: int, smsc_id: str, *, n: int = 1, i: int = 0, **extra: Any
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "t": "a",
        "e": entry,
        "i": i,
        "k": k,
        "n": n,
        "id": smsc_id,
        "keys": [smsc_id],
        "mid": "m1",
        "to": "+243998857000",
        "car": "airtel-cd",
        "meta": '{"account":"acme"}',
    }
    op.update(extra)
    return op


async def _outcomes(store: Store, ops: list[dict[str, Any]], at: str) -> list[int]:
    results, _ = await store.outcomes(ops, at)
    return results


async def _receipts(store: Store, ops: list[dict[str, Any]], at: str) -> list[str]:
    results, _, _ = await store.receipts(ops, at)
    return results


def _receipt(key: str, status: str = "delivered", stat: str = "DELIVRD") -> dict[str, Any]:
    rec = {"s": status, "r": {"stat": stat, "err": "000", "done_at": "2026-11-26T13:00:04Z"}}
    return {"car": "airtel-cd", "keys": [key], "rec": json.dumps(rec)}


async def test_intake_twice_writes_once(store: Store) -> None:
    entry = await _outbound_entry(store)
    batch = [
        IntakeEntry(
            id=entry,
            n=1,
            events=['{"status":"processing"}'],
            work=[(store.work_stream("airtel-cd", "normal"), '{"x":1}')],
        )
    ]
    assert await store.intake(batch, AT) == [1]
    assert await store.intake(batch, AT) == [0]
    assert len(await _statuses(store)) == 1
    assert await store.client.xlen(store.work_stream("airtel-cd", "normal")) == 1
    assert await store.pending_count(store.outbound) == 1  # not acked: a recipient is open


async def test_intake_with_nothing_left_acks_and_dead_letters(store: Store) -> None:
    entry = await _outbound_entry(store)
    batch = [IntakeEntry(id=entry, n=0, events=['{"status":"rejected"}'], dead='{"reason":"x"}')]
    assert await store.intake(batch, AT) == [1]
    assert await store.pending_count(store.outbound) == 0
    assert await store.client.xlen(store.dead) == 1


async def test_sent_needs_every_part_then_acks_entry_and_work(store: Store) -> None:
    entry = await _outbound_entry(store)
    ws = store.work_stream("airtel-cd", "normal")
    await store.intake([IntakeEntry(id=entry, n=1, work=[(ws, "{}")])], AT)
    work = await store.read([ws], 10, block_ms=None)
    work_id = work[0][1][0][0]
    assert await _outcomes(store, [_accept(entry, 0, "aa", n=2, ws=ws, w=work_id)], AT) == [1]
    assert await _statuses(store) == []
    assert await _outcomes(store, [_accept(entry, 1, "bb", n=2, ws=ws, w=work_id)], AT) == [1]
    events = await _statuses(store)
    assert [e["status"] for e in events] == ["sent"]
    assert events[0] == {
        "message_id": "m1",
        "to": "+243998857000",
        "status": "sent",
        "carrier": "airtel-cd",
        "parts": 2,
        "smsc_ids": ["aa", "bb"],
        "error": None,
        "receipt": None,
        "at": AT,
        "meta": {"account": "acme"},
    }
    assert await store.pending_count(store.outbound) == 0
    assert await store.pending_count(ws) == 0


async def test_accepting_a_part_twice_is_recorded_once(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    assert await _outcomes(store, [_accept(entry, 0, "aa", n=2)] * 2, AT) == [1, 0]
    state = await store.recipient_state(entry, 0)
    assert state["acc"] == "1"


async def test_receipts_combine_parts_into_one_final_status(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    await _outcomes(store, [_accept(entry, 0, "aa", n=2), _accept(entry, 1, "bb", n=2)], AT)
    assert await _receipts(store, [_receipt("aa")], AT) == ["matched"]
    assert await _receipts(store, [_receipt("aa")], AT) == ["duplicate"]
    assert [e["status"] for e in await _statuses(store)] == ["sent"]
    assert await _receipts(store, [_receipt("bb", "undelivered", "UNDELIV")], AT) == ["matched"]
    events = await _statuses(store)
    assert [e["status"] for e in events] == ["sent", "undelivered"]
    assert events[1]["error"]["code"] == "receipt"
    assert events[1]["receipt"]["stat"] == "UNDELIV"


async def test_receipt_before_its_response_is_held_then_applied_in_order(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    assert await _receipts(store, [_receipt("aa")], AT) == ["held"]
    assert await _statuses(store) == []
    await _outcomes(store, [_accept(entry, 0, "aa")], AT)
    events = await _statuses(store)
    assert [e["status"] for e in events] == ["sent", "delivered"]
    assert events[1]["receipt"] == {
        "stat": "DELIVRD",
        "err": "000",
        "done_at": "2026-11-26T13:00:04Z",
    }


async def test_rejected_part_is_final_with_the_smpp_status(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    op = _accept(entry, 0, "", t="r", code="smsc_rejected", smpp=11, desc="ESME_RINVDSTADR")
    assert await _outcomes(store, [op], AT) == [1]
    assert await _outcomes(store, [op], AT) == [0]
    events = await _statuses(store)
    assert [e["status"] for e in events] == ["rejected"]
    assert events[0]["error"] == {
        "code": "smsc_rejected",
        "smpp_status": 11,
        "description": "ESME_RINVDSTADR",
    }
    assert events[0]["smsc_ids"] == []
    assert await store.pending_count(store.outbound) == 0


async def test_entry_is_acked_only_when_every_recipient_finished(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=2)], AT)
    await _outcomes(store, [_accept(entry, 0, "aa", i=0)], AT)
    assert await store.pending_count(store.outbound) == 1
    await _outcomes(store, [_accept(entry, 0, "bb", i=1)], AT)
    assert await store.pending_count(store.outbound) == 0


async def test_scripts_report_the_statuses_they_emitted(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    _, emitted = await store.outcomes([_accept(entry, 0, "aa")], AT)
    assert emitted == ["sent"]
    _, emitted, latencies = await store.receipts(
        [_receipt("aa", "undelivered", "UNDELIV")], AT, now=1.0
    )
    assert emitted == ["undelivered"]
    assert len(latencies) == 1


async def test_a_maxlen_of_zero_never_trims(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="a", status_maxlen=0)
    await store.ensure_groups(["airtel-cd"])
    for n in range(150):
        entry = await _outbound_entry(store)
        await store.intake([IntakeEntry(id=entry, n=0, events=[f'{{"n":{n}}}'])], AT)
    assert await client.xlen(store.status) == 150
    await client.aclose()


def _receipt_as_dispatched(key: str, status: str, stat: str) -> dict[str, Any]:
    """The op the dispatcher builds: `rec` plus st / rj / stat for the one-part fast path."""
    op = _receipt(key, status, stat)
    op.update(st=status, rj=json.dumps(json.loads(op["rec"])["r"]), stat=stat)
    return op


@pytest.mark.parametrize(("status", "stat"), [("delivered", "DELIVRD"), ("undelivered", "UNDELIV")])
async def test_one_part_fast_paths_emit_what_the_general_path_emits(
    store: Store, status: str, stat: str
) -> None:
    # Outcomes: a one-part accept on a fresh recipient takes the fast path, a two-part message
    # the general one; receipts: the dispatcher's op (st/rj/stat) the fast path, a bare op the
    # general one. The events must carry the same fields either way.
    events: list[list[dict[str, Any]]] = []
    for fast in (False, True):
        await store.client.flushall()
        await store.ensure_groups(["airtel-cd"])
        entry = await _outbound_entry(store)
        await store.intake([IntakeEntry(id=entry, n=1)], AT)
        key = "f1" if fast else "g1"
        if not fast:  # the record the general path starts with: the accept goes that way
            record = ["mid", "m1", "to", "+243998857000", "car", "airtel-cd", "parts", "1"]
            record += ["meta", '{"account":"acme"}', "ref", "0"]
            await store.client.hset(store.recipient_key(entry, 0), items=record)
        assert await _outcomes(store, [_accept(entry, 0, key)], AT) == [1]
        assert await _outcomes(store, [_accept(entry, 0, key)], AT) == [0]  # recorded once
        op = _receipt_as_dispatched(key, status, stat) if fast else _receipt(key, status, stat)
        assert await _receipts(store, [op], AT) == ["matched"]
        assert await _receipts(store, [op], AT) == ["duplicate"]
        assert await store.pending_count(store.outbound) == 0
        events.append(await _statuses(store))
    general, fast_events = events
    assert [e["status"] for e in fast_events] == ["sent", status]
    for slow_event, fast_event in zip(general, fast_events, strict=True):
        assert fast_event["smsc_ids"] == ["f1"]
        assert slow_event["smsc_ids"] == ["g1"]
        for name in ("status", "error", "receipt", "parts", "carrier", "meta", "message_id"):
            assert fast_event[name] == slow_event[name], name
    recipient = await store.recipient_state(entry_id=await _last_entry(store), index=0)
    assert (recipient["st"], recipient["fin"], recipient["acc"]) == ("f", "1", "1")


async def _last_entry(store: Store) -> str:
    entries: Any = await store.client.xrange(store.outbound)
    entry_id = entries[-1][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


# ---------------------------------------------------------------- the scripts' shortcuts


def _flag(store: Store) -> str:
    return f"{store.base}:heldflag:airtel-cd"


async def test_holding_a_receipt_sets_a_flag_that_outlives_the_held_key(store: Store) -> None:
    assert await _receipts(store, [_receipt("aa")], AT) == ["held"]
    held = f"{store.base}:held:airtel-cd:aa"
    # Absolute expiry times (PEXPIRETIME), not TTLs read one after the other: a millisecond
    # passing between two PTTL reads made this comparison flaky.
    assert 0 < await _expires_at(store, held) <= await _expires_at(store, _flag(store))
    # A daemon holding with a shorter TTL never shortens the flag below a held key's TTL.
    short = Store(store.client, prefix="sms", group="connector", consumer="b", held_ttl_s=5)
    assert await _receipts(short, [_receipt("bb")], AT) == ["held"]
    assert await store.client.pttl(_flag(store)) > 5_000
    assert await _expires_at(store, _flag(store)) >= await _expires_at(store, held)


async def _expires_at(store: Store, key: str) -> int:
    """The key's absolute expiry, in ms since the epoch (Redis 7's PEXPIRETIME)."""
    return int(await store.client.execute_command("PEXPIRETIME", key))


def _count(store: Store) -> str:
    return f"{store.base}:heldn:airtel-cd"


async def _fresh_entry(store: Store) -> str:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    return entry


async def _accepted_meets_planted_receipt(store: Store, key: str) -> bool:
    """Accept a part whose held receipt was planted without RECEIPTS (not counted, as an
    earlier version holds): whether OUTCOMES looked it up and applied it."""
    await store.client.set(f"{store.base}:held:airtel-cd:{key}", _receipt(key)["rec"], ex=60)
    before = len(await _statuses(store))
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, key)], AT)
    return [e["status"] for e in (await _statuses(store))[before:]] == ["sent", "delivered"]


async def test_counted_holds_stop_the_lookups_once_every_one_is_taken(store: Store) -> None:
    await store.client.delete(_flag(store))  # the first start's flag (see below) has expired
    assert await _receipts(store, [_receipt("aa"), _receipt("bb"), _receipt("aa")], AT) == [
        "held",
        "held",
        "held",  # the same key again: held once, counted once
    ]
    assert await store.client.get(_flag(store)) == b"c"
    assert await store.client.get(_count(store)) == b"2"
    assert 0 < await _expires_at(store, _count(store)) <= await _expires_at(store, _flag(store))
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, "aa")], AT)
    assert await store.client.get(_count(store)) == b"1"
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, "bb")], AT)
    assert [e["status"] for e in await _statuses(store)] == ["sent", "delivered"] * 2
    assert await store.client.exists(_count(store)) == 0
    assert await store.client.get(_flag(store)) == b"c"  # the flag lasts its TTL, but ...
    # ... with nothing counted, an accept no longer looks: a key planted behind RECEIPTS'
    # back (which no daemon does while the flag is 'c') stays unseen.
    assert not await _accepted_meets_planted_receipt(store, "dd")
    assert await store.client.exists(f"{store.base}:held:airtel-cd:dd") == 1


async def test_an_uncounted_flag_keeps_the_lookups_and_survives_counted_holds(
    store: Store,
) -> None:
    """'1': set by the first start's migration or an earlier version holding without a
    count. Accepts look key by key whatever the count says, and a hold keeps the '1'."""
    await store.client.set(_flag(store), "1", ex=3600)
    assert await _receipts(store, [_receipt("aa")], AT) == ["held"]
    assert await store.client.get(_flag(store)) == b"1"
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, "aa")], AT)
    assert await store.client.exists(_count(store)) == 0  # the count went back to 0
    assert await _accepted_meets_planted_receipt(store, "bb")


async def test_an_earlier_version_holding_after_a_counted_hold_makes_the_flag_uncounted(
    store: Store,
) -> None:
    """The previous version's RECEIPTS, holding a receipt, rewrites the flag as '1' when its
    PTTL is below the full held TTL. A counted hold leaves it 1 ms short of that, so the
    rewrite happens even in the same millisecond and its uncounted hold is looked up."""
    await store.client.delete(_flag(store))
    assert await _receipts(store, [_receipt("aa")], AT) == ["held"]
    assert await store.client.pttl(_flag(store)) < store.held_ttl_s * 1000
    earlier_version_hold = """
      redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1], 'NX')
      if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) * 1000 then
        redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
      end"""
    held = f"{store.base}:held:airtel-cd:bb"
    await store.client.eval(
        earlier_version_hold, 2, _flag(store), held, store.held_ttl_s, _receipt("bb")["rec"]
    )
    assert await store.client.get(_flag(store)) == b"1"
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, "aa")], AT)  # count 1 -> 0
    await _outcomes(store, [_accept(await _fresh_entry(store), 0, "bb")], AT)
    assert [e["status"] for e in await _statuses(store)] == ["sent", "delivered"] * 2


async def test_a_held_receipt_is_applied_by_the_general_path_too(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    assert await _receipts(store, [_receipt("bb", "undelivered", "UNDELIV")], AT) == ["held"]
    # Two parts: the second part's accept meets the held receipt on the general path.
    await _outcomes(store, [_accept(entry, 0, "aa", n=2)], AT)
    await _outcomes(store, [_accept(entry, 1, "bb", n=2)], AT)
    assert await store.client.exists(f"{store.base}:held:airtel-cd:bb") == 0
    assert await _receipts(store, [_receipt("aa")], AT) == ["matched"]
    assert [e["status"] for e in await _statuses(store)] == ["sent", "undelivered"]


async def test_without_a_flag_accepts_skip_held_keys_and_still_send(store: Store) -> None:
    # No receipt of the carrier is held (no flag): the accept records, emits `sent`, and a
    # receipt arriving afterwards is matched as usual.
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    await store.client.delete(_flag(store))  # the first start's flag (see below) has expired
    assert await _outcomes(store, [_accept(entry, 0, "aa")], AT) == [1]
    assert await _receipts(store, [_receipt_as_dispatched("aa", "delivered", "DELIVRD")], AT) == [
        "matched"
    ]
    assert [e["status"] for e in await _statuses(store)] == ["sent", "delivered"]


async def test_a_flag_of_another_carrier_does_not_apply_held_receipts_across(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    other = _receipt("aa")
    other["car"] = "vodacom-cd"
    assert await _receipts(store, [other], AT) == ["held"]  # flag of vodacom-cd only
    await _outcomes(store, [_accept(entry, 0, "aa")], AT)
    assert [e["status"] for e in await _statuses(store)] == ["sent"]
    assert await store.client.exists(f"{store.base}:held:vodacom-cd:aa") == 1


@pytest.mark.parametrize("same_batch", [False, True])
async def test_finishing_an_entry_already_finished_acks_nothing_and_leaves_no_key(
    store: Store, same_batch: bool
) -> None:
    # The entry counts one recipient, yet two finish (an inconsistency the count tolerates):
    # the first acknowledges the entry, the second finds no count and must not re-create one.
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    ops = [_accept(entry, 0, "aa", i=0), _accept(entry, 0, "bb", i=1)]
    if same_batch:
        assert await _outcomes(store, ops, AT) == [1, 1]
    else:
        assert await _outcomes(store, ops[:1], AT) == [1]
        assert await _outcomes(store, ops[1:], AT) == [1]
    assert await store.pending_count(store.outbound) == 0
    assert await store.client.exists(store.entry_key(entry)) == 0
    assert [e["status"] for e in await _statuses(store)] == ["sent", "sent"]


async def test_recipients_finishing_in_one_batch_ack_the_entry_once_at_the_end(
    store: Store,
) -> None:
    entry = await _outbound_entry(store)
    ws = store.work_stream("airtel-cd", "normal")
    await store.intake([IntakeEntry(id=entry, n=3, work=[(ws, "{}")] * 3)], AT)
    work = [wid for wid, _ in (await store.read([ws], 10, block_ms=None))[0][1]]
    ops = [_accept(entry, 0, f"s{i}", i=i, ws=ws, w=work[i]) for i in range(2)]
    ops.append(_accept(entry, 0, "", i=2, t="r", code="smsc_rejected", smpp=11, desc="x"))
    ops[-1].update(ws=ws, w=work[2])
    assert await _outcomes(store, ops[:2], AT) == [1, 1]
    assert await store.pending_count(store.outbound) == 1
    assert await store.pending_count(ws) == 1
    assert await store.client.hget(store.entry_key(entry), "n") == b"1"
    assert await _outcomes(store, ops, AT) == [0, 0, 1]  # a replayed batch: only the new op
    assert await store.pending_count(store.outbound) == 0
    assert await store.pending_count(ws) == 0
    assert await store.client.exists(store.entry_key(entry)) == 0
    assert [e["status"] for e in await _statuses(store)] == ["sent", "sent", "rejected"]


async def test_a_replayed_outcome_batch_changes_nothing(store: Store) -> None:
    entry = await _outbound_entry(store)
    ws = store.work_stream("airtel-cd", "normal")
    await store.intake([IntakeEntry(id=entry, n=1, work=[(ws, "{}")])], AT)
    work_id = (await store.read([ws], 10, block_ms=None))[0][1][0][0]
    ops = [_accept(entry, 0, "aa", ws=ws, w=work_id)]
    assert await _outcomes(store, ops, AT) == [1]
    state = await store.recipient_state(entry, 0)
    assert await _outcomes(store, ops, AT) == [0]
    assert await store.recipient_state(entry, 0) == state
    assert len(await _statuses(store)) == 1
    assert await store.client.exists(store.entry_key(entry)) == 0
    assert await store.pending_count(store.outbound) == 0


async def test_receipt_latency_is_now_minus_the_sent_time(store: Store) -> None:
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=2)], AT)
    await store.outcomes([_accept(entry, 0, "aa", i=0)], AT, now=1000.25)
    await store.outcomes([_accept(entry, 0, "bb", i=1, n=2)], AT, now=1001.0)
    await store.outcomes([_accept(entry, 1, "cc", i=1, n=2)], AT, now=1002.0)
    fast = _receipt_as_dispatched("aa", "delivered", "DELIVRD")
    _, _, latencies = await store.receipts([fast, _receipt("bb"), _receipt("cc")], AT, now=1010.5)
    assert latencies == [pytest.approx(10.25), pytest.approx(8.5)]  # one-part; two-part


async def test_intake_replays_mixed_with_new_entries_keep_each_entrys_texts(store: Store) -> None:
    # Entries taken in before are skipped within a batch: the texts of the entries after them
    # (dead letter, events, work items, scheduled work) must still be their own.
    ws = store.work_stream("airtel-cd", "normal")

    def entry(entry_id: str, tag: str) -> IntakeEntry:
        return IntakeEntry(
            id=entry_id,
            n=3,
            events=[f'{{"e":"{tag}1"}}', f'{{"e":"{tag}2"}}'],
            work=[(ws, f'{{"w":"{tag}1"}}'), (ws, f'{{"w":"{tag}2 é"}}')],
            sched=[(4_000_000_000.0, ws, f'{{"s":"{tag}"}}')],
            dead=f'{{"d":"{tag}"}}',
        )

    first, second, third = [await _outbound_entry(store) for _ in range(3)]
    assert await store.intake([entry(first, "a")], AT) == [1]
    assert await store.intake([entry(first, "x"), entry(second, "b")], AT) == [0, 1]
    assert await store.intake([entry(third, "c"), entry(second, "y")], AT) == [1, 0]
    assert [e["e"] for e in await _statuses(store)] == ["a1", "a2", "b1", "b2", "c1", "c2"]
    work: Any = await store.client.xrange(ws)
    assert [json.loads(f[b"w"])["w"] for _, f in work] == ["a1", "a2 é", "b1", "b2 é", "c1", "c2 é"]
    dead: Any = await store.client.xrange(store.dead)
    assert [json.loads(f[b"data"])["d"] for _, f in dead] == ["a", "b", "c"]
    scheduled: Any = await store.client.zrange(f"{store.base}:sched", 0, -1)
    assert sorted(m.decode().split("\n")[1] for m in scheduled) == [
        '{"s":"a"}',
        '{"s":"b"}',
        '{"s":"c"}',
    ]
    assert await store.client.hget(store.entry_key(second), "n") == b"3"


async def test_intake_with_empty_texts_and_no_work(store: Store) -> None:
    entries = [await _outbound_entry(store) for _ in range(2)]
    batch = [IntakeEntry(id=entries[0], n=0), IntakeEntry(id=entries[1], n=0, events=["{}"])]
    assert await store.intake(batch, AT, fresh=True) == [1, 1]
    assert await _statuses(store) == [{}]
    assert await store.pending_count(store.outbound) == 0


async def test_intake_refuses_a_text_holding_the_separator(store: Store) -> None:
    entry = await _outbound_entry(store)
    with pytest.raises(ValueError, match="not JSON"):
        await store.intake([IntakeEntry(id=entry, n=0, events=['{"a":"\x1e"}'])], AT)
    assert await _statuses(store) == []


async def test_the_first_start_flags_receipts_an_earlier_version_held(store: Store) -> None:
    """A receipt held by a daemon that set no flag (an earlier version, before an upgrade) is
    still applied: the first start that knows the flag sets it for the held TTL; a restart
    leaves it alone."""
    await store.client.flushall()
    for lane in LANES:  # the earlier version served the carrier: its work groups exist
        await store.client.xgroup_create(
            store.work_stream("airtel-cd", lane), "connector", "0", mkstream=True
        )
    await store.client.set(f"{store.base}:held:airtel-cd:aa", _receipt("aa")["rec"], ex=3600)
    await store.ensure_groups(["airtel-cd"])  # the upgraded daemon's first start
    entry = await _outbound_entry(store)
    assert 3_500_000 < await store.client.pttl(_flag(store)) <= 3_600_000
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    await _outcomes(store, [_accept(entry, 0, "aa")], AT)
    assert [e["status"] for e in await _statuses(store)] == ["sent", "delivered"]
    await store.client.delete(_flag(store))
    await store.ensure_groups(["airtel-cd"])  # a restart: the marker says it was done
    assert await store.client.exists(_flag(store)) == 0


async def test_a_carrier_new_to_this_redis_gets_the_marker_but_no_flag(store: Store) -> None:
    """Its work groups did not exist, so no daemon ever held a receipt of it: no flag, and
    accepts skip the held-key lookups (a held key planted anyway is not looked at)."""
    await store.client.flushall()
    await store.client.set(f"{store.base}:held:airtel-cd:aa", _receipt("aa")["rec"], ex=3600)
    await store.ensure_groups(["airtel-cd"])
    assert await store.client.exists(f"{store.base}:heldflag-since:airtel-cd") == 1
    assert await store.client.exists(_flag(store)) == 0
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    await _outcomes(store, [_accept(entry, 0, "aa")], AT)
    assert [e["status"] for e in await _statuses(store)] == ["sent"]
    # One work group missing of three counts as served before: the flag is set.
    await store.client.flushall()
    await store.client.xgroup_create(
        store.work_stream("airtel-cd", "low"), "connector", "0", mkstream=True
    )
    await store.ensure_groups(["airtel-cd"])
    assert await store.client.exists(_flag(store)) == 1


async def test_a_one_part_record_finished_by_a_receipt_stays_a_small_hash(store: Store) -> None:
    """The short path keeps only the receipt's status in x0 (nothing reads it back once the
    record is final), so the record stays a listpack hash; a duplicate receipt is still one."""
    entry = await _outbound_entry(store)
    await store.intake([IntakeEntry(id=entry, n=1)], AT)
    await _outcomes(store, [_accept(entry, 0, "aa")], AT)
    op = _receipt_as_dispatched("aa", "delivered", "DELIVRD")
    del op["rec"]  # as the dispatcher sends it
    assert await _receipts(store, [op], AT) == ["matched"]
    record = store.recipient_key(entry, 0)
    assert await store.client.hget(record, "x0") == b"delivered"
    assert await store.client.object("encoding", record) == b"listpack"
    assert await _receipts(store, [op], AT) == ["duplicate"]
    assert [e["status"] for e in await _statuses(store)] == ["sent", "delivered"]


async def test_a_lean_read_cancelled_while_blocked_leaves_no_entry_behind(redis_url: str) -> None:
    # Its connection is closed, not reused: the server forgets the blocked read, so the next
    # entry goes to the next read instead of a reply nobody waits for.
    client = aioredis.Redis.from_url(redis_url)
    store = Store(client, prefix="sms", group="connector", consumer="host-a", lean=True)
    await store.ensure_groups(["airtel-cd"])
    blocked = asyncio.ensure_future(store.read([store.outbound], 10, block_ms=10_000))
    await asyncio.sleep(0.05)
    blocked.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await blocked
    raw = await client.xadd(store.outbound, {"data": b"{}"})
    entry_id = raw.decode() if isinstance(raw, bytes) else str(raw)
    reply = await store.read([store.outbound], 10, block_ms=1000)
    assert [e for _, entries in reply for e, _ in entries] == [entry_id]
    await store.aclose()
    await client.aclose()


async def test_each_hot_script_call_is_reported_with_its_batch_and_duration(store: Store) -> None:
    calls: list[tuple[str, int, float]] = []
    store.on_script = lambda name, ops, seconds: calls.append((name, ops, seconds))
    first, second = await _outbound_entry(store), await _outbound_entry(store)
    await store.intake([IntakeEntry(id=first, n=1), IntakeEntry(id=second, n=1)], AT)
    await store.outcomes([_accept(first, 0, "aa"), _accept(second, 0, "bb")], AT)
    await store.receipts([_receipt("aa"), _receipt("bb"), _receipt("cc")], AT)
    assert [(name, ops) for name, ops, _ in calls] == [
        ("intake", 2),
        ("outcomes", 2),
        ("receipts", 3),
    ]
    assert all(seconds > 0 for _, _, seconds in calls)
    # Empty batches make no call, so they report none.
    assert await store.outcomes([], AT) == ([], [])
    assert len(calls) == 3


async def test_a_failed_script_call_is_not_reported(store: Store) -> None:
    calls: list[str] = []
    store.on_script = lambda name, ops, seconds: calls.append(name)
    with pytest.raises(ResponseError, match="table expected, got nil"):
        # An op without `keys`: the script fails in Redis, and no timing is reported for it.
        await store.receipts([{"car": "airtel-cd", "rec": "{}"}], AT)
    assert calls == []
