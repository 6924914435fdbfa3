"""Our ESME client against misbehaving peers over real loopback TCP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from connector.carrier.client import BindRefused, SmppClient
from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.framing import Framer
from connector.transport import protocol as protocol_module
from connector.transport.protocol import ConnectionClosed, ResponseTimeout

Behaviour = Callable[[p.Pdu, asyncio.StreamWriter], bool]


async def _serve(behaviour: Behaviour) -> AsyncIterator[int]:
    """A raw SMSC whose answers come from `behaviour` (returns False to stop reading)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        try:
            for _ in range(10_000):
                data = await reader.read(65536)
                if not data:
                    break
                for frame in framer.feed(data):
                    if not behaviour(codec.decode(frame), writer):
                        writer.transport.abort()
                        return
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def _answer_bind_then(after_bind: Behaviour) -> Behaviour:
    def behaviour(pdu: p.Pdu, writer: asyncio.StreamWriter) -> bool:
        if isinstance(pdu, p.BindTransceiver):
            writer.write(codec.encode(p.BindTransceiverResp(0, pdu.sequence_number, "sim")))
            return True
        if isinstance(pdu, p.Unbind):
            writer.write(codec.encode(p.UnbindResp(0, pdu.sequence_number)))
            return True
        return after_bind(pdu, writer)

    return behaviour


def _submit() -> p.SubmitSm:
    return p.SubmitSm(destination_addr="243998857000", short_message=b"hi")


async def test_dead_peer_detected_by_enquire_link_timeout() -> None:
    silent = _answer_bind_then(lambda pdu, writer: True)  # never answers anything after bind
    async for port in _serve(silent):
        client = SmppClient(
            system_id="x", password="y", enquire_link_interval_s=0.2, response_timeout_s=0.3
        )
        await client.connect("127.0.0.1", port)
        await client.bind()
        reason = await asyncio.wait_for(client.wait_closed(), 5)
        assert "enquire_link timed out" in reason
        assert not client.is_bound


async def test_submit_without_response_times_out_and_frees_the_window() -> None:
    silent = _answer_bind_then(lambda pdu, writer: True)
    async for port in _serve(silent):
        client = SmppClient(
            system_id="x",
            password="y",
            window=1,
            response_timeout_s=0.2,
            enquire_link_interval_s=60,
        )
        await client.connect("127.0.0.1", port)
        await client.bind()
        with pytest.raises(ResponseTimeout):
            await asyncio.wait_for(client.submit(_submit()), 5)
        assert client.session.window_in_use == 0
        await client.close()


async def test_dropped_connection_fails_every_submit_in_flight_with_a_clear_error() -> None:
    seen: list[int] = []

    def drop_on_third(pdu: p.Pdu, writer: asyncio.StreamWriter) -> bool:
        if isinstance(pdu, p.SubmitSm):
            seen.append(pdu.sequence_number)
            return len(seen) < 3
        return True

    async for port in _serve(_answer_bind_then(drop_on_third)):
        client = SmppClient(system_id="x", password="y", window=10)
        await client.connect("127.0.0.1", port)
        await client.bind()
        results = await asyncio.wait_for(
            asyncio.gather(*(client.submit(_submit()) for _ in range(5)), return_exceptions=True),
            5,
        )
        assert all(isinstance(r, ConnectionClosed) for r in results)
        assert "closed" in str(results[0]) or "lost" in str(results[0])
        reason = await asyncio.wait_for(client.wait_closed(), 5)
        assert reason
        with pytest.raises(ConnectionClosed):
            await client.submit(_submit())


async def test_bind_refused_raises_with_the_status_name() -> None:
    def refuse(pdu: p.Pdu, writer: asyncio.StreamWriter) -> bool:
        writer.write(codec.encode(p.BindTransceiverResp(c.ESME_RINVPASWD, pdu.sequence_number)))
        return True

    async for port in _serve(refuse):
        client = SmppClient(system_id="x", password="wrong")
        await client.connect("127.0.0.1", port)
        with pytest.raises(BindRefused, match="ESME_RINVPASWD") as info:
            await client.bind()
        assert info.value.command_status == c.ESME_RINVPASWD
        await client.close()


async def test_corrupt_pdu_from_peer_is_nacked_and_the_link_stays_up() -> None:
    def corrupt_then_answer(pdu: p.Pdu, writer: asyncio.StreamWriter) -> bool:
        if isinstance(pdu, p.SubmitSm):
            # An unknown command id first, then the real answer.
            writer.write(codec.HEADER.pack(16, 0x00000077, 0, 99))
            writer.write(codec.encode(p.SubmitSmResp(0, pdu.sequence_number, "abc")))
        elif isinstance(pdu, p.GenericNack):
            nacks.append(pdu)
        return True

    nacks: list[p.Pdu] = []
    async for port in _serve(_answer_bind_then(corrupt_then_answer)):
        client = SmppClient(system_id="x", password="y")
        await client.connect("127.0.0.1", port)
        await client.bind()
        response = await asyncio.wait_for(client.submit(_submit()), 5)
        assert isinstance(response, p.SubmitSmResp)
        assert response.message_id == "abc"
        for _ in range(50):
            if nacks:
                break
            await asyncio.sleep(0.02)
        assert nacks
        assert nacks[0].command_status == c.ESME_RINVCMDID
        assert nacks[0].sequence_number == 99
        assert client.is_bound
        await client.unbind()


async def test_huge_command_length_from_peer_closes_the_link() -> None:
    def huge(pdu: p.Pdu, writer: asyncio.StreamWriter) -> bool:
        if isinstance(pdu, p.SubmitSm):
            writer.write(codec.HEADER.pack(0xFFFFFFFF, c.SUBMIT_SM_RESP, 0, pdu.sequence_number))
        return True

    async for port in _serve(_answer_bind_then(huge)):
        client = SmppClient(system_id="x", password="y")
        await client.connect("127.0.0.1", port)
        await client.bind()
        with pytest.raises(ConnectionClosed, match="framing lost"):
            await asyncio.wait_for(client.submit(_submit()), 5)


async def test_flush_writes_queued_submits_before_the_loop_turns_again() -> None:
    """A submit is queued for the loop's next turn; `flush()` writes it at once. The SMSC here
    is a blocking socket read while the event loop is held, so only bytes already written
    can arrive."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def answer_bind() -> None:
        conn, _ = listener.accept()
        framer = Framer()
        for _ in range(100):
            frames = framer.feed(conn.recv(65536))
            if frames:
                bind = codec.decode(frames[0])
                conn.sendall(codec.encode(p.BindTransceiverResp(0, bind.sequence_number, "s")))
                break
        accepted.append(conn)

    thread = threading.Thread(target=answer_bind, daemon=True)
    thread.start()
    client = SmppClient(system_id="x", password="y")
    try:
        await client.connect("127.0.0.1", port)
        await client.bind()
        thread.join(5)
        conn = accepted[0]
        conn.settimeout(0.3)
        client.submit_with(_submit(), lambda response, error: None)
        # No await since the submit: without a flush nothing has left yet.
        with pytest.raises(TimeoutError):
            conn.recv(65536)
        client.flush()
        frames = Framer().feed(conn.recv(65536))
        assert [type(codec.decode(frame)) for frame in frames] == [p.SubmitSm]
    finally:
        await client.close()
        for conn in accepted:
            conn.close()
        listener.close()


def _peer_sending_a_4gib_header(
    listener: socket.socket, outcome: dict[str, object], *, close_after_eof: bool
) -> None:
    """A raw SMSC (blocking socket, in a thread): answers the bind, sends a header announcing
    4 GiB, and meanwhile keeps writing (as a carrier sending receipts would) before it reads
    what came back. Records the bytes read and how the stream ended: "eof" or "reset"."""
    conn, _ = listener.accept()
    conn.settimeout(5)
    try:
        framer = Framer()
        frames: list[bytes] = []
        for _ in range(100):
            frames += framer.feed(conn.recv(65536))
            if frames:
                break
        bind = codec.decode(frames[0])
        conn.sendall(codec.encode(p.BindTransceiverResp(0, bind.sequence_number, "sim")))
        conn.sendall(codec.HEADER.pack(0xFFFFFFFF, c.DELIVER_SM, 0, 7))
        time.sleep(0.3)  # the client answers generic_nack and ends the session meanwhile
        received = b""
        try:
            for chunk in (b"x" * 64, b"y" * 64):
                conn.sendall(chunk)  # after a plain close these get a reset back
                time.sleep(0.1)
            for _ in range(1000):
                data = conn.recv(65536)
                if not data:
                    outcome["end"] = "eof"
                    break
                received += data
        except (ConnectionResetError, BrokenPipeError):
            outcome["end"] = "reset"
        outcome["received"] = received
        if not close_after_eof:
            time.sleep(1.0)  # a peer that does not close: the client must close on its own
            try:
                conn.sendall(b"z" * 64)
                time.sleep(0.1)
                conn.sendall(b"z" * 64)
                outcome["after_linger"] = "open"
            except (ConnectionResetError, BrokenPipeError):
                outcome["after_linger"] = "closed"
    finally:
        conn.close()


async def _drop_for_a_framing_error(
    close_after_eof: bool,
) -> tuple[dict[str, object], str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    outcome: dict[str, object] = {}
    peer = threading.Thread(
        target=_peer_sending_a_4gib_header,
        args=(listener, outcome),
        kwargs={"close_after_eof": close_after_eof},
    )
    peer.start()
    try:
        client = SmppClient(system_id="x", password="y")
        await client.connect("127.0.0.1", listener.getsockname()[1])
        await client.bind()
        reason = await asyncio.wait_for(client.wait_closed(), 5)
        await asyncio.get_running_loop().run_in_executor(None, peer.join, 10)
    finally:
        listener.close()
    assert not peer.is_alive()
    return outcome, reason


async def test_a_link_dropped_for_a_framing_error_ends_with_the_nack_and_a_fin() -> None:
    """The generic_nack for a 4 GiB command_length reaches a peer that keeps writing before it
    reads. A plain close with the peer's bytes unread answers them with a reset, and a peer
    that then writes first loses the nack unread; a half-close keeps reading until the peer
    closes, so the peer reads the nack and a clean end of stream."""
    outcome, reason = await _drop_for_a_framing_error(close_after_eof=True)
    assert "framing lost" in reason
    nack = codec.decode(outcome["received"][:16])  # type: ignore[index]
    assert isinstance(nack, p.GenericNack)
    assert nack.command_status == c.ESME_RINVCMDLEN
    assert outcome["end"] == "eof"


async def test_a_half_closed_link_is_closed_after_lingering_if_the_peer_never_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(protocol_module, "LINGER_S", 0.3)
    outcome, _ = await _drop_for_a_framing_error(close_after_eof=False)
    assert outcome["end"] == "eof"  # the half-close
    assert outcome["after_linger"] == "closed"  # then the close, 0.3 s later
