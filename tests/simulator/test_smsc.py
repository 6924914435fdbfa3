"""The SMSC simulator over real loopback TCP: binds, submits, receipts, faults, MO, control, CLI.

Every await is bounded; every connection is to 127.0.0.1 on a port the OS picks.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
import smpplib.client

from connector.carrier.client import BindMode, BindRefused, SmppClient
from connector.simulator.smsc import (
    Concat,
    NoReceiverError,
    OutcomeRule,
    SimulatorConfig,
    Smsc,
    build_mo,
    message_text,
    parse_outcome,
    parse_sar,
    parse_status,
    parse_udh,
)
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.codec import HEADER, decode, encode
from connector.transport.protocol import ConnectionClosed

HOST = "127.0.0.1"
STEP_S = 5.0  # bound of every single await
RECEIPT_RE = re.compile(
    r"^id:(?P<id>\S+) sub:(?P<sub>\d{3}) dlvrd:(?P<dlvrd>\d{3}) "
    r"submit date:(?P<submit>\d{10}) done date:(?P<done>\d{10}) "
    r"stat:(?P<stat>[A-Z]{7}) err:(?P<err>\d{3}) text:(?P<text>.*)$"
)


class MakeSmsc(Protocol):
    def __call__(self, **options: Any) -> Awaitable[tuple[Smsc, int]]: ...


class Connect(Protocol):
    def __call__(
        self,
        port: int,
        *,
        system_id: str = ...,
        password: str = ...,
        bind: BindMode = ...,
        on_deliver: Callable[[p.Pdu], int] | None = ...,
    ) -> Awaitable[SmppClient]: ...


@pytest.fixture
async def make_smsc() -> AsyncIterator[MakeSmsc]:
    started: list[Smsc] = []

    async def make(**options: Any) -> tuple[Smsc, int]:
        smsc = Smsc(SimulatorConfig(**options))
        _, port = await asyncio.wait_for(smsc.start(HOST, 0), STEP_S)
        started.append(smsc)
        return smsc, port

    yield make
    for smsc in started:
        await asyncio.wait_for(smsc.stop(timeout_s=1.0), STEP_S)


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    clients: list[SmppClient] = []

    async def make(
        port: int,
        *,
        system_id: str = "esme",
        password: str = "pw",
        bind: BindMode = "transceiver",
        on_deliver: Callable[[p.Pdu], int] | None = None,
    ) -> SmppClient:
        client = SmppClient(
            system_id=system_id,
            password=password,
            bind=bind,
            on_deliver=on_deliver,
            response_timeout_s=STEP_S,
        )
        await client.connect(HOST, port, timeout_s=STEP_S)
        clients.append(client)
        await asyncio.wait_for(client.bind(), STEP_S)
        return client

    yield make
    for client in clients:
        await asyncio.wait_for(client.close(), STEP_S)


async def wait_until(predicate: Callable[[], bool], timeout_s: float = STEP_S) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


def submit_pdu(
    destination: str, text: bytes = b"hello", registered_delivery: int = 1
) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="33100000000",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=destination,
        registered_delivery=registered_delivery,
        data_coding=0x01,
        short_message=text,
    )


async def submit(client: SmppClient, pdu: p.SubmitSm) -> p.Pdu:
    return await asyncio.wait_for(client.submit(pdu), STEP_S)


class Inbox:
    """An on_deliver handler that keeps every deliver_sm."""

    def __init__(self, status: int = c.ESME_ROK) -> None:
        self.pdus: list[p.DeliverSm] = []
        self.status = status

    def __call__(self, pdu: p.Pdu) -> int:
        assert isinstance(pdu, p.DeliverSm)
        self.pdus.append(pdu)
        return self.status

    def receipts(self) -> list[p.DeliverSm]:
        return [x for x in self.pdus if x.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT]


# ------------------------------------------------------------------------- (a) smpplib client


def _smpplib_round_trip(port: int) -> dict[str, Any]:
    """Bind, submit, read the submit_sm_resp and the receipt, unbind: smpplib's own client."""
    client = smpplib.client.Client(HOST, port, timeout=2, allow_unknown_opt_params=True)
    seen: dict[str, Any] = {}

    def on_sent(pdu: Any, **_: Any) -> None:
        seen["resp"] = pdu

    def on_received(pdu: Any, **_: Any) -> int:
        seen["receipt"] = pdu
        return c.ESME_ROK

    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.connect()
    try:
        client.bind_transceiver(system_id="smpplib", password="secret")
        client.send_message(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="33100000000",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            short_message=b"hello from smpplib",
            registered_delivery=1,
        )
        for _ in range(20):
            if "resp" in seen and "receipt" in seen:
                break
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return seen


async def test_smpplib_client_binds_submits_and_gets_a_receipt(make_smsc: MakeSmsc) -> None:
    smsc, port = await make_smsc(
        system_id="smpplib", password="secret", receipt_delay_s=0.05, message_id_start=0x5F1A9C
    )
    seen = await asyncio.wait_for(asyncio.to_thread(_smpplib_round_trip, port), 30)

    resp = seen["resp"]
    assert resp.status == c.ESME_ROK
    message_id = resp.message_id.decode()
    assert message_id == "5f1a9c"
    receipt = seen["receipt"]
    assert receipt.esm_class == c.ESM_CLASS_SMSC_DELIVERY_RECEIPT
    match = RECEIPT_RE.match(receipt.short_message.decode())
    assert match is not None
    assert match["id"] == message_id
    assert match["stat"] == "DELIVRD"
    assert match["text"] == "hello from smpplib"[:20]
    assert receipt.receipted_message_id.decode() == message_id
    assert receipt.message_state == c.MESSAGE_STATE_DELIVERED
    assert receipt.source_addr.decode() == "33612345678"
    assert receipt.destination_addr.decode() == "33100000000"
    assert smsc.stats.binds == 1
    assert smsc.stats.submits_accepted == 1
    await wait_until(lambda: smsc.stats.receipts_acked == 1)


# --------------------------------------------------------------------------- (b) credentials


async def test_wrong_credentials_are_refused_with_the_right_status(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc(system_id="esme", password="secret")
    with pytest.raises(BindRefused) as wrong_password:
        await connect(port, system_id="esme", password="nope")
    assert wrong_password.value.command_status == c.ESME_RINVPASWD
    with pytest.raises(BindRefused) as wrong_system_id:
        await connect(port, system_id="other", password="secret")
    assert wrong_system_id.value.command_status == c.ESME_RINVSYSID
    client = await connect(port, system_id="esme", password="secret")
    assert client.is_bound
    assert smsc.stats.bind_failures == 2
    assert smsc.stats.binds == 1


@pytest.mark.parametrize("mode", ["transmitter", "receiver", "transceiver"])
async def test_any_bind_is_accepted_without_credentials(
    make_smsc: MakeSmsc, connect: Connect, mode: BindMode
) -> None:
    smsc, port = await make_smsc()
    client = await connect(port, system_id="whoever", password="whatever", bind=mode)
    assert client.is_bound
    assert smsc.receivers("whoever") == (0 if mode == "transmitter" else 1)


async def test_sends_enquire_link_when_configured(make_smsc: MakeSmsc) -> None:
    _, port = await make_smsc(enquire_link_interval_s=0.1)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), STEP_S)
    try:
        bind = p.BindTransceiver(sequence_number=1, system_id="raw", password="pw")
        writer.write(encode(bind))

        resp = await _read_pdu(reader)
        assert isinstance(resp, p.BindTransceiverResp)
        assert resp.command_status == c.ESME_ROK
        assert resp.system_id == "SIMSMSC"
        enquire = await _read_pdu(reader)
        assert isinstance(enquire, p.EnquireLink)
        writer.write(encode(p.EnquireLinkResp(sequence_number=enquire.sequence_number)))
        writer.write(encode(p.Unbind(sequence_number=2)))
        unbind_resp = await _read_pdu(reader)
        assert isinstance(unbind_resp, p.UnbindResp)
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), STEP_S)


# ------------------------------------------------------------------------------- (c) receipts


def _base(fmt: str) -> int:
    return 16 if fmt == "hex" else 10


@pytest.mark.parametrize(
    ("id_format", "receipt_format"),
    [("hex", "same"), ("dec", "same"), ("hex", "dec"), ("dec", "hex")],
)
async def test_receipts_carry_the_outcome_and_the_id_in_the_chosen_form(
    make_smsc: MakeSmsc, connect: Connect, id_format: str, receipt_format: str
) -> None:
    smsc, port = await make_smsc(
        message_id_format=id_format,
        receipt_id_format=receipt_format,
        message_id_start=987654,
        receipt_delay_s=0.02,
        outcomes=[
            OutcomeRule("^1", "UNDELIV"),
            OutcomeRule("^2", "EXPIRED"),
            OutcomeRule("^3", "REJECTD", "042"),
            OutcomeRule("^3", "UNDELIV"),  # never reached: first match wins
        ],
    )
    inbox = Inbox()
    client = await connect(port, on_deliver=inbox)
    expected = {"1000": "UNDELIV", "2000": "EXPIRED", "3000": "REJECTD", "4000": "DELIVRD"}
    ids: dict[str, str] = {}
    for destination in expected:
        resp = await submit(client, submit_pdu(destination, b"text for " + destination.encode()))
        assert resp.command_status == c.ESME_ROK
        assert isinstance(resp, p.SubmitSmResp)
        ids[destination] = resp.message_id
    await wait_until(lambda: len(inbox.receipts()) == len(expected))

    receipt_fmt = id_format if receipt_format == "same" else receipt_format
    states = {
        "DELIVRD": c.MESSAGE_STATE_DELIVERED,
        "UNDELIV": c.MESSAGE_STATE_UNDELIVERABLE,
        "EXPIRED": c.MESSAGE_STATE_EXPIRED,
        "REJECTD": c.MESSAGE_STATE_REJECTED,
    }
    for receipt in inbox.receipts():
        destination = receipt.source_addr
        assert receipt.destination_addr == "33100000000"
        match = RECEIPT_RE.match(receipt.short_message.decode("ascii"))
        assert match is not None, receipt.short_message
        stat = expected[destination]
        assert match["stat"] == stat
        assert match["sub"] == "001"
        assert match["dlvrd"] == ("001" if stat == "DELIVRD" else "000")
        assert match["text"] == f"text for {destination}"
        assert match["submit"] <= match["done"]
        if stat == "DELIVRD":
            assert match["err"] == "000"
            assert c.TAG_NETWORK_ERROR_CODE not in receipt.tlvs
        else:
            assert match["err"] != "000"
            network_error = receipt.tlvs[c.TAG_NETWORK_ERROR_CODE]
            assert isinstance(network_error, bytes)
            assert network_error[0] == 3
            assert int.from_bytes(network_error[1:], "big") == int(match["err"])
        if stat == "REJECTD":
            assert match["err"] == "042"
        receipt_id = match["id"]
        assert receipt.tlvs[c.TAG_RECEIPTED_MESSAGE_ID] == receipt_id
        assert receipt.tlvs[c.TAG_MESSAGE_STATE] == states[stat]
        if receipt_fmt == "dec":
            assert receipt_id.isdigit()
        else:
            assert re.fullmatch(r"[0-9a-f]+", receipt_id)
        submitted = ids[destination]
        assert int(submitted, _base(id_format)) == int(receipt_id, _base(receipt_fmt))
        if receipt_format == "same":
            assert receipt_id == submitted
        else:
            assert receipt_id != submitted
    await wait_until(lambda: smsc.stats.receipts_acked == len(expected))
    assert smsc.stats.receipts_sent == len(expected)


async def test_registered_delivery_decides_whether_a_receipt_is_sent(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc(outcomes=[OutcomeRule("^1", "UNDELIV")])
    inbox = Inbox()
    client = await connect(port, on_deliver=inbox)
    await submit(client, submit_pdu("4000", registered_delivery=0))  # never
    await submit(client, submit_pdu("4001", registered_delivery=2))  # failures only: delivered
    await submit(client, submit_pdu("1000", registered_delivery=2))  # failures only: failed
    await wait_until(lambda: len(inbox.receipts()) == 1)
    await submit(client, submit_pdu("4002", registered_delivery=1))  # always
    await wait_until(lambda: len(inbox.receipts()) == 2)
    assert [r.source_addr for r in inbox.receipts()] == ["1000", "4002"]
    assert smsc.stats.submits_accepted == 4


async def test_receipts_wait_for_a_receiver_of_the_same_system_id(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc()
    transmitter = await connect(port, bind="transmitter")
    other = Inbox()
    await connect(port, system_id="someone-else", bind="receiver", on_deliver=other)
    for i in range(5):
        assert (await submit(transmitter, submit_pdu(f"4{i:03d}"))).command_status == 0
    await wait_until(lambda: smsc.stats_dict()["receipts_queued"] == 5)
    first, second = Inbox(), Inbox()
    await connect(port, bind="receiver", on_deliver=first)
    await connect(port, bind="transceiver", on_deliver=second)
    await wait_until(lambda: len(first.receipts()) + len(second.receipts()) == 5)
    assert other.pdus == []
    # Round robin once both are bound.
    for i in range(4):
        await submit(transmitter, submit_pdu(f"5{i:03d}"))
    await wait_until(lambda: len(first.receipts()) + len(second.receipts()) == 9)
    assert len([r for r in first.receipts() if r.source_addr.startswith("5")]) == 2
    assert len([r for r in second.receipts() if r.source_addr.startswith("5")]) == 2
    assert smsc.stats_dict()["receipts_queued"] == 0


async def test_receipt_queue_is_bounded(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc(max_queued_receipts=2)
    sender = await connect(port, bind="transmitter")
    for i in range(3):
        assert (await submit(sender, submit_pdu(f"4{i}"))).command_status == c.ESME_ROK
    assert smsc.stats.receipts_dropped == 1
    inbox = Inbox()
    await connect(port, bind="receiver", on_deliver=inbox)
    await asyncio.wait_for(smsc.wait_for_receiver("esme"), STEP_S)
    await wait_until(lambda: len(inbox.receipts()) == 2)
    assert [r.source_addr for r in inbox.receipts()] == ["40", "41"]


async def test_data_sm_is_answered_and_receipted(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc(message_id_format="dec", message_id_start=42)
    inbox = Inbox()
    client = await connect(port, on_deliver=inbox)
    data_sm = p.DataSm(
        source_addr="33100000000",
        destination_addr="4000",
        registered_delivery=1,
        data_coding=0x08,
        tlvs={c.TAG_MESSAGE_PAYLOAD: "payload ünïcode text".encode("utf-16-be")},
    )
    await asyncio.wait_for(client.protocol.wait_for_window(), STEP_S)
    resp = await asyncio.wait_for(client.protocol.request(data_sm), STEP_S)
    assert isinstance(resp, p.DataSmResp)
    assert resp.command_status == c.ESME_ROK
    assert resp.message_id == "42"
    await wait_until(lambda: len(inbox.receipts()) == 1)
    match = RECEIPT_RE.match(inbox.receipts()[0].short_message.decode("ascii"))
    assert match is not None
    assert match["id"] == "42"
    assert match["text"] == "payload ?n?code text"
    assert smsc.stats.submits_accepted == 1


async def test_nacked_receipt_is_delivered_again(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc(receipt_retry_delay_s=0.05)
    inbox = Inbox(status=c.ESME_RX_T_APPN)
    client = await connect(port, on_deliver=inbox)
    await submit(client, submit_pdu("4000"))
    await wait_until(lambda: len(inbox.receipts()) == 1)
    inbox.status = c.ESME_ROK
    await wait_until(lambda: len(inbox.receipts()) == 2)
    assert inbox.receipts()[0].short_message == inbox.receipts()[1].short_message
    await wait_until(lambda: smsc.stats.receipts_acked == 1)
    assert smsc.stats.receipts_failed == 1


async def test_a_response_longer_than_its_command_length_loses_framing_with_a_warning(
    make_smsc: MakeSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    # What smpp34 1.5.0 sends when it NAKs a receipt: a deliver_sm_resp whose command_length
    # (16) leaves out its message_id's NUL, which it writes all the same.
    _, port = await make_smsc()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(encode(p.BindTransceiver(system_id="x", password="y", sequence_number=1)))
        assert (await _read_pdu(reader)).command_status == c.ESME_ROK
        short = HEADER.pack(16, c.DELIVER_SM_RESP, c.ESME_RMSGQFUL, 7) + b"\x00"
        with caplog.at_level(logging.WARNING, logger="connector.simulator.smsc"):
            writer.write(short + HEADER.pack(16, c.ENQUIRE_LINK, 0, 8))
            nack = await _read_pdu(reader)
            assert isinstance(nack, p.GenericNack)
            assert nack.command_status == c.ESME_RINVCMDLEN
            assert await asyncio.wait_for(reader.read(16), STEP_S) == b""  # closed
            await wait_until(lambda: "framing lost" in caplog.text)
    finally:
        writer.close()
    assert "command_length 0 outside 16..65536" in caplog.text


async def _read_pdu(reader: asyncio.StreamReader) -> p.Pdu:
    """One PDU from a raw connection to the simulator (each read bounded by STEP_S)."""
    header = await asyncio.wait_for(reader.readexactly(16), STEP_S)
    length = HEADER.unpack(header)[0]
    body = await asyncio.wait_for(reader.readexactly(length - 16), STEP_S)
    return decode(header + body)


async def test_many_pipelined_submits_get_unique_ids_and_receipts(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc(window=8)
    inbox = Inbox()
    client = await connect(port, on_deliver=inbox)
    count = 500
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.submit(submit_pdu(f"4{i:05d}")) for i in range(count))),
        30,
    )
    ids = {r.message_id for r in responses if isinstance(r, p.SubmitSmResp)}
    assert len(ids) == count
    await wait_until(lambda: len(inbox.receipts()) == count, 30)
    assert {r.tlvs[c.TAG_RECEIPTED_MESSAGE_ID] for r in inbox.receipts()} == ids
    assert smsc.stats.receipts_sent == count


# ------------------------------------------------------------------- (d) (e) throttle, reject


async def test_throttles_above_the_tps_across_sessions_of_a_system_id(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc(throttle_tps=6)
    a = await connect(port, bind="transmitter")
    b = await connect(port, bind="transmitter")
    started = time.monotonic()
    responses = await asyncio.wait_for(
        asyncio.gather(*(x.submit(submit_pdu("4000")) for x in (a, b) * 6)), STEP_S
    )
    assert time.monotonic() - started < 1.0, "too slow to test a one-second window"
    statuses = sorted(r.command_status for r in responses)
    assert statuses == [c.ESME_ROK] * 6 + [c.ESME_RTHROTTLED] * 6
    assert smsc.stats.submits_throttled == 6
    assert smsc.stats.submits_accepted == 6
    # Another system_id has its own budget; the next second refills it.
    other = await connect(port, system_id="other", bind="transmitter")
    assert (await submit(other, submit_pdu("4000"))).command_status == c.ESME_ROK
    await asyncio.sleep(1.05)
    assert (await submit(a, submit_pdu("4000"))).command_status == c.ESME_ROK


@pytest.mark.parametrize("status", [None, c.ESME_RINVSRCADR])
async def test_rejects_destinations_matching_the_pattern(
    make_smsc: MakeSmsc, connect: Connect, status: int | None
) -> None:
    options: dict[str, Any] = {"reject_pattern": r"^999"}
    if status is not None:
        options["reject_status"] = status
    smsc, port = await make_smsc(**options)
    inbox = Inbox()
    client = await connect(port, on_deliver=inbox)
    rejected = await submit(client, submit_pdu("999123"))
    accepted = await submit(client, submit_pdu("1999"))
    assert rejected.command_status == (status or c.ESME_RINVDSTADR)
    assert accepted.command_status == c.ESME_ROK
    await wait_until(lambda: len(inbox.receipts()) == 1)
    assert inbox.receipts()[0].source_addr == "1999"
    assert smsc.stats.submits_rejected == 1


async def test_response_delay_keeps_responses_pipelined(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    _, port = await make_smsc(response_delay_s=0.3)
    client = await connect(port)
    started = time.monotonic()
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.submit(submit_pdu(f"4{i}")) for i in range(8))), STEP_S
    )
    elapsed = time.monotonic() - started
    assert all(r.command_status == c.ESME_ROK for r in responses)
    assert 0.29 <= elapsed < 1.5  # 8 serialized responses would take 2.4 s


async def test_receipt_overtakes_a_delayed_response(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc(response_delay_s=0.3, receipt_delay_s=0.0, keep_records=True)
    order: list[str] = []

    def on_deliver(pdu: p.Pdu) -> int:
        order.append("receipt")
        return c.ESME_ROK

    client = await connect(port, on_deliver=on_deliver)
    response = await submit(client, submit_pdu("33612345678"))
    order.append("response")
    assert response.command_status == c.ESME_ROK
    assert order == ["receipt", "response"]
    assert len(smsc.records) == 1  # recorded once answered


# ------------------------------------------------------------------------------- (f) drops


async def test_drop_after_n_submits_closes_the_connection_per_connection(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc(drop_after_submits=3)
    client = await connect(port)
    for i in range(2):
        assert (await submit(client, submit_pdu(f"4{i}"))).command_status == c.ESME_ROK
    with pytest.raises(ConnectionClosed):
        await submit(client, submit_pdu("42"))
    await asyncio.wait_for(client.wait_closed(), STEP_S)
    assert smsc.stats.connections_dropped == 1
    assert smsc.stats.submits_received == 3
    assert smsc.stats.submits_accepted == 2
    # A new connection counts from zero again.
    again = await connect(port)
    for i in range(2):
        assert (await submit(again, submit_pdu(f"5{i}"))).command_status == c.ESME_ROK
    assert again.is_bound


async def test_drop_after_n_submits_globally(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc(drop_after_submits=3, drop_scope="global")
    a = await connect(port, bind="transmitter")
    b = await connect(port, bind="transmitter")
    assert (await submit(a, submit_pdu("40"))).command_status == c.ESME_ROK
    assert (await submit(b, submit_pdu("41"))).command_status == c.ESME_ROK
    with pytest.raises(ConnectionClosed):
        await submit(a, submit_pdu("42"))
    assert (await submit(b, submit_pdu("43"))).command_status == c.ESME_ROK
    assert smsc.stats.connections_dropped == 1


async def test_drop_connections_requeues_unacknowledged_receipts(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc()
    sender = await connect(port, bind="transmitter")
    for i in range(3):
        await submit(sender, submit_pdu(f"4{i}"))
    await wait_until(lambda: smsc.stats_dict()["receipts_queued"] == 3)
    assert smsc.drop_connections() == 1
    inbox = Inbox()
    await connect(port, bind="receiver", on_deliver=inbox)
    await wait_until(lambda: len(inbox.receipts()) == 3)


# ------------------------------------------------------------------------------------ (g) MO


def _reassemble(parts: list[p.DeliverSm]) -> tuple[str, list[Concat]]:
    infos: list[Concat] = []
    texts: dict[int, str] = {}
    for part in parts:
        info = parse_udh(part.esm_class, part.short_message) or parse_sar(part.tlvs)
        assert info is not None
        infos.append(info)
        texts[info.seq] = message_text(part)
    return "".join(texts[i] for i in sorted(texts)), infos


async def test_mo_single_part_ascii_and_unicode(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc()
    inbox = Inbox()
    await connect(port, on_deliver=inbox)
    assert await asyncio.wait_for(smsc.send_mo("33611111111", "1234", "hello"), STEP_S) == [0]
    assert await asyncio.wait_for(smsc.send_mo("33611111111", "1234", "héllo ☃"), STEP_S) == [0]
    ascii_mo, unicode_mo = inbox.pdus
    assert ascii_mo.esm_class == 0
    assert ascii_mo.data_coding == 0x01
    assert ascii_mo.short_message == b"hello"
    assert ascii_mo.source_addr == "33611111111"
    assert ascii_mo.destination_addr == "1234"
    assert unicode_mo.data_coding == 0x08
    assert unicode_mo.short_message == "héllo ☃".encode("utf-16-be")
    assert smsc.stats.mo_sent == 2


@pytest.mark.parametrize(
    ("udh16", "sar", "bits"),
    [(False, False, 8), (True, False, 16), (False, True, 16)],
    ids=["udh8", "udh16", "sar"],
)
async def test_mo_concatenated(
    make_smsc: MakeSmsc, connect: Connect, udh16: bool, sar: bool, bits: int
) -> None:
    smsc, port = await make_smsc()
    inbox = Inbox()
    await connect(port, on_deliver=inbox)
    text = "Ceci est un long message, en trois morceaux — avec un accent: é. " * 3
    statuses = await asyncio.wait_for(
        smsc.send_mo("33611111111", "1234", text, parts=3, udh16=udh16, sar=sar), STEP_S
    )
    assert statuses == [0, 0, 0]
    assert len(inbox.pdus) == 3
    assert all(x.data_coding == 0x08 for x in inbox.pdus)
    whole, infos = _reassemble(inbox.pdus)
    assert whole == text
    assert [i.seq for i in infos] == [1, 2, 3]
    assert {i.total for i in infos} == {3}
    assert len({i.ref for i in infos}) == 1
    assert {i.bits for i in infos} == {bits}
    if sar:
        assert all(x.esm_class == 0 for x in inbox.pdus)
        assert all(c.TAG_SAR_MSG_REF_NUM in x.tlvs for x in inbox.pdus)
    else:
        assert all(x.esm_class == c.ESM_CLASS_UDHI for x in inbox.pdus)
        header = inbox.pdus[0].short_message[:3]
        assert header == (b"\x06\x08\x04" if udh16 else b"\x05\x00\x03")


async def test_mo_returns_the_handler_statuses_and_needs_a_receiver(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc()
    with pytest.raises(NoReceiverError):
        await asyncio.wait_for(smsc.send_mo("1", "2", "nobody there"), STEP_S)
    await connect(port, bind="transmitter")
    with pytest.raises(NoReceiverError):
        await asyncio.wait_for(smsc.send_mo("1", "2", "transmitters get no MO"), STEP_S)
    await connect(port, bind="receiver", on_deliver=Inbox(status=c.ESME_RX_T_APPN))
    statuses = await asyncio.wait_for(smsc.send_mo("1", "2", "abcdef", parts=2), STEP_S)
    assert statuses == [c.ESME_RX_T_APPN, c.ESME_RX_T_APPN]


async def test_send_deliver_sends_hand_made_pdus_as_they_are(
    make_smsc: MakeSmsc, connect: Connect
) -> None:
    smsc, port = await make_smsc()
    inbox = Inbox()
    await connect(port, on_deliver=inbox)
    receipt = p.DeliverSm(
        source_addr="1",
        destination_addr="2",
        esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
        short_message=b"this is no receipt text",
    )
    assert await asyncio.wait_for(smsc.send_deliver([receipt]), STEP_S) == [c.ESME_ROK]
    assert inbox.pdus == [receipt]
    assert smsc.stats.receipts_sent == smsc.stats.receipts_acked == 1
    assert smsc.stats.mo_sent == 0


def test_build_mo_cuts_evenly_and_checks_its_arguments() -> None:
    parts = build_mo("1", "2", "abcdefg", parts=3, ref=300)
    assert [x.short_message[6:] for x in parts] == [b"abc", b"de", b"fg"]
    assert parts[0].short_message[:6] == bytes((5, 0, 3, 300 & 0xFF, 3, 1))
    long_single = build_mo("1", "2", "x" * 300)
    assert long_single[0].tlvs[c.TAG_MESSAGE_PAYLOAD] == b"x" * 300
    assert build_mo("1", "2", "abc", data_coding=0x00)[0].data_coding == 0x00
    with pytest.raises(ValueError, match="parts"):
        build_mo("1", "2", "ab", parts=3)
    with pytest.raises(ValueError, match="parts"):
        build_mo("1", "2", "ab" * 200, parts=256)


def test_option_parsers() -> None:
    assert parse_outcome("^33=UNDELIV") == OutcomeRule("^33", "UNDELIV")
    assert parse_outcome("a=b=expired:7") == OutcomeRule("a=b", "EXPIRED", "007")
    with pytest.raises(ValueError, match="stat"):
        parse_outcome("^1=LOST")
    with pytest.raises(ValueError, match="PATTERN"):
        parse_outcome("UNDELIV")
    assert parse_status("ESME_RINVDSTADR") == c.ESME_RINVDSTADR
    assert parse_status("rthrottled") == c.ESME_RTHROTTLED
    assert parse_status("0x0B") == 0x0B
    assert parse_status("88") == 88
    with pytest.raises(ValueError, match="unknown"):
        parse_status("ESME_NOPE")
    with pytest.raises(ValueError, match="format"):
        Smsc(SimulatorConfig(message_id_format="oct"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- (h) control port


async def test_control_port_mo_and_stats(make_smsc: MakeSmsc, connect: Connect) -> None:
    smsc, port = await make_smsc()
    _, control_port = await asyncio.wait_for(smsc.start_control(HOST, 0), STEP_S)
    inbox = Inbox()
    await connect(port, on_deliver=inbox)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, control_port), STEP_S)

    async def ask(command: dict[str, Any] | bytes) -> dict[str, Any]:
        line = command if isinstance(command, bytes) else json.dumps(command).encode()
        writer.write(line + b"\n")
        reply = json.loads(await asyncio.wait_for(reader.readline(), STEP_S))
        assert isinstance(reply, dict)
        return reply

    try:
        reply = await ask({"cmd": "mo", "from": "33622222222", "to": "5555", "text": "hi there"})
        assert reply == {"ok": True, "statuses": [0]}
        reply = await ask(
            {"cmd": "mo", "from": "33622222222", "to": "5555", "text": "two parts", "parts": 2}
        )
        assert reply == {"ok": True, "statuses": [0, 0]}
        assert len(inbox.pdus) == 3
        assert inbox.pdus[0].short_message == b"hi there"
        assert _reassemble(inbox.pdus[1:])[0] == "two parts"
        stats = await ask({"cmd": "stats"})
        assert stats["ok"] is True
        assert stats["stats"]["mo_sent"] == 3
        assert stats["stats"]["binds"] == 1
        assert stats["stats"]["sessions_bound"] == 1
        assert (await ask({"cmd": "what"}))["ok"] is False
        assert (await ask(b"not json"))["ok"] is False
        assert (await ask({"cmd": "mo", "from": "1"}))["ok"] is False
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), STEP_S)


# --------------------------------------------------------------------------------- (i) record


async def test_record_file_lists_accepted_submits(
    make_smsc: MakeSmsc, connect: Connect, tmp_path: Path
) -> None:
    record = tmp_path / "submits.jsonl"
    smsc, port = await make_smsc(
        record_path=str(record),
        record_flush_interval_s=0.05,
        reject_pattern="^999",
        message_id_format="dec",
    )
    client = await connect(port, system_id="recorder")
    plain = await submit(client, submit_pdu("4000", b"plain"))
    udh = submit_pdu("4001", bytes((5, 0, 3, 0x2A, 2, 1)) + b"part one")
    udh.esm_class = c.ESM_CLASS_UDHI
    with_udh = await submit(client, udh)
    sar = submit_pdu("4002", b"sar part")
    sar.tlvs = {
        c.TAG_SAR_MSG_REF_NUM: 0x1234,
        c.TAG_SAR_TOTAL_SEGMENTS: 2,
        c.TAG_SAR_SEGMENT_SEQNUM: 2,
    }
    with_sar = await submit(client, sar)
    rejected = await submit(client, submit_pdu("999", b"nope"))
    assert rejected.command_status == c.ESME_RINVDSTADR
    # Flushed periodically while running, not only on stop.
    await wait_until(lambda: record.exists() and record.read_text().count("\n") == 3)
    await submit(client, submit_pdu("4003", b"last one"))
    await asyncio.wait_for(smsc.stop(), STEP_S)  # flushes and closes the record

    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 4
    by_id = {line["message_id"]: line for line in lines}
    assert isinstance(plain, p.SubmitSmResp)
    assert isinstance(with_udh, p.SubmitSmResp)
    assert isinstance(with_sar, p.SubmitSmResp)
    first = by_id[plain.message_id]
    assert first["system_id"] == "recorder"
    assert first["command"] == "submit_sm"
    assert first["source"] == "33100000000"
    assert first["destination"] == "4000"
    assert first["esm_class"] == 0
    assert first["data_coding"] == 1
    assert bytes.fromhex(first["short_message"]) == b"plain"
    assert first["udh"] is None
    assert first["sar"] is None
    assert abs(first["ts"] - time.time()) < 60
    second = by_id[with_udh.message_id]
    assert second["esm_class"] == c.ESM_CLASS_UDHI
    assert second["udh"] == {"ref": 0x2A, "total": 2, "seq": 1, "bits": 8}
    third = by_id[with_sar.message_id]
    assert third["sar"] == {"ref": 0x1234, "total": 2, "seq": 2, "bits": 16}
    assert all(line["message_id"].isdigit() for line in lines)


# ------------------------------------------------------------------------------------ (j) CLI


def _cli_command() -> list[str]:
    # The main CLI imports every subcommand; fall back to this one alone while a sibling
    # subcommand module is still missing from the tree.
    if importlib.util.find_spec("connector.carrier.submit_command") is not None:
        return [sys.executable, "-m", "connector.cli", "simulate"]
    return [sys.executable, "-m", "connector.simulator.command"]


async def test_cli_simulate_serves_until_sigterm(connect: Connect, tmp_path: Path) -> None:
    record = tmp_path / "cli.jsonl"
    proc = await asyncio.create_subprocess_exec(
        *_cli_command(),
        "--port",
        "0",
        "--control-port",
        "0",
        "--system-id",
        "cli",
        "--password",
        "pw",
        "--outcome",
        "^1=UNDELIV",
        "--reject-status",
        "RINVDSTADR",
        "--record",
        str(record),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        match = re.fullmatch(r"simulator listening on 127\.0\.0\.1:(\d+)\n", line)
        assert match is not None, line
        control = (await asyncio.wait_for(proc.stdout.readline(), STEP_S)).decode()
        assert re.fullmatch(r"simulator control on 127\.0\.0\.1:\d+\n", control), control
        inbox = Inbox()
        client = await connect(int(match[1]), system_id="cli", password="pw", on_deliver=inbox)
        assert (await submit(client, submit_pdu("1000"))).command_status == c.ESME_ROK
        await wait_until(lambda: len(inbox.receipts()) == 1)
        assert b"stat:UNDELIV" in inbox.receipts()[0].short_message
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        await asyncio.wait_for(client.wait_closed(), STEP_S)  # unbound by the simulator
        assert proc.stderr is not None
        stats = json.loads((await asyncio.wait_for(proc.stderr.read(), STEP_S)).splitlines()[-1])
        assert stats["submits_accepted"] == 1
        assert len(record.read_text().splitlines()) == 1
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.wait(), STEP_S)


async def test_cli_rejects_a_bad_configuration() -> None:
    proc = await asyncio.create_subprocess_exec(
        *_cli_command(),
        "--port",
        "0",
        "--reject-pattern",
        "(",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.wait(), STEP_S)
    assert proc.returncode == 2
    assert out == b""
    assert b"simulate:" in err
