"""The binds kept open to one carrier: each supervised, reconnected with backoff, picked in turn.

A bind refused for its credentials (ESME_RINVPASWD, ESME_RINVSYSID) backs off long and says so
loudly at error level, never hammering the carrier. Every other failure (refused connection,
timeout, dropped link, unresponsive peer) reconnects with exponential backoff, full jitter and
a cap. Closing unbinds first.

When a carrier account allows only a few binds across every host (`max_binds`), each bind
first takes a slot from a `BindSlots` (leases kept in Redis by the app, see
`streams.leases`): it waits in `waiting_for_slot` until one is free, renews it while bound,
and unbinds at once when it can no longer prove it holds it (a renewal refused, or no renewal
answered before the lease would have expired), so the carrier never sees more binds than the
account allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import ssl as ssl_module
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from connector.carrier.client import BindMode, BindRefused, DeliverHandler, SmppClient
from connector.flow.backoff import ReconnectBackoff
from connector.smpp import constants as c
from connector.smpp.errors import SmppError

_log = logging.getLogger(__name__)

AUTH_FAILURES = frozenset({c.ESME_RINVPASWD, c.ESME_RINVSYSID})


class BindState(enum.Enum):
    CONNECTING = "connecting"
    BOUND = "bound"
    BACKING_OFF = "backing_off"
    WAITING_FOR_SLOT = "waiting_for_slot"
    STOPPED = "stopped"


class _SlotLost(Exception):
    """The bind slot's lease ended while connecting or binding."""


class BindSlots(Protocol):
    """Leases on a carrier's bind slots shared by every host (implemented over Redis)."""

    ttl_s: float  # a lease not renewed for this long is free for another host
    renew_s: float  # how often a held lease is renewed
    retry_s: float  # how often a bind without a slot asks again

    async def acquire(self, holder: str) -> bool:
        """Take (or keep) a slot for `holder`; False when every slot is held by others."""

    async def release(self, holder: str) -> None:
        """Give the slot back (unbound, or stopping)."""


@dataclass(frozen=True, slots=True)
class BindSettings:
    """What one carrier's binds need to know (the app maps the carrier's config onto it)."""

    carrier: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind: str = "transceiver"  # or "transmitter" (then receiver binds are opened too)
    binds: int = 1
    receiver_binds: int = 0
    window: int = 10
    response_timeout_s: float = 30.0
    enquire_link_interval_s: float = 30.0
    connect_timeout_s: float = 10.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    auth_failure_backoff_s: float = 300.0
    max_command_length: int = 64 * 1024
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str = ""


class SupervisedBind:
    """One SMPP session kept up for as long as the pool runs."""

    def __init__(self, pool: BindPool, index: int, mode: BindMode) -> None:
        self.pool = pool
        self.index = index
        self.mode: BindMode = mode
        self.name = f"{pool.settings.carrier}/{mode[0:2]}{index}"
        self.state = BindState.CONNECTING
        self.client: SmppClient | None = None
        self.last_error = ""
        s = pool.settings
        self.backoff = ReconnectBackoff(
            s.reconnect_initial_s, s.reconnect_max_s, s.auth_failure_backoff_s
        )
        self._stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.holder = f"{pool.holder_prefix}{self.name}"
        self._lease_sent_at = 0.0  # loop time the acquire that took the current slot was sent

    @property
    def is_bound(self) -> bool:
        return self.state is BindState.BOUND and self.client is not None and self.client.is_bound

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        for _attempt in range(2**62):  # ends when stopping; bounded for form's sake
            if self._stopping.is_set():
                break
            s = self.pool.settings  # a reload may have changed the window
            slots = self.pool.slots if self.mode != "receiver" else None
            if slots is not None and not await self._take_slot(slots):
                break  # stopping while waiting for a slot
            self._set_state(BindState.CONNECTING)
            client = SmppClient(
                system_id=s.system_id,
                password=s.password,
                system_type=s.system_type,
                bind=self.mode,
                window=s.window,
                response_timeout_s=s.response_timeout_s,
                enquire_link_interval_s=s.enquire_link_interval_s,
                on_deliver=self.pool.on_deliver,
                max_command_length=s.max_command_length,
            )
            client.name = self.name
            client.carrier = s.carrier
            auth_failure = False
            # The lease is renewed from the moment it is taken, connecting and binding included,
            # so a slow carrier cannot outlast it; losing it ends the attempt.
            lease: asyncio.Future[None] | None = None
            if slots is not None:
                lease = asyncio.ensure_future(self._keep_slot(slots))
            try:
                await self._connect_and_bind(client, s, lease)
            except BindRefused as error:
                auth_failure = error.command_status in AUTH_FAILURES
                self._failed(str(error), loud=auth_failure)
                await client.close()
                if slots is not None:
                    await self._end_lease(slots, lease)  # another host may have better luck
            except (OSError, TimeoutError, SmppError, _SlotLost) as error:
                self._failed(f"{type(error).__name__}: {error}", loud=False)
                await client.close()
                if slots is not None:
                    await self._end_lease(slots, lease)
            else:
                self.client = client
                self.backoff.reset()
                self._set_state(BindState.BOUND)
                stop = asyncio.ensure_future(self._stopping.wait())
                closed = asyncio.ensure_future(client.wait_closed())
                waits: set[asyncio.Future[Any]] = {stop, closed}
                if lease is not None:
                    waits.add(lease)
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                lost_slot = lease is not None and lease.done() and not self._stopping.is_set()
                if lease is not None and not lease.done():
                    lease.cancel()
                if closed.done() and not self._stopping.is_set():
                    self._failed(f"link closed: {closed.result()}", loud=False)
                else:
                    closed.cancel()
                self.client = None
                if self._stopping.is_set() or lost_slot:
                    await client.unbind(timeout_s=min(5.0, s.response_timeout_s))
                if slots is not None:
                    await self._end_lease(slots, lease)
                if self._stopping.is_set():
                    break
                self.pool.bind_changed(self)
                if lost_slot:
                    continue  # straight back to waiting for a slot, no backoff
            delay = self.backoff.next_delay(random.random(), auth_failure=auth_failure)
            self._set_state(BindState.BACKING_OFF)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        self._set_state(BindState.STOPPED)

    async def _connect_and_bind(
        self, client: SmppClient, s: BindSettings, lease: asyncio.Future[None] | None
    ) -> None:
        """Connect and bind; raises _SlotLost when the lease ends first."""

        async def attempt() -> None:
            await client.connect(
                s.host, s.port, ssl=self.pool.ssl_context, timeout_s=s.connect_timeout_s
            )
            await asyncio.wait_for(client.bind(), s.connect_timeout_s + s.response_timeout_s)

        if lease is None:
            await attempt()
            return
        binding = asyncio.ensure_future(attempt())
        await asyncio.wait({binding, lease}, return_when=asyncio.FIRST_COMPLETED)
        if binding.done():
            binding.result()
            return
        binding.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await binding
        raise _SlotLost(self.last_error)

    async def _end_lease(self, slots: BindSlots, lease: asyncio.Future[None] | None) -> None:
        if lease is not None and not lease.done():
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
        await self._give_slot(slots)

    async def _take_slot(self, slots: BindSlots) -> bool:
        """Wait for a bind slot; False when stopping first."""
        loop = asyncio.get_running_loop()
        for _attempt in range(2**62):
            sent_at = loop.time()
            try:
                if await slots.acquire(self.holder):
                    self._lease_sent_at = sent_at
                    return True
                reason = "every bind slot is held (max_binds across hosts)"
            except Exception as error:
                reason = f"bind slots unavailable: {type(error).__name__}: {error}"
            if self.state is not BindState.WAITING_FOR_SLOT:
                self.last_error = reason
                _log.warning(
                    "bind %s waiting for a slot: %s",
                    self.name,
                    reason,
                    extra={"carrier": self.pool.settings.carrier, "bind": self.name},
                )
                self._set_state(BindState.WAITING_FOR_SLOT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), slots.retry_s)
            if self._stopping.is_set():
                return False
        return False

    async def _keep_slot(self, slots: BindSlots) -> None:
        """Renew the slot from taking it until the bind ends; return when it can no longer be
        shown to be held.

        The lease is valid until `ttl_s` after the last renewal was *sent* (Redis set its
        expiry later than that), less a second's margin for the unbind to reach the carrier
        before another host may take the slot.
        """
        loop = asyncio.get_running_loop()
        # Counted from when the acquire that took the slot was sent: Redis started the lease
        # then, and a slow acquire reply has already used part of it. Renewal starts at once
        # (connecting and binding included), so a slow carrier never outlasts the lease.
        valid_until = self._lease_sent_at + slots.ttl_s - 1.0
        for _attempt in range(2**62):
            await asyncio.sleep(max(0.0, min(slots.renew_s, valid_until - loop.time())))
            if loop.time() >= valid_until:
                reason = "no renewal answered before the lease ran out"
                break
            sent_at = loop.time()
            try:
                held = await asyncio.wait_for(
                    slots.acquire(self.holder), max(0.1, valid_until - sent_at)
                )
            except Exception as error:
                _log.warning(
                    "bind %s could not renew its slot: %s: %s",
                    self.name,
                    type(error).__name__,
                    error,
                    extra={"carrier": self.pool.settings.carrier, "bind": self.name},
                )
                continue
            if not held:
                reason = "its lease was taken over by another host"
                break
            valid_until = sent_at + slots.ttl_s - 1.0
        self.last_error = f"bind slot lost: {reason}"
        _log.warning(
            "bind %s unbinds: bind slot lost: %s",
            self.name,
            reason,
            extra={"carrier": self.pool.settings.carrier, "bind": self.name},
        )

    async def _give_slot(self, slots: BindSlots) -> None:
        try:
            await slots.release(self.holder)
        except Exception as error:
            _log.warning(
                "bind %s could not release its slot (it expires by itself): %s",
                self.name,
                error,
                extra={"carrier": self.pool.settings.carrier, "bind": self.name},
            )

    def _failed(self, reason: str, *, loud: bool) -> None:
        self.last_error = reason
        if loud:
            _log.error(
                "bind %s refused for its credentials: %s; backing off %.0f s before retrying",
                self.name,
                reason,
                self.backoff.auth_failure_s,
                extra={"carrier": self.pool.settings.carrier, "bind": self.name},
            )
        else:
            _log.warning(
                "bind %s down: %s",
                self.name,
                reason,
                extra={"carrier": self.pool.settings.carrier, "bind": self.name},
            )

    def _set_state(self, state: BindState) -> None:
        if state is not self.state:
            self.state = state
            if state is BindState.BOUND:
                _log.info(
                    "bind %s bound to %s:%d",
                    self.name,
                    *self.pool.address,
                    extra={"carrier": self.pool.settings.carrier, "bind": self.name},
                )
            self.pool.bind_changed(self)

    async def stop(self) -> None:
        self._stopping.set()
        if self.task is not None:
            await self.task


class BindPool:
    """All binds of one carrier."""

    def __init__(
        self,
        settings: BindSettings,
        *,
        on_deliver: DeliverHandler | None = None,
        on_change: Callable[[], None] | None = None,
        slots: BindSlots | None = None,
        holder_prefix: str = "",
    ) -> None:
        self.settings = settings
        self.on_deliver = on_deliver
        self.on_change = on_change
        self.slots = slots
        self.holder_prefix = holder_prefix  # e.g. "<consumer>/": lease holders unique per host
        self.address = (settings.host, settings.port)
        self.ssl_context: ssl_module.SSLContext | None = None
        if settings.tls:
            self.ssl_context = ssl_module.create_default_context(
                cafile=settings.tls_ca_file or None
            )
            if not settings.tls_verify:
                self.ssl_context.check_hostname = False
                self.ssl_context.verify_mode = ssl_module.CERT_NONE
        mode: BindMode = "transceiver" if settings.bind == "transceiver" else "transmitter"
        self.transmitters = [SupervisedBind(self, i, mode) for i in range(settings.binds)]
        receivers = settings.receiver_binds if mode == "transmitter" else 0
        self.receivers = [SupervisedBind(self, i, "receiver") for i in range(receivers)]
        self._next = 0

    @property
    def binds(self) -> list[SupervisedBind]:
        return self.transmitters + self.receivers

    def start(self) -> None:
        for bind in self.binds:
            bind.start()

    async def stop(self) -> None:
        await asyncio.gather(*(bind.stop() for bind in self.binds))

    def set_window(self, window: int) -> None:
        """A reload: the new window applies at once to bound sessions and to later binds."""
        self.settings = replace(self.settings, window=window)
        for bind in self.binds:
            if bind.client is not None:
                bind.client.session.window = window
                bind.client.protocol.window_changed()

    def bound_count(self) -> int:
        return sum(1 for bind in self.transmitters if bind.is_bound)

    def waiting_for_slot(self) -> int:
        return sum(1 for b in self.transmitters if b.state is BindState.WAITING_FOR_SLOT)

    def window_size(self) -> int:
        return self.settings.window * len(self.transmitters)

    def window_in_use(self) -> int:
        return sum(
            bind.client.session.window_in_use
            for bind in self.transmitters
            if bind.is_bound and bind.client is not None
        )

    def pick(self) -> SmppClient | None:
        """A bound transmitting session with a free window slot: the one picked last while it
        has room (a pump's sends leave in one write), else the next in turn; None when none.
        `rotate` moves the first choice on, once per pump."""
        binds = self.transmitters
        n = len(binds)
        for step in range(n):
            bind = binds[(self._next + step) % n]
            client = bind.client
            if client is not None and bind.state is BindState.BOUND and client.can_submit():
                self._next = (self._next + step) % n
                return client
        return None

    def rotate(self) -> None:
        """The next pump starts on the next bind: over many pumps, every bind takes its share."""
        self._next += 1
        if self._next >= len(self.transmitters):
            self._next = 0

    def flush(self) -> None:
        """Write every bind's queued submits now, not at the loop's next turn."""
        for bind in self.transmitters:
            if bind.client is not None:
                bind.client.flush()

    def bind_changed(self, bind: SupervisedBind) -> None:
        if self.on_change is not None:
            self.on_change()
