"""A hostile SMSC for the fault suite: binds like a carrier, then misbehaves on command.

Built on connector.smpp's framer and codec (what it sends on purpose is hand-made bytes). In
`normal` mode it is a small, correct SMSC: it answers binds, enquire_link and submit_sm
(`ESME_ROK`, hex message ids), keeps a record of every submit it answered `ESME_ROK` in the
simulator's JSON-lines format (written once the response's last byte is handed to the
transport: a `cut` or `refuse_binds` abort right after can still lose that response), and
sends a DELIVRD receipt for each after `--receipt-delay` seconds on any bound session, again
after a refusal or a lost connection.

Misbehaviour comes through the control port, one JSON object per line,
`{"cmd": "mode", "mode": NAME, ...}`, answered by one JSON line (`{"cmd": "stats"}` gives the
counters). Modes apply to the sessions bound at that moment; new sessions behave, so the ESME
can always recover by rebinding:

- `silent`: the bound sessions go mute (no enquire_link_resp, no submit_sm_resp, nothing);
- `cut`: every TCP connection is aborted (in the middle of whatever window is in flight);
- `refuse_binds` (`seconds`): connections aborted, binds answered ESME_RBINDFAIL for a while;
- `corrupt` (`count`, `interval_s`): undecodable PDUs with a correct command_length: unknown
  command_id, deliver_sm with a truncated body, a bad TLV, enquire_link with a body, and a
  submit_sm_resp with an unterminated message_id; what an ESME must answer (SMPP 3.4 §4.3:
  generic_nack for an unknown command, the command's own response with an error status for a
  bad body) is counted in `corrupt_answered_ok`;
- `stray` (`count`): responses to requests never made (submit_sm_resp, deliver_sm_resp,
  enquire_link_resp, bind_transceiver_resp, unbind_resp, generic_nack);
- `wrong_seq` (`count`): the next submits are answered with a wrong sequence number (never
  recorded as accepted: the ESME cannot know they were);
- `huge_length`: a header announcing a 4 GiB PDU (command_length 0xFFFFFFFF);
- `slow_loris` (`interval_s`): everything the session sends from now on leaves one byte at a
  time, `interval_s` apart, starting with a whole enquire_link;
- `receipt_flood` (`count`, `window`): that many receipts for message ids nobody submitted,
  pipelined on one session;
- `normal`: forget pending misbehaviour (wrong_seq left, refusing binds).

Run: `python tests/faults/hostile_smsc.py --port 0 --control-port 0 --record FILE`; it prints
`hostile smsc listening on HOST:PORT` and `hostile control on HOST:PORT`, serves until SIGTERM,
then prints its counters as one JSON line on stderr. Every loop is bounded in count, every wait
in time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import IO, Any, Final

import msgspec

from connector.simulator.smsc import SubmitRecord, parse_sar, parse_udh
from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import PduError
from connector.smpp.framing import Framer

WINDOW: Final = 64
STRAY_SEQ_BASE: Final = 0x20000000  # far above what an ESME allocates in a test run
CORRUPT_SEQ_BASE: Final = 0x30000000
WRONG_SEQ_OFFSET: Final = 0x40000000
FLOOD_SEQ_BASE: Final = 0x50000000
_BIND_RESPONSES: Final[dict[int, type[p._BindResp]]] = {
    c.BIND_TRANSMITTER: p.BindTransmitterResp,
    c.BIND_RECEIVER: p.BindReceiverResp,
    c.BIND_TRANSCEIVER: p.BindTransceiverResp,
}
_record_encode = msgspec.json.Encoder().encode


def header(length: int, command_id: int, status: int, seq: int) -> bytes:
    return (
        length.to_bytes(4, "big")
        + command_id.to_bytes(4, "big")
        + status.to_bytes(4, "big")
        + seq.to_bytes(4, "big")
    )


def frame(command_id: int, seq: int, body: bytes, status: int = 0) -> bytes:
    """A PDU with a correct command_length around whatever body."""
    return header(16 + len(body), command_id, status, seq) + body


# Undecodable requests and what a correct ESME answers them with (response command_id).
def corrupt_frames(seq: int) -> list[tuple[bytes, int | None]]:
    """One of each kind of corrupt PDU, sequence numbers from `seq`; None: no answer due."""
    deliver_head = b"\x00" + b"\x01\x01" + b"243998857000\x00" + b"\x05\x00" + b"MYAPP\x00"
    deliver_fixed = deliver_head + b"\x04\x00\x00" + b"\x00" + b"\x00" + b"\x00\x00\x00\x00"
    return [
        # Unknown command_id: generic_nack ESME_RINVCMDID.
        (frame(0x00000999, seq, b""), c.GENERIC_NACK),
        # deliver_sm whose source_addr never ends: deliver_sm_resp with an error.
        (
            frame(c.DELIVER_SM, seq + 1, b"\x00\x01\x01" + b"2439988570001234567890123"),
            c.DELIVER_SM_RESP,
        ),
        # deliver_sm whose sm_length runs past the end.
        (frame(c.DELIVER_SM, seq + 2, deliver_fixed + b"\xf0" + b"id:1"), c.DELIVER_SM_RESP),
        # deliver_sm with a TLV longer than what is left.
        (
            frame(c.DELIVER_SM, seq + 3, deliver_fixed + b"\x00" + b"\x00\x1e\x00\x40ab"),
            c.DELIVER_SM_RESP,
        ),
        # enquire_link with a body it must not have.
        (frame(c.ENQUIRE_LINK, seq + 4, b"junk"), c.ENQUIRE_LINK_RESP),
        # A submit_sm_resp (to nothing) whose message_id has no terminator: nothing to answer.
        (frame(c.SUBMIT_SM_RESP, seq + 5, b"A" * 80), None),
    ]


def receipt_pdu(message_id: str, stat: str = "DELIVRD") -> p.DeliverSm:
    stamp = time.strftime("%y%m%d%H%M", time.gmtime())
    text = (
        f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
        f"submit date:{stamp} done date:{stamp} stat:{stat} err:000 text:"
    )
    return p.DeliverSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="243990000000",
        esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
        short_message=text.encode("latin-1"),
        tlvs={
            c.TAG_RECEIPTED_MESSAGE_ID: message_id,
            c.TAG_MESSAGE_STATE: c.MESSAGE_STATE_DELIVERED,
        },
    )


class _Conn(asyncio.Protocol):
    """One connection from the ESME."""

    def __init__(self, smsc: HostileSmsc) -> None:
        self.smsc = smsc
        self.framer = Framer()
        self.transport: asyncio.Transport | None = None
        self.bound = False
        self.silent = False
        self.slow_interval: float | None = None
        self._dribble: collections.deque[tuple[bytes, Callable[[], None] | None]] = (
            collections.deque()
        )
        self._dribble_task: asyncio.Task[None] | None = None
        self.next_seq = 1
        self.outstanding: dict[int, tuple[str, p.DeliverSm | None]] = {}
        self.closed = False
        self.got_nack_after_huge = False
        self.sent_huge = False

    # ------------------------------------------------------------------ asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.smsc.conns.add(self)
        self.smsc.stats["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.smsc.conns.discard(self)
        self.smsc.stats["connections_closed"] += 1
        if self.sent_huge:
            self.smsc.stats["huge_closed_by_peer"] += 1
            if self.got_nack_after_huge:
                self.smsc.stats["huge_nacked_then_closed"] += 1
        for kind, receipt in self.outstanding.values():
            if kind == "receipt" and receipt is not None:
                self.smsc.queue_receipt(receipt)
        self.outstanding.clear()
        if self._dribble_task is not None:
            self._dribble_task.cancel()

    def data_received(self, data: bytes) -> None:
        stats = self.smsc.stats
        stats["bytes_in"] += len(data)
        if self.silent:
            stats["bytes_ignored_silent"] += len(data)
            return
        try:
            frames = self.framer.feed(data)
        except PduError as error:
            stats["framing_errors"] += 1
            self.write(codec.encode(p.GenericNack(error.command_status, error.sequence_number)))
            self.abort()
            return
        for raw in frames:
            if self.closed:
                return
            try:
                pdu = codec.decode(raw)
            except PduError as error:
                stats["decode_errors"] += 1
                if error.command_id is not None and not error.command_id & c.RESPONSE_BIT:
                    self.write(
                        codec.encode(p.GenericNack(error.command_status, error.sequence_number))
                    )
                continue
            self.smsc.on_pdu(self, pdu)

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes, on_written: Callable[[], None] | None = None) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            return
        if self.slow_interval is None:
            self.transport.write(data)
            if on_written is not None:
                on_written()
            return
        self._dribble.append((data, on_written))
        if self._dribble_task is None:
            self._dribble_task = asyncio.ensure_future(self._dribble_out())

    async def _dribble_out(self) -> None:
        interval = self.slow_interval or 0.05
        for _ in range(10_000_000):
            if self.closed or not self._dribble:
                break
            data, on_written = self._dribble.popleft()
            for i in range(len(data)):
                if self.closed or self.transport is None or self.transport.is_closing():
                    return
                self.transport.write(data[i : i + 1])
                self.smsc.stats["slow_bytes_out"] += 1
                await asyncio.sleep(interval)
            if on_written is not None:
                on_written()
        self._dribble_task = None

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def request(self, pdu: p.Pdu, kind: str, keep: p.DeliverSm | None = None) -> int:
        seq = self.next_seq
        self.next_seq += 1
        pdu.sequence_number = seq
        self.outstanding[seq] = (kind, keep)
        self.write(codec.encode(pdu))
        return seq


class HostileSmsc:
    def __init__(
        self,
        *,
        system_id: str | None = None,
        password: str | None = None,
        record_path: str | None = None,
        receipt_delay_s: float = 0.0,
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.receipt_delay_s = receipt_delay_s
        self.conns: set[_Conn] = set()
        self.stats: collections.Counter[str] = collections.Counter()
        self.receipts: collections.deque[p.DeliverSm] = collections.deque()
        self.refuse_until = 0.0
        self.wrong_seq_left = 0
        self._next_id = int(time.time() * 1000)
        self._record: IO[bytes] | None = open(record_path, "ab") if record_path else None  # noqa: SIM115
        self._server: asyncio.Server | None = None
        self._control: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._corrupt_expect: dict[int, int | None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _Conn(self), host, port)
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def start_control(self, host: str, port: int) -> tuple[str, int]:
        self._control = await asyncio.start_server(self._control_client, host, port)
        name = self._control.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def stop(self) -> None:
        for server in (self._server, self._control):
            if server is not None:
                server.close()
        for conn in list(self.conns):
            conn.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        if self._record is not None:
            self._record.close()
            self._record = None

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # ------------------------------------------------------------------ protocol
    def on_pdu(self, conn: _Conn, pdu: p.Pdu) -> None:
        stats = self.stats
        cid = pdu.command_id
        if pdu.is_response:
            self._on_response(conn, pdu)
        elif isinstance(pdu, p._Bind):
            self._on_bind(conn, pdu)
        elif cid == c.ENQUIRE_LINK:
            stats["enquire_links"] += 1
            conn.write(codec.encode(p.EnquireLinkResp(0, pdu.sequence_number)))
        elif cid == c.UNBIND:
            stats["unbinds"] += 1
            conn.write(codec.encode(p.UnbindResp(0, pdu.sequence_number)))
            if conn.transport is not None:
                conn.transport.close()
        elif isinstance(pdu, p.SubmitSm):
            self._on_submit(conn, pdu)
        else:
            stats["other_requests"] += 1
            conn.write(codec.encode(p.GenericNack(c.ESME_RINVCMDID, pdu.sequence_number)))

    def _on_bind(self, conn: _Conn, pdu: p._Bind) -> None:
        resp_cls = _BIND_RESPONSES[pdu.command_id]
        status = c.ESME_ROK
        if self._now() < self.refuse_until:
            status = c.ESME_RBINDFAIL
            self.stats["binds_refused"] += 1
        elif self.system_id is not None and pdu.system_id != self.system_id:
            status = c.ESME_RINVSYSID
        elif self.password is not None and pdu.password != self.password:
            status = c.ESME_RINVPASWD
        if status != c.ESME_ROK:
            conn.write(codec.encode(resp_cls(status, pdu.sequence_number)))
            return
        conn.write(codec.encode(resp_cls(0, pdu.sequence_number, system_id="HOSTILE")))
        conn.bound = True
        self.stats["binds"] += 1
        self._drain_receipts()

    def _on_submit(self, conn: _Conn, pdu: p.SubmitSm) -> None:
        stats = self.stats
        stats["submits"] += 1
        if not conn.bound:
            conn.write(codec.encode(p.SubmitSmResp(c.ESME_RINVBNDSTS, pdu.sequence_number)))
            return
        if self.wrong_seq_left > 0:
            self.wrong_seq_left -= 1
            stats["wrong_seq_sent"] += 1
            wrong = (pdu.sequence_number + WRONG_SEQ_OFFSET) & 0x7FFFFFFF
            conn.write(codec.encode(p.SubmitSmResp(0, wrong, message_id="ffffffff")))
            return
        number = self._next_id
        self._next_id += 1
        message_id = f"{number:x}"
        response = codec.encode(p.SubmitSmResp(0, pdu.sequence_number, message_id=message_id))

        def accepted() -> None:
            stats["submits_accepted"] += 1
            self._keep_record(pdu, message_id)
            if pdu.registered_delivery & 0x03 in (1, 2):
                receipt = receipt_pdu(message_id)
                if self.receipt_delay_s > 0:
                    assert self._loop is not None
                    self._loop.call_later(self.receipt_delay_s, self.queue_receipt, receipt)
                else:
                    self.queue_receipt(receipt)

        conn.write(response, accepted)

    def _keep_record(self, pdu: p.SubmitSm, message_id: str) -> None:
        if self._record is None:
            return
        record = SubmitRecord(
            ts=time.time(),
            system_id=self.system_id or "",
            command="submit_sm",
            message_id=message_id,
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            esm_class=pdu.esm_class,
            data_coding=pdu.data_coding,
            registered_delivery=pdu.registered_delivery,
            short_message=pdu.short_message.hex(),
            udh=parse_udh(pdu.esm_class, pdu.short_message),
            sar=parse_sar(pdu.tlvs),
        )
        self._record.write(_record_encode(record) + b"\n")
        self._record.flush()

    def _on_response(self, conn: _Conn, pdu: p.Pdu) -> None:
        stats = self.stats
        seq = pdu.sequence_number
        if seq in self._corrupt_expect:
            expected = self._corrupt_expect.pop(seq)
            stats["corrupt_answered"] += 1
            if pdu.command_id == expected and pdu.command_status != c.ESME_ROK:
                stats["corrupt_answered_ok"] += 1
            else:
                stats["corrupt_answered_wrongly"] += 1
            return
        if conn.sent_huge and pdu.command_id == c.GENERIC_NACK:
            conn.got_nack_after_huge = True
            stats["huge_nacked"] += 1
            return
        entry = conn.outstanding.pop(seq, None)
        if entry is None:
            stats["unexpected_responses"] += 1
            return
        kind, receipt = entry
        ok = pdu.command_status == c.ESME_ROK
        stats[f"{kind}_{'ok' if ok else 'refused'}"] += 1
        if kind == "receipt" and not ok and receipt is not None:
            assert self._loop is not None
            self._loop.call_later(0.3, self.queue_receipt, receipt)
        self._drain_receipts()

    # ------------------------------------------------------------------ receipts
    def queue_receipt(self, receipt: p.DeliverSm) -> None:
        self.receipts.append(receipt)
        self._drain_receipts()

    def _drain_receipts(self) -> None:
        for conn in list(self.conns):
            if not self.receipts:
                return
            if not conn.bound or conn.silent or conn.slow_interval is not None or conn.closed:
                continue
            for _ in range(WINDOW - len(conn.outstanding)):
                if not self.receipts:
                    return
                receipt = self.receipts.popleft()
                conn.request(receipt, "receipt", receipt)
                self.stats["receipts_sent"] += 1

    # ------------------------------------------------------------------ misbehaviour
    def bound(self) -> list[_Conn]:
        return [conn for conn in self.conns if conn.bound and not conn.closed and not conn.silent]

    def set_mode(self, mode: str, args: dict[str, Any]) -> dict[str, Any]:
        stats = self.stats
        stats[f"mode_{mode}"] += 1
        targets = self.bound()
        if mode == "normal":
            self.wrong_seq_left = 0
            self.refuse_until = 0.0
        elif mode == "silent":
            for conn in targets:
                conn.silent = True
        elif mode == "cut":
            targets = list(self.conns)
            for conn in targets:
                conn.abort()
        elif mode == "refuse_binds":
            self.refuse_until = self._now() + float(args.get("seconds", 1.0))
            targets = list(self.conns)
            for conn in targets:
                conn.abort()
        elif mode == "corrupt":
            count = int(args.get("count", 12))
            interval = float(args.get("interval_s", 0.01))
            for conn in targets:
                self._spawn(self._send_corrupt(conn, count, interval))
        elif mode == "stray":
            count = int(args.get("count", 60))
            for conn in targets:
                self._send_stray(conn, count)
        elif mode == "wrong_seq":
            self.wrong_seq_left = int(args.get("count", 20))
        elif mode == "huge_length":
            for conn in targets:
                conn.sent_huge = True
                conn.write(header(0xFFFFFFFF, c.DELIVER_SM, 0, CORRUPT_SEQ_BASE - 1))
                stats["huge_sent"] += 1
        elif mode == "slow_loris":
            interval = float(args.get("interval_s", 0.1))
            for conn in targets:
                conn.slow_interval = interval
                conn.request(p.EnquireLink(), "slow_enquire_link")
        elif mode == "receipt_flood":
            count = int(args.get("count", 2000))
            window = int(args.get("window", WINDOW))
            if targets:
                self._spawn(
                    self._flood(targets[0], count, window, float(args.get("timeout_s", 60)))
                )
        else:
            return {"ok": False, "error": f"unknown mode {mode!r}"}
        return {"ok": True, "targets": len(targets)}

    async def _send_corrupt(self, conn: _Conn, count: int, interval: float) -> None:
        base = CORRUPT_SEQ_BASE + self.stats["corrupt_sent"] * 8
        for n in range(count):
            if conn.closed:
                return
            frames = corrupt_frames(base + n * 8)
            data, expected = frames[n % len(frames)]
            seq = int.from_bytes(data[12:16], "big")
            if expected is not None:
                self._corrupt_expect[seq] = expected
                self.stats["corrupt_expecting_answer"] += 1
            self.stats["corrupt_sent"] += 1
            conn.write(data)
            await asyncio.sleep(interval)

    def _send_stray(self, conn: _Conn, count: int) -> None:
        makers: list[Callable[[int], p.Pdu]] = [
            lambda s: p.SubmitSmResp(0, s, message_id="5715a11e"),
            lambda s: p.DeliverSmResp(0, s),
            lambda s: p.EnquireLinkResp(0, s),
            lambda s: p.BindTransceiverResp(0, s, system_id="STRAY"),
            lambda s: p.UnbindResp(0, s),
            lambda s: p.GenericNack(c.ESME_RSYSERR, s),
        ]
        base = STRAY_SEQ_BASE + self.stats["stray_sent"]
        for n in range(count):
            conn.write(codec.encode(makers[n % len(makers)](base + n)))
            self.stats["stray_sent"] += 1

    async def _flood(self, conn: _Conn, count: int, window: int, timeout_s: float) -> None:
        deadline = self._now() + timeout_s
        sent = 0
        for _ in range(count * 100):
            if sent >= count or conn.closed or self._now() > deadline:
                break
            room = window - sum(1 for kind, _ in conn.outstanding.values() if kind == "flood")
            for _ in range(max(0, room)):
                if sent >= count:
                    break
                conn.request(receipt_pdu(f"dead{FLOOD_SEQ_BASE + sent:x}"), "flood")
                sent += 1
                self.stats["flood_sent"] += 1
            await asyncio.sleep(0.002)
        for _ in range(int(timeout_s / 0.01) + 1):
            pending = sum(1 for kind, _ in conn.outstanding.values() if kind == "flood")
            if not pending or conn.closed or self._now() > deadline:
                break
            await asyncio.sleep(0.01)
        self.stats["flood_done"] += 1

    # ------------------------------------------------------------------ control
    async def _control_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            for _ in range(1_000_000):
                line = await reader.readline()
                if not line:
                    break
                try:
                    command = json.loads(line)
                    name = command.get("cmd")
                    if name == "mode":
                        reply = self.set_mode(str(command.get("mode")), command)
                    elif name in ("stats", "ping"):
                        reply = {"ok": True}
                    else:
                        reply = {"ok": False, "error": f"unknown cmd {name!r}"}
                except (ValueError, TypeError, AttributeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                reply["stats"] = self.stats_dict()
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def stats_dict(self) -> dict[str, int]:
        out = dict(self.stats)
        out["connections_open"] = len(self.conns)
        out["sessions_bound"] = sum(1 for conn in self.conns if conn.bound and not conn.closed)
        out["receipts_queued"] = len(self.receipts)
        return out


async def serve(args: argparse.Namespace) -> int:
    smsc = HostileSmsc(
        system_id=args.system_id,
        password=args.password,
        record_path=args.record,
        receipt_delay_s=args.receipt_delay,
    )
    host, port = await smsc.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"hostile smsc listening on {host}:{port}", flush=True)
        chost, cport = await smsc.start_control(args.host, args.control_port)
        print(f"hostile control on {chost}:{cport}", flush=True)
        await stop.wait()
    finally:
        await smsc.stop()
        with contextlib.suppress(OSError):
            sys.stderr.write(json.dumps(smsc.stats_dict()) + "\n")
            sys.stderr.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A hostile SMSC for the fault suite.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--system-id", default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument("--record", default=None)
    parser.add_argument("--receipt-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("loopback addresses only")
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
