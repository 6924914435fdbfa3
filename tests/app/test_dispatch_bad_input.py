"""Issue 4 acceptance, part 3: bad input from the gateway and from the carrier.

Malformed outbound entries are dead-lettered (or their recipients rejected) while good ones
flow; unreadable or unexpected deliver_sm from the carrier are answered and the daemon runs on.
"""

from __future__ import annotations

import json
from typing import Any

from connector.smpp import constants as c
from connector.smpp import pdu as p
from tests.support.daemon_harness import (
    CarrierUnderTest,
    running_daemon,
    start_smsc,
    wait_until,
)

CARRIER = "airtel-cd"
LIFECYCLE = ["processing", "sent", "delivered"]
TOO_LONG = "x" * 400  # 3 GSM-7 parts; the carrier allows 2


async def test_malformed_entries_are_dead_lettered_while_good_ones_flow(redis_url: str) -> None:
    smsc = await start_smsc(keep_records=True)
    carrier = CarrierUnderTest(CARRIER, smsc=smsc, options={"max_parts": 2})
    # entry id -> the reason its dead letter must give
    dead: dict[str, str] = {}
    # recipient -> the error code of its single `rejected` event
    rejected: dict[str, str] = {}
    good: list[str] = []
    async with running_daemon(redis_url, [carrier]) as h:

        async def send(i: int, **fields: Any) -> str:
            return await h.send(message_id=f"m{i:03d}", **fields)

        for i in range(10):  # good and bad interleaved: the good ones must not wait
            to = f"+24397100{i:04d}"
            good.append(to)
            await send(i, to=[to])
            if i % 3 == 0:  # no `data` field at all
                broken = await h.send_raw("{}", field="payload")
                dead[broken] = "fields: missing 'data'"
            elif i % 3 == 1:  # not UTF-8
                dead[await h.send_raw(b'{"message_id": "\xff\xfe"}')] = "data: not valid JSON"
            else:
                broken = await h.send_raw(f'{{"message_id": "broken-{i}", "to": [}}')
                dead[broken] = "data: not valid JSON"
        for i in range(10, 20):
            to = f"+24397100{i:04d}"
            good.append(to)
            bad_number = f"+1{i}"  # too short for E.164: only this recipient is rejected
            rejected[bad_number] = "invalid_destination"
            await send(i, to=[to, bad_number])
            if i % 2:
                no_to = {"message_id": f"m{100 + i}", "message": "hi", "sender_id": "MYAPP"}
                dead[await h.send_raw(json.dumps(no_to))] = "to: missing"
            else:
                to_bad = f"+24397200{i:04d}"
                rejected[to_bad] = "invalid_message"
                dead[await send(100 + i, to=[to_bad], message=None)] = "message: expected"
        for i in range(20, 30):
            to, to_bad = f"+24397100{i:04d}", f"+24397200{i:04d}"
            good.append(to)
            await send(i, to=[to])
            rejected[to_bad] = "invalid_sender"
            dead[await send(100 + i, to=[to_bad], sender_id="MY APP!")] = "sender_id:"
        for i in range(30, 40):
            to, to_bad = f"+24397100{i:04d}", f"+24397200{i:04d}"
            good.append(to)
            await send(i, to=[to])
            rejected[to_bad] = "empty_message"
            dead[await send(100 + i, to=[to_bad], message="")] = "message: empty"
        for i in range(40, 50):
            to, to_bad = f"+24397100{i:04d}", f"+24397200{i:04d}"
            good.append(to)
            await send(i, to=[to])
            rejected[to_bad] = "message_too_long"  # a carrier limit: rejected, not dead
            await send(100 + i, to=[to_bad], message=TOO_LONG)

        await h.wait_final(good + list(rejected), timeout_s=15)
        await h.wait_idle([CARRIER])
        by_to = await h.by_recipient()
        letters = await h.dead_letters()
        sent_fields = {
            entry_id: {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
            for entry_id, fields in await h.entries(h.outbound)
        }

    assert len(dead) == 40
    assert len(rejected) == 45  # 5 + 10 + 10 of dead entries, 10 too long, 10 bad numbers
    for to in good:
        assert [e["status"] for e in by_to[to]] == LIFECYCLE, to
    for to, code in rejected.items():
        events = by_to[to]
        assert [e["status"] for e in events] == ["rejected"], to
        assert events[0]["error"]["code"] == code, (to, events[0]["error"])
    # Every malformed entry is dead-lettered once, with its own reason and its data as sent.
    assert sorted(letter["id"] for letter in letters) == sorted(dead)
    for letter in letters:
        assert letter["stream"] == "sms:outbound"
        assert dead[letter["id"]] in letter["reason"], letter
        assert letter["fields"] == sent_fields[letter["id"]]  # as received
    assert {r.destination for r in smsc.records} == {to[1:] for to in good}


async def test_unreadable_receipt_and_mo_from_the_carrier_do_not_stop_the_daemon(
    redis_url: str,
) -> None:
    smsc = await start_smsc(receipt_delay_s=0.02)
    async with running_daemon(redis_url, [CarrierUnderTest(CARRIER, smsc=smsc)]) as h:
        dispatcher = h.daemon.dispatchers[CARRIER]
        garbage = p.DeliverSm(
            source_addr="243998857000",
            destination_addr="MYAPP",
            esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
            short_message=b"\xffthis is not a receipt at all",
        )
        # Answered ESME_ROK (a carrier would resend it forever otherwise) and counted.
        assert await smsc.send_deliver([garbage]) == [c.ESME_ROK]
        assert dispatcher.stats.receipts == {"unparseable": 1}
        # An MO message (not a receipt) is answered once written to sms:mo (CONTRACT §3).
        assert await smsc.send_mo("243998857000", "MYAPP", "STOP") == [c.ESME_ROK]
        assert await smsc.send_mo("243998857000", "MYAPP", "STOP ALL", parts=2) == [
            c.ESME_ROK,
            c.ESME_ROK,
        ]
        mo = await h.stream_data(f"{h.prefix}:mo")
        assert smsc.stats.receipts_acked == 1

        # The daemon and its bind carry on.
        await h.send(to=["+243998857000"])
        seqs = await h.wait_final(["+243998857000"], timeout_s=5)

        async def receipt_answered() -> bool:
            return smsc.stats.receipts_acked == 2  # the hand-made one and the real one

        await wait_until(receipt_answered, timeout_s=5, what="the real receipt answered")
        assert not h.task.done()
        assert h.daemon.pools[CARRIER].bound_count() == 1

    assert seqs["+243998857000"] == LIFECYCLE
    assert [(m["from"], m["to"], m["message"], m["parts"], m["complete"]) for m in mo] == [
        ("+243998857000", "MYAPP", "STOP", 1, True),
        ("+243998857000", "MYAPP", "STOP ALL", 2, True),
    ]
    assert all(m["carrier"] == CARRIER for m in mo)
    assert smsc.stats.connections == 1  # never reconnected: the bind survived
    assert dispatcher.stats.receipts == {"unparseable": 1, "matched": 1}
