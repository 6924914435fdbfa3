"""The SMSC simulator's own ceiling: submit_sm answered per second on its one core.

Run as `python bench/bench_simulator.py` (`--help` for the options). The simulator runs as its
own process (`python -m connector.cli simulate --no-receipts`, one uvloop thread); this
process is a deliberately cheap pipelined sender: raw blocking sockets, PDUs encoded once with
our codec (`connector.smpp.codec`) and only their sequence numbers patched, `--batch` PDUs per
`sendall`, at most `--window` awaiting their submit_sm_resp per connection, responses counted
from their 16-octet headers. With `--receipts` the simulator sends a receipt per submit too,
and the sender binds as a transceiver and answers each deliver_sm with a pre-built
deliver_sm_resp.

It prints submits/s, the simulator's CPU time (utime + stime of /proc/<pid>/stat) over the run,
its share of one core, and CPU µs per submit, plus the sender's own CPU share: when the
simulator sits near 100% of a core, the figure is its ceiling. Compare it with the daemon's
msg/s in bench_end_to_end: the simulator must never be the bottleneck.
"""

from __future__ import annotations

import argparse
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h
from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p

_HEADER = struct.Struct(">IIII")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Submits per second the SMSC simulator answers on one core.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="submit_sm to send")
    parser.add_argument("--connections", type=int, default=1, help="binds (sockets)")
    parser.add_argument("--window", type=int, default=2000, help="outstanding per connection")
    parser.add_argument("--batch", type=int, default=100, help="PDUs per write")
    parser.add_argument("--receipts", action="store_true", help="simulator sends receipts too")
    parser.add_argument("--seconds", type=float, default=120.0, help="give up after this")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    if min(args.messages, args.connections, args.window, args.batch) < 1:
        parser.error("every count must be at least 1")
    if args.batch > args.window:
        parser.error("--batch must not exceed --window")
    return args


def submit_frames(n: int, first_seq: int, receipts: bool) -> list[bytes]:
    template = codec.encode(
        p.SubmitSm(
            sequence_number=1,
            source_addr_ton=5,
            source_addr=h.SENDER,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=h.recipient(0, 1).lstrip("+"),
            registered_delivery=1 if receipts else 0,
            short_message=h.SHORT_TEXT.encode("ascii"),
        )
    )
    head, tail = template[:12], template[16:]
    return [head + (first_seq + i).to_bytes(4, "big") + tail for i in range(n)]


@dataclass
class Conn:
    sock: socket.socket
    batches: list[bytes]
    sizes: list[int]
    next_batch: int = 0
    sent: int = 0
    answered: int = 0
    receipts: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def total(self) -> int:
        return sum(self.sizes)


def bind(host: str, port: int, receipts: bool) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    kind = p.BindTransceiver if receipts else p.BindTransmitter
    sock.sendall(codec.encode(kind(sequence_number=1, system_id="bench-sim", password="pw")))
    data = b""
    for _ in range(100):
        data += sock.recv(4096)
        if len(data) >= 16 and len(data) >= int.from_bytes(data[:4], "big"):
            break
    _, command_id, status, _ = _HEADER.unpack_from(data)
    if status != c.ESME_ROK or not command_id & 0x80000000:
        raise RuntimeError(f"bind failed: command 0x{command_id:08x} status {status}")
    return sock


def consume(conn: Conn) -> None:
    """Count the complete frames in the buffer; answer deliver_sm (receipts)."""
    buf = conn.buffer
    pos = 0
    end = len(buf)
    answers: list[bytes] = []
    unpack = _HEADER.unpack_from
    while end - pos >= 16:
        length, command_id, status, seq = unpack(buf, pos)
        if end - pos < length:
            break
        if command_id == c.SUBMIT_SM_RESP:
            if status != c.ESME_ROK:
                raise RuntimeError(f"submit_sm_resp status {status}")
            conn.answered += 1
        elif command_id == c.DELIVER_SM:
            conn.receipts += 1
            answers.append(_HEADER.pack(17, c.DELIVER_SM_RESP, 0, seq) + b"\0")
        pos += length
    del buf[:pos]
    if answers:
        conn.sock.sendall(b"".join(answers))


def run(args: argparse.Namespace, host: str, port: int) -> tuple[int, int, float]:
    """Send everything; returns (answered, receipts, wall seconds first send -> last resp)."""
    conns: list[Conn] = []
    per = [len(range(k, args.messages, args.connections)) for k in range(args.connections)]
    seq = 2
    for k in range(args.connections):
        frames = submit_frames(per[k], seq, args.receipts)
        seq += per[k]
        batches = [b"".join(frames[i : i + args.batch]) for i in range(0, per[k], args.batch)]
        sizes = [len(frames[i : i + args.batch]) for i in range(0, per[k], args.batch)]
        conns.append(Conn(bind(host, port, args.receipts), batches, sizes))
    selector = selectors.DefaultSelector()
    for conn in conns:
        conn.sock.setblocking(True)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    total = sum(per)
    began = time.perf_counter()
    deadline = began + args.seconds
    last = began
    for _ in range(100_000_000):
        answered = sum(conn.answered for conn in conns)
        receipts_due = args.receipts and sum(conn.receipts for conn in conns) < total
        if answered >= total and not receipts_due:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"gave up after {args.seconds:g} s: {answered} of {total}")
        for conn in conns:
            while (
                conn.next_batch < len(conn.batches)
                and conn.sent - conn.answered + conn.sizes[conn.next_batch] <= args.window
            ):
                conn.sock.sendall(conn.batches[conn.next_batch])
                conn.sent += conn.sizes[conn.next_batch]
                conn.next_batch += 1
        for key, _ in selector.select(timeout=1.0):
            conn = key.data
            chunk = conn.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the simulator closed the connection")
            conn.buffer += chunk
            before = conn.answered
            consume(conn)
            if conn.answered != before:
                last = time.perf_counter()
    receipts = sum(conn.receipts for conn in conns)
    if args.receipts:
        last = time.perf_counter()
    for conn in conns:
        selector.unregister(conn.sock)
        conn.sock.close()
    return sum(conn.answered for conn in conns), receipts, last - began


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {h.machine()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-simulator-"))
    with h.Stack(scratch) as stack:
        simulator = stack.simulator(*([] if args.receipts else ["--no-receipts"]))
        cpu0 = h.cpu_seconds(simulator.proc.pid)
        mine0 = time.process_time()
        answered, receipts, wall = run(args, simulator.host, simulator.port)
        sim_cpu = h.cpu_seconds(simulator.proc.pid) - cpu0
        mine = time.process_time() - mine0
        peak = h.memory_kib(simulator.proc.pid, "VmHWM")
    rate = answered / wall
    print(
        f"bench_simulator: {answered:,} submit_sm over {args.connections} connection(s), "
        f"window {args.window}, {args.batch} PDUs per write"
        f"{f', {receipts:,} receipts answered' if args.receipts else ', no receipts'}"
    )
    print()
    header = (
        f"{'submits/s':>10} {'wall s':>7} {'sim CPU s':>10} {'sim % core':>10} "
        f"{'sim µs/submit':>14} {'sim peak RSS':>13} {'sender % core':>14}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{rate:>10,.0f} {wall:>7.2f} {sim_cpu:>10.2f} {100 * sim_cpu / wall:>10.0f} "
        f"{1e6 * sim_cpu / answered:>14.1f} {peak / 1024:>9.1f} MiB {100 * mine / wall:>14.0f}"
    )
    if args.keep:
        print(f"process output kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
