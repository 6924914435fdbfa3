"""Intake: `<prefix>:outbound` → validated, routed, per-carrier work, in one script call per batch.

This consumer's own pending entries are replayed first after a restart; entries idle longer
than `claim_idle_s` on other consumers are taken over. An entry stays pending until every
recipient has its outcome in Redis (the dispatch scripts acknowledge it), so the outbound
stream itself is the record of what is unfinished (CONTRACT §4).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec
from redis.exceptions import RedisError

from connector.domain import contract
from connector.domain.contract import Accepted, Dead
from connector.domain.routing import Router
from connector.domain.tracker import ErrorInfo, StatusChange
from connector.observe.metrics import Metrics
from connector.streams.store import Entry, IntakeEntry, Store, WorkItem, work_item_encoder
from connector.text import TextError, count_parts

_log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_PROCESSING = StatusChange(status="processing")


@dataclass(frozen=True, slots=True)
class CarrierPlanning:
    """What intake needs of a carrier to validate a message for it."""

    max_parts: int
    smart_encoding: bool
    concat: str
    gsm7_form: str
    reference_16bit: bool


@dataclass(slots=True)
class IntakeStats:
    entries: int = 0
    dead: int = 0
    replayed: int = 0
    claimed: int = 0
    recipients: int = 0
    rejected: int = 0
    no_route: int = 0


class Intake:
    """Reads the gateway's stream and turns each entry into work for the carriers."""

    def __init__(
        self,
        store: Store,
        router: Router,
        carriers: Mapping[str, CarrierPlanning],
        *,
        batch_size: int = 256,
        block_ms: int = 1000,
        claim_idle_s: float = 60.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.router = router
        self.carriers = dict(carriers)
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_s = claim_idle_s
        self._wall = wall
        self.stats = IntakeStats()
        self.metrics = Metrics(process_metrics=False)
        self._tallies: dict[str, list[tuple[str, str]]] = {}  # status events per entry
        self._running = False

    async def run(self) -> None:
        """Until stopped: replay own pending entries, then new ones; claim abandoned ones."""
        self._running = True
        backoff = 0.05
        replaying = True
        cursor = "0-0"
        last_claim = 0.0
        loop = asyncio.get_running_loop()
        # The read of the next new entries, sent while the last ones are being written.
        ahead: asyncio.Future[list[tuple[str, list[Entry]]]] | None = None
        try:
            while self._running:
                try:
                    if replaying:
                        # Page through this consumer's whole pending list once: entries taken in
                        # before stay pending while their recipients are in flight (skipped by
                        # the intake script); the others were read but never written (a crash).
                        reply = await self.store.read_pending_after(
                            {self.store.outbound: cursor}, self.batch_size
                        )
                        entries = [e for _, batch in reply for e in batch]
                        if not entries:
                            replaying = False
                            continue
                        await self.take(entries)
                        self.stats.replayed += len(entries)
                        cursor = entries[-1][0]
                        continue
                    now = loop.time()
                    if now - last_claim >= max(1.0, self.claim_idle_s / 2):
                        last_claim = now
                        claimed = await self.store.claim(
                            self.store.outbound, int(self.claim_idle_s * 1000), self.batch_size
                        )
                        if claimed:
                            written = await self.take(claimed)
                            self.stats.claimed += sum(written)
                    if ahead is None:
                        ahead = self._read_new()
                    reply = await ahead
                    ahead = None
                    entries = [e for _, batch in reply for e in batch]
                    if entries:
                        # The next read goes out now, while this batch is written: entries
                        # that arrive meanwhile are read at once, not one round trip later.
                        ahead = self._read_new()
                        await self.take(entries, fresh=True)
                    backoff = 0.05
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError) as error:
                    _log.warning("intake: Redis unavailable: %s", error)
                    if ahead is not None:  # what it read, if anything, is pending: replayed
                        await _cancelled(ahead)
                        ahead = None
                    # What was read but maybe not written is pending here: look at it again.
                    replaying, cursor = True, "0-0"
                    self.metrics.redis_error("intake").inc()
                    self.metrics.redis_up.set(0)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            if ahead is not None:
                await _cancelled(ahead)

    def _read_new(self) -> asyncio.Future[list[tuple[str, list[Entry]]]]:
        """A read of new entries, started now (it blocks in Redis until some arrive)."""
        return asyncio.ensure_future(
            self.store.read([self.store.outbound], self.batch_size, block_ms=self.block_ms)
        )

    def stop(self) -> None:
        self._running = False

    def reconfigure(self, router: Router, carriers: Mapping[str, CarrierPlanning]) -> None:
        """A reload: new routing and per-carrier limits for the entries read from now on."""
        self.router = router
        self.carriers = dict(carriers)

    async def take(
        self, entries: list[tuple[str, dict[bytes, bytes]]], *, fresh: bool = False
    ) -> list[int]:
        """Build and write one batch; returns 1 per entry written, 0 per entry seen before.

        `fresh`: the entries were just read as new (`>`), not replayed or claimed."""
        now = self._wall()
        batch = [self.build(entry_id, fields, now) for entry_id, fields in entries]
        try:
            written = await self.store.intake(batch, contract.format_time(now), fresh=fresh)
        finally:
            tallies = [self._tallies.pop(entry.id, []) for entry in batch]
        # Counted per batch: one update per (carrier, status), not one per event.
        taken = dead = 0
        statuses: dict[tuple[str, str], int] = {}
        for entry, new, tally in zip(batch, written, tallies, strict=True):
            if not new:
                continue  # taken in before (a replay): counted then
            taken += 1
            if entry.dead is not None:
                dead += 1
            for key in tally:
                statuses[key] = statuses.get(key, 0) + 1
        metrics = self.metrics
        if taken:
            metrics.intake_entries.inc(taken)
        if dead:
            metrics.dead_letters.inc(dead)
        for (carrier, status), count in statuses.items():
            metrics.status_event(status, carrier).inc(count)
        return written

    def build(self, entry_id: str, fields: dict[bytes, bytes], now: float) -> IntakeEntry:
        """One entry's events, work items and dead letter (pure but for the clock)."""
        self.stats.entries += 1
        decoded = contract.decode_outbound(entry_id, fields)
        if isinstance(decoded, Dead):
            self.stats.dead += 1
            _log.info(
                "intake: entry %s dead-lettered: %s",
                entry_id,
                decoded.reason,
                extra={"entry_id": entry_id, "message_id": decoded.message_id},
            )
            events = [e.decode() for e in contract.dead_events(decoded, now)]
            self._tallies[entry_id] = [("none", "rejected")] * len(events)
            dead = contract.dead_letter(decoded.reason, self.store.outbound, entry_id, fields)
            return IntakeEntry(id=entry_id, n=0, events=events, dead=dead.decode())
        return self._routed(entry_id, decoded, now)

    def _routed(self, entry_id: str, accepted: Accepted, now: float) -> IntakeEntry:
        message = accepted.message
        events = [e.decode() for e in contract.rejected_events(accepted, now)]
        tally = self._tallies[entry_id] = [("none", "rejected")] * len(events)
        self.stats.rejected += len(accepted.rejected)
        work: list[tuple[str, str]] = []
        held: list[tuple[float, str, str]] = []
        hold_until = message.hold_until
        if hold_until is not None and hold_until <= now:
            hold_until = None
        meta = _json.encode(message.meta).decode()
        lane = message.priority
        # The parts (or the text's error) depend on the carrier, not on the recipient: counted
        # once per carrier of the entry (a bulk send has up to 1 000 recipients).
        counted: dict[str, int | TextError] = {}
        for recipient in accepted.recipients:
            carrier = self.router.route(recipient.to, message.carrier)
            if carrier is None or carrier not in self.carriers:
                self.stats.no_route += 1
                reason = (
                    f"carrier {message.carrier!r} is not configured"
                    if message.carrier
                    else f"no carrier serves {recipient.to}"
                )
                events.append(
                    self._final(
                        message,
                        recipient.to,
                        "failed",
                        ErrorInfo(code="no_route", description=reason),
                        now,
                    )
                )
                tally.append(("none", "failed"))
                continue
            parts = counted.get(carrier)
            if parts is None:
                parts = counted[carrier] = self._count(message, self.carriers[carrier])
            if isinstance(parts, TextError):
                self.stats.rejected += 1
                events.append(
                    self._final(
                        message,
                        recipient.to,
                        "rejected",
                        contract.text_error(parts),
                        now,
                        carrier=carrier,
                    )
                )
                tally.append((carrier, "rejected"))
                continue
            self.stats.recipients += 1
            tally.append((carrier, "processing"))
            events.append(
                contract.status_event(
                    message.message_id,
                    recipient.to,
                    _PROCESSING,
                    carrier=carrier,
                    parts=parts,
                    at=now,
                    meta=message.meta,
                ).decode()
            )
            item = WorkItem(
                e=entry_id,
                i=recipient.index,
                mid=message.message_id,
                to=recipient.to,
                sender=message.sender_id,
                text=message.message,
                encoding=message.encoding,
                smart=message.smart_encoding,
                receipt=message.receipt,
                meta=meta,
                expires_at=message.expires_at,
                queued_at=now,
            )
            queued = (
                self.store.work_stream(carrier, lane),
                work_item_encoder.encode(item).decode(),
            )
            if hold_until is None:
                work.append(queued)
            else:  # held durably in Redis until send_at (the scheduler releases it)
                held.append((hold_until, *queued))
        return IntakeEntry(
            id=entry_id, n=len(work) + len(held), events=events, work=work, sched=held
        )

    @staticmethod
    def _count(message: contract.OutboundMessage, planning: CarrierPlanning) -> int | TextError:
        """The parts `message` takes on a carrier, or why its text cannot be sent there."""
        smart = (
            planning.smart_encoding if message.smart_encoding is None else message.smart_encoding
        )
        try:
            return count_parts(
                message.message,
                encoding=message.encoding,
                smart=smart,
                concat=planning.concat,  # type: ignore[arg-type]
                gsm7_form=planning.gsm7_form,  # type: ignore[arg-type]
                reference_16bit=planning.reference_16bit,
                max_parts=planning.max_parts,
            )
        except TextError as error:
            return error

    @staticmethod
    def _final(
        message: contract.OutboundMessage,
        to: str,
        status: str,
        error: ErrorInfo,
        now: float,
        *,
        carrier: str | None = None,
    ) -> str:
        change = StatusChange(status=status, error=error)  # type: ignore[arg-type]
        return contract.status_event(
            message.message_id, to, change, carrier=carrier, parts=0, at=now, meta=message.meta
        ).decode()


async def _cancelled(read: asyncio.Future[list[tuple[str, list[Entry]]]]) -> None:
    """Cancel a read and wait until it is over. A blocked read's connection is closed, so
    Redis forgets it; entries it was given are pending for this consumer (replayed)."""
    read.cancel()
    await asyncio.wait([read])
    if not read.cancelled():
        read.exception()  # retrieved: a failed read is the replay's business, not a log line
