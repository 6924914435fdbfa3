"""MO messages into `sms:mo` (CONTRACT §3), scheduled and expiring messages (§1)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import redis.asyncio as aioredis

from connector.app.inbound import Inbound
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.streams.store import Store
from connector.text import plan
from tests.support.daemon_harness import CarrierUnderTest, running_daemon, start_smsc, wait_until


async def _mo_entries(client: aioredis.Redis) -> list[dict[str, Any]]:
    entries = await client.xrange("sms:mo") or []
    return [json.loads(fields[b"data"]) for _, fields in entries if fields]


def _parts(text: str, **options: Any) -> list[p.DeliverSm]:
    """A concatenated MO as the carrier sends it, built with our own planner (UDH parts)."""
    message = plan(text, reference=77, **options)
    return [
        p.DeliverSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="243998857000",
            dest_addr_ton=0,
            dest_addr_npi=0,
            destination_addr="MYAPP",
            esm_class=message.esm_class,
            data_coding=message.data_coding,
            short_message=part.short_message,
            tlvs=dict(part.tlvs),
        )
        for part in message.parts
    ]


async def test_mo_single_message_is_stored_before_it_is_acknowledged(redis_url: str) -> None:
    smsc = await start_smsc()
    async with running_daemon(redis_url, [CarrierUnderTest(smsc=smsc)]) as h:
        statuses = await asyncio.wait_for(smsc.send_mo("243998857000", "MYAPP", "STOP"), 10)
        assert statuses == [c.ESME_ROK]
        entries = await _mo_entries(h.redis)
        assert len(entries) == 1
        assert entries[0]["from"] == "+243998857000"
        assert entries[0]["to"] == "MYAPP"
        assert entries[0]["message"] == "STOP"
        assert entries[0]["carrier"] == "airtel-cd"
        assert entries[0]["parts"] == 1
        assert entries[0]["complete"] is True


async def test_an_mo_answer_time_counts_its_redis_write(redis_url: str) -> None:
    """An MO's deliver_sm is answered once it is in Redis: `deliver_sm_answer_seconds` holds
    that wait (here a write held 120 ms), one sample per deliver_sm."""
    smsc = await start_smsc()
    async with running_daemon(redis_url, [CarrierUnderTest(smsc=smsc)]) as h:
        inbound = h.daemon.inbound
        assert inbound is not None
        write = inbound.store.mo

        async def slow(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0.12)
            return await write(*args, **kwargs)

        inbound.store.mo = slow  # type: ignore[method-assign]
        statuses = await asyncio.wait_for(smsc.send_mo("243998857000", "MYAPP", "STOP"), 10)
        registry = h.daemon.metrics.registry
        name = "smpp_connector_deliver_sm_answer_seconds"
        labels = {"carrier": "airtel-cd"}
        count = registry.get_sample_value(f"{name}_count", labels)
        fast = registry.get_sample_value(f"{name}_bucket", {**labels, "le": "0.1"})
        slow_enough = registry.get_sample_value(f"{name}_bucket", {**labels, "le": "0.25"})
    assert statuses == [c.ESME_ROK]
    assert (count, fast, slow_enough) == (1, 0, 1)


async def test_mo_concatenated_through_the_simulator_arrives_whole(redis_url: str) -> None:
    smsc = await start_smsc()
    text = "Mbote! Nalingi koyeba ntango nini bokofungola biro na bino lobi? " * 3
    async with running_daemon(redis_url, [CarrierUnderTest(smsc=smsc)]) as h:
        statuses = await asyncio.wait_for(
            smsc.send_mo("243998857000", "MYAPP", text, parts=3, udh16=True), 10
        )
        assert statuses == [c.ESME_ROK] * 3
        entries = await _mo_entries(h.redis)
        assert [(e["message"], e["parts"], e["complete"]) for e in entries] == [(text, 3, True)]


async def test_mo_parts_out_of_order_on_two_daemons_gsm7_and_ucs2(redis_url: str) -> None:
    gsm = "Bonjour, je voudrais savoir quand votre bureau ouvre demain matin s'il vous plait. " * 4
    ucs2 = "Habari! Ninataka kujua 😊 ofisi yenu itafunguliwa saa ngapi kesho asubuhi? " * 3
    client = aioredis.Redis.from_url(redis_url)
    # Two Inbound instances on two Store objects: two binds or two hosts, one Redis.
    first = Inbound(
        Store(client, prefix="sms", group="g", consumer="a", mo_maxlen=1000),
        reassembly_timeout_s=60,
    )
    second = Inbound(
        Store(client, prefix="sms", group="g", consumer="b", mo_maxlen=1000),
        reassembly_timeout_s=60,
    )
    for text in (gsm, ucs2):
        parts = list(reversed(_parts(text)))
        assert len(parts) >= 3
        for n, pdu in enumerate(parts):
            status = await (first if n % 2 else second).handle("airtel-cd", pdu)
            assert status == c.ESME_ROK
    entries = await _mo_entries(client)
    assert [(e["message"], e["complete"]) for e in entries] == [(gsm, True), (ucs2, True)]
    await client.aclose()


async def test_mo_incomplete_is_written_with_complete_false_after_the_timeout(
    redis_url: str,
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    inbound = Inbound(
        Store(client, prefix="sms", group="g", consumer="a", mo_maxlen=1000),
        reassembly_timeout_s=0.2,
    )
    text = "Ceci est un long message qui arrive en plusieurs morceaux. " * 4
    parts = _parts(text)
    assert await inbound.handle("airtel-cd", parts[0]) == c.ESME_ROK
    assert await _mo_entries(client) == []
    stop = asyncio.Event()
    sweeper = asyncio.ensure_future(inbound.sweep_forever(stop, interval_s=0.05))

    async def written() -> bool:
        return bool(await _mo_entries(client))

    await wait_until(written, timeout_s=5, what="the incomplete MO")
    stop.set()
    await asyncio.wait_for(sweeper, 5)
    entries = await _mo_entries(client)
    assert len(entries) == 1
    assert entries[0]["complete"] is False
    assert entries[0]["parts"] == 1
    assert entries[0]["message"] == plan(text, reference=77).parts[0].text
    assert await client.keys("{sms:outbound}:mop*") == []
    await client.aclose()


async def test_scheduled_message_waits_for_send_at_then_goes(redis_url: str) -> None:
    smsc = await start_smsc(keep_records=True)
    async with running_daemon(redis_url, [CarrierUnderTest(smsc=smsc)]) as h:
        # Whole milliseconds, so send_at is exactly the time the entry states (rounding a
        # float's fraction could state a time up to a second early: .9996 -> ".000").
        ms = int((time.time() + 1.5) * 1000)
        send_at = ms / 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
        await h.send(sending_type="scheduled", send_at=f"{stamp}.{ms % 1000:03d}Z")
        await h.wait_statuses(["+243998857000"], lambda s: s == ["processing"], timeout_s=5)
        assert smsc.records == []
        seqs = await h.wait_final(["+243998857000"], timeout_s=10)
        assert seqs["+243998857000"] == ["processing", "sent", "delivered"]
        submitted_at = smsc.records[0].ts
        assert send_at <= submitted_at <= send_at + 1.0


async def test_message_expired_before_submission_is_not_sent(redis_url: str) -> None:
    smsc = await start_smsc(keep_records=True)
    async with running_daemon(redis_url, [CarrierUnderTest(smsc=smsc)]) as h:
        await h.send(expires_at="2020-01-01T00:00:00Z")
        seqs = await h.wait_final(["+243998857000"])
        assert seqs["+243998857000"] == ["processing", "expired"]
        event = (await h.by_recipient())["+243998857000"][-1]
        assert event["error"]["code"] == "expired"
        assert smsc.records == []
