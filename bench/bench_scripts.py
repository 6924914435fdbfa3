"""Redis's own CPU per message in the daemon's three hot scripts, against plain commands.

Run as `python bench/bench_scripts.py` (`--help` for the options). It starts a private
redis-server and drives `connector.streams.store.Store` directly (no daemon, no SMSC) through
what one one-part message costs Redis on the hot path, in batches as the daemon sends them:

1. intake: INTAKE with one `processing` event and one work item per entry;
2. read: XREADGROUP of the work items (COUNT = batch);
3. outcomes: OUTCOMES with one accepted part per recipient (its `sent` event);
4. receipts: RECEIPTS with one `delivered` receipt per recipient.

For each phase it prints redis-server's CPU per message (utime + stime from /proc) and the
commands the scripts ran. The baseline, measured in the same run on the same server, is the
floor of the same work without scripts: per message, one pipeline of the plain writes the
contract needs (XADD processing + XADD work item; XACK + XADD sent + HSET of the record; XADD
delivered), batched the same way. The ratio says what the scripts' bookkeeping (atomicity,
idempotency, receipt matching) costs over that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis

from bench import _harness as h
from connector.domain import contract, message_ids
from connector.domain.tracker import StatusChange
from connector.streams.store import IntakeEntry, Store, WorkItem, work_item_encoder

CARRIER = "drc-a"
META = {"customer": "acme", "campaign": "otp-2026"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Redis CPU per message in the hot scripts, against plain commands.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=50_000, help="messages per phase")
    parser.add_argument("--batch", type=int, default=128, help="ops per script call")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args(argv)


def _processing(mid: str, to: str, now: float) -> str:
    change = StatusChange(status="processing")
    return contract.status_event(
        mid, to, change, carrier=CARRIER, parts=1, at=now, meta=META
    ).decode()


def _intake_entries(store: Store, ids: list[str], now: float) -> list[IntakeEntry]:
    meta_json = h._encode_json(META).decode()
    stream = store.work_stream(CARRIER, "normal")
    out = []
    for n, entry_id in enumerate(ids):
        mid, to = f"msg-{n:08d}", f"+24381{n:07d}"
        item = WorkItem(
            e=entry_id, i=0, mid=mid, to=to, sender="Lisoloo", text=h.SHORT_TEXT,
            meta=meta_json, queued_at=now,
        )  # fmt: skip
        out.append(
            IntakeEntry(
                id=entry_id,
                n=1,
                events=[_processing(mid, to, now)],
                work=[(stream, work_item_encoder.encode(item).decode())],
            )
        )
    return out


def _smsc_id(n: int) -> str:
    return f"{0x5A000000 + n:08x}"


async def _cpu_of(server: h.RedisServer, work: Any) -> float:
    before = h.cpu_seconds(server.proc.pid)
    await work
    return h.cpu_seconds(server.proc.pid) - before


@contextlib.asynccontextmanager
async def _fresh_store(server: h.RedisServer) -> AsyncIterator[Store]:
    """A Store on an emptied server, its groups created; closed afterwards."""
    client = aioredis.Redis(host="127.0.0.1", port=server.port)
    try:
        await client.flushall()
        store = Store(client, prefix=h.PREFIX, group="connector", consumer="bench")
        await store.ensure_groups([CARRIER])
        yield store
    finally:
        await client.aclose()


async def run_scripts(server: h.RedisServer, n: int, batch: int) -> dict[str, float]:
    """The daemon's scripts: Redis CPU µs per message for each phase."""
    async with _fresh_store(server) as store:
        client = store.client
        now = time.time()
        at = contract.format_time(now)
        pipe = client.pipeline(transaction=False)
        for _ in range(n):
            pipe.xadd(store.outbound, {"data": b"{}"})
        entry_ids = [i.decode() for i in await pipe.execute()]
        # Read them as the intake does, so the outbound entries are pending (acked on `sent`).
        for _ in range(0, n, 1000):
            await store.read([store.outbound], 1000, block_ms=None)
        entries = _intake_entries(store, entry_ids, now)
        await client.config_resetstat()
        results: dict[str, float] = {}

        async def intake() -> None:
            for start in range(0, n, batch):
                await store.intake(entries[start : start + batch], at, fresh=True)

        results["intake"] = await _cpu_of(server, intake())
        work: list[tuple[str, str, bytes]] = []
        stream = store.work_stream(CARRIER, "normal")

        async def read() -> None:
            while len(work) < n:
                reply = await store.read([stream], batch, block_ms=None)
                for name, items in reply:
                    work.extend((name, wid, fields[b"w"]) for wid, fields in items)

        results["read"] = await _cpu_of(server, read())
        ops: list[dict[str, Any]] = []
        for k, (name, wid, raw) in enumerate(work):
            item = h._decode_json(raw)
            keys = list(message_ids.receipt_keys(_smsc_id(k), "as_is"))
            ops.append(
                {
                    "t": "a", "k": 0, "id": _smsc_id(k), "keys": keys, "ref": 0,
                    "e": item["e"], "i": item["i"], "n": 1, "mid": item["mid"],
                    "to": item["to"], "car": CARRIER, "meta": item["meta"], "ws": name, "w": wid,
                }
            )  # fmt: skip

        async def outcomes() -> None:
            for start in range(0, n, batch):
                await store.outcomes(ops[start : start + batch], at, time.time())

        results["outcomes"] = await _cpu_of(server, outcomes())
        receipts: list[dict[str, Any]] = []
        for k in range(n):
            rj = (
                '{"id":"' + _smsc_id(k) + '","stat":"DELIVRD","err":"000",'
                '"submit_date":"2611261200","done_date":"2611261200"}'
            )
            receipts.append(
                {
                    "car": CARRIER, "keys": list(message_ids.lookup_keys(_smsc_id(k), "as_is")),
                    "st": "delivered", "rj": rj,
                    "stat": "DELIVRD",
                }
            )  # fmt: skip

        async def receipt() -> None:
            for start in range(0, n, batch):
                await store.receipts(receipts[start : start + batch], at, time.time())

        results["receipts"] = await _cpu_of(server, receipt())
        stats: Any = await client.info("commandstats")
        results["commands"] = sum(
            int(v["calls"]) for name, v in stats.items() if name != "cmdstat_evalsha"
        )
        pending = await client.xpending(store.outbound, "connector")
        if int(pending["pending"]) != 0:
            raise RuntimeError(f"{pending['pending']} outbound entries still pending")
        length = await client.xlen(store.status)
        if length != 3 * n:
            raise RuntimeError(f"{length} status events, expected {3 * n}")
        return results


async def run_plain(server: h.RedisServer, n: int, batch: int) -> dict[str, float]:
    """The floor: the same stream writes as plain pipelined commands, no scripts."""
    async with _fresh_store(server) as store:
        client = store.client
        now = time.time()
        entries = _intake_entries(store, [f"{k + 1}-0" for k in range(n)], now)
        stream = store.work_stream(CARRIER, "normal")
        results: dict[str, float] = {}

        async def intake() -> None:
            for start in range(0, n, batch):
                pipe = client.pipeline(transaction=False)
                for entry in entries[start : start + batch]:
                    pipe.xadd(store.status, {"data": entry.events[0]}, maxlen=1_000_000)
                    pipe.xadd(stream, {"w": entry.work[0][1]})
                await pipe.execute()

        results["intake"] = await _cpu_of(server, intake())
        work: list[tuple[str, str]] = []

        async def read() -> None:
            while len(work) < n:
                reply = await store.read([stream], batch, block_ms=None)
                work.extend((name, wid) for name, items in reply for wid, _ in items)

        results["read"] = await _cpu_of(server, read())
        sent = entries[0].events[0].replace('"processing"', '"sent"')

        async def outcomes() -> None:
            for start in range(0, n, batch):
                pipe = client.pipeline(transaction=False)
                for k, (name, wid) in enumerate(work[start : start + batch], start):
                    pipe.xack(name, "connector", wid)
                    pipe.xadd(store.status, {"data": sent}, maxlen=1_000_000)
                    pipe.hset(f"{store.base}:r:{k}:0", mapping={"a0": _smsc_id(k), "st": "s"})
                await pipe.execute()

        results["outcomes"] = await _cpu_of(server, outcomes())
        delivered = entries[0].events[0].replace('"processing"', '"delivered"')

        async def receipts() -> None:
            for start in range(0, n, batch):
                pipe = client.pipeline(transaction=False)
                for _ in range(start, min(n, start + batch)):
                    pipe.xadd(store.status, {"data": delivered}, maxlen=1_000_000)
                await pipe.execute()

        results["receipts"] = await _cpu_of(server, receipts())
        return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(h.machine())
    print(
        f"bench_scripts: {args.messages:,} one-part messages per phase, {args.batch} ops per "
        f"script call or pipeline, repeat {args.repeat} (median)"
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-scripts-"))
    phases = ("intake", "read", "outcomes", "receipts")
    try:
        with h.Stack(scratch) as stack:
            server = stack.redis()
            ours: list[dict[str, float]] = []
            plain: list[dict[str, float]] = []
            for _ in range(args.repeat):
                ours.append(asyncio.run(run_scripts(server, args.messages, args.batch)))
                plain.append(asyncio.run(run_plain(server, args.messages, args.batch)))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    n = args.messages
    print(f"\n{'phase':<12} {'scripts µs/msg':>15} {'plain µs/msg':>13} {'× plain':>8}")
    print("-" * 51)
    total_ours = total_plain = 0.0
    for phase in phases:
        a = 1e6 * h.median([r[phase] for r in ours]) / n
        b = 1e6 * h.median([r[phase] for r in plain]) / n
        total_ours, total_plain = total_ours + a, total_plain + b
        print(f"{phase:<12} {a:>15.1f} {b:>13.1f} {a / b if b else 0:>7.2f}x")
    ratio = total_ours / total_plain
    print(f"{'total':<12} {total_ours:>15.1f} {total_plain:>13.1f} {ratio:>7.2f}x")
    commands = h.median([r["commands"] for r in ours]) / n
    print(f"commands inside the scripts per message: {commands:.1f}")
    print("Redis CPU = utime + stime of redis-server; 'plain' = the same writes without scripts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
