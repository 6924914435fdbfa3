"""One carrier's dispatch loop: its Redis work queue → paced submits → outcomes and receipts.

Per carrier: one reader task fetches work items (bounded prefetch, so a carrier that is down
or slow keeps its backlog in Redis, not here), parts wait in priority lanes, and a plain
callback (`pump`) sends as many as the window, the pacer and the throttle pause allow. Each
submit_sm_resp arrives as a future callback; outcomes and receipts are written in batches,
one script call per batch. No task per message or per part.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

import msgspec
from redis.exceptions import RedisError

from connector.app.inbound import Inbound
from connector.carrier.client import DeferredAnswer
from connector.carrier.pool import BindPool
from connector.domain import message_ids
from connector.domain.contract import (
    destination_address,
    format_time,
    source_address,
    validity_period,
)
from connector.domain.receipts import ReceiptParseError, is_receipt, parse_receipt
from connector.flow.adaptive import AdaptiveRate
from connector.flow.backoff import RetrySchedule
from connector.flow.pacer import Pacer
from connector.flow.permits import (
    GrantTiming,
    PermitReservoir,
    budget_rate,
    probe_size,
    slack_for,
)
from connector.flow.priority import PriorityLanes
from connector.observe.metrics import CarrierMetrics, Metrics
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.streams.budget import RateBudget
from connector.streams.store import LANES, Lane, Store, WorkItem, work_item_decoder
from connector.text import Plan, ReferenceAllocator, TextError, plan
from connector.transport.protocol import ConnectionClosed, ResponseTimeout

_log = logging.getLogger(__name__)

# SMPP statuses worth retrying: the carrier may take the part later. Everything else refuses
# the part for good (`rejected`, `smsc_rejected`), as Kannel does.
THROTTLING: Final = frozenset({c.ESME_RTHROTTLED, c.ESME_RMSGQFUL})
TEMPORARY: Final = frozenset(
    {
        c.ESME_RSYSERR,
        c.ESME_RINVBNDSTS,
        c.ESME_RSUBMITFAIL,
        c.ESME_RX_T_APPN,
        c.ESME_RDELIVERYFAILURE,
        c.ESME_RUNKNOWNERR,
    }
)
_rec_encode = msgspec.json.Encoder().encode


SCRIPT_BATCH: Final = 128
"""Most outcomes or receipts one script call writes. Redis runs one script at a time, so a
call of hundreds of ops (tens of ms) would hold up every other reader and writer; calls of
this size keep the batching gain and bound that stall to a few milliseconds."""
OUTCOME_BACKLOG: Final = 4 * SCRIPT_BATCH
"""Most work items kept while their outcome is on its way to Redis (every part accepted, or a
final status decided), or the carrier's prefetch if that is larger (a large window settles
more at once): beyond it the carrier reads no more work until Redis catches up. They
do not count against the prefetch, which bounds the work taken and not yet sent: counted
there, the items of two outcome calls in flight (2 × SCRIPT_BATCH) took the room of the
work the window needed, and a small window emptied while they were written."""
OUTCOME_CALLS: Final = 2
"""Outcome script calls on their way at once: ops that come while one call is out go in a
second call without waiting for the first's reply, so their `sent` events are not held up by
a round trip. The calls share one connection: Redis runs them in the order they were made.
Through redis-py's pool (TLS, a Unix socket, a cluster) two calls could take two connections
and overtake each other: one call at a time there."""
RECEIPT_CALLS: Final = 2
"""Receipt script calls on their way at once, for the same reason and on the same terms as
OUTCOME_CALLS. A carrier allows only so many deliver_sm without a response (its window), and
each waits for its call: with one call at a time, the receipts that came during a call's
round trip, often the rest of the carrier's window, waited for it before theirs could go."""


@dataclass(frozen=True, slots=True)
class CarrierSettings:
    """The per-carrier knobs the dispatch path reads (mapped from the carrier's config)."""

    name: str
    tps: float
    max_parts: int = 10
    smart_encoding: bool = False
    receipt_id: str = "auto"
    gsm7_form: str = "unpacked"
    concat: str = "udh"
    reference_16bit: bool = False
    registered_delivery: int = 1
    service_type: str = ""
    retry_deadline_s: float = 600.0
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    throttle_backoff_initial_s: float = 0.25
    throttle_backoff_max_s: float = 10.0
    min_tps_fraction: float = 0.1
    prefetch: int = 256
    mo_gsm7_packed: bool = False
    claim_idle_s: float = 60.0
    block_ms: int = 1000


@dataclass(slots=True)
class _Item:
    """One work item (one recipient of one message) in flight on this carrier."""

    item: WorkItem
    stream: str
    work_id: str
    lane: Lane
    parts: int
    reference: int
    first_at: float
    remaining: int = 0  # parts not yet accepted
    done: bool = False  # a final outcome was decided; queued parts are dropped
    pending_ops: int = 0
    settled: bool = False  # nothing more to send (every part accepted, or done): see _settle


@dataclass(slots=True)
class _Writers:
    """The writer tasks of one kind of script call (outcomes, receipts): at most `limit` run,
    and a new one starts only when every running one is waiting on its call."""

    limit: int
    running: int = 0
    idle: int = 0  # running and not waiting on a call: they take the ops that come

    def start(self) -> bool:
        """Whether to start a writer for ops just queued (counted as started if so)."""
        if self.idle == 0 and self.running < self.limit:
            self.running += 1
            self.idle += 1
            return True
        return False

    def stopped(self) -> None:
        self.running -= 1
        self.idle -= 1


@dataclass(slots=True)
class _Part:
    owner: _Item
    k: int
    pdu: p.SubmitSm
    attempt: int = 0
    submitted_at: float = 0.0


@dataclass(slots=True)
class DispatchStats:
    submitted: int = 0
    accepted: int = 0
    throttled: int = 0
    temporary: int = 0
    permanent: int = 0
    timeouts: int = 0
    retries: int = 0
    receipts: dict[str, int] = field(default_factory=dict)


class CarrierDispatcher:
    """Everything one carrier's traffic goes through on this host."""

    def __init__(
        self,
        settings: CarrierSettings,
        store: Store,
        pool: BindPool,
        *,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] = time.time,
        metrics: CarrierMetrics | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        # tps_scope = "global": every send also needs a permit from the budget shared in Redis.
        self.budget = budget
        self.permits = PermitReservoir(slack_for(settings.tps)) if budget is not None else None
        self._granting = False
        self._grant_not_before = 0.0
        self.grant_timing = GrantTiming()
        self._expired_before = 0  # permits expired in reservoirs replaced by a reload
        self.permits_expired_reported = 0  # what the metrics sampler has counted so far
        self.store = store
        self.pool = pool
        self._loop = asyncio.get_running_loop()
        # time.monotonic(), not loop.time(): uvloop's loop.time() is the same clock cached in
        # whole milliseconds, up to 1 ms behind, which would place a global-budget permit up to
        # 1 ms before its slot and stamp a send up to 1 ms before it leaves. A timer set on
        # loop.time() for one of these times fires no earlier than it.
        self._clock = clock or time.monotonic
        self._wall = wall
        self.streams = [store.work_stream(self.name, lane) for lane in LANES]
        self._lanes: dict[Lane, collections.deque[_Part]] = {
            lane: collections.deque() for lane in LANES
        }
        self._items: dict[str, _Item] = {}
        self._settled = 0  # items in _items with nothing more to send (see _settle)
        self._room = asyncio.Event()
        self._ops: list[dict[str, Any]] = []
        self._op_owners: list[_Item | None] = []
        # (op, stat, answer, when the deliver_sm arrived)
        self._receipt_ops: list[tuple[dict[str, Any], str, DeferredAnswer, float]] = []
        self._outcome_writers = _Writers(OUTCOME_CALLS if store.lean else 1)
        self._receipt_writers = _Writers(RECEIPT_CALLS if store.lean else 1)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._priority = PriorityLanes()
        self.pacer = Pacer(settings.tps)
        self.adaptive = AdaptiveRate(
            settings.tps,
            min_fraction=settings.min_tps_fraction,
            throttle_backoff_initial_s=settings.throttle_backoff_initial_s,
            throttle_backoff_max_s=settings.throttle_backoff_max_s,
        )
        self.retry = RetrySchedule(
            settings.retry_deadline_s, settings.retry_initial_s, settings.retry_max_s
        )
        self.references = ReferenceAllocator(ref_16bit=settings.reference_16bit)
        # The plan of the last one-part item, by its entry and text: the recipients of a bulk
        # entry (up to 1 000) come one after another with the same text, and a one-part plan
        # does not depend on the reference. Dropped on reload (the carrier's options change).
        self._last_plan: tuple[tuple[str, str, str, bool], Plan] | None = None
        self.stats = DispatchStats()
        self.metrics = metrics or Metrics(process_metrics=False).for_carrier(settings.name)
        self.redis_errors: Callable[[str], None] = lambda _operation: None
        self._reader: asyncio.Task[None] | None = None
        self._draining = False
        self.inbound: Inbound | None = None
        self._high_cap = max(16, settings.prefetch // 4)
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._running = True
        self._reader = asyncio.ensure_future(self._read_loop())

    async def stop_reading(self) -> None:
        """Shutdown: read nothing more and submit nothing new; what is queued here stays
        pending in Redis for the next start, what is in flight may still finish (`drain`)."""
        self._running = False
        self._draining = True
        self._room.set()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def in_flight(self) -> int:
        """Work items taken from Redis and not yet finished."""
        return len(self._items)

    @property
    def queued_parts(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    async def drain(self, timeout_s: float) -> None:
        """Wait until submits awaiting a response are answered and outcomes are written."""
        deadline = self._clock() + timeout_s
        for _ in range(100_000):
            if (
                self.pool.window_in_use() == 0
                and not self._ops
                and self._outcome_writers.running == 0
            ):
                return
            if self._clock() >= deadline:
                return
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ reading work

    async def _read_loop(self) -> None:
        backoff = 0.05
        replaying = True
        cursors = dict.fromkeys(self.streams, "0-0")
        last_claim = self._clock()
        while self._running:
            try:
                if replaying:
                    # Our own pending items first, paged once: a restart finishes what it
                    # left (CONTRACT §4).
                    reply = await self.store.read_pending_after(cursors, 256)
                    batch = [(s, e) for s, entries in reply for e in entries]
                    if not batch:
                        replaying = False
                        continue
                    for stream, entries in reply:
                        if entries:
                            cursors[stream] = entries[-1][0]
                    await self._take(batch, replay=True)
                    continue
                room = self._room_for_work()
                if room <= 0:
                    # Full of normal/low work: `high` may still overflow the prefetch by a
                    # bounded amount, so a one-time password never waits behind a backlog.
                    self._room.clear()  # before looking again, so no wake-up is lost
                    if self._room_for_work() > 0:
                        continue
                    high = sum(1 for owner in self._items.values() if owner.lane == "high")
                    high_room = self._high_cap - high
                    if high_room > 0:  # a quick look, never a blocking read here
                        reply = await self.store.read([self.streams[0]], high_room, block_ms=None)
                        batch = [(s, e) for s, entries in reply for e in entries]
                        if batch:
                            await self._take(batch, replay=False)
                            continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), 0.05)
                    continue
                now = self._clock()
                if now - last_claim >= max(1.0, self.settings.claim_idle_s / 2):
                    last_claim = now
                    await self._claim_abandoned(room)
                reply = await self.store.read(
                    self.streams, min(room, 256), block_ms=self.settings.block_ms
                )
                batch = [(s, e) for s, entries in reply for e in entries]
                if batch:
                    await self._take(batch, replay=False)
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                _log.warning(
                    "carrier %s: reading work failed: %s",
                    self.name,
                    error,
                    extra={"carrier": self.name},
                )
                self.redis_errors("read_work")
                replaying = True  # items read but not taken in are pending here: again
                cursors = dict.fromkeys(self.streams, "0-0")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _claim_abandoned(self, room: int) -> None:
        min_idle_ms = int(self.settings.claim_idle_s * 1000)
        for stream in self.streams:
            claimed = await self.store.claim(stream, min_idle_ms, min(room, 100))
            fresh = [(stream, e) for e in claimed if e[0] not in self._items]
            if fresh:
                await self._take(fresh, replay=True)

    async def _take(
        self,
        batch: list[tuple[str, tuple[str, dict[bytes, bytes]]]],
        *,
        replay: bool,
    ) -> None:
        now = self._clock()
        for stream, (work_id, fields) in batch:
            if work_id in self._items:
                continue
            lane: Lane = stream.rsplit(":", 1)[1]  # type: ignore[assignment]
            try:
                item = work_item_decoder.decode(fields[b"w"])
            except (KeyError, msgspec.DecodeError) as error:
                _log.error(
                    "carrier %s: unreadable work item %s dropped: %s",
                    self.name,
                    work_id,
                    error,
                    extra={"carrier": self.name},
                )
                await self.store.ack(stream, [work_id])
                continue
            state: dict[str, str] = {}
            if replay:
                state = await self.store.recipient_state(item.e, item.i)
                if state.get("st") in ("s", "f"):
                    await self.store.ack(stream, [work_id])
                    continue
            self._admit(item, stream, work_id, lane, state, now)
        self.pump()  # (writes what it sends at once: not at the loop's next turn)

    def _admit(
        self,
        item: WorkItem,
        stream: str,
        work_id: str,
        lane: Lane,
        state: dict[str, str],
        now: float,
    ) -> None:
        s = self.settings
        if item.expires_at is not None and self._wall() >= item.expires_at:
            owner = _Item(item, stream, work_id, lane, 1, 0, now)
            self._items[work_id] = owner
            self._settle(owner, done=True)
            self._queue_op(
                owner,
                {
                    "t": "f",
                    "k": 0,
                    "status": "expired",
                    "code": "expired",
                    "desc": "expires_at passed before submission",
                },
            )
            return
        reference = int(state["ref"]) if state.get("ref") else self.references.allocate(item.to)
        smart = s.smart_encoding if item.smart is None else item.smart
        key = (item.e, item.text, item.encoding, smart)
        last = self._last_plan
        try:
            if last is not None and last[0] == key:
                message_plan = last[1]
            else:
                message_plan = plan(
                    item.text,
                    encoding=item.encoding,  # type: ignore[arg-type]
                    smart=smart,
                    concat=s.concat,  # type: ignore[arg-type]
                    max_parts=s.max_parts,
                    gsm7_form=s.gsm7_form,  # type: ignore[arg-type]
                    reference=reference,
                    reference_16bit=s.reference_16bit,
                )
                if len(message_plan.parts) == 1:
                    self._last_plan = (key, message_plan)
        except TextError as error:
            owner = _Item(item, stream, work_id, lane, 1, reference, now)
            self._items[work_id] = owner
            self._settle(owner, done=True)
            self._queue_op(owner, {"t": "r", "k": 0, "code": error.code, "desc": str(error)})
            return
        parts = message_plan.parts
        owner = _Item(item, stream, work_id, lane, len(parts), reference, now)
        self._items[work_id] = owner
        ton, npi, source = source_address(item.sender)
        dton, dnpi, destination = destination_address(item.to)
        validity = (
            validity_period(item.expires_at, self._wall()) or ""
            if item.expires_at is not None
            else ""
        )
        registered = s.registered_delivery if item.receipt else 0
        queue = self._lanes[lane]
        for k, part in enumerate(parts):
            if f"a{k}" in state:
                continue
            owner.remaining += 1
            queue.append(
                _Part(
                    owner,
                    k,
                    p.SubmitSm(
                        service_type=s.service_type,
                        source_addr_ton=ton,
                        source_addr_npi=npi,
                        source_addr=source,
                        dest_addr_ton=dton,
                        dest_addr_npi=dnpi,
                        destination_addr=destination,
                        esm_class=message_plan.esm_class,
                        validity_period=validity,
                        registered_delivery=registered,
                        data_coding=message_plan.data_coding,
                        short_message=part.short_message,
                        tlvs=dict(part.tlvs),
                    ),
                )
            )
        if owner.remaining == 0:  # every part was accepted before a restart
            self._forget(owner)
            self._spawn(self.store.ack(stream, [work_id]))

    # ------------------------------------------------------------------ sending

    def _requeue(self, part: _Part, *, front: bool) -> None:
        queue = self._lanes[part.owner.lane]
        if front:
            queue.appendleft(part)
        else:
            queue.append(part)

    def pump(self) -> None:
        """Send what the window, the pace and any throttle pause allow right now."""
        if self._draining:
            return
        now = self._clock()
        wall = self._wall()
        adaptive = self.adaptive
        if adaptive.paused(now):
            self._wake_at(adaptive.paused_until)
            return
        rate = adaptive.rate(now)
        if rate != self.pacer.rate:
            self.pacer.set_rate(rate, now)
        sent = self._send_due(now, wall)
        if sent:
            self.pool.rotate()
            # Written now, not at the loop turn's end, and the pace's guard counts these sends
            # from this moment: what the carrier sees, no more than floor(tps) + 1 in any
            # second, holds for when they leave, not only for when they were granted.
            self.pool.flush()
            self.pacer.departed(sent, self._clock())
            self.stats.submitted += sent
            self.metrics.parts_sent.inc(sent)

    def now(self) -> float:
        """This dispatcher's clock (monotonic seconds): the time its pace and throttling use."""
        return self._clock()

    def _send_due(self, now: float, wall: float) -> int:
        """Submit the queued parts the window, the pace and the permits allow at `now`; returns
        how many were submitted."""
        pool = self.pool
        pacer = self.pacer
        lanes = self._lanes
        high, normal, low = lanes["high"], lanes["normal"], lanes["low"]
        sent = 0
        for _ in range(100_000):
            # The lane whose turn it is. Its part is looked at, not taken: the turn is spent
            # only when the part is sent, so a part the window, the permits or the pace hold
            # back keeps its lane's turn (picking it anyway gave low twice or none of its share
            # when every paced wake-up sent one part and held back the next).
            contended = bool(normal) and bool(low) and not high
            if high:
                queue = high
            elif contended:
                queue = normal if self._priority.peek(False, True, True) == "normal" else low
            else:
                queue = normal or low
                if not queue:
                    return sent
            part = queue[0]
            owner = part.owner
            if owner.done:
                queue.popleft()
                continue
            expires = owner.item.expires_at
            if expires is not None and wall >= expires:
                queue.popleft()
                self._expire(owner)  # it waited here too long: never send it late
                continue
            client = pool.pick()
            if client is None:
                return sent
            permits = self.permits
            if permits is not None and not permits.ready(now):
                self._want_permits(now)
                return sent
            if not pacer.try_acquire(now):
                self._wake_at(pacer.next_send_at(now))
                return sent
            if permits is not None:
                permits.take(now)
                if len(permits) <= self._permit_low_water():
                    self._want_permits(now)
            part.submitted_at = now
            try:
                client.submit_with(part.pdu, partial(self._on_response, part))
            except ConnectionClosed:
                return sent  # the part stays first in line; the pool will say when a bind is back
            queue.popleft()
            if contended:
                self._priority.pick(False, True, True)
            sent += 1
        return sent

    # ------------------------------------------------------------------ global budget

    def permits_expired(self) -> int:
        """Global-budget permits dropped unused, since start (monotonic across reloads)."""
        return self._expired_before + (self.permits.expired if self.permits is not None else 0)

    def set_budget(self, budget: RateBudget | None) -> None:
        """A reload changed `tps_scope`."""
        if self.permits is not None:
            self._expired_before += self.permits.expired
        self.budget = budget
        self.permits = PermitReservoir(slack_for(self.settings.tps)) if budget is not None else None
        self.pump()

    def _permit_batch(self) -> int:
        """Permits asked for at once: about 100 ms of the shared rate."""
        return max(1, int(budget_rate(self.settings.tps) * 0.1))

    def _permit_low_water(self) -> int:
        return self._permit_batch() // 2

    def _want_permits(self, now: float) -> None:
        """Wake at the next permit held; ask the shared budget for more when running low."""
        permits = self.permits
        assert permits is not None
        due = permits.next_at(now)
        if due is not None:
            self._wake_at(due)
        if self._granting or len(permits) > self._permit_low_water():
            return
        if now < self._grant_not_before:
            self._wake_at(self._grant_not_before)
            return
        want = min(self.queued_parts + 1 - len(permits), self._permit_batch())
        if self.grant_timing.probing:
            want = min(want, probe_size(self.settings.tps))
        if want <= 0:
            return
        self._granting = True
        self._spawn(self._grant(want))

    async def _grant(self, want: int) -> None:
        budget, permits = self.budget, self.permits
        assert budget is not None
        assert permits is not None
        try:
            asked = self._clock()
            rate = budget_rate(min(self.adaptive.rate(asked), self.settings.tps))
            grant = await budget.grant(rate, want)
            now = self._clock()
            # Redis read its clock before this reply arrived: mapping its time to ours by the
            # arrival errs late, so a permit is never used before its slot; by how much is what
            # GrantTiming bounds (flow/permits.py).
            offset = now - grant.now_us / 1e6
            interval = grant.interval_us / 1e6
            if grant.count:
                timing = self.grant_timing
                was_late = timing.late
                if timing.accept(asked, now, permits.slack):
                    permits.add(grant.first_us / 1e6 + offset, interval, grant.count)
                    if timing.late != was_late:
                        self._log_budget_lateness(timing, 2 * permits.slack, now - asked)
                else:  # handled too late to place its permits safely: dropped, ask again
                    permits.discard(grant.count)
            else:  # the budget is spoken for up to its horizon: ask again when it frees
                free_at = (grant.first_us - budget.horizon_us) / 1e6 + offset
                self._grant_not_before = max(now + 0.001, free_at)
        except RedisError:
            self.redis_errors("budget")
            self._grant_not_before = self._clock() + 0.1
        finally:
            self._granting = False
        self.pump()

    def _log_budget_lateness(self, timing: GrantTiming, allowed: float, took: float) -> None:
        """Slow budget replies began to be used anyway, or ended (GrantTiming.late changed)."""
        if timing.late:
            _log.warning(
                "carrier %s: the shared rate budget has answered in more than %.0f ms for %.0f s "
                "(this one in %.0f ms): its permits are used anyway, placed late by up to that, "
                "so the hosts together may exceed tps",
                self.name,
                1000 * allowed,
                timing.patience,
                1000 * took,
            )
        else:
            _log.warning("carrier %s: the shared rate budget answers in time again", self.name)

    def _wake_at(self, when: float) -> None:
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.pump()

    def reconfigure(self, settings: CarrierSettings) -> None:
        """A reload: new tps, retry, encoding and receipt settings, applied to what comes next."""
        now = self._clock()
        old = self.settings
        self.settings = settings
        self._last_plan = None
        if settings.tps != old.tps:
            if self.permits is not None:
                self.permits.slack = slack_for(settings.tps)
            self.pacer.set_limit(settings.tps)
            self.adaptive.set_configured(settings.tps, now)
            self.pacer.set_rate(self.adaptive.rate(now), now)
        if (settings.retry_deadline_s, settings.retry_initial_s, settings.retry_max_s) != (
            old.retry_deadline_s,
            old.retry_initial_s,
            old.retry_max_s,
        ):
            self.retry = RetrySchedule(
                settings.retry_deadline_s, settings.retry_initial_s, settings.retry_max_s
            )
        self.pump()

    def on_pool_change(self) -> None:
        """A bind came up or went down."""
        self.pump()

    # ------------------------------------------------------------------ responses

    def _on_response(self, part: _Part, response: p.Pdu | None, error: Exception | None) -> None:
        """A submit_sm ended: called from inside the read that brought its response (or the
        timer / close that ended it), so a freed window slot is refilled in the same write."""
        now = self._clock()
        owner = part.owner
        m = self.metrics
        if error is not None or response is None:
            if isinstance(error, ResponseTimeout):
                self.stats.timeouts += 1
                m.submits_timeout.inc()
                m.possible_duplicates.inc()
                _log.warning(
                    "carrier %s: no submit_sm_resp for %s part %d: possible duplicate",
                    self.name,
                    owner.item.mid,
                    part.k,
                    extra={"carrier": self.name},
                )
            self._retry(part, now, f"{type(error).__name__}: {error}")
        else:
            status = response.command_status
            m.submit_response_seconds.observe(now - part.submitted_at)
            if status == c.ESME_ROK and isinstance(response, p.SubmitSmResp):
                self.stats.accepted += 1
                m.submits_ok.inc()
                self.adaptive.on_success(now)
                if not owner.done:
                    owner.remaining -= 1
                    if owner.remaining == 0:
                        self._settle(owner)
                        m.entry_to_sent_seconds.observe(
                            max(0.0, self._wall() - owner.item.queued_at)
                        )
                    keys = message_ids.receipt_keys(
                        response.message_id,
                        self.settings.receipt_id,  # type: ignore[arg-type]
                    )
                    item = owner.item
                    # The hot path's op in one literal (no dict grown by `_queue_op`'s update).
                    self._push_op(
                        owner,
                        {
                            "t": "a",
                            "k": part.k,
                            "id": response.message_id,
                            "keys": keys,
                            "ref": owner.reference,
                            "e": item.e,
                            "i": item.i,
                            "n": owner.parts,
                            "mid": item.mid,
                            "to": item.to,
                            "car": self.name,
                            "meta": item.meta,
                            "ws": owner.stream,
                            "w": owner.work_id,
                        },
                    )
            elif status in THROTTLING:
                self.stats.throttled += 1
                m.submits_throttled.inc()
                if self.adaptive.paused_until <= now:
                    _log.warning(
                        "carrier %s throttling (%s): slowing down",
                        self.name,
                        c.status_name(status),
                        extra={"carrier": self.name},
                    )
                paused_until = self.adaptive.on_throttled(now, random.random())
                self.pacer.hold_until(paused_until)
                self._requeue(part, front=True)  # the throttled part goes first
            elif status in TEMPORARY or response.command_id == c.GENERIC_NACK:
                self.stats.temporary += 1
                m.submits_temporary.inc()
                self._retry(part, now, c.status_name(status))
            else:
                self.stats.permanent += 1
                m.submits_permanent.inc()
                if not owner.done:
                    self._settle(owner, done=True)
                    self._queue_op(
                        owner,
                        {
                            "t": "r",
                            "k": part.k,
                            "code": "smsc_rejected",
                            "smpp": status,
                            "desc": c.status_name(status),
                        },
                    )
        self.pump()

    def _retry(self, part: _Part, now: float, reason: str) -> None:
        owner = part.owner
        if owner.done:
            return
        self.stats.retries += 1
        self.metrics.retries.inc()
        part.attempt += 1
        expires = owner.item.expires_at
        at = self.retry.next_retry_at(
            owner.first_at,
            part.attempt,
            now,
            random.random(),
            expires_at=None if expires is None else now + (expires - self._wall()),
        )
        if at is None:
            self._settle(owner, done=True)
            self._queue_op(
                owner,
                {
                    "t": "f",
                    "k": part.k,
                    "code": "retries_exhausted",
                    "desc": f"gave up after {part.attempt} attempts: {reason}",
                },
            )
            return
        self._loop.call_at(at, self._retry_due, part)

    def _expire(self, owner: _Item) -> None:
        self._settle(owner, done=True)
        if owner.remaining == owner.parts:  # nothing of it was accepted: `expired` (§2)
            self._queue_op(
                owner,
                {
                    "t": "f",
                    "k": 0,
                    "status": "expired",
                    "code": "expired",
                    "desc": "expires_at passed before submission",
                },
            )
        else:
            self._queue_op(
                owner,
                {
                    "t": "f",
                    "k": 0,
                    "code": "expired",
                    "desc": "expires_at passed before every part was accepted",
                },
            )

    def _retry_due(self, part: _Part) -> None:
        if not part.owner.done and not self._draining:
            self._requeue(part, front=True)
            self.pump()

    # ------------------------------------------------------------------ outcome batches

    def _queue_op(self, owner: _Item, op: dict[str, Any]) -> None:
        item = owner.item
        op.update(
            e=item.e,
            i=item.i,
            n=owner.parts,
            mid=item.mid,
            to=item.to,
            car=self.name,
            meta=item.meta,
            ws=owner.stream,
            w=owner.work_id,
        )
        self._push_op(owner, op)

    def _push_op(self, owner: _Item, op: dict[str, Any]) -> None:
        """Queue a complete op (every field `_queue_op` adds) for the next outcomes batch."""
        owner.pending_ops += 1
        self._ops.append(op)
        self._op_owners.append(owner)
        if self._outcome_writers.start():
            self._spawn(self._flush_ops())

    async def _flush_ops(self) -> None:
        backoff = 0.05
        writers = self._outcome_writers
        try:
            while self._ops:
                ops, owners = self._ops[:SCRIPT_BATCH], self._op_owners[:SCRIPT_BATCH]
                del self._ops[:SCRIPT_BATCH], self._op_owners[:SCRIPT_BATCH]
                writers.idle -= 1
                try:
                    backoff = await self._write_outcomes(ops, backoff)
                finally:
                    writers.idle += 1
                for owner in owners:
                    if owner is None:
                        continue
                    owner.pending_ops -= 1
                    if owner.pending_ops == 0 and (owner.done or owner.remaining == 0):
                        self._forget(owner)
        finally:
            writers.stopped()

    async def _write_outcomes(self, ops: list[dict[str, Any]], backoff: float) -> float:
        """One outcomes call, retried until Redis takes it; returns the backoff reached."""
        for _attempt in range(1_000_000):
            try:
                wall = self._wall()
                _, emitted = await self.store.outcomes(ops, format_time(wall), wall)
                self._count_statuses(emitted)
                break
            except (RedisError, OSError) as error:
                _log.warning("carrier %s: writing outcomes failed: %s", self.name, error)
                self.redis_errors("outcomes")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        return backoff

    # ------------------------------------------------------------------ receipts

    def on_deliver(self, pdu: p.Pdu) -> int | asyncio.Future[int] | DeferredAnswer:
        """deliver_sm / data_sm from the carrier: the answer waits for Redis (CONTRACT §3, §4)."""
        result = self._deliver(pdu)
        if isinstance(result, asyncio.Future):
            result.add_done_callback(partial(self._answered_later, self._clock()))
        elif isinstance(result, int):
            self.metrics.deliver_sm_response(c.status_name(result)).inc()
        return result

    def _answered_later(self, arrived: float, future: asyncio.Future[int]) -> None:
        status = future.result() if not future.cancelled() else c.ESME_RX_T_APPN
        self.metrics.deliver_sm_response(c.status_name(status)).inc()
        self.metrics.deliver_sm_answer_seconds.observe(self._clock() - arrived)

    def _deliver(self, pdu: p.Pdu) -> int | asyncio.Future[int] | DeferredAnswer:
        if not isinstance(pdu, (p.DeliverSm, p.DataSm)):
            return c.ESME_RINVCMDID
        if not is_receipt(pdu):
            if self.inbound is None:
                return c.ESME_RX_T_APPN  # nowhere to store it: the carrier keeps it
            return self.inbound.handle(self.name, pdu, gsm7_packed=self.settings.mo_gsm7_packed)
        receipt = parse_receipt(pdu)
        if isinstance(receipt, ReceiptParseError):
            _log.warning(
                "carrier %s: unreadable receipt dropped: %s (%r)",
                self.name,
                receipt.reason,
                receipt.raw[:200],
                extra={"carrier": self.name},
            )
            self._count_receipt("unparseable", "none")
            return c.ESME_ROK
        status = receipt.status
        if status is None:  # intermediate or not final: nothing to record
            self._count_receipt(receipt.stat, "none")
            return c.ESME_ROK
        contract_receipt = receipt.contract_receipt()
        receipt_json = _rec_encode(contract_receipt).decode()
        keys = message_ids.lookup_keys(receipt.message_id, self.settings.receipt_id)  # type: ignore[arg-type]
        answer = DeferredAnswer()  # sent when the batch's script call is done
        # st / rj / stat let the script finish a one-part message; it builds from st and rj
        # the `rec` it stores for the other paths (no copy of the receipt JSON to send).
        op = {
            "car": self.name,
            "keys": keys,
            "st": status,
            "rj": receipt_json,
            "stat": contract_receipt.get("stat") or "",
        }
        self._receipt_ops.append((op, receipt.stat, answer, self._clock()))
        if self._receipt_writers.start():
            self._spawn(self._flush_receipts())
        return answer

    def _count_receipt(self, stat: str, match: str, count: int = 1) -> None:
        """`match`: matched, held, duplicate, unmatched; or none (unparseable, intermediate)."""
        key = (
            match
            if match != "none"
            else ("unparseable" if stat == "unparseable" else "intermediate")
        )
        self.stats.receipts[key] = self.stats.receipts.get(key, 0) + count
        self.metrics.receipt(stat, match).inc(count)

    def _count_statuses(self, emitted: list[str]) -> None:
        # One update per status and batch (most batches emit one or two kinds).
        counts: dict[str, int] = {}
        for status in emitted:
            counts[status] = counts.get(status, 0) + 1
        for status, count in counts.items():
            self.metrics.status_event(status).inc(count)

    async def _flush_receipts(self) -> None:
        writers = self._receipt_writers
        try:
            while self._receipt_ops:
                batch = self._receipt_ops[:SCRIPT_BATCH]
                del self._receipt_ops[:SCRIPT_BATCH]
                wall = self._wall()
                writers.idle -= 1
                try:
                    results, emitted, latencies = await self.store.receipts(
                        [op for op, _, _, _ in batch], format_time(wall), wall
                    )
                except (RedisError, OSError) as error:
                    _log.warning("carrier %s: writing receipts failed: %s", self.name, error)
                    self.redis_errors("receipts")
                    self._answer_receipts(batch, c.ESME_RX_T_APPN)  # the carrier retries
                    self.metrics.deliver_sm_response("ESME_RX_T_APPN").inc(len(batch))
                    continue
                finally:
                    writers.idle += 1
                self._count_statuses(emitted)
                for seconds in latencies:
                    self.metrics.sent_to_receipt_seconds.observe(max(0.0, seconds))
                counts: dict[tuple[str, str], int] = {}
                for (_, stat, _, _), result in zip(batch, results, strict=True):
                    counts[stat, result] = counts.get((stat, result), 0) + 1
                self._answer_receipts(batch, c.ESME_ROK)
                for (stat, result), count in counts.items():
                    self._count_receipt(stat, result, count)
                self.metrics.deliver_sm_response("ESME_ROK").inc(len(batch))
        finally:
            writers.stopped()

    def _answer_receipts(
        self, batch: list[tuple[dict[str, Any], str, DeferredAnswer, float]], status: int
    ) -> None:
        """Answer each deliver_sm of a batch, timing how long it held the carrier's window."""
        now = self._clock()
        observe = self.metrics.deliver_sm_answer_seconds.observe
        for _, _, answer, arrived in batch:
            answer.answer(status)
            observe(now - arrived)

    # ------------------------------------------------------------------ helpers

    def _settle(self, owner: _Item, *, done: bool = False) -> None:
        """Nothing more of this item will be sent (every part accepted, or with `done` a final
        outcome decided, its queued parts dropped): it stops counting against the prefetch,
        which bounds the work taken and not yet sent. Its outcome may still be on its way to
        Redis (kept in `_items` until then); those are bounded by OUTCOME_BACKLOG instead."""
        if done:
            owner.done = True
        if not owner.settled:
            owner.settled = True
            self._settled += 1
            # The reader is woken here only once half the prefetch is free (`_forget` wakes it
            # when outcomes are written, as before): a wake-up per part sent added one work
            # read per part to those.
            if 2 * (len(self._items) - self._settled) <= self.settings.prefetch:
                self._room.set()

    def _room_for_work(self) -> int:
        """How many more work items to read: the prefetch less what is yet to be sent, and
        no more than OUTCOME_BACKLOG (or the prefetch, if larger) items waiting for their
        outcome to be written."""
        settled = self._settled
        prefetch = self.settings.prefetch
        unsent = len(self._items) - settled
        return min(prefetch - unsent, max(OUTCOME_BACKLOG, prefetch) - settled)

    def _forget(self, owner: _Item) -> None:
        """A work item is finished here: free its prefetch slot."""
        if self._items.pop(owner.work_id, None) is not None:
            if owner.settled:
                self._settled -= 1
            self._room.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
