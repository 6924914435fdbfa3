"""Baseline SMPP senders for bench_end_to_end: third-party libraries doing nothing but submit.

Run one as its own process (so that its CPU time and memory are its own):

    python bench/baselines.py smpplib --port 2775 --messages 20000 [--no-receipts] [--mix]

It binds to the SMSC (the same simulator the daemon was measured against), submits N
messages the way the library's README shows, waits for every submit_sm_resp (and, unless
--no-receipts, every delivery receipt), and prints one JSON line: messages completed, parts,
wall seconds, CPU seconds (this process, all threads, from bind to the last receipt) and peak
RSS (VmHWM). Past --max-seconds it stops submitting and reports what completed by then, so a slow
library is measured on fewer messages (the caller scales by the rate, and says so).

- smpplib (stop-and-wait): `Client`, `connect`, `bind_transmitter` (`bind_transceiver` with
  receipts, as receipts only come on receiver binds), `send_message` in a loop, each
  followed by `read_once` until its submit_sm_resp is in (then the read loop for receipts).
  TCP_NODELAY is set on its socket: without it, the deliver_sm_resp and the next submit_sm
  (two small writes) meet Nagle plus delayed ACKs and it runs at ~45 msg/s instead of ~6000.
  `smpplib.gsm.make_parts` splits long texts, as in its README.
- aiosmpplib: `ESME` + its `SimpleBroker` + an `AbstractHook` counting SubmitSmResp and
  receipts, `start()` (its README's flow). It has no window: it sends whatever is in the
  broker as fast as the socket allows, and its correlator scans every stored request on each
  `put` (O(outstanding) per message). With all N queued up front (`--upfront`, the README
  literally) that turns quadratic; by default the application feeds the broker at most
  `--window` messages ahead of the submit_sm_resps, which is how one would use it for a
  backlog. Long texts: its own UDH segmentation (`auto_message_payload=False`, UDHI set).
  Without receipts its correlator still keeps every accepted submit for receipt matching (3
  days) and scans them all on each put: it turns CPU-bound after a few thousand messages
  (py-spy: 94% in `SimpleCorrelator._remove_expired`), and in our runs it then unbound itself
  and its sender died (AssertionError in `ESME._send_data`).
- naz: `Client` + `SimpleBroker` + a hook; `send_message` queues, then
  `connect`/`tranceiver_bind`/`dequeue_messages`/`receive_data` (its README's flow), fed like
  aiosmpplib (same reasons, same `--upfront`). It has no segmentation: --mix skips it.
- smpp34 (Rust core): `Client.connect()` then `await smsc.submit_sm(...)` from `--window`
  coroutines per bind, receipts from `await smsc.next()` (`inbound_capacity` raised so it never
  NAKs a receipt: see SMPP34_INBOUND_CAPACITY). Long texts are split beforehand by
  our segmenter (not timed): smpp34 does not segment.
- floor: not a library but the issue's reference point, a minimal hand-written uvloop
  client: one `asyncio.Protocol` per bind, each submit_sm built with `struct` and byte
  concatenation as it is sent, every PDU of a read parsed in one loop, the deliver_sm_resps
  and the submits that refill the window written in one `transport.write`. It does nothing
  else (no segmentation at run time: parts prepared beforehand as for smpp34; no retries,
  no tracking beyond counting), so its CPU per message is the floor of any SMPP client in
  Python on this machine, measured in the same run: what the daemon's CPU compares against
  whatever the machine's speed that day. Against our simulator its throughput is the
  simulator's as much as its own.

`--binds B` opens B sessions for naz and smpp34 (the messages split among them); smpplib
and aiosmpplib always use one. Every library runs on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h
from connector.text import plan

NAMES = ("smpplib", "aiosmpplib", "naz", "smpp34", "floor")
PASSWORD = "pw"
# smpp34 NAKs a deliver_sm when its inbound queue is full, and encodes that deliver_sm_resp
# with command_length 16 but 17 octets on the wire (its empty message_id's NUL). The peer
# loses framing and closes the connection; smpp34 does not notice and its submits hang (the
# "stalled" runs of earlier sessions). A queue that never fills keeps it off that path.
SMPP34_INBOUND_CAPACITY = 1_000_000


@dataclass
class Result:
    name: str
    requested: int
    done: int = 0  # messages with every part accepted (and every receipt, when wanted)
    parts: int = 0  # submit_sm accepted
    receipts: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_kib: int = 0
    complete: bool = False
    note: str = ""


def destination(i: int) -> str:
    return h.recipient(0, i).lstrip("+")


def text_of(i: int, mix: bool) -> str:
    return h.LONG_TEXT if mix and i % 2 else h.SHORT_TEXT


def available(name: str) -> str | None:
    """None when the library imports, else why not."""
    if name == "floor":  # our own, nothing to import
        return None
    try:
        importlib.import_module(name)
    except ImportError as error:
        return f"not installed ({error}); pip install -e '.[bench]'"
    return None


class _Clock:
    """Wall and process CPU time (all threads) from a starting point."""

    def __init__(self) -> None:
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()

    def stop(self, result: Result) -> None:
        result.wall_s = time.perf_counter() - self.wall0
        result.cpu_s = time.process_time() - self.cpu0


class _Flow:
    """Application-level window for libraries without one: at most `window` awaiting a resp."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.sent = 0
        self.answered = 0
        self.room = asyncio.Event()
        self.room.set()

    async def acquire(self) -> None:
        while self.sent - self.answered >= self.window:
            self.room.clear()
            await self.room.wait()
        self.sent += 1

    def release(self) -> None:
        self.answered += 1
        self.room.set()


def _prepared_parts(args: argparse.Namespace) -> list[tuple[int, bytes, int, int]]:
    """Every part, segmented beforehand by our segmenter (not timed), for a client that does
    not segment: (message index, short_message, esm_class, data_coding)."""
    short_plan = plan(h.SHORT_TEXT)
    long_plan = plan(h.LONG_TEXT, reference=7)
    jobs: list[tuple[int, bytes, int, int]] = []
    for i in range(args.messages):
        chosen = long_plan if args.mix and i % 2 else short_plan
        for part in chosen.parts:
            jobs.append((i, part.short_message, chosen.esm_class, chosen.data_coding))
    return jobs


async def _stop_quietly(result: Result, what: str, awaitable: Any) -> None:
    try:
        await asyncio.wait_for(awaitable, 5)
    except Exception as error:
        result.note += f" ({what}: {type(error).__name__})"


# ------------------------------------------------------------------------------ smpplib


def run_smpplib(args: argparse.Namespace) -> Result:
    client_mod: Any = importlib.import_module("smpplib.client")
    gsm: Any = importlib.import_module("smpplib.gsm")
    consts: Any = importlib.import_module("smpplib.consts")
    result = Result("smpplib", args.messages)
    counts = {"sent": 0, "receipts": 0}

    def on_sent(pdu: Any) -> None:
        counts["sent"] += 1

    def on_received(pdu: Any) -> None:
        counts["receipts"] += 1

    client = client_mod.Client(args.host, args.port, allow_unknown_opt_params=True, timeout=30)
    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.connect()
    client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.receipts:
        client.bind_transceiver(system_id=args.system_id, password=PASSWORD)
    else:
        client.bind_transmitter(system_id=args.system_id, password=PASSWORD)
    clock = _Clock()
    deadline = clock.wall0 + args.max_seconds
    parts_sent = 0
    for i in range(args.messages):
        if time.perf_counter() > deadline:
            result.note = f"stopped after {args.max_seconds:g} s"
            break
        parts, encoding_flag, msg_type_flag = gsm.make_parts(text_of(i, args.mix))
        for part in parts:
            client.send_message(
                source_addr_ton=consts.SMPP_TON_ALNUM,
                source_addr=h.SENDER,
                dest_addr_ton=consts.SMPP_TON_INTL,
                dest_addr_npi=consts.SMPP_NPI_ISDN,
                destination_addr=destination(i),
                short_message=part,
                data_coding=encoding_flag,
                esm_class=msg_type_flag,
                registered_delivery=args.receipts,
            )
            parts_sent += 1
            for _ in range(1_000_000):  # stop-and-wait: read until this part's resp is in
                if counts["sent"] >= parts_sent:
                    break
                client.read_once()
        result.done += 1
    if args.receipts:
        receipt_deadline = time.perf_counter() + 60
        for _ in range(10_000_000):
            if counts["receipts"] >= parts_sent or time.perf_counter() > receipt_deadline:
                break
            client.read_once()
    clock.stop(result)
    result.parts = counts["sent"]
    result.receipts = counts["receipts"]
    result.complete = result.done == args.messages and (
        not args.receipts or result.receipts >= parts_sent
    )
    try:
        client.unbind()
    finally:
        client.disconnect()
    return result


# ------------------------------------------------------------------------------ aiosmpplib


async def run_aiosmpplib(args: argparse.Namespace) -> Result:
    aio: Any = importlib.import_module("aiosmpplib")
    broker_mod: Any = importlib.import_module("aiosmpplib.broker")
    log_mod: Any = importlib.import_module("aiosmpplib.log")
    result = Result("aiosmpplib", args.messages)
    wanted = args.messages
    done = asyncio.Event()
    counts = {"resp": 0, "receipts": 0, "uncorrelated": 0}

    def check() -> None:
        if counts["resp"] >= wanted and (not args.receipts or counts["receipts"] >= wanted):
            done.set()

    class Hook(aio.AbstractHook):  # type: ignore[misc]
        def __init__(self, flow: _Flow) -> None:
            self.flow = flow

        async def sending(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
            return None

        async def received(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
            if isinstance(smpp_message, aio.SubmitSmResp):
                self.flow.release()
                if smpp_message.command_status == aio.SmppCommandStatus.ESME_ROK:
                    counts["resp"] += 1
                    check()
            elif isinstance(smpp_message, aio.DeliverSm) and smpp_message.is_receipt():
                counts["receipts"] += 1
                if not smpp_message.log_id:
                    counts["uncorrelated"] += 1
                check()

        async def send_error(self, smpp_message: Any, error: Exception, client_id: str) -> None:
            self.flow.release()
            result.note = f"send_error: {error!r}"

    def message(i: int) -> Any:
        long = args.mix and i % 2 == 1
        return aio.SubmitSm(
            short_message=text_of(i, args.mix),
            source=aio.PhoneNumber(h.SENDER, ton=aio.TON.ALPHANUMERIC),
            destination=aio.PhoneNumber(
                destination(i), ton=aio.TON.INTERNATIONAL, npi=aio.NPI.ISDN
            ),
            log_id=f"id-{i}",
            # Without receipts, none asked: its correlator would keep every submit waiting for
            # one (and scan them all on each put).
            registered_delivery=1 if args.receipts else 0,
            esm_class=0b01000000 if long else 0,
            auto_message_payload=not long,
        )

    mode = aio.BindMode.TRANSCEIVER if args.receipts else aio.BindMode.TRANSMITTER
    sessions: list[tuple[Any, _Flow, range]] = []
    # One ESME only: with two in one event loop, one of them lost its writer mid-run
    # (AssertionError in ESME._send_data) in our trials.
    binds = 1
    if args.binds > 1:
        result.note = "one ESME (bind) only. "
    for b in range(binds):
        share = range(b, args.messages, binds)
        flow = _Flow(len(share) + 1 if args.upfront else args.window)
        esme = aio.ESME(
            smsc_host=args.host,
            smsc_port=args.port,
            system_id=args.system_id,
            password=PASSWORD,
            bind_mode=mode,
            log_level=log_mod.ERROR,
            hook=Hook(flow),
            broker=broker_mod.SimpleBroker(maxsize=len(share) + 1),
        )
        if args.upfront:  # the README's flow: queue everything, then start
            for i in share:
                await esme.broker.enqueue(message(i))
        sessions.append((esme, flow, share))

    async def feed(esme: Any, flow: _Flow, share: range) -> None:
        for i in share:
            await flow.acquire()
            await esme.broker.enqueue(message(i))

    clock = _Clock()
    tasks = [asyncio.ensure_future(esme.start()) for esme, _, _ in sessions]
    if not args.upfront:
        tasks += [asyncio.ensure_future(feed(*session)) for session in sessions]
    try:
        await asyncio.wait_for(done.wait(), args.max_seconds)
    except TimeoutError:
        result.note += f"stopped after {args.max_seconds:g} s"
    clock.stop(result)
    result.parts = counts["resp"]
    result.receipts = counts["receipts"]
    result.done = min(counts["resp"], counts["receipts"]) if args.receipts else counts["resp"]
    result.complete = done.is_set()
    if counts["uncorrelated"]:
        result.note += f" {counts['uncorrelated']} receipts it could not correlate"
    if args.mix:
        result.note += " (its hook fires once per segmented message)"
    for esme, _, _ in sessions:
        await _stop_quietly(result, "stop", esme.stop())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


# ------------------------------------------------------------------------------ naz


async def run_naz(args: argparse.Namespace) -> Result:
    naz: Any = importlib.import_module("naz")
    result = Result("naz", args.messages)
    if args.mix:
        result.note = "skipped: naz does not segment long messages"
        return result
    wanted = args.messages
    done = asyncio.Event()
    counts = {"resp": 0, "receipts": 0}

    class Hook(naz.hooks.BaseHook):  # type: ignore[misc]
        def __init__(self, flow: _Flow) -> None:
            self.flow = flow

        async def to_smsc(
            self, smpp_command: Any, log_id: str, hook_metadata: Any, pdu: Any
        ) -> None:
            return None

        async def from_smsc(
            self, smpp_command: Any, log_id: str, hook_metadata: Any, status: Any, pdu: Any
        ) -> None:
            if smpp_command == naz.SmppCommand.SUBMIT_SM_RESP:
                self.flow.release()
                counts["resp"] += 1
            elif smpp_command == naz.SmppCommand.DELIVER_SM:
                counts["receipts"] += 1
            if counts["resp"] >= wanted and (not args.receipts or counts["receipts"] >= wanted):
                done.set()

        async def send_error(self, *_args: Any, **_kwargs: Any) -> None:
            self.flow.release()
            result.note = "send_error"

    def message(i: int) -> Any:
        return naz.protocol.SubmitSM(
            short_message=text_of(i, False),
            log_id=f"id-{i}",
            source_addr=h.SENDER,
            destination_addr=destination(i),
        )

    sessions: list[tuple[Any, _Flow, range]] = []
    for b in range(args.binds):
        share = range(b, args.messages, args.binds)
        flow = _Flow(len(share) + 1 if args.upfront else args.window)
        client = naz.Client(
            smsc_host=args.host,
            smsc_port=args.port,
            system_id=args.system_id,
            password=PASSWORD,
            broker=naz.broker.SimpleBroker(maxsize=len(share) + 1),
            hook=Hook(flow),
            logger=naz.log.SimpleLogger("naz.bench", level=logging.ERROR),
        )
        if args.upfront:  # the README's flow: queue everything, then run
            for i in share:
                await client.send_message(message(i))
        sessions.append((client, flow, share))

    async def feed(client: Any, flow: _Flow, share: range) -> None:
        for i in share:
            await flow.acquire()
            await client.send_message(message(i))

    clock = _Clock()
    tasks: list[asyncio.Future[Any]] = []
    for client, _, _ in sessions:
        await client.connect()
        await client.tranceiver_bind()
        tasks += [
            asyncio.ensure_future(client.dequeue_messages()),
            asyncio.ensure_future(client.receive_data()),
        ]
    if not args.upfront:
        tasks += [asyncio.ensure_future(feed(*session)) for session in sessions]
    try:
        await asyncio.wait_for(done.wait(), args.max_seconds)
    except TimeoutError:
        result.note = f"stopped after {args.max_seconds:g} s"
    clock.stop(result)
    result.parts = counts["resp"]
    result.receipts = counts["receipts"]
    result.done = min(counts["resp"], counts["receipts"]) if args.receipts else counts["resp"]
    result.complete = done.is_set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client, _, _ in sessions:
        await _stop_quietly(result, "unbind", client.unbind())
    return result


# ------------------------------------------------------------------------------ smpp34


async def run_smpp34(args: argparse.Namespace) -> Result:
    smpp34: Any = importlib.import_module("smpp34")
    result = Result("smpp34", args.messages)
    jobs = _prepared_parts(args)  # smpp34 does not segment
    bind_type = "TRX" if args.receipts else "TX"
    sessions = []
    for _ in range(args.binds):
        client = smpp34.Client(
            host=args.host,
            port=args.port,
            system_id=args.system_id,
            password=PASSWORD,
            bind_type=bind_type,
            window_size=args.window,
            inbound_capacity=SMPP34_INBOUND_CAPACITY,
        )
        sessions.append((client, await client.connect()))
    counts = {"resp": 0, "receipts": 0}
    total_parts = len(jobs)
    done = asyncio.Event()
    registered = 1 if args.receipts else 0
    next_job = iter(jobs)

    def check() -> None:
        if counts["resp"] >= total_parts and (
            not args.receipts or counts["receipts"] >= total_parts
        ):
            done.set()

    async def submitter(smsc: Any) -> None:
        for job in next_job:
            i, sm, esm, coding = job
            resp = await smsc.submit_sm(
                destination(i),
                sm,
                source_addr=h.SENDER,
                source_addr_ton=5,
                dest_addr_ton=1,
                dest_addr_npi=1,
                esm_class=esm,
                data_coding=coding,
                registered_delivery=registered,
            )
            if resp.is_success:
                counts["resp"] += 1
                check()

    async def receiver(smsc: Any) -> None:
        for _ in range(100_000_000):
            event = await smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return
            counts["receipts"] += 1
            check()

    clock = _Clock()
    tasks = [
        asyncio.ensure_future(submitter(smsc)) for _, smsc in sessions for _ in range(args.window)
    ]
    if args.receipts:
        tasks += [asyncio.ensure_future(receiver(smsc)) for _, smsc in sessions]
    try:
        await asyncio.wait_for(done.wait(), args.max_seconds)
    except TimeoutError:
        result.note = f"stopped after {args.max_seconds:g} s"
    clock.stop(result)
    result.parts = counts["resp"]
    result.receipts = counts["receipts"]
    per_message = total_parts / args.messages
    settled = min(counts["resp"], counts["receipts"]) if args.receipts else counts["resp"]
    result.done = int(settled / per_message)
    result.complete = done.is_set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client, smsc in sessions:
        await _stop_quietly(result, "unbind", smsc.unbind())
        await _stop_quietly(result, "stop", client.stop())
    return result


# ------------------------------------------------------------------------------ floor

_HEADER = struct.Struct(">IIII")
_BIND_TRANSMITTER, _BIND_TRANSCEIVER = 0x00000002, 0x00000009
_SUBMIT_SM_RESP, _DELIVER_SM, _ENQUIRE_LINK = 0x80000004, 0x00000005, 0x00000015
_UNBIND, _GENERIC_NACK = 0x00000006, 0x80000000


class _FloorBind(asyncio.Protocol):
    """One bind of the floor client: parse every PDU of a read in one loop, answer and refill
    the window, and write all of it at once."""

    def __init__(self, jobs: Any, window: int, receipts: bool, state: dict[str, int]) -> None:
        self.jobs = jobs
        self.window = window
        self.registered = b"\x01" if receipts else b"\x00"
        self.state = state
        self.buffer = b""
        self.outstanding = 0
        self.sequence = 1
        self.transport: asyncio.Transport | None = None
        self.bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.changed = asyncio.Event()
        # submit_sm up to the destination, and the constant octets between it and sm_length.
        self.head = b"\x00\x05\x00" + h.SENDER.encode() + b"\x00\x01\x01"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.bound.done():
            self.bound.set_exception(ConnectionError("closed before the bind answered"))
        if not self.closed.done():
            self.closed.set_result(None)
        self.changed.set()

    def request(self, command_id: int, body: bytes) -> None:
        assert self.transport is not None
        self.sequence += 1
        self.transport.write(_HEADER.pack(16 + len(body), command_id, 0, self.sequence) + body)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        out: list[bytes] = []
        pos, size = 0, len(buffer)
        state = self.state
        while size - pos >= 16:
            length, command_id, status, sequence = _HEADER.unpack_from(buffer, pos)
            if length < 16 or size - pos < length:
                break
            if command_id == _SUBMIT_SM_RESP:
                self.outstanding -= 1
                if status == 0:
                    state["resp"] += 1
                else:
                    state["refused"] += 1
            elif command_id == _DELIVER_SM:
                state["receipts"] += 1
                out.append(_HEADER.pack(17, 0x80000000 | command_id, 0, sequence) + b"\x00")
            elif command_id in (_ENQUIRE_LINK, _UNBIND):
                out.append(_HEADER.pack(16, 0x80000000 | command_id, 0, sequence))
            elif command_id in (0x80000000 | _BIND_TRANSMITTER, 0x80000000 | _BIND_TRANSCEIVER):
                if not self.bound.done():
                    self.bound.set_result(status)
            elif command_id == 0x80000000 | _UNBIND and self.transport is not None:
                self.transport.close()
            elif command_id == _GENERIC_NACK:
                state["refused"] += 1
                self.outstanding -= 1
            pos += length
        self.buffer = buffer[pos:]
        if self.bound.done() and not self.closed.done():
            self.fill(out)
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        self.changed.set()

    def fill(self, out: list[bytes]) -> None:
        """Submits up to the window, each built here: its destination and parts differ."""
        head, registered, sequence = self.head, self.registered, self.sequence
        for _ in range(self.window - self.outstanding):
            job = next(self.jobs, None)
            if job is None:
                break
            i, sm, esm, coding = job
            sequence += 1
            body = b"".join(
                (
                    head,
                    destination(i).encode(),
                    b"\x00",
                    bytes((esm, 0, 0, 0, 0)),
                    registered,
                    bytes((0, coding, 0, len(sm))),
                    sm,
                )
            )
            out.append(_HEADER.pack(16 + len(body), 0x00000004, 0, sequence) + body)
            self.outstanding += 1
        self.sequence = sequence


async def run_floor(args: argparse.Namespace) -> Result:
    result = Result("floor", args.messages)
    jobs = _prepared_parts(args)
    total_parts = len(jobs)
    state = {"resp": 0, "receipts": 0, "refused": 0}
    shared = iter(jobs)
    loop = asyncio.get_running_loop()
    binds: list[_FloorBind] = []
    command = _BIND_TRANSCEIVER if args.receipts else _BIND_TRANSMITTER
    # system_id, password, system_type "", interface_version 0x34, addr_ton, addr_npi, range "".
    credentials = b"\x00".join((args.system_id.encode(), PASSWORD.encode(), b"", b"\x34\x00\x00"))
    credentials += b"\x00"
    for _ in range(args.binds):
        _, bind = await loop.create_connection(
            lambda: _FloorBind(shared, args.window, args.receipts, state), args.host, args.port
        )
        bind.request(command, credentials)
        status = await asyncio.wait_for(bind.bound, 10)
        if status != 0:
            raise RuntimeError(f"bind refused: command_status 0x{status:08X}")
        binds.append(bind)

    def finished() -> bool:
        answered = state["resp"] + state["refused"] >= total_parts
        return answered and (not args.receipts or state["receipts"] >= state["resp"])

    clock = _Clock()
    deadline = clock.wall0 + args.max_seconds
    for bind in binds:  # the first window of each bind; reads refill it from then on
        first: list[bytes] = []
        bind.fill(first)
        assert bind.transport is not None
        bind.transport.write(b"".join(first))
    for _ in range(100_000_000):
        if finished() or time.perf_counter() > deadline:
            break
        if all(bind.closed.done() for bind in binds):
            result.note = "every bind closed"
            break
        for bind in binds:
            bind.changed.clear()
        waits = [asyncio.ensure_future(bind.changed.wait()) for bind in binds]
        await asyncio.wait(waits, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
    clock.stop(result)
    result.complete = finished()
    if not result.complete and not result.note:
        result.note = f"stopped after {args.max_seconds:g} s"
    if state["refused"]:
        result.note += f" {state['refused']} submits refused"
    result.parts = state["resp"]
    result.receipts = state["receipts"]
    settled = min(state["resp"], state["receipts"]) if args.receipts else state["resp"]
    result.done = int(settled / (total_parts / args.messages))
    for bind in binds:
        if bind.transport is not None and not bind.closed.done():
            bind.request(_UNBIND, b"")
            await _stop_quietly(result, "unbind", asyncio.shield(bind.closed))
            bind.transport.close()
    return result


# ------------------------------------------------------------------------------ main


def _run_async(fn: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> Result:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result: Result = runner.run(fn(args))
        return result


def run(args: argparse.Namespace) -> Result:
    missing = available(args.name)
    if missing is not None:
        return Result(args.name, args.messages, note=missing)
    if args.name == "smpplib":
        result = run_smpplib(args)
    elif args.name == "aiosmpplib":
        result = _run_async(run_aiosmpplib, args)
    elif args.name == "naz":
        result = _run_async(run_naz, args)
    elif args.name == "floor":
        result = _run_async(run_floor, args)
    else:
        result = _run_async(run_smpp34, args)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over execve, so a child would report its
    # parent's peak when that is larger.
    result.peak_rss_kib = h.memory_kib(os.getpid(), "VmHWM")
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A third-party SMPP library submitting N messages (one JSON line out)."
    )
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=50, help="outstanding submits per bind")
    parser.add_argument("--binds", type=int, default=1, help="sessions (async libraries)")
    parser.add_argument("--system-id", default=None, help="default: bench-<name>, ≤ 15 chars")
    parser.add_argument(
        "--no-receipts",
        dest="receipts",
        action="store_false",
        help="do not wait for delivery receipts",
    )
    parser.add_argument("--mix", action="store_true", help="odd messages long UCS-2 (3 parts)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="submit budget")
    parser.add_argument(
        "--upfront",
        action="store_true",
        help="aiosmpplib/naz: queue all N in the broker before starting (their README's flow; "
        "no window then) instead of feeding it --window messages ahead of the responses",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.system_id is None:
        args.system_id = f"b-{args.name}"[:15]
    try:
        result = run(args)
    except Exception as error:
        result = Result(args.name, args.messages, note=f"failed: {type(error).__name__}: {error}")
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
