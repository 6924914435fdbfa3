"""The asyncio driver of a sans-I/O `Session`: one socket, one timer, coalesced writes.

Shared by our carrier links (ESME role) and the simulator (SMSC role). Per request there is
one future keyed by sequence number; no task per PDU. Writes queued during one loop
iteration leave in one `transport.write`. The session's next deadline re-arms one timer.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable
from typing import Any, TypeAlias, cast

from connector.smpp import pdu as p
from connector.smpp.errors import SmppError
from connector.smpp.session import (
    WINDOWED,
    Closed,
    Event,
    ResponseReceived,
    ResponseTimedOut,
    Session,
)


class LinkError(SmppError):
    """A request could not be answered over this link."""


class ResponseTimeout(LinkError):
    """No response within the session's response timeout; the peer may have acted on it."""

    def __init__(self, request: p.Pdu) -> None:
        super().__init__(
            f"no response to {type(request).__name__} #{request.sequence_number} in time"
        )
        self.request = request


class ConnectionClosed(LinkError):
    """The link closed before the response came."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


LINGER_S = 2.0
"""How long a connection whose session ended keeps reading after its half-close, waiting for
the peer to close (see `SmppProtocol._end_transport`)."""

EventHandler = Callable[[Event], None]


ResponseCallback: TypeAlias = Callable[[p.Pdu | None, Exception | None], None]
"""Called with (response, None) or (None, error) when a request made by `request_with` ends."""


class SmppProtocol(asyncio.Protocol):
    """Binds a Session to an asyncio transport."""

    def __init__(
        self,
        session: Session,
        on_event: EventHandler | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.session = session
        self.on_event = on_event
        self._loop = loop or asyncio.get_running_loop()
        self._time = self._loop.time
        self.transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[p.Pdu]] = {}
        self._callbacks: dict[int, ResponseCallback] = {}
        self._window_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self.peername: Any = None
        self._linger: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport; they implement it.
        self.transport = cast(asyncio.Transport, transport)
        self.peername = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rearm()

    def data_received(self, data: bytes) -> None:
        events = self.session.receive_data(data, self._time())
        if events:
            self._dispatch(events)
        self.flush()
        self._rearm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        reason = f"connection lost: {exc}" if exc else "connection closed by peer"
        events = self.session.connection_lost(reason)
        if events:
            self._dispatch(events)
        self._finish(reason)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def write_paused(self) -> bool:
        """The transport's buffer is above its high-water mark; `drain()` before writing more."""
        return self._write_paused

    # ------------------------------------------------------------------ sending

    def send(self, pdu: p.Pdu) -> int:
        """Queue a PDU (request or response) for the next coalesced write.

        A response to a peer whose session already ended is dropped (the peer retries what it
        sent); a request raises ConnectionClosed.
        """
        if self.closed.done() or self.session.is_closed:
            if pdu.is_response:
                return pdu.sequence_number
            reason = self.closed.result() if self.closed.done() else "session closed"
            raise ConnectionClosed(reason)
        seq = self.session.send(pdu, self._time())
        self._schedule_flush()
        return seq

    def request(self, pdu: p.Pdu) -> asyncio.Future[p.Pdu]:
        """Send a request; the future resolves to its response PDU.

        It fails with ResponseTimeout or ConnectionClosed. The window must have room:
        await `wait_for_window()` first for windowed requests.
        """
        seq = self.send(pdu)
        future: asyncio.Future[p.Pdu] = self._loop.create_future()
        self._pending[seq] = future
        self._rearm()
        return future

    def request_with(self, pdu: p.Pdu, callback: ResponseCallback) -> None:
        """Send a request; `callback(response, None)` or `callback(None, error)` is called
        from inside the read (or timer) that settles it.

        The hot path's form of `request`: no future, no extra loop iteration between the
        response arriving and the caller acting on it (e.g. refilling the window). Errors are
        ResponseTimeout and ConnectionClosed, as for `request`.
        """
        seq = self.send(pdu)
        self._callbacks[seq] = callback
        self._rearm()

    def _call(
        self, callback: ResponseCallback, response: p.Pdu | None, error: Exception | None
    ) -> None:
        try:
            callback(response, error)
        except Exception as exc:
            self._loop.call_exception_handler(
                {"message": "SMPP response callback failed", "exception": exc, "protocol": self}
            )

    async def wait_for_window(self) -> None:
        """Wait until a window slot is free (or the link closes)."""
        while self.session.window_available <= 0:
            if self.closed.done():
                raise ConnectionClosed(self.closed.result())
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._window_waiters.append(waiter)
            await waiter
        if self.closed.done():
            raise ConnectionClosed(self.closed.result())

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        if self._write_paused and not self.closed.done():
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write what is queued now instead of at the loop's next turn: a read does at its
        end, and so may a caller that queued a batch outside a read."""
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # ------------------------------------------------------------------ events

    def _dispatch(self, events: list[Event]) -> None:
        pending = self._pending
        callbacks = self._callbacks
        freed = False
        for event in events:
            if type(event) is ResponseReceived:
                seq = event.request.sequence_number
                callback = callbacks.pop(seq, None)
                if callback is not None:
                    self._call(callback, event.response, None)
                    if event.request.command_id in WINDOWED:
                        freed = True
                    continue
                future = pending.pop(seq, None)
                if future is not None and not future.done():
                    future.set_result(event.response)
                if event.request.command_id in WINDOWED:
                    freed = True
                if self.on_event is not None and future is None:
                    self.on_event(event)
                continue
            if type(event) is ResponseTimedOut:
                seq = event.request.sequence_number
                callback = callbacks.pop(seq, None)
                if callback is not None:
                    self._call(callback, None, ResponseTimeout(event.request))
                future = pending.pop(seq, None)
                if future is not None and not future.done():
                    future.set_exception(ResponseTimeout(event.request))
                freed = True
            elif type(event) is Closed:
                for request in event.unanswered:
                    callback = callbacks.pop(request.sequence_number, None)
                    if callback is not None:
                        self._call(callback, None, ConnectionClosed(event.reason))
                    future = pending.pop(request.sequence_number, None)
                    if future is not None and not future.done():
                        future.set_exception(ConnectionClosed(event.reason))
                freed = True
            if self.on_event is not None:
                self.on_event(event)
            if type(event) is Closed:
                self.flush()
                self._end_transport()
                self._finish(event.reason)
        if freed:
            self._wake_window_waiters()

    def window_changed(self) -> None:
        """The session's window was resized: wake waiters that now fit."""
        self._wake_window_waiters()

    def _wake_window_waiters(self) -> None:
        waiters = self._window_waiters
        available = self.session.window_available
        closed = self.closed.done()
        while waiters and (available > 0 or closed):
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                available -= 1

    def _end_transport(self) -> None:
        """The session ended: close the connection once what is queued is written.

        A half-close first (FIN after our last PDU, e.g. the generic_nack of a framing error),
        then reading on, discarded, until the peer closes or LINGER_S passes. Closing with
        the peer's data unread (a carrier sending receipts meanwhile) would send a reset, and
        a peer that writes before it reads then loses our last PDU unread."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
            if self._linger is None:
                self._linger = self._loop.call_later(LINGER_S, transport.close)
        else:  # TLS: no half-close
            transport.close()

    def _finish(self, reason: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(reason))
        self._pending.clear()
        callbacks, self._callbacks = self._callbacks, {}
        for callback in callbacks.values():
            self._call(callback, None, ConnectionClosed(reason))
        if not self.closed.done():
            self.closed.set_result(reason)
        self._wake_window_waiters()
        self.resume_writing()

    # ------------------------------------------------------------------ timers

    def _rearm(self) -> None:
        deadline = self.session.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        events = self.session.handle_timers(self._time())
        if events:
            self._dispatch(events)
        self.flush()
        if not self.closed.done():
            self._rearm()

    def close(self) -> None:
        """Drop the connection without the unbind handshake."""
        if self.transport is not None:
            self.transport.close()
