"""A thin asyncio ESME client over the sans-I/O session: connect, bind, submit, unbind.

Many submits share one bind up to the window; each awaits its own submit_sm_resp. Incoming
deliver_sm / data_sm go to a handler whose return value (or awaited value) becomes the
response's command_status, so a caller can answer only once its effect is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.session import (
    Closed,
    Event,
    ProtocolViolation,
    RequestReceived,
    RequestRefused,
    Role,
    Session,
    UnexpectedResponse,
)
from connector.transport.protocol import (
    ConnectionClosed,
    LinkError,
    ResponseCallback,
    SmppProtocol,
)

BindMode = Literal["transmitter", "receiver", "transceiver"]


class DeferredAnswer:
    """What a deliver handler returns when the command_status is known only later (after a
    batched Redis write): `answer(status)` sends the deliver_sm_resp at once, from the caller's
    own callback, without a future or a loop iteration per PDU. `answer` before the client
    attached itself is kept and sent when it does."""

    __slots__ = ("_send", "_status")

    def __init__(self) -> None:
        self._send: Callable[[int], None] | None = None
        self._status: int | None = None

    def answer(self, status: int) -> None:
        if self._send is not None:
            send, self._send = self._send, None
            send(status)
        elif self._status is None:
            self._status = status

    def attach(self, send: Callable[[int], None]) -> None:
        if self._status is not None:
            send(self._status)
        else:
            self._send = send


DeliverHandler = Callable[[p.Pdu], int | Awaitable[int] | DeferredAnswer]

_log = logging.getLogger(__name__)

_BIND_PDUS: dict[str, type[p._Bind]] = {
    "transmitter": p.BindTransmitter,
    "receiver": p.BindReceiver,
    "transceiver": p.BindTransceiver,
}


class BindRefused(LinkError):
    """The SMSC answered the bind with an error status."""

    def __init__(self, command_status: int) -> None:
        name = c.status_name(command_status)
        super().__init__(f"bind refused: {name} ({c.status_description(command_status)})")
        self.command_status = command_status


def _describe(event: Event) -> str:
    if isinstance(event, ProtocolViolation):
        return f"undecodable PDU ({event.error}); answered: {event.answered}"
    if isinstance(event, UnexpectedResponse):
        pdu = event.pdu
        name = c.command_name(pdu.command_id)
        return f"response to no request of ours: {name} #{pdu.sequence_number}"
    if isinstance(event, RequestRefused):
        return (
            f"{c.command_name(event.pdu.command_id)} refused: {c.status_name(event.command_status)}"
        )
    return type(event).__name__


class SmppClient:
    """One ESME session to one SMSC."""

    def __init__(
        self,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        bind: BindMode = "transceiver",
        window: int = 10,
        response_timeout_s: float = 30.0,
        enquire_link_interval_s: float = 30.0,
        on_deliver: DeliverHandler | None = None,
        max_command_length: int = 64 * 1024,
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.bind_mode: BindMode = bind
        self.on_deliver = on_deliver
        self.on_closed: Callable[[str], None] | None = None
        self.name = system_id  # the bind's name in logs; the pool sets carrier/tr0 and so on
        self.carrier = ""  # the carrier it belongs to, for logs (set by the pool)
        self._session_args = {
            "window": window,
            "response_timeout_s": response_timeout_s,
            "enquire_link_interval_s": enquire_link_interval_s,
            "max_command_length": max_command_length,
        }
        self._protocol: SmppProtocol | None = None
        self._handler_tasks: set[asyncio.Task[None]] = set()

    @property
    def protocol(self) -> SmppProtocol:
        if self._protocol is None:
            raise ConnectionClosed("not connected")
        return self._protocol

    @property
    def session(self) -> Session:
        return self.protocol.session

    @property
    def is_bound(self) -> bool:
        return (
            self._protocol is not None
            and not self._protocol.closed.done()
            and self._protocol.session.is_bound
        )

    def can_submit(self) -> bool:
        """Bound, with a free window slot, and the transport not asking us to wait.

        The pool asks this before every submit_sm: one call, not five property lookups."""
        protocol = self._protocol
        if protocol is None or protocol.write_paused or protocol.closed.done():
            return False
        session = protocol.session
        return session.is_bound and session.window_available > 0

    async def connect(
        self,
        host: str,
        port: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Open the TCP (optionally TLS) connection."""
        loop = asyncio.get_running_loop()
        session = Session(Role.ESME, now=loop.time(), **self._session_args)  # type: ignore[arg-type]
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: SmppProtocol(session, self._on_event, loop=loop), host, port, ssl=ssl
            ),
            timeout_s,
        )
        self._protocol = protocol

    async def bind(self) -> p.Pdu:
        """Bind in the configured mode; raise BindRefused on an error status."""
        pdu = _BIND_PDUS[self.bind_mode](
            system_id=self.system_id, password=self.password, system_type=self.system_type
        )
        response = await self.protocol.request(pdu)
        if response.command_status != c.ESME_ROK:
            raise BindRefused(response.command_status)
        return response

    async def submit(self, pdu: p.SubmitSm) -> p.Pdu:
        """Submit once a window slot is free; return the submit_sm_resp (or generic_nack).

        Raises ResponseTimeout or ConnectionClosed; an error status is returned, not raised.
        """
        protocol = self.protocol
        if protocol.session.window_available <= 0:
            await protocol.wait_for_window()
        if protocol.write_paused:
            await protocol.drain()
        return await protocol.request(pdu)

    def submit_with(self, pdu: p.SubmitSm, callback: ResponseCallback) -> None:
        """Submit now (the window must have room); `callback(response, error)` is called from
        the read that brings the response (see `SmppProtocol.request_with`)."""
        self.protocol.request_with(pdu, callback)

    def flush(self) -> None:
        """Write the submits queued so far now (see `SmppProtocol.flush`)."""
        if self._protocol is not None:
            self._protocol.flush()

    async def unbind(self, timeout_s: float = 5.0) -> None:
        """Unbind politely, then close; a peer that does not answer gets closed anyway."""
        protocol = self._protocol
        if protocol is None or protocol.closed.done():
            return
        if protocol.session.is_bound:
            with contextlib.suppress(TimeoutError, LinkError):
                await asyncio.wait_for(protocol.request(p.Unbind()), timeout_s)
        await self.close()

    async def close(self) -> None:
        """Close the connection without unbinding and wait until it is gone."""
        protocol = self._protocol
        if protocol is None:
            return
        protocol.close()
        await asyncio.shield(protocol.closed)
        for task in list(self._handler_tasks):
            task.cancel()

    async def wait_closed(self) -> str:
        """The reason the link closed, once it has."""
        return await asyncio.shield(self.protocol.closed)

    # ------------------------------------------------------------------ incoming

    def _on_event(self, event: Event) -> None:
        kind = type(event)
        if kind is RequestReceived:
            self._on_request(event.pdu)  # type: ignore[attr-defined]
        elif kind is Closed:
            if self.on_closed is not None:
                self.on_closed(event.reason)  # type: ignore[attr-defined]
        elif kind is ProtocolViolation or kind is UnexpectedResponse or kind is RequestRefused:
            # Handled as the spec says (answered, dropped or refused); said once, here.
            _log.warning(
                "bind %s: peer protocol error: %s",
                self.name,
                _describe(event),
                extra={"carrier": self.carrier, "bind": self.name},
            )

    def _on_request(self, pdu: p.Pdu) -> None:
        protocol = self.protocol
        if pdu.command_id not in (c.DELIVER_SM, c.DATA_SM):
            return  # outbind / alert_notification: nothing to answer
        if self.on_deliver is None:
            protocol.send(p.response_to(pdu, c.ESME_ROK))
            return
        try:
            result = self.on_deliver(pdu)
        except Exception:
            _log.exception("deliver_sm handler failed; answering ESME_RX_T_APPN")
            protocol.send(p.response_to(pdu, c.ESME_RX_T_APPN))
            return
        if isinstance(result, DeferredAnswer):
            result.attach(partial(self._answer, pdu))
        elif isinstance(result, asyncio.Future):
            # The batched path: no task per deliver_sm, the answer follows the future.
            result.add_done_callback(lambda future: self._answer_future(pdu, future))
        elif inspect.isawaitable(result):
            task = asyncio.ensure_future(self._answer_later(pdu, result))
            self._handler_tasks.add(task)
            task.add_done_callback(self._handler_tasks.discard)
        else:
            protocol.send(p.response_to(pdu, result))

    def _answer(self, pdu: p.Pdu, status: int) -> None:
        protocol = self._protocol
        if protocol is not None and not protocol.closed.done():
            protocol.send(p.response_to(pdu, status))

    def _answer_future(self, pdu: p.Pdu, future: asyncio.Future[int]) -> None:
        if future.cancelled() or future.exception() is not None:
            if not future.cancelled():
                _log.error("deliver_sm handler failed: %s", future.exception())
            status = c.ESME_RX_T_APPN
        else:
            status = future.result()
        protocol = self._protocol
        if protocol is not None and not protocol.closed.done():
            protocol.send(p.response_to(pdu, status))

    async def _answer_later(self, pdu: p.Pdu, result: Awaitable[int]) -> None:
        try:
            status = await result
        except Exception:
            _log.exception("deliver_sm handler failed; answering ESME_RX_T_APPN")
            status = c.ESME_RX_T_APPN
        protocol = self._protocol
        if protocol is not None and not protocol.closed.done():
            protocol.send(p.response_to(pdu, status))
