"""An asyncio SMSC on the sans-I/O session: binds, submits, receipts, MO, faults on demand.

It is the yardstick of the benchmarks, so the hot path stays lean: no task per PDU or per
receipt. Every delayed action (a delayed response, a receipt, a receipt retry) goes through
one heap-backed scheduler driven by a single `call_at` timer; receipts wait in a bounded
per-account queue when no receiver has a free deliver_sm window slot and leave as soon as
one frees (a deliver_sm_resp, a new bind, the transport draining).

Accounts are keyed by the bind's system_id: the throttle budget, the receipt queue and the
set of receiver sessions (bound receiver or transceiver) are shared by every session of one
system_id, so a receipt may come back on another session than the one that submitted.

Fault injection:

* `throttle_tps`: more than that many submit_sm / data_sm in one second (a fixed one-second
  window per account, restarted by the first submit after it ends) get ESME_RTHROTTLED;
* `reject_pattern`: destinations matching it get `reject_status` (ESME_RINVDSTADR);
* `drop_after_submits`: the N-th submit received closes the TCP connection abruptly (no
  unbind, the N-th is never answered); `drop_scope="connection"` (default) counts per
  connection, so every new connection is dropped at its own N-th submit; `"global"` counts
  across all connections and drops whichever connection brings every N-th submit;
* `response_delay_s`: every response is held back that long, still pipelined; receipts keep
  their own clock (`receipt_delay_s` after the submit), so a shorter receipt delay makes the
  receipt overtake its submit_sm_resp.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import logging
import math
import re
import time
from collections.abc import Callable
from typing import IO, Any, Final, Literal, TypeAlias, cast

import msgspec

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import SmppError
from connector.smpp.session import (
    Closed,
    Event,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    ResponseTimedOut,
    Role,
    Session,
    State,
)
from connector.transport.protocol import ConnectionClosed, SmppProtocol

_log = logging.getLogger(__name__)

IdFormat = Literal["hex", "dec"]
ReceiptIdFormat = Literal["same", "hex", "dec"]
DropScope = Literal["connection", "global"]

# Receipt `stat:` words (SMPP 3.4 appendix B) and the message_state TLV value of each.
MESSAGE_STATES: Final[dict[str, int]] = {
    "ENROUTE": c.MESSAGE_STATE_ENROUTE,
    "DELIVRD": c.MESSAGE_STATE_DELIVERED,
    "EXPIRED": c.MESSAGE_STATE_EXPIRED,
    "DELETED": c.MESSAGE_STATE_DELETED,
    "UNDELIV": c.MESSAGE_STATE_UNDELIVERABLE,
    "ACCEPTD": c.MESSAGE_STATE_ACCEPTED,
    "UNKNOWN": c.MESSAGE_STATE_UNKNOWN,
    "REJECTD": c.MESSAGE_STATE_REJECTED,
}
# The `err:` of a receipt when its outcome rule gives none.
DEFAULT_ERRORS: Final[dict[str, str]] = {
    "ENROUTE": "000",
    "DELIVRD": "000",
    "EXPIRED": "002",
    "DELETED": "003",
    "UNDELIV": "001",
    "ACCEPTD": "000",
    "UNKNOWN": "004",
    "REJECTD": "005",
}
# network_error_code TLV: network type 3 (GSM) + 2-octet error (SMPP 3.4 §5.3.2.31).
_NETWORK_TYPE_GSM: Final = 3
_NEVER: Final = 10.0 * 365 * 24 * 3600  # "no enquire_link" for Session, which wants a number
_SCHEDULER_BATCH: Final = 4096
_SCHEDULER_SLACK_S: Final = 0.001
_BIND_RESPONSES: Final[dict[int, type[p._BindResp]]] = {
    c.BIND_TRANSMITTER: p.BindTransmitterResp,
    c.BIND_RECEIVER: p.BindReceiverResp,
    c.BIND_TRANSCEIVER: p.BindTransceiverResp,
}
_RECEIVER_BINDS: Final = frozenset({c.BIND_RECEIVER, c.BIND_TRANSCEIVER})


Submit: TypeAlias = p.SubmitSm | p.DataSm


class SimulatorError(SmppError):
    """The simulator cannot do what was asked (bad configuration, nobody to deliver to)."""


class NoReceiverError(SimulatorError):
    """No receiver or transceiver session is bound for the account."""


# ------------------------------------------------------------------------------- configuration


class OutcomeRule(msgspec.Struct, frozen=True):
    """Destinations matching `pattern` (re.search) get a receipt with `stat` (and `err`)."""

    pattern: str
    stat: str
    err: str | None = None


class SimulatorConfig(msgspec.Struct, kw_only=True):
    """Every knob of the simulator; the defaults make a fast, well-behaved SMSC."""

    # Credentials: None accepts anything.
    system_id: str | None = None
    password: str | None = None
    smsc_system_id: str = "SIMSMSC"  # system_id we answer binds with
    # Message ids: a counter, rendered hex (lowercase) or decimal; `message_id_start` None
    # starts from the clock so that ids stay unique across restarts.
    message_id_format: IdFormat = "hex"
    receipt_id_format: ReceiptIdFormat = "same"
    message_id_start: int | None = None
    # Receipts.
    receipts: bool = True
    receipt_delay_s: float = 0.0
    outcomes: list[OutcomeRule] = msgspec.field(default_factory=list)
    default_stat: str = "DELIVRD"
    receipt_tlvs: bool = True  # receipted_message_id + message_state
    network_error_code: bool = True  # also network_error_code on failed outcomes
    receipt_retry_delay_s: float | None = 5.0  # re-deliver a nacked/timed-out receipt
    max_queued_receipts: int = 1_000_000  # per account, while no receiver can take them
    # Fault injection.
    response_delay_s: float = 0.0
    throttle_tps: int | None = None
    reject_pattern: str | None = None
    reject_status: int = c.ESME_RINVDSTADR
    drop_after_submits: int | None = None
    drop_scope: DropScope = "connection"
    # Session.
    window: int = 64  # outstanding deliver_sm per session
    response_timeout_s: float = 30.0
    enquire_link_interval_s: float | None = None  # None: never send enquire_link ourselves
    # Record of accepted submits (JSON lines), flushed every `record_flush_interval_s`.
    record_path: str | None = None
    record_flush_interval_s: float = 0.5
    keep_records: bool = False  # also keep them in `Smsc.records` (tests)


def parse_outcome(spec: str) -> OutcomeRule:
    """`PATTERN=STAT` or `PATTERN=STAT:ERR` (the last `=` splits, so patterns may hold one)."""
    pattern, sep, result = spec.rpartition("=")
    if not sep or not pattern:
        raise ValueError(f"outcome {spec!r} is not PATTERN=STAT[:ERR]")
    stat, _, err = result.partition(":")
    stat = stat.strip().upper()
    if stat not in MESSAGE_STATES:
        raise ValueError(f"unknown receipt stat {stat!r}; one of {', '.join(MESSAGE_STATES)}")
    if err and not (err.isdigit() and len(err) <= 3):
        raise ValueError(f"receipt err {err!r} must be up to 3 digits")
    re.compile(pattern)
    return OutcomeRule(pattern, stat, err.zfill(3) if err else None)


def parse_status(spec: str) -> int:
    """A command_status by name (`ESME_RINVDSTADR`, `RINVDSTADR`) or number (`11`, `0x0B`)."""
    text = spec.strip()
    with contextlib.suppress(ValueError):
        return int(text, 0)
    name = text.upper()
    if not name.startswith("ESME_"):
        name = "ESME_" + name
    for code, known in c.STATUS_NAMES.items():
        if known == name:
            return code
    raise ValueError(f"unknown command_status {spec!r}")


# ---------------------------------------------------------------------------------- statistics


class SimulatorStats(msgspec.Struct):
    """Monotonic counters; `Smsc.stats_dict()` adds the gauges."""

    connections: int = 0
    binds: int = 0
    bind_failures: int = 0
    submits_received: int = 0
    submits_accepted: int = 0
    submits_throttled: int = 0
    submits_rejected: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    receipts_failed: int = 0
    receipts_dropped: int = 0
    mo_sent: int = 0
    connections_dropped: int = 0
    sessions_bound_peak: int = 0  # most sessions bound at once (a carrier's max_binds check)


class Concat(msgspec.Struct, frozen=True):
    """Concatenation info of one part: from a UDH (8 or 16-bit reference) or SAR TLVs."""

    ref: int
    total: int
    seq: int
    bits: int


class SubmitRecord(msgspec.Struct, frozen=True):
    """One accepted submit, as written to the record file (one JSON object per line)."""

    ts: float
    system_id: str
    command: str
    message_id: str
    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: str  # hex
    message_payload: str | None = None  # hex
    udh: Concat | None = None
    sar: Concat | None = None


def parse_udh(esm_class: int, data: bytes) -> Concat | None:
    """The concatenation IE of a short_message's UDH (IEI 0x00 or 0x08), if it has one."""
    if not esm_class & c.ESM_CLASS_UDHI or not data:
        return None
    end = 1 + data[0]
    pos = 1
    while pos + 2 <= end <= len(data):
        iei, length = data[pos], data[pos + 1]
        ie = data[pos + 2 : pos + 2 + length]
        if iei == 0x00 and length == 3:
            return Concat(ie[0], ie[1], ie[2], 8)
        if iei == 0x08 and length == 4:
            return Concat((ie[0] << 8) | ie[1], ie[2], ie[3], 16)
        pos += 2 + length
    return None


def parse_sar(tlvs: p.Tlvs) -> Concat | None:
    """The SAR TLVs of a PDU, if it has them."""
    ref = tlvs.get(c.TAG_SAR_MSG_REF_NUM)
    total = tlvs.get(c.TAG_SAR_TOTAL_SEGMENTS)
    seq = tlvs.get(c.TAG_SAR_SEGMENT_SEQNUM)
    if isinstance(ref, int) and isinstance(total, int) and isinstance(seq, int):
        return Concat(ref, total, seq, 16)
    return None


def message_text(pdu: p.Pdu) -> str:
    """A submit's text, UDH stripped: UCS-2 when data_coding is 0x08, Latin-1 otherwise."""
    data: bytes = getattr(pdu, "short_message", b"")
    tlvs: p.Tlvs = getattr(pdu, "tlvs", {})
    esm_class: int = getattr(pdu, "esm_class", 0)
    if not data:
        payload = tlvs.get(c.TAG_MESSAGE_PAYLOAD)
        data = payload if isinstance(payload, bytes) else b""
    if esm_class & c.ESM_CLASS_UDHI and data:
        data = data[1 + data[0] :]
    if getattr(pdu, "data_coding", 0) == 0x08:
        return data.decode("utf-16-be", "replace")
    return data.decode("latin-1")


def _receipt_text_excerpt(text: str) -> str:
    excerpt = text[:20]
    if excerpt.isascii() and excerpt.isprintable():
        return excerpt
    return "".join(ch if " " <= ch <= "~" else "?" for ch in excerpt)


def encode_text(text: str, data_coding: int | None) -> tuple[int, bytes]:
    """(data_coding, octets): UCS-2 for non-ASCII text, IA5 (0x01) otherwise, unless given.

    A given data_coding other than 0x08 encodes as Latin-1 (unmappable characters become
    `?`), which is also how GSM 03.38 unpacked text looks for the ASCII letters and digits.
    """
    if data_coding is None:
        data_coding = 0x01 if text.isascii() else 0x08
    if data_coding == 0x08:
        return data_coding, text.encode("utf-16-be")
    return data_coding, text.encode("latin-1", "replace")


def build_mo(
    source: str,
    destination: str,
    text: str,
    *,
    parts: int | None = None,
    udh16: bool = False,
    sar: bool = False,
    data_coding: int | None = None,
    ref: int = 0,
) -> list[p.DeliverSm]:
    """The deliver_sm PDUs of one mobile-originated message.

    `parts` None or 1: one deliver_sm (text over 254 octets goes in message_payload).
    Otherwise the text is cut into `parts` pieces of (nearly) equal character counts (never
    inside a character, so a UCS-2 surrogate pair stays whole), each
    carrying an 8-bit UDH concatenation IE (`05 00 03 ref total seq`), a 16-bit one
    (`06 08 04 refhi reflo total seq`, with `udh16`) or the SAR TLVs (with `sar`).
    """
    dc, _ = encode_text(text, data_coding)
    if parts is None or parts == 1:
        _, octets = encode_text(text, dc)
        if len(octets) > 254:
            tlvs: p.Tlvs = {c.TAG_MESSAGE_PAYLOAD: octets}
            return [_mo_pdu(source, destination, data_coding=dc, sm=b"", esm_class=0, tlvs=tlvs)]
        return [_mo_pdu(source, destination, data_coding=dc, sm=octets, esm_class=0, tlvs={})]
    if not 2 <= parts <= 255:
        raise ValueError("parts must be between 1 and 255")
    if len(text) < parts:
        raise ValueError(f"cannot cut {len(text)} character(s) into {parts} parts")
    q, r = divmod(len(text), parts)
    bounds = list(itertools.accumulate([0] + [q + (1 if i < r else 0) for i in range(parts)]))
    out: list[p.DeliverSm] = []
    for seq in range(1, parts + 1):
        _, octets = encode_text(text[bounds[seq - 1] : bounds[seq]], dc)
        if sar:
            tlvs = {
                c.TAG_SAR_MSG_REF_NUM: ref & 0xFFFF,
                c.TAG_SAR_TOTAL_SEGMENTS: parts,
                c.TAG_SAR_SEGMENT_SEQNUM: seq,
            }
            sm, esm_class = octets, 0
        else:
            if udh16:
                udh = bytes((6, 0x08, 4, (ref >> 8) & 0xFF, ref & 0xFF, parts, seq))
            else:
                udh = bytes((5, 0x00, 3, ref & 0xFF, parts, seq))
            tlvs, sm, esm_class = {}, udh + octets, c.ESM_CLASS_UDHI
        if len(sm) > 254:
            raise ValueError(f"part {seq} is {len(sm)} octets; use more parts")
        out.append(
            _mo_pdu(source, destination, data_coding=dc, sm=sm, esm_class=esm_class, tlvs=tlvs)
        )
    return out


def _mo_pdu(
    source: str,
    destination: str,
    *,
    data_coding: int,
    sm: bytes,
    esm_class: int,
    tlvs: p.Tlvs,
) -> p.DeliverSm:
    return p.DeliverSm(
        source_addr_ton=1 if source.isdigit() else 5,
        source_addr_npi=1 if source.isdigit() else 0,
        source_addr=source,
        dest_addr_ton=1 if destination.isdigit() else 0,
        dest_addr_npi=1 if destination.isdigit() else 0,
        destination_addr=destination,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=sm,
        tlvs=tlvs,
    )


# ---------------------------------------------------------------------------------- machinery


class _Scheduler:
    """Delayed calls on one heap and one loop timer (not one task or handle per call)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._counter = itertools.count()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, when: float, fn: Callable[[Any], None], arg: Any) -> None:
        heapq.heappush(self._heap, (when, next(self._counter), fn, arg))
        if when < self._timer_at:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._run)

    def _run(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        heap = self._heap
        now = self._loop.time() + _SCHEDULER_SLACK_S
        pop = heapq.heappop
        for _ in range(_SCHEDULER_BATCH):
            if not heap or heap[0][0] > now:
                break
            _, _, fn, arg = pop(heap)
            try:
                fn(arg)
            except Exception:
                _log.exception("simulator scheduled call failed")
        if heap and self._timer is None:
            if heap[0][0] <= now:  # a full batch: let I/O run, then continue
                self._timer_at = heap[0][0]
                self._timer = self._loop.call_soon(self._run)
            else:
                self._arm(heap[0][0])

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = math.inf
        self._heap.clear()


class _Recorder:
    """Buffered JSON-lines writer of accepted submits."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop, interval_s: float) -> None:
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._loop = loop
        self._interval_s = interval_s
        self._buffer: list[bytes] = []
        self._encode = msgspec.json.Encoder().encode
        self._timer: asyncio.TimerHandle | None = None

    def write(self, record: SubmitRecord) -> None:
        buffer = self._buffer
        buffer.append(self._encode(record) + b"\n")
        if len(buffer) >= 4096:
            self.flush()
        elif self._timer is None:
            self._timer = self._loop.call_later(self._interval_s, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            self._file.write(data)
            self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()


class _Account:
    """What the sessions of one system_id share."""

    __slots__ = ("pending", "receivers", "rr", "system_id", "tps_count", "tps_start")

    def __init__(self, system_id: str) -> None:
        self.system_id = system_id
        self.receivers: list[_Connection] = []
        self.rr = 0
        self.pending: collections.deque[p.DeliverSm] = collections.deque()
        self.tps_start = -math.inf
        self.tps_count = 0


class _Connection(SmppProtocol):
    """One SMSC-side connection: the generic driver plus the simulator's hooks."""

    def __init__(self, smsc: Smsc, session: Session, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(session, None, loop=loop)
        self.on_event = self._on_event
        self.smsc = smsc
        self.account: _Account | None = None
        self.submits = 0
        self.dropped = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            super().connection_made(transport)
        else:
            # uvloop's transports do not derive from asyncio.Transport, which the base
            # class asserts: do its work here (uvloop already sets TCP_NODELAY).
            self.transport = cast(asyncio.Transport, transport)
            self.peername = transport.get_extra_info("peername")
            self._rearm()
        self.smsc._connection_made(self)

    def resume_writing(self) -> None:
        super().resume_writing()
        account = self.account
        if account is not None and account.pending and not self.closed.done():
            self.smsc._drain(account)

    def _on_event(self, event: Event) -> None:
        if type(event) is RequestReceived:
            if not self.dropped:
                self.smsc._on_request(self, event.pdu)
        elif type(event) is ResponseReceived:
            self.smsc._on_response(self, event.request, event.response.command_status)
        elif type(event) is ResponseTimedOut:
            self.smsc._on_response(self, event.request, None)
        elif type(event) is Closed:
            self.smsc._on_closed(self, event)
        elif type(event) is ProtocolViolation and event.error.fatal:
            # The peer broke the byte stream (a command_length that does not match what it
            # wrote): worth a warning, as a client under test will not always notice itself.
            _log.warning("connection %s closing, framing lost: %s", self.peername, event.error)


# --------------------------------------------------------------------------------------- SMSC


class Smsc:
    """The simulator: `await start()`, use, `await stop()`."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config = config or SimulatorConfig()
        if config.message_id_format not in ("hex", "dec"):
            raise ValueError(f"message_id_format {config.message_id_format!r}")
        if config.receipt_id_format not in ("same", "hex", "dec"):
            raise ValueError(f"receipt_id_format {config.receipt_id_format!r}")
        if config.drop_scope not in ("connection", "global"):
            raise ValueError(f"drop_scope {config.drop_scope!r}")
        if config.throttle_tps is not None and config.throttle_tps < 0:
            raise ValueError("throttle_tps must not be negative")
        if config.drop_after_submits is not None and config.drop_after_submits < 1:
            raise ValueError("drop_after_submits must be at least 1")
        if config.window < 1 or config.response_timeout_s <= 0:
            raise ValueError("window must be at least 1 and response_timeout_s positive")
        if config.default_stat not in MESSAGE_STATES:
            raise ValueError(f"unknown default_stat {config.default_stat!r}")
        for rule in config.outcomes:
            if rule.stat not in MESSAGE_STATES:
                raise ValueError(f"unknown receipt stat {rule.stat!r}")
        self._outcomes = [
            (re.compile(rule.pattern).search, rule.stat, rule.err or DEFAULT_ERRORS[rule.stat])
            for rule in config.outcomes
        ]
        self._reject = re.compile(config.reject_pattern).search if config.reject_pattern else None
        start = config.message_id_start
        self._next_id = int(time.time() * 1000) if start is None else start
        self.stats = SimulatorStats()
        self.records: list[SubmitRecord] = []
        self.address: tuple[str, int] | None = None
        self.control_address: tuple[str, int] | None = None
        self._accounts: dict[str, _Account] = {}
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduler: _Scheduler | None = None
        self._recorder: _Recorder | None = None
        self._server: asyncio.Server | None = None
        self._control: asyncio.Server | None = None
        self._control_writers: set[asyncio.StreamWriter] = set()
        self._control_tasks: set[asyncio.Task[Any]] = set()
        self._global_submits = 0
        self._mo_ref = 0
        self._stamps: dict[int, str] = {}
        self._bound_waiters: list[asyncio.Future[None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for ESMEs; return the address actually bound (port 0 picks a free one)."""
        if self._server is not None:
            raise SimulatorError("already started")
        loop = self._loop = asyncio.get_running_loop()
        self._scheduler = _Scheduler(loop)
        if self.config.record_path is not None:
            self._recorder = _Recorder(
                self.config.record_path, loop, self.config.record_flush_interval_s
            )
        self._server = await loop.create_server(self._make_protocol, host, port)
        sockname = self._server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        return self.address

    async def start_control(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for line-based JSON control commands (`mo`, `stats`, `drop`, `ping`)."""
        if self._control is not None:
            raise SimulatorError("control port already started")
        self._control = await asyncio.start_server(self._control_client, host, port)
        sockname = self._control.sockets[0].getsockname()
        self.control_address = (str(sockname[0]), int(sockname[1]))
        return self.control_address

    async def stop(self, *, unbind: bool = True, timeout_s: float = 2.0) -> None:
        """Stop listening, unbind (or drop) every session, flush the record."""
        if self._server is not None:
            self._server.close()
        if self._control is not None:
            self._control.close()
            for writer in list(self._control_writers):
                writer.close()
        connections = list(self._connections)
        for conn in connections:
            if unbind and conn.session.can_send(c.UNBIND) and not conn.closed.done():
                try:
                    conn.send(p.Unbind())  # the unbind_resp closes the session
                except SmppError:
                    conn.close()
            else:
                conn.close()
        waits = [asyncio.shield(conn.closed) for conn in connections]
        if waits:
            _, still_open = await asyncio.wait(waits, timeout=timeout_s)
            for conn in connections:
                if not conn.closed.done() and conn.transport is not None:
                    conn.transport.abort()
            if still_open:
                await asyncio.wait(still_open, timeout=1.0)
        if self._control_tasks:  # they see EOF (or their `mo` fails) and end
            _, stuck = await asyncio.wait(list(self._control_tasks), timeout=1.0)
            for task in stuck:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._control is not None:
            await self._control.wait_closed()
            self._control = None
        if self._scheduler is not None:
            self._scheduler.close()
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        for waiter in self._bound_waiters:
            if not waiter.done():
                waiter.cancel()
        self._bound_waiters.clear()

    async def __aenter__(self) -> Smsc:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def flush_record(self) -> None:
        """Write the buffered record lines now."""
        if self._recorder is not None:
            self._recorder.flush()

    # ------------------------------------------------------------------ introspection

    def stats_dict(self) -> dict[str, int]:
        """Counters plus gauges: open connections, bound sessions, receipts waiting."""
        out: dict[str, int] = msgspec.structs.asdict(self.stats)
        out["connections_open"] = len(self._connections)
        out["sessions_bound"] = sum(1 for conn in self._connections if conn.session.is_bound)
        out["receipts_queued"] = sum(len(a.pending) for a in self._accounts.values())
        out["scheduled"] = len(self._scheduler) if self._scheduler is not None else 0
        return out

    def receivers(self, system_id: str | None = None) -> int:
        """How many receiver/transceiver sessions are bound (for `system_id`, or in all)."""
        if system_id is not None:
            account = self._accounts.get(system_id)
            return len(account.receivers) if account is not None else 0
        return sum(len(a.receivers) for a in self._accounts.values())

    async def wait_for_receiver(self, system_id: str | None = None) -> None:
        """Wait until a receiver/transceiver session is bound (bound the wait yourself)."""
        loop = asyncio.get_running_loop()
        while not self.receivers(system_id):
            waiter: asyncio.Future[None] = loop.create_future()
            self._bound_waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._bound_waiters.remove(waiter)

    def drop_connections(self) -> int:
        """Close every connection abruptly, as a network failure would; return how many."""
        connections = list(self._connections)
        for conn in connections:
            self._drop(conn)
        return len(connections)

    # ------------------------------------------------------------------ mobile-originated

    async def send_mo(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        parts: int | None = None,
        udh16: bool = False,
        sar: bool = False,
        data_coding: int | None = None,
        system_id: str | None = None,
    ) -> list[int]:
        """Send an MO message (deliver_sm, esm_class 0) to a bound receiver; see `build_mo`.

        All parts go to one session, each after a free window slot. Returns the
        deliver_sm_resp command_status of each part; raises NoReceiverError when no
        receiver is bound, ConnectionClosed or ResponseTimeout when the session fails.
        """
        self._mo_ref = (self._mo_ref + 1) & 0xFFFF
        pdus = build_mo(
            source,
            destination,
            text,
            parts=parts,
            udh16=udh16,
            sar=sar,
            data_coding=data_coding,
            ref=self._mo_ref if udh16 or sar else self._mo_ref & 0xFF,
        )
        return await self.send_deliver(pdus, system_id=system_id)

    async def send_deliver(
        self, pdus: list[p.DeliverSm], *, system_id: str | None = None
    ) -> list[int]:
        """Send these deliver_sm as they are (MO parts, or a hand-made receipt, malformed on
        purpose) to one bound receiver; returns each deliver_sm_resp command_status.

        Raises like `send_mo`.
        """
        account = self._mo_account(system_id)
        conn = self._pick(account, need_window=False) if account is not None else None
        if conn is None:
            raise NoReceiverError(f"no receiver bound for {system_id or 'any system_id'}")
        futures: list[asyncio.Future[p.Pdu]] = []
        try:
            for pdu in pdus:
                await conn.wait_for_window()
                futures.append(conn.request(pdu))
                if pdu.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT:
                    self.stats.receipts_sent += 1
                else:
                    self.stats.mo_sent += 1
        except BaseException:
            for future in futures:  # nobody will await them: keep their errors quiet
                future.add_done_callback(_consume)
            raise
        results = await asyncio.gather(*futures, return_exceptions=True)
        statuses: list[int] = []
        for pdu, result in zip(pdus, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            statuses.append(result.command_status)
            if pdu.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT:  # never retried: counted here
                if result.command_status == c.ESME_ROK:
                    self.stats.receipts_acked += 1
                else:
                    self.stats.receipts_failed += 1
        return statuses

    def _mo_account(self, system_id: str | None) -> _Account | None:
        if system_id is None:
            system_id = self.config.system_id
        if system_id is not None:
            return self._accounts.get(system_id)
        for account in self._accounts.values():
            if account.receivers:
                return account
        return None

    # ------------------------------------------------------------------ connections

    def _make_protocol(self) -> _Connection:
        loop = self._loop
        assert loop is not None
        config = self.config
        session = Session(
            Role.SMSC,
            window=config.window,
            response_timeout_s=config.response_timeout_s,
            enquire_link_interval_s=config.enquire_link_interval_s or _NEVER,
            now=loop.time(),
        )
        return _Connection(self, session, loop)

    def _connection_made(self, conn: _Connection) -> None:
        self._connections.add(conn)
        self.stats.connections += 1

    def _on_closed(self, conn: _Connection, event: Closed) -> None:
        self._connections.discard(conn)
        account = conn.account
        if account is None:
            return
        if conn in account.receivers:
            account.receivers.remove(conn)
        lost = [
            pdu
            for pdu in event.unanswered
            if type(pdu) is p.DeliverSm and pdu.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT
        ]
        if lost:  # sent but never acknowledged: deliver them again, first
            account.pending.extendleft(reversed(lost))
            self._drain(account)
        _log.debug("connection %s closed: %s", conn.peername, event.reason)

    def _drop(self, conn: _Connection) -> None:
        if conn.dropped:
            return
        conn.dropped = True
        self.stats.connections_dropped += 1
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        data = conn.session.data_to_send()  # what earlier PDUs got still leaves
        if data:
            transport.write(data)
        transport.abort()

    def _account(self, system_id: str) -> _Account:
        account = self._accounts.get(system_id)
        if account is None:
            account = self._accounts[system_id] = _Account(system_id)
        return account

    # ------------------------------------------------------------------ requests

    def _on_request(self, conn: _Connection, pdu: p.Pdu) -> None:
        cid = pdu.command_id
        if type(pdu) is p.SubmitSm or type(pdu) is p.DataSm:
            self._on_submit(conn, pdu)
        elif isinstance(pdu, p._Bind):
            self._on_bind(conn, pdu)
        elif cid == c.QUERY_SM:
            self._respond(conn, p.response_to(pdu, c.ESME_RQUERYFAIL))
        elif cid == c.CANCEL_SM:
            self._respond(conn, p.response_to(pdu, c.ESME_RCANCELFAIL))
        elif cid in p.RESPONSE_FOR:
            self._respond(conn, p.response_to(pdu, c.ESME_RINVCMDID))

    def _on_bind(self, conn: _Connection, pdu: p._Bind) -> None:
        config = self.config
        status = c.ESME_ROK
        if config.system_id is not None and pdu.system_id != config.system_id:
            status = c.ESME_RINVSYSID
        elif config.password is not None and pdu.password != config.password:
            status = c.ESME_RINVPASWD
        resp_cls = _BIND_RESPONSES[pdu.command_id]
        if status != c.ESME_ROK:
            self.stats.bind_failures += 1
            conn.send(resp_cls(status, pdu.sequence_number))
            return
        conn.send(resp_cls(status, pdu.sequence_number, system_id=config.smsc_system_id))
        self.stats.binds += 1
        bound = sum(1 for other in self._connections if other.session.is_bound)
        self.stats.sessions_bound_peak = max(self.stats.sessions_bound_peak, bound)
        account = conn.account = self._account(pdu.system_id)
        if pdu.command_id in _RECEIVER_BINDS:
            account.receivers.append(conn)
            if account.pending:
                self._drain(account)
            waiters, self._bound_waiters = self._bound_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _respond(self, conn: _Connection, response: p.Pdu) -> None:
        delay = self.config.response_delay_s
        if delay > 0:
            self._later(delay, self._send_later, (conn, response))
        else:
            conn.send(response)

    def _later(self, delay_s: float, fn: Callable[[Any], None], arg: Any) -> None:
        scheduler, loop = self._scheduler, self._loop
        if scheduler is None or loop is None:
            raise SimulatorError("not started")
        scheduler.call_at(loop.time() + delay_s, fn, arg)

    def _send_later(self, item: tuple[_Connection, p.Pdu]) -> None:
        conn, response = item
        if not conn.dropped and not conn.session.is_closed:
            conn.send(response)

    def _on_submit(self, conn: _Connection, pdu: Submit) -> None:
        if conn.session.is_closed:
            return  # an unbind in the same read closed the session: this submit gets no answer
        stats = self.stats
        config = self.config
        stats.submits_received += 1
        conn.submits += 1
        drop_after = config.drop_after_submits
        if drop_after is not None:
            if config.drop_scope == "connection":
                if conn.submits >= drop_after:
                    self._drop(conn)
                    return
            else:
                self._global_submits += 1
                if self._global_submits % drop_after == 0:
                    self._drop(conn)
                    return
        account = conn.account
        assert account is not None  # the session only lets bound ESMEs submit
        is_submit = pdu.command_id == c.SUBMIT_SM
        resp_cls: type[p._MessageIdResp] = p.SubmitSmResp if is_submit else p.DataSmResp
        tps = config.throttle_tps
        if tps is not None:
            assert self._loop is not None
            now = self._loop.time()
            if now - account.tps_start >= 1.0:
                account.tps_start = now
                account.tps_count = 0
            if account.tps_count >= tps:
                stats.submits_throttled += 1
                self._respond(conn, resp_cls(c.ESME_RTHROTTLED, pdu.sequence_number))
                return
            account.tps_count += 1
        destination = pdu.destination_addr
        if self._reject is not None and self._reject(destination):
            stats.submits_rejected += 1
            self._respond(conn, resp_cls(config.reject_status, pdu.sequence_number))
            return
        stats.submits_accepted += 1
        number = self._next_id
        self._next_id = number + 1
        message_id = f"{number:x}" if config.message_id_format == "hex" else str(number)
        response = resp_cls(c.ESME_ROK, pdu.sequence_number, message_id=message_id)
        if config.response_delay_s > 0:
            self._later(config.response_delay_s, self._answer_later, (conn, response, pdu))
        else:
            conn.send(response)
            self._keep_record(account, pdu, message_id)
        # The network delivers on its own clock: the receipt is due `receipt_delay_s` after the
        # submit, so with a longer `response_delay_s` it overtakes the submit_sm_resp, as
        # receipts do on real SMSCs.
        self._schedule_receipt(account, pdu, message_id, number)

    def _answer_later(self, item: tuple[_Connection, p._MessageIdResp, Submit]) -> None:
        conn, response, pdu = item
        if conn.dropped or conn.session.is_closed or conn.account is None:
            return
        conn.send(response)
        self._keep_record(conn.account, pdu, response.message_id)

    def _keep_record(self, account: _Account, pdu: Submit, message_id: str) -> None:
        """The submit was answered ESME_ROK: record it."""
        config = self.config
        if self._recorder is not None or config.keep_records:
            record = self._record(account.system_id, pdu, message_id)
            if self._recorder is not None:
                self._recorder.write(record)
            if config.keep_records:
                self.records.append(record)

    def _schedule_receipt(
        self, account: _Account, pdu: Submit, message_id: str, number: int
    ) -> None:
        """The submit was accepted: its receipt, if one is wanted, after `receipt_delay_s`."""
        config = self.config
        wanted = pdu.registered_delivery & 0x03
        if not config.receipts or wanted not in (1, 2):
            return
        destination = pdu.destination_addr
        stat = config.default_stat
        err = DEFAULT_ERRORS[stat]
        for search, rule_stat, rule_err in self._outcomes:
            if search(destination):
                stat, err = rule_stat, rule_err
                break
        if wanted == 2 and stat == "DELIVRD":
            return
        receipt = self._receipt(pdu, message_id, number, stat, err)
        delay = config.receipt_delay_s
        if delay > 0:
            self._later(delay, self._deliver, (account, receipt))
        else:
            self._deliver((account, receipt))

    def _record(self, system_id: str, pdu: Submit, message_id: str) -> SubmitRecord:
        tlvs = pdu.tlvs
        payload = tlvs.get(c.TAG_MESSAGE_PAYLOAD)
        short_message = pdu.short_message if type(pdu) is p.SubmitSm else b""
        esm_class = pdu.esm_class
        return SubmitRecord(
            ts=time.time(),
            system_id=system_id,
            command=c.command_name(pdu.command_id),
            message_id=message_id,
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            esm_class=esm_class,
            data_coding=pdu.data_coding,
            registered_delivery=pdu.registered_delivery,
            short_message=short_message.hex(),
            message_payload=payload.hex() if isinstance(payload, bytes) else None,
            udh=parse_udh(esm_class, short_message),
            sar=parse_sar(tlvs),
        )

    # ------------------------------------------------------------------ receipts

    def _date(self, wall: float) -> str:
        """YYMMDDhhmm (UTC) of a wall-clock time, cached per minute."""
        minute = int(wall // 60)
        stamp = self._stamps.get(minute)
        if stamp is None:
            if len(self._stamps) > 8:
                self._stamps.clear()
            stamp = self._stamps[minute] = time.strftime("%y%m%d%H%M", time.gmtime(wall))
        return stamp

    def _receipt(
        self, pdu: Submit, message_id: str, number: int, stat: str, err: str
    ) -> p.DeliverSm:
        config = self.config
        fmt = config.receipt_id_format
        receipt_id = message_id
        if fmt != "same":
            receipt_id = f"{number:x}" if fmt == "hex" else str(number)
        wall = time.time()
        submit_date = self._date(wall)
        done_date = self._date(wall + config.receipt_delay_s)
        text = (
            f"id:{receipt_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:{submit_date} done date:{done_date} stat:{stat} err:{err} "
            f"text:{_receipt_text_excerpt(message_text(pdu))}"
        )
        tlvs: p.Tlvs = {}
        if config.receipt_tlvs:
            tlvs[c.TAG_RECEIPTED_MESSAGE_ID] = receipt_id
            tlvs[c.TAG_MESSAGE_STATE] = MESSAGE_STATES[stat]
            if config.network_error_code and stat != "DELIVRD":
                tlvs[c.TAG_NETWORK_ERROR_CODE] = bytes((_NETWORK_TYPE_GSM,)) + (
                    int(err) & 0xFFFF
                ).to_bytes(2, "big")
        return p.DeliverSm(
            source_addr_ton=pdu.dest_addr_ton,
            source_addr_npi=pdu.dest_addr_npi,
            source_addr=pdu.destination_addr,
            dest_addr_ton=pdu.source_addr_ton,
            dest_addr_npi=pdu.source_addr_npi,
            destination_addr=pdu.source_addr,
            esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
            short_message=text.encode("latin-1"),
            tlvs=tlvs,
        )

    def _deliver(self, item: tuple[_Account, p.DeliverSm]) -> None:
        account, receipt = item
        if account.pending:
            self._enqueue(account, receipt)
            self._drain(account)
            return
        conn = self._pick(account, need_window=True)
        if conn is None:
            self._enqueue(account, receipt)
        else:
            conn.send(receipt)
            self.stats.receipts_sent += 1

    def _enqueue(self, account: _Account, receipt: p.DeliverSm) -> None:
        if len(account.pending) >= self.config.max_queued_receipts:
            self.stats.receipts_dropped += 1
        else:
            account.pending.append(receipt)

    def _pick(self, account: _Account, *, need_window: bool) -> _Connection | None:
        """The next receiver of the account, round robin, that can take a deliver_sm now."""
        receivers = account.receivers
        n = len(receivers)
        for i in range(n):
            conn = receivers[(account.rr + i) % n]
            session = conn.session
            state = session.state
            if (state is not State.BOUND_TRX and state is not State.BOUND_RX) or conn.dropped:
                continue
            if need_window and (session.window_available <= 0 or conn.write_paused):
                continue
            account.rr = (account.rr + i + 1) % n
            return conn
        return None

    def _drain(self, account: _Account) -> None:
        """Hand queued receipts to receivers with free window slots."""
        pending = account.pending
        stats = self.stats
        while pending:
            conn = self._pick(account, need_window=True)
            if conn is None:
                return
            for _ in range(conn.session.window_available):
                if not pending:
                    break
                conn.send(pending.popleft())
                stats.receipts_sent += 1

    def _on_response(self, conn: _Connection, request: p.Pdu, status: int | None) -> None:
        """A deliver_sm_resp (status) or a timeout (None) for something we sent."""
        if type(request) is not p.DeliverSm:
            return
        account = conn.account
        if request.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT:
            if status == c.ESME_ROK:
                self.stats.receipts_acked += 1
            else:
                self.stats.receipts_failed += 1
                retry = self.config.receipt_retry_delay_s
                if retry is not None and account is not None and status != c.ESME_RX_P_APPN:
                    self._later(retry, self._deliver, (account, request))
        if account is not None and account.pending:
            self._drain(account)

    # ------------------------------------------------------------------ control port

    async def _control_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._control_writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._control_tasks.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                reply = await self._control_command(line)
                writer.write(msgspec.json.encode(reply) + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._control_writers.discard(writer)
            if task is not None:
                self._control_tasks.discard(task)
            writer.close()

    async def _control_command(self, line: bytes) -> dict[str, Any]:
        try:
            command = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            return {"ok": False, "error": f"bad JSON: {exc}"}
        if not isinstance(command, dict):
            return {"ok": False, "error": "a command is a JSON object"}
        name = command.get("cmd")
        try:
            if name == "stats":
                return {"ok": True, "stats": self.stats_dict()}
            if name == "ping":
                return {"ok": True}
            if name == "drop":
                return {"ok": True, "dropped": self.drop_connections()}
            if name == "mo":
                statuses = await self.send_mo(
                    _str_arg(command, "from"),
                    _str_arg(command, "to"),
                    _str_arg(command, "text"),
                    parts=_opt_int_arg(command, "parts"),
                    udh16=bool(command.get("udh16", False)),
                    sar=bool(command.get("sar", False)),
                    data_coding=_opt_int_arg(command, "data_coding"),
                    system_id=_opt_str_arg(command, "system_id"),
                )
                return {"ok": True, "statuses": statuses}
        except (SmppError, ValueError, TypeError) as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": False, "error": f"unknown cmd {name!r}"}


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _opt_str_arg(command: dict[str, Any], key: str) -> str | None:
    value = command.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _str_arg(command: dict[str, Any], key: str) -> str:
    value = command.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _opt_int_arg(command: dict[str, Any], key: str) -> int | None:
    value = command.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key!r} must be an integer")
    return value


__all__ = [
    "Concat",
    "ConnectionClosed",
    "NoReceiverError",
    "OutcomeRule",
    "SimulatorConfig",
    "SimulatorError",
    "SimulatorStats",
    "Smsc",
    "SubmitRecord",
    "build_mo",
    "encode_text",
    "message_text",
    "parse_outcome",
    "parse_sar",
    "parse_status",
    "parse_udh",
]
