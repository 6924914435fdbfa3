"""The daemon's only door to Redis: consumer groups, batched atomic writes, key names.

Each batch of work is one round trip: one XREADGROUP to read, one script call to write
(see `scripts.py`). The gateway's streams keep the names CONTRACT.md fixes; the daemon's own
keys all carry the Redis Cluster hash tag `{<p>:outbound}`, so every one of them hashes to the
slot of the outbound stream itself, and each script (which acknowledges outbound entries) stays
in one slot:

    <p>:outbound, <p>:status, <p>:dead, <p>:mo     the contract's streams
    {<p>:outbound}:entry:<id>                       recipients of an entry still to finish
    {<p>:outbound}:q:<carrier>:<lane>               per-carrier work (lane: high/normal/low)
    {<p>:outbound}:r:<entry>:<index>                one recipient's parts and receipts
    {<p>:outbound}:rk:<carrier>:<key>, ...:held:<carrier>:<key>   receipt matching
    {<p>:outbound}:heldflag:<carrier>               exists while a receipt may be held
    {<p>:outbound}:heldn:<carrier>                  how many are held (flag 'c'; scripts.py)
    {<p>:outbound}:heldflag-since:<carrier>         the flag is known here (set once)
    {<p>:outbound}:sched, ...:mop, ...:mop:<group>  scheduled work, MO reassembly
    {<p>:outbound}:outbox:status|dead|mo            Redis Cluster only: events on their way
                                                    to the contract's streams (see relay.py)
    {<p>:outbound}:tps:<carrier>, ...:binds:<carrier>   global rate budget and bind slots

On a single server the scripts write the contract's streams directly. On a Redis Cluster
`<p>:status` lives in another slot, so the scripts append to an outbox in their own slot and
`relay.Relay` copies each event to its stream under the outbox entry's own id (in order, once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, TypeAlias

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from connector.streams import scripts
from connector.streams.resp import LeanConnection

RedisClient: TypeAlias = aioredis.Redis | RedisCluster
Lane = Literal["high", "normal", "low"]
LANES: Final[tuple[Lane, ...]] = ("high", "normal", "low")
Fields = dict[bytes, bytes]
Entry = tuple[str, Fields]

_json_encode = msgspec.json.Encoder().encode
# Between the intake's JSON texts (ARGV[9] of INTAKE): a control character, which JSON text
# never holds unescaped (RFC 8259 §7).
_TEXT_SEPARATOR: Final = "\x1e"


def key_base(prefix: str) -> str:
    """The prefix of the daemon's own keys: the outbound stream's name as a hash tag."""
    return "{" + prefix + ":outbound}"


class IntakeEntry(msgspec.Struct, omit_defaults=True):
    """What one outbound entry turns into, written atomically by the intake script."""

    id: str
    n: int  # recipients still to finish (routed to a carrier)
    events: list[str] = msgspec.field(default_factory=list)  # status events, JSON
    work: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (stream, item JSON)
    sched: list[tuple[float, str, str]] = msgspec.field(default_factory=list)  # (send_at, ...)
    dead: str | None = None  # dead letter, JSON


class WorkItem(msgspec.Struct, kw_only=True):
    """One recipient of one message, queued for one carrier (field `w` of the work stream)."""

    e: str  # outbound entry id
    i: int  # recipient index in the entry
    mid: str  # gateway message_id
    to: str  # E.164 destination
    sender: str
    text: str
    encoding: str = "auto"
    smart: bool | None = None
    receipt: bool = True
    meta: str = "null"  # the entry's meta object, raw JSON
    expires_at: float | None = None
    queued_at: float = 0.0


work_item_encoder = msgspec.json.Encoder()
work_item_decoder = msgspec.json.Decoder(WorkItem)


class Store:
    """Redis access for one daemon (one consumer name in every group)."""

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str,
        group: str,
        consumer: str,
        status_maxlen: int = 1_000_000,
        dead_maxlen: int = 100_000,
        receipt_ttl_s: int = 7 * 24 * 3600,
        held_ttl_s: int = 3600,
        mo_maxlen: int = 0,
        cluster: bool = False,
        lean: bool = False,
    ) -> None:
        self.client = client
        # `lean`: the hot script calls (intake, outcomes, receipts) and XREADGROUP go through
        # lean RESP connections of the Store's own (resp.py) when the client is a plain TCP
        # server; whoever asks for them closes them with `aclose()` (the daemon does).
        self._lean = LeanConnection.for_client(client) if lean else None
        self.prefix = prefix
        self.group = group
        self.consumer = consumer
        self.status_maxlen = status_maxlen
        self.dead_maxlen = dead_maxlen
        self.receipt_ttl_s = receipt_ttl_s
        self.held_ttl_s = held_ttl_s
        self.outbound = f"{prefix}:outbound"
        self.status = f"{prefix}:status"
        self.dead = f"{prefix}:dead"
        self.mo_stream = f"{prefix}:mo"
        self.base = key_base(prefix)
        self.cluster = cluster
        self.mo_maxlen = mo_maxlen
        # The MAXLEN the scripts trim with: an outbox is never trimmed (the relay trims the
        # contract's stream when it copies), so 0 (never) on a cluster.
        self._status_limit = 0 if cluster else status_maxlen
        self._dead_limit = 0 if cluster else dead_maxlen
        self._mo_limit = 0 if cluster else mo_maxlen
        # Where the scripts write events: the contract's streams, or (Redis Cluster) outboxes
        # in the scripts' own slot that the relay copies from, never trimmed before it does.
        if cluster:
            self.outboxes = {
                name: f"{self.base}:outbox:{name}" for name in ("status", "dead", "mo")
            }
            targets = [self.outboxes["status"], self.outboxes["dead"], self.outboxes["mo"]]
        else:
            self.outboxes = {}
            targets = [self.status, self.dead, self.mo_stream]
        self._keys = [self.outbound, *targets]
        # Told of every hot script call (intake, outcomes, receipts): its name, how many entries
        # or ops it carried, and its seconds from written to reply (the daemon feeds metrics).
        self.on_script: Callable[[str, int, float], None] | None = None
        # Blocking reads take a lean connection each (a read blocks its connection): idle
        # ones wait here for the next read; every one made is closed by aclose().
        self._idle_readers: list[LeanConnection] = []
        self._readers: set[LeanConnection] = set()
        # XREADGROUP replies as hiredis parsed them: redis-py's own parsing builds a dict per
        # entry in Python (5 % of the daemon's CPU); `_entries` does the little we need.
        client.set_response_callback("XREADGROUP", _raw_reply)
        self._intake = client.register_script(scripts.INTAKE)
        self._outcomes = client.register_script(scripts.OUTCOMES)
        self._receipts = client.register_script(scripts.RECEIPTS)
        self._mo = client.register_script(scripts.MO)
        self._mo_sweep = client.register_script(scripts.MO_SWEEP)
        self._release = client.register_script(scripts.RELEASE)

    # ------------------------------------------------------------------ keys

    def work_stream(self, carrier: str, lane: Lane) -> str:
        return f"{self.base}:q:{carrier}:{lane}"

    def recipient_key(self, entry_id: str, index: int) -> str:
        return f"{self.base}:r:{entry_id}:{index}"

    def entry_key(self, entry_id: str) -> str:
        return f"{self.base}:entry:{entry_id}"

    def relay_pairs(self) -> list[tuple[str, str, int]]:
        """(outbox, contract stream, its maxlen) for the relay; empty on a single server."""
        if not self.cluster:
            return []
        return [
            (self.outboxes["status"], self.status, self.status_maxlen),
            (self.outboxes["dead"], self.dead, self.dead_maxlen),
            (self.outboxes["mo"], self.mo_stream, self.mo_maxlen),
        ]

    # ------------------------------------------------------------------ groups

    async def ensure_group(self, stream: str) -> bool:
        """Create the group from id 0 (a backlog written before the first start is kept);
        True when this call created it, False when it existed."""
        try:
            await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
            return False
        return True

    async def ensure_groups(self, carriers: Sequence[str]) -> None:
        await self.ensure_group(self.outbound)
        for carrier in carriers:
            created = [await self.ensure_group(self.work_stream(carrier, lane)) for lane in LANES]
            await self._flag_receipts_held_before(carrier, served_before=not all(created))

    async def _flag_receipts_held_before(self, carrier: str, *, served_before: bool) -> None:
        """The first time a daemon that knows the held-receipt flag serves `carrier` on this
        Redis, set the flag for the held TTL (never shortening it): receipts held by an
        earlier version, which set no flag, are then still applied when their part is
        recorded. Later starts find the marker and change nothing.

        A carrier whose work groups this start created was never served here (every version
        creates them before it reads any work), so no receipt of it can be held: the marker
        alone, no flag, and OUTCOMES skips the held-key lookups from the first message on."""
        marker = f"{self.base}:heldflag-since:{carrier}"
        if await self.client.set(marker, "1", nx=True) and served_before:
            flag = f"{self.base}:heldflag:{carrier}"
            await self.client.set(flag, "1", nx=True, ex=self.held_ttl_s)
            await self.client.expire(flag, self.held_ttl_s, gt=True)

    # ------------------------------------------------------------------ reading

    async def read(
        self, streams: Sequence[str], count: int, *, pending: bool = False, block_ms: int | None
    ) -> list[tuple[str, list[Entry]]]:
        """XREADGROUP: this consumer's pending entries from the start (`pending`) or new ones."""
        start = "0" if pending else ">"
        return await self.read_from(dict.fromkeys(streams, start), count, block_ms=block_ms)

    async def read_pending_after(
        self, cursors: dict[str, str], count: int
    ) -> list[tuple[str, list[Entry]]]:
        """This consumer's pending entries after each stream's cursor (paging through them)."""
        return await self.read_from(cursors, count, block_ms=None)

    async def read_from(
        self, ids: dict[str, str], count: int, *, block_ms: int | None
    ) -> list[tuple[str, list[Entry]]]:
        new = any(start == ">" for start in ids.values())
        pieces: list[Any] = ["GROUP", self.group, self.consumer, "COUNT", count]
        if new and block_ms is not None:
            pieces += ["BLOCK", block_ms]
        pieces += ["STREAMS", *ids.keys(), *ids.values()]
        # execute_command, not xreadgroup(): the latter wraps each reply in redis-py's
        # streaming-lag recording, a coroutine and a pass over the entries per call.
        if self._lean is not None:
            reply = await self._lean_read(pieces, (block_ms or 0) / 1000 if new else 0.0)
        else:
            reply = await self.client.execute_command("XREADGROUP", *pieces)
        return _entries(reply)

    async def _lean_read(self, pieces: list[Any], block_s: float) -> Any:
        assert self._lean is not None
        idle = self._idle_readers
        if idle:
            connection = idle.pop()
        else:
            connection = self._lean.twin(coalesce=False)  # one request at a time
            self._readers.add(connection)
        try:
            reply = await connection.call_blocking(block_s, b"XREADGROUP", *pieces)
        except BaseException:
            # Cancelled or failed in the middle of a read: its reply may still come, so this
            # connection is never used again.
            self._readers.discard(connection)
            await connection.aclose()
            raise
        idle.append(connection)
        return reply

    async def claim(self, stream: str, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries idle too long on other consumers (XAUTOCLAIM)."""
        reply = await self.client.xautoclaim(
            stream, self.group, self.consumer, min_idle_ms, start_id="0-0", count=count
        )
        return [(_str(i), f) for i, f in reply[1] if f is not None]

    async def recipient_state(self, entry_id: str, index: int) -> dict[str, str]:
        raw = await self.client.hgetall(self.recipient_key(entry_id, index))
        return {_str(k): _str(v) for k, v in raw.items()}

    async def backlog(self, stream: str) -> tuple[int | None, int]:
        """(lag, pending) of the group on `stream`: entries not yet read, read and not acked."""
        groups: Any = await self.client.xinfo_groups(stream)
        for group in groups:
            name = group.get("name")
            if _str(name) == self.group:
                lag = group.get("lag")
                return (None if lag is None else int(lag)), int(group.get("pending") or 0)
        return None, 0

    async def pending_count(self, stream: str) -> int:
        info = await self.client.xpending(stream, self.group)
        return int(info["pending"])

    # ------------------------------------------------------------------ writing

    async def _call(
        self,
        name: str,
        script: AsyncScript,
        batch: Sequence[Any],
        at: str,
        extra: int,
        now: float = 0.0,
        flag: int = 0,
        texts: str | None = None,
        urgent: bool = False,
    ) -> Any:
        """One script call: KEYS = outbound + event targets; ARGV = key base, group, at,
        status maxlen, JSON batch, `extra`, now, `flag`[, `texts`]. `urgent`: see
        `LeanConnection.call`."""
        batch_json = _json_encode(batch if isinstance(batch, list) else list(batch))
        args: list[bytes | str | int | float] = [
            self.base,
            self.group,
            at,
            self._status_limit,
            batch_json,
            extra,
            repr(now),
            flag,
        ]
        if texts is not None:
            args.append(texts)
        started = time.perf_counter()
        if self._lean is not None:
            reply = await self._lean.evalsha(
                script.sha, script.script, self._keys, args, urgent=urgent
            )
        else:
            reply = await script(keys=self._keys, args=args)
        if self.on_script is not None:
            self.on_script(name, len(batch), time.perf_counter() - started)
        return reply

    @property
    def lean(self) -> bool:
        """Whether the hot script calls go through the lean connection (resp.py)."""
        return self._lean is not None

    async def aclose(self) -> None:
        """Close the lean connections, if any (the client is its owner's to close)."""
        if self._lean is not None:
            await self._lean.aclose()
        for connection in self._readers:
            await connection.aclose()
        self._readers.clear()
        self._idle_readers.clear()

    async def intake(
        self, entries: Sequence[IntakeEntry], at: str, *, fresh: bool = False
    ) -> list[int]:
        """Write a batch of taken-in entries; 0 in the result marks an entry seen before.

        `fresh`: every entry came from a read of new entries (XREADGROUP `>`), so none can
        have been taken in or acknowledged before and the script skips those checks.
        """
        if not entries:
            return []
        # The JSON texts travel joined by \x1e beside the batch, not as strings inside it:
        # the script takes them as they are instead of undoing a second layer of escaping.
        shape: list[tuple[Any, ...]] = []
        texts: list[str] = []
        for entry in entries:
            if entry.dead is not None:
                texts.append(entry.dead)
            texts += entry.events
            work = entry.work
            if len(work) == 1:
                streams = [work[0][0]]
                texts.append(work[0][1])
            else:
                streams = [stream for stream, _ in work]
                texts += [item for _, item in work]
            dead = 0 if entry.dead is None else 1
            shape.append((entry.id, entry.n, len(entry.events), streams, dead, entry.sched))
        joined = _TEXT_SEPARATOR.join(texts)
        if texts and joined.count(_TEXT_SEPARATOR) != len(texts) - 1:
            raise ValueError("an intake text holds \\x1e: it is not JSON")
        # Urgent: its work items are what the dispatchers wait for, and no other call of the
        # same turn would join it (outcome and receipt calls come from reads of their own).
        reply = await self._call(
            "intake",
            self._intake,
            shape,
            at,
            self._dead_limit,
            flag=int(fresh),
            texts=joined,
            urgent=True,
        )
        return [int(x) for x in reply]

    async def outcomes(
        self, ops: Sequence[dict[str, Any]], at: str, now: float = 0.0
    ) -> tuple[list[int], list[str]]:
        """Record accepted / rejected / failed parts; emit the status changes they cause.

        Each op is a dict without None values (Lua would see cjson.null, which is truthy):
        t ('a' accepted, 'r' rejected, 'f' failed), e, i, k, n, mid, to, car, meta, and
        for 'a' id and keys (receipt keys), ref; for 'r'/'f' code, smpp, desc, status; ws/w
        the work stream and item id to acknowledge. Returns 1/0 per op (recorded or not) and
        the statuses of the events the batch emitted.
        """
        if not ops:
            return [], []
        out, emitted, _ = await self._call(
            "outcomes", self._outcomes, ops, at, self.receipt_ttl_s, now
        )
        return [int(x) for x in out], [_str(x) for x in emitted]

    async def receipts(
        self, ops: Sequence[dict[str, Any]], at: str, now: float = 0.0
    ) -> tuple[list[str], list[str], list[float]]:
        """Match final receipts: 'matched', 'duplicate', 'held' or 'unmatched' for each, the
        statuses of the events the batch emitted, and `sent` → final seconds of each final.

        Each op: car, keys (lookup keys), and either rec (`{"s":<status>,"r":<receipt>}`) or
        st (status) and rj (receipt JSON), from which the script builds rec; st, rj and stat
        (the receipt's stat) let it finish a one-part message without decoding rec.
        """
        if not ops:
            return [], [], []
        out, emitted, sent_at = await self._call(
            "receipts", self._receipts, ops, at, self.held_ttl_s, now
        )
        return (
            [_str(x) for x in out],
            [_str(x) for x in emitted],
            [now - float(x) for x in sent_at],  # the script returns when each was `sent`
        )

    async def mo(
        self, ops: Sequence[dict[str, Any]], at: str, *, timeout_s: float, now: float
    ) -> list[int]:
        """Write MO messages and parts: 1 stored, 2 completed a concatenated message."""
        if not ops:
            return []
        args: list[bytes | str | int | float] = [
            self.base, self.group, at, self._status_limit, _json_encode(list(ops)),
            self._mo_limit, timeout_s, now,
        ]  # fmt: skip
        return [int(x) for x in await self._mo(keys=self._keys, args=args)]

    async def sweep_mo(self, at: str, *, now: float) -> int:
        """Write concatenated MO messages whose reassembly timed out (complete=false)."""
        args: list[bytes | str | int | float] = [
            self.base, self.group, at, self._status_limit, "[]", self._mo_limit, 0, now,
        ]  # fmt: skip
        return int(await self._mo_sweep(keys=self._keys, args=args))

    async def release_scheduled(self, now: float, limit: int = 500) -> int:
        """Move scheduled work whose `send_at` has come to its work stream; how many moved."""
        args: list[bytes | str | int | float] = [
            self.base, self.group, "", self._status_limit, "[]", now, limit
        ]  # fmt: skip
        return int(await self._release(keys=self._keys, args=args))

    async def ack(self, stream: str, ids: Sequence[str]) -> None:
        if ids:
            await self.client.xack(stream, self.group, *ids)

    async def add_dead(self, dead_letter: bytes) -> None:
        if self.cluster:  # through the outbox, so the relay keeps the stream's ids in order
            await self.client.xadd(self.outboxes["dead"], {"data": dead_letter})
        else:
            await self.client.xadd(
                self.dead, {"data": dead_letter}, maxlen=self.dead_maxlen or None, approximate=True
            )


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _raw_reply(response: Any, **_options: Any) -> Any:
    return response


def _fields(flat: list[bytes]) -> Fields:
    if len(flat) == 2:  # the common case: one field (`data`, or `w` in a work stream)
        return {flat[0]: flat[1]}
    return dict(zip(flat[::2], flat[1::2], strict=False))


def _entries(reply: Any) -> list[tuple[str, list[Entry]]]:
    """XREADGROUP's raw reply (RESP2 lists; RESP3 a map) as (stream, [(id, fields)])."""
    out: list[tuple[str, list[Entry]]] = []
    if not reply:
        return out
    pairs = reply.items() if isinstance(reply, dict) else reply
    for stream, items in pairs:
        entries: list[Entry] = []
        for item in items:
            entry_id, flat = item[0], item[1]
            if flat is None:  # deleted while pending
                continue
            entries.append((_str(entry_id), flat if isinstance(flat, dict) else _fields(flat)))
        out.append((_str(stream), entries))
    return out
