"""The daemon in-process against a private redis-server and simulators on loopback.

    smsc = await start_smsc(receipt_delay_s=0.05)
    async with running_daemon(redis_url, [CarrierUnderTest("airtel-cd", smsc=smsc)]) as h:
        await h.send(to=["+243998857000"])
        await h.wait_final(["+243998857000"])

Every wait is bounded (`timeout_s`) and fails with what it saw. Status events are read
incrementally from `<prefix>:status` and kept in order, so polling a long stream stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from connector.app.daemon import Daemon
from connector.config.load import parse_config
from connector.simulator.smsc import SimulatorConfig, Smsc
from connector.streams.store import LANES, key_base

SYSTEM_ID = "lisoloo"
PASSWORD = "pw"
GROUP = "connector"
FINAL = frozenset({"delivered", "undelivered", "expired", "rejected", "failed"})
DEFAULT_MESSAGE_ID = "507f1f77bcf86cd799439011"

# Carrier defaults for tests: fast reconnects and retries, one bind.
CARRIER_DEFAULTS: Mapping[str, Any] = {
    "host": "127.0.0.1",
    "system_id": SYSTEM_ID,
    "password": PASSWORD,
    "binds": 1,
    "tps": 500,
    "window": 20,
    "reconnect_initial_s": 0.1,
    "reconnect_max_s": 0.5,
    "retry_initial_s": 0.05,
    "retry_max_s": 0.2,
}
REDIS_DEFAULTS: Mapping[str, Any] = {
    "consumer": "test-host",
    "block_ms": 50,
    "claim_idle_s": 5,
}


async def start_smsc(port: int = 0, **options: Any) -> Smsc:
    """A simulator accepting the harness's credentials, listening on loopback."""
    config = SimulatorConfig(system_id=SYSTEM_ID, password=PASSWORD, **options)
    smsc = Smsc(config)
    await smsc.start("127.0.0.1", port)
    return smsc


@dataclass
class CarrierUnderTest:
    """One configured carrier: its simulator (or just a port nobody listens on)."""

    name: str = "airtel-cd"
    smsc: Smsc | None = None
    port: int | None = None
    prefixes: Sequence[str] = ("+24397", "+24398", "+24399")
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address_port(self) -> int:
        if self.port is not None:
            return self.port
        if self.smsc is None or self.smsc.address is None:
            raise ValueError(f"carrier {self.name}: give a started simulator or a port")
        return self.smsc.address[1]


def _toml_value(value: Any) -> str:
    # JSON renders strings, numbers, booleans and flat arrays the way TOML reads them.
    return json.dumps(value)


def _table(name: str, values: Mapping[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines)


def config_text(
    redis_url: str,
    carriers: Sequence[CarrierUnderTest],
    *,
    redis: Mapping[str, Any] | None = None,
    daemon: Mapping[str, Any] | None = None,
) -> str:
    """The TOML of a daemon with these carriers (test defaults, overridden per carrier)."""
    tables = [_table("redis", {"url": redis_url, **REDIS_DEFAULTS, **(redis or {})})]
    if daemon:
        tables.append(_table("daemon", daemon))
    for carrier in carriers:
        values = {
            **CARRIER_DEFAULTS,
            "port": carrier.address_port,
            "prefixes": list(carrier.prefixes),
            **carrier.options,
        }
        tables.append(_table(f"carriers.{carrier.name}", values))
    return "\n\n".join(tables) + "\n"


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class DaemonHarness:
    """A running daemon plus a Redis client to play the gateway."""

    def __init__(
        self, daemon: Daemon, task: asyncio.Task[int], client: aioredis.Redis, prefix: str
    ) -> None:
        self.daemon = daemon
        self.task = task
        self._client = client
        self.closed = False
        self.prefix = prefix
        self.outbound = f"{prefix}:outbound"
        self.status = f"{prefix}:status"
        self.dead = f"{prefix}:dead"
        self._events: list[dict[str, Any]] = []
        self._last_id = "-"

    @property
    def redis(self) -> aioredis.Redis:
        """The gateway's Redis client (only while the harness runs: redis-py would silently
        reconnect and leak a connection after the harness closed it)."""
        if self.closed:
            raise AssertionError("the harness is closed: read Redis inside its `async with`")
        return self._client

    # ------------------------------------------------------------------ the gateway's side

    async def send(self, **fields: Any) -> str:
        """XADD one outbound entry: the quickstart message with `fields` overriding it."""
        entry: dict[str, Any] = {
            "message_id": DEFAULT_MESSAGE_ID,
            "sender_id": "MYAPP",
            "message": "Hello from Lisoloo!",
            "to": ["+243998857000"],
        }
        entry.update(fields)
        return await self.send_raw(json.dumps(entry))

    async def send_raw(self, data: str | bytes, *, field: str = "data") -> str:
        """XADD an entry given as is, in `field` (malformed entries: bad JSON, no `data`)."""
        fields: dict[Any, Any] = {field: data}
        return _str(await self.redis.xadd(self.outbound, fields))

    async def entries(
        self, stream: str, *, after: str | None = None, count: int | None = None
    ) -> list[tuple[str, dict[bytes, bytes]]]:
        """XRANGE of `stream` (entries after the id `after`, if given), ids as text."""
        reply: Any = await self.redis.xrange(
            stream, min="-" if after is None else f"({after}", count=count
        )
        return [(_str(entry_id), dict(fields)) for entry_id, fields in reply or [] if fields]

    async def stream_data(self, stream: str) -> list[dict[str, Any]]:
        """The JSON `data` of every entry of `stream` (sms:status, sms:dead, sms:mo)."""
        return [json.loads(fields[b"data"]) for _, fields in await self.entries(stream)]

    # ------------------------------------------------------------------ status events

    async def events(self) -> list[dict[str, Any]]:
        """Every status event so far, in stream order (read incrementally)."""
        for _ in range(1_000_000):
            after = None if self._last_id == "-" else self._last_id
            entries = await self.entries(self.status, after=after, count=5000)
            for entry_id, fields in entries:
                self._last_id = entry_id
                self._events.append(json.loads(fields[b"data"]))
            if len(entries) < 5000:
                break
        return list(self._events)

    async def by_recipient(self) -> dict[str, list[dict[str, Any]]]:
        """Events grouped per recipient (`to`), each group in stream order."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for event in await self.events():
            grouped.setdefault(event["to"], []).append(event)
        return grouped

    async def sequences(self) -> dict[str, list[str]]:
        """Per recipient, the statuses in order (`["processing", "sent", "delivered"]`)."""
        return {to: [e["status"] for e in evs] for to, evs in (await self.by_recipient()).items()}

    async def wait_statuses(
        self,
        recipients: Iterable[str],
        done: Callable[[list[str]], bool],
        *,
        timeout_s: float = 10.0,
        what: str = "statuses",
    ) -> dict[str, list[str]]:
        """Until `done(statuses)` holds for every one of `recipients` (bounded)."""
        wanted = list(recipients)

        async def check() -> bool:
            seqs = await self.sequences()
            return all(done(seqs.get(to, [])) for to in wanted)

        async def describe() -> str:
            seqs = await self.sequences()
            missing = {to: seqs.get(to, []) for to in wanted if not done(seqs.get(to, []))}
            shown = dict(list(missing.items())[:10])
            return f"{len(missing)} of {len(wanted)} recipients not there yet, e.g. {shown}"

        await wait_until(check, timeout_s=timeout_s, what=what, describe=describe)
        return await self.sequences()

    async def wait_final(
        self, recipients: Iterable[str], *, timeout_s: float = 10.0
    ) -> dict[str, list[str]]:
        """Until every one of `recipients` has a final status."""
        return await self.wait_statuses(
            recipients,
            lambda seq: bool(seq) and seq[-1] in FINAL,
            timeout_s=timeout_s,
            what="a final status for every recipient",
        )

    # ------------------------------------------------------------------ Redis state

    def work_streams(self, carrier: str) -> list[str]:
        return [f"{key_base(self.prefix)}:q:{carrier}:{lane}" for lane in LANES]

    async def pending(self, stream: str) -> int:
        """Entries read by the group and not acknowledged."""
        info = await self.redis.xpending(stream, GROUP)
        return int(info["pending"])

    async def outbound_pending(self) -> int:
        return await self.pending(self.outbound)

    async def work_pending(self, carrier: str) -> int:
        """Work items of `carrier` read and not acknowledged, all lanes."""
        return sum([await self.pending(stream) for stream in self.work_streams(carrier)])

    async def work_unread(self, carrier: str) -> int:
        """Work items of `carrier` the group has not read yet (lag), all lanes."""
        total = 0
        for stream in self.work_streams(carrier):
            groups: Any = await self.redis.xinfo_groups(stream)
            for group in groups:
                if _str(group["name"]) == GROUP:
                    total += int(group.get("lag") or 0)
        return total

    async def dead_letters(self) -> list[dict[str, Any]]:
        return await self.stream_data(self.dead)

    async def wait_idle(self, carriers: Iterable[str] = (), *, timeout_s: float = 10.0) -> None:
        """Until nothing is pending on the outbound stream nor on these carriers' work."""
        names = list(carriers)

        async def check() -> bool:
            if await self.outbound_pending():
                return False
            return all([await self.work_pending(name) == 0 for name in names])

        async def describe() -> str:
            work = {name: await self.work_pending(name) for name in names}
            return f"outbound pending {await self.outbound_pending()}, work pending {work}"

        await wait_until(check, timeout_s=timeout_s, what="nothing pending", describe=describe)

    # ------------------------------------------------------------------ lifecycle

    async def wait_ready(self, carriers: Iterable[str], *, timeout_s: float = 10.0) -> None:
        """Until the consumer groups exist and every bind of these carriers is up."""
        names = list(carriers)

        async def check() -> bool:
            if self.task.done():
                self.task.result()  # a daemon that died says why
                raise AssertionError("the daemon exited while starting")
            if not await self.redis.exists(self.outbound):
                return False
            groups: Any = await self.redis.xinfo_groups(self.outbound)
            if not any(_str(group["name"]) == GROUP for group in groups):
                return False
            pools = self.daemon.pools
            return all(pools[name].bound_count() == len(pools[name].transmitters) for name in names)

        await wait_until(check, timeout_s=timeout_s, what=f"daemon ready (binds of {names})")

    async def stop(self, timeout_s: float = 20.0) -> int:
        """Stop the daemon (as SIGTERM would) and return its exit code (bounded)."""
        self.daemon.stop()
        return await asyncio.wait_for(asyncio.shield(self.task), timeout_s)


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float,
    what: str = "condition",
    interval_s: float = 0.02,
    describe: Callable[[], Awaitable[str]] | None = None,
) -> None:
    """Poll `check` until it holds; AssertionError after `timeout_s` (monotonic clock)."""
    deadline = time.monotonic() + timeout_s
    for _ in range(1_000_000):
        if await check():
            return
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval_s)
    detail = await describe() if describe is not None else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}. {detail}".strip())


@contextlib.asynccontextmanager
async def running_daemon(
    redis_url: str,
    carriers: Sequence[CarrierUnderTest],
    *,
    redis: Mapping[str, Any] | None = None,
    daemon: Mapping[str, Any] | None = None,
    stop_simulators: bool = True,
    ready_timeout_s: float | None = 10.0,
) -> AsyncIterator[DaemonHarness]:
    """Build and run a daemon for `carriers`; stop it (exit 0 asserted) and their simulators.

    Unless `ready_timeout_s` is None, yields once the consumer groups exist and every bind of
    each carrier that has a simulator is up (bounded).
    """
    config = parse_config(config_text(redis_url, carriers, redis=redis, daemon=daemon))
    built = Daemon.build(config)
    task = asyncio.ensure_future(built.run())
    client = aioredis.Redis.from_url(redis_url)
    harness = DaemonHarness(built, task, client, config.redis.prefix)
    try:
        if ready_timeout_s is not None:
            live = [carrier.name for carrier in carriers if carrier.smsc is not None]
            await harness.wait_ready(live, timeout_s=ready_timeout_s)
        yield harness
    finally:
        try:
            if not task.done():
                assert await harness.stop() == 0
            elif not task.cancelled():
                task.result()  # surface a crash of the daemon
        finally:
            if stop_simulators:
                for carrier in carriers:
                    if carrier.smsc is not None:
                        await carrier.smsc.stop()
            harness.closed = True
            await client.aclose()
