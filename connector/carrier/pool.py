"""The binds kept open to one carrier: each supervised, reconnected with backoff, picked in turn.

A bind refused for its credentials (ESME_RINVPASWD, ESME_RINVSYSID) backs off long and says so
loudly at error level, never hammering the carrier. Every other failure (refused connection,
timeout, dropped link, unresponsive peer) reconnects with exponential backoff, full jitter and
a cap. Closing unbinds first.
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
    STOPPED = "stopped"


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
            try:
                await client.connect(
                    s.host, s.port, ssl=self.pool.ssl_context, timeout_s=s.connect_timeout_s
                )
                await asyncio.wait_for(client.bind(), s.connect_timeout_s + s.response_timeout_s)
            except BindRefused as error:
                auth_failure = error.command_status in AUTH_FAILURES
                self._failed(str(error), loud=auth_failure)
                await client.close()
            except (OSError, TimeoutError, SmppError) as error:
                self._failed(f"{type(error).__name__}: {error}", loud=False)
                await client.close()
            else:
                self.client = client
                self.backoff.reset()
                self._set_state(BindState.BOUND)
                stop = asyncio.ensure_future(self._stopping.wait())
                closed = asyncio.ensure_future(client.wait_closed())
                await asyncio.wait({stop, closed}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if closed.done() and not self._stopping.is_set():
                    self._failed(f"link closed: {closed.result()}", loud=False)
                else:
                    closed.cancel()
                self.client = None
                if self._stopping.is_set():
                    await client.unbind(timeout_s=min(5.0, s.response_timeout_s))
                    break
                self.pool.bind_changed(self)
            delay = self.backoff.next_delay(random.random(), auth_failure=auth_failure)
            self._set_state(BindState.BACKING_OFF)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        self._set_state(BindState.STOPPED)

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
    ) -> None:
        self.settings = settings
        self.on_deliver = on_deliver
        self.on_change = on_change
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

    def window_size(self) -> int:
        return self.settings.window * len(self.transmitters)

    def window_in_use(self) -> int:
        return sum(
            bind.client.session.window_in_use
            for bind in self.transmitters
            if bind.is_bound and bind.client is not None
        )

    def pick(self) -> SmppClient | None:
        """A bound transmitting session with a free window slot, in turn; None when none."""
        binds = self.transmitters
        n = len(binds)
        for step in range(n):
            bind = binds[(self._next + step) % n]
            client = bind.client
            if (
                client is not None
                and bind.state is BindState.BOUND
                and client.is_bound
                and client.session.window_available > 0
                and not client.protocol.write_paused
            ):
                self._next = (self._next + step + 1) % n
                return client
        return None

    def bind_changed(self, bind: SupervisedBind) -> None:
        if self.on_change is not None:
            self.on_change()
