"""The SMPP 3.4 session as a state machine: bytes and PDUs in, bytes and events out.

No sockets, no clock: every call that depends on time takes `now` (seconds, any monotonic
origin), and `next_deadline()` says when `handle_timers()` must be called next. The same
class plays the ESME (our carrier links) and the SMSC (the simulator) role.

States (SMPP 3.4 §2.2, §2.3): OPEN → BINDING (ESME awaiting bind_resp) → BOUND_TX / BOUND_RX /
BOUND_TRX → UNBINDING (we sent unbind) → CLOSED. Which requests each side may send or
receive in each state is the table `INCOMING` / `OUTGOING` below (SMPP 3.4 §2.4, table 2-1).
"""

from __future__ import annotations

import enum
from typing import Final

import msgspec

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.codec import DEFAULT_MAX_COMMAND_LENGTH, decode, encode
from connector.smpp.errors import LocalProtocolError, PduError, WindowFullError
from connector.smpp.framing import Framer

MAX_SEQUENCE: Final = 0x7FFFFFFF


class Role(enum.Enum):
    ESME = "esme"
    SMSC = "smsc"


class State(enum.Enum):
    OPEN = "open"
    BINDING = "binding"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


BOUND_STATES: Final = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})

_BIND_REQUESTS: Final = frozenset({c.BIND_TRANSMITTER, c.BIND_RECEIVER, c.BIND_TRANSCEIVER})
_BOUND_BY: Final[dict[int, State]] = {
    c.BIND_TRANSMITTER: State.BOUND_TX,
    c.BIND_RECEIVER: State.BOUND_RX,
    c.BIND_TRANSCEIVER: State.BOUND_TRX,
    c.BIND_TRANSMITTER_RESP: State.BOUND_TX,
    c.BIND_RECEIVER_RESP: State.BOUND_RX,
    c.BIND_TRANSCEIVER_RESP: State.BOUND_TRX,
}
_ESME_TX: Final = frozenset({c.SUBMIT_SM, c.DATA_SM, c.QUERY_SM, c.CANCEL_SM})
_ESME_RX: Final = frozenset({c.DELIVER_SM, c.DATA_SM, c.ALERT_NOTIFICATION})
_LINK: Final = frozenset({c.ENQUIRE_LINK, c.UNBIND})

# Requests a session may receive from its peer, by (own role, state).
INCOMING: Final[dict[tuple[Role, State], frozenset[int]]] = {
    (Role.ESME, State.OPEN): frozenset({c.ENQUIRE_LINK, c.OUTBIND}),
    (Role.ESME, State.BINDING): frozenset({c.ENQUIRE_LINK}),
    (Role.ESME, State.BOUND_TX): _LINK,
    (Role.ESME, State.BOUND_RX): _LINK | _ESME_RX,
    (Role.ESME, State.BOUND_TRX): _LINK | _ESME_RX,
    (Role.SMSC, State.OPEN): _BIND_REQUESTS | {c.ENQUIRE_LINK},
    (Role.SMSC, State.BINDING): frozenset({c.ENQUIRE_LINK}),
    (Role.SMSC, State.BOUND_TX): _LINK | _ESME_TX,
    (Role.SMSC, State.BOUND_RX): _LINK,
    (Role.SMSC, State.BOUND_TRX): _LINK | _ESME_TX,
}
# Requests a session may send, by (own role, state).
OUTGOING: Final[dict[tuple[Role, State], frozenset[int]]] = {
    (Role.ESME, State.OPEN): _BIND_REQUESTS | {c.ENQUIRE_LINK},
    (Role.ESME, State.BINDING): frozenset(),
    (Role.ESME, State.BOUND_TX): _LINK | _ESME_TX,
    (Role.ESME, State.BOUND_RX): _LINK,
    (Role.ESME, State.BOUND_TRX): _LINK | _ESME_TX,
    (Role.SMSC, State.OPEN): frozenset({c.OUTBIND, c.ENQUIRE_LINK}),
    (Role.SMSC, State.BINDING): frozenset(),
    (Role.SMSC, State.BOUND_TX): _LINK,
    (Role.SMSC, State.BOUND_RX): _LINK | _ESME_RX,
    (Role.SMSC, State.BOUND_TRX): _LINK | _ESME_RX,
}
# Requests that take a window slot; link management never waits behind traffic.
WINDOWED: Final = frozenset({c.SUBMIT_SM, c.DELIVER_SM, c.DATA_SM, c.QUERY_SM, c.CANCEL_SM})
_NO_RESPONSE: Final = frozenset({c.OUTBIND, c.ALERT_NOTIFICATION})


# ---------------------------------------------------------------------------------------- events


class Event(msgspec.Struct, frozen=True, gc=False):
    """Something the session reports to the layer that drives it."""


class RequestReceived(Event, frozen=True):
    """A request the application must act upon and answer with `send(response)`.

    bind_* at the SMSC, deliver_sm / data_sm / alert_notification / outbind at the ESME,
    submit_sm and friends at the SMSC.
    """

    pdu: p.Pdu


class ResponseReceived(Event, frozen=True):
    """The answer to a request we sent (a generic_nack counts as one)."""

    request: p.Pdu
    response: p.Pdu


class ResponseTimedOut(Event, frozen=True):
    """No answer within `response_timeout_s`: the peer may still have acted on it."""

    request: p.Pdu


class Bound(Event, frozen=True):
    state: State
    system_id: str


class Unbound(Event, frozen=True):
    """The unbind handshake finished; `by_peer` says who started it."""

    by_peer: bool


class RequestRefused(Event, frozen=True):
    """The peer sent a request its state does not allow; we answered it with an error."""

    pdu: p.Pdu
    command_status: int


class UnexpectedResponse(Event, frozen=True):
    """A response to no request of ours (or of the wrong kind): dropped."""

    pdu: p.Pdu


class ProtocolViolation(Event, frozen=True):
    """The peer sent bytes that do not decode; `answered` when a nack or *_resp went back."""

    error: PduError
    answered: bool


class Closed(Event, frozen=True):
    """The session is over; the transport must be closed. Emitted exactly once."""

    reason: str
    unanswered: tuple[p.Pdu, ...]


# --------------------------------------------------------------------------------------- session


class Session:
    """One SMPP session, either side of the link."""

    def __init__(
        self,
        role: Role,
        *,
        window: int = 10,
        response_timeout_s: float = 30.0,
        enquire_link_interval_s: float = 30.0,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        now: float = 0.0,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        if response_timeout_s <= 0 or enquire_link_interval_s <= 0:
            raise ValueError("timeouts must be positive")
        self.role = role
        self.window = window
        self.response_timeout_s = response_timeout_s
        self.enquire_link_interval_s = enquire_link_interval_s
        self._outgoing: frozenset[int] = frozenset()
        self._incoming: frozenset[int] | None = None
        self._bound = False
        self.state = State.OPEN
        self.peer_system_id = ""
        self._framer = Framer(max_command_length)
        self._out: list[bytes] = []
        # seq -> (request, deadline); insertion order is deadline order (one timeout for all).
        self._outstanding: dict[int, tuple[p.Pdu, float]] = {}
        self._in_window = 0
        self._next_seq = 1
        self._last_rx = now
        self._bound_as: State | None = None
        self._enquiring = False

    # ---------------------------------------------------------------- introspection

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        # The legality sets are looked up once per transition, not once per PDU.
        self._state = state
        self._outgoing = OUTGOING.get((self.role, state), frozenset())
        self._incoming = INCOMING.get((self.role, state))
        self._bound = state in BOUND_STATES

    @property
    def window_in_use(self) -> int:
        return self._in_window

    @property
    def window_available(self) -> int:
        return self.window - self._in_window

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    @property
    def is_closed(self) -> bool:
        return self._state is State.CLOSED

    @property
    def is_bound(self) -> bool:
        return self._bound

    def can_send(self, command_id: int) -> bool:
        """Whether the current state allows us to send this request."""
        return command_id in self._outgoing

    # ---------------------------------------------------------------- sending

    def send(self, pdu: p.Pdu, now: float) -> int:
        """Queue `pdu` for the wire. Requests get a fresh sequence number, returned.

        Raises LocalProtocolError when the state forbids the request, WindowFullError
        when every window slot is taken. Responses keep the sequence number they carry.
        """
        state = self._state
        cid = pdu.command_id
        if pdu.is_response:
            if state is State.CLOSED:
                raise LocalProtocolError("session is closed")
            self._out.append(encode(pdu))
            if (
                cid in _BOUND_BY
                and self.role is Role.SMSC
                and state is State.OPEN
                and pdu.command_status == c.ESME_ROK
            ):
                self.state = self._bound_as = _BOUND_BY[cid]
            return pdu.sequence_number
        if cid not in self._outgoing:
            raise LocalProtocolError(
                f"{c.command_name(cid)} not allowed for {self.role.value} in {state.value}"
            )
        windowed = cid in WINDOWED
        if windowed and self._in_window >= self.window:
            raise WindowFullError(f"window of {self.window} is full")
        seq = self._allocate_sequence()
        pdu.sequence_number = seq
        data = encode(pdu)
        if cid not in _NO_RESPONSE:
            self._outstanding[seq] = (pdu, now + self.response_timeout_s)
            if windowed:
                self._in_window += 1
        self._out.append(data)
        if cid in _BIND_REQUESTS:
            self.state = State.BINDING
        elif cid == c.UNBIND:
            self.state = State.UNBINDING
        elif cid == c.ENQUIRE_LINK:
            self._enquiring = True
        return seq

    def _allocate_sequence(self) -> int:
        seq = self._next_seq
        while seq in self._outstanding:  # bounded: at most len(outstanding) steps
            seq = seq + 1 if seq < MAX_SEQUENCE else 1
        self._next_seq = seq + 1 if seq < MAX_SEQUENCE else 1
        return seq

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call, as one buffer."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def unbind(self, now: float) -> int:
        """Start the unbind handshake (SMPP 3.4 §4.2)."""
        return self.send(p.Unbind(), now)

    # ---------------------------------------------------------------- receiving

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer; return what happened, in order."""
        if self._state is State.CLOSED:
            return []
        events: list[Event] = []
        try:
            frames = self._framer.feed(data)
        except PduError as error:
            self._framing_failed(error, events)
            return events
        if frames:
            self._last_rx = now
        for frame in frames:
            if self.is_closed:
                break
            self._receive_frame(frame, now, events)
        if self._framer.error is not None and not self.is_closed:
            self._framing_failed(self._framer.error, events)
        return events

    def _framing_failed(self, error: PduError, events: list[Event]) -> None:
        self._out.append(encode(p.GenericNack(error.command_status, error.sequence_number)))
        events.append(ProtocolViolation(error, answered=True))
        self._close(f"framing lost: {error}", events)

    def _receive_frame(self, frame: bytes, now: float, events: list[Event]) -> None:
        try:
            pdu = decode(frame)
        except PduError as error:
            self._undecodable(error, events)
            return
        if pdu.is_response:
            self._receive_response(pdu, events)
        else:
            self._receive_request(pdu, events)

    def _receive_response(self, pdu: p.Pdu, events: list[Event]) -> None:
        seq = pdu.sequence_number
        entry = self._outstanding.get(seq)
        if entry is None:
            events.append(UnexpectedResponse(pdu))
            return
        request = entry[0]
        cid = pdu.command_id
        if cid != c.GENERIC_NACK and cid != (request.command_id | c.RESPONSE_BIT):
            events.append(UnexpectedResponse(pdu))
            return
        del self._outstanding[seq]
        rcid = request.command_id
        if rcid in WINDOWED:
            self._in_window -= 1
        events.append(ResponseReceived(request, pdu))
        if rcid in _BIND_REQUESTS and self._state is State.BINDING:
            if pdu.command_status == c.ESME_ROK and cid != c.GENERIC_NACK:
                self.state = self._bound_as = _BOUND_BY[rcid]
                self.peer_system_id = getattr(pdu, "system_id", "")
                events.append(Bound(self._state, self.peer_system_id))
            else:
                self.state = State.OPEN
        elif rcid == c.UNBIND:
            events.append(Unbound(by_peer=False))
            self._close("unbound", events)
        elif rcid == c.ENQUIRE_LINK:
            self._enquiring = False

    def _receive_request(self, pdu: p.Pdu, events: list[Event]) -> None:
        cid = pdu.command_id
        state = self._state
        allowed = self._incoming
        if allowed is None:  # UNBINDING: still answer what the bound state took
            allowed = INCOMING.get((self.role, self._bound_as or State.OPEN), frozenset())
        if cid not in allowed:
            status = (
                c.ESME_RALYBND
                if cid in _BIND_REQUESTS and state in BOUND_STATES
                else c.ESME_RINVBNDSTS
            )
            if cid not in _NO_RESPONSE:
                self._out.append(encode(p.response_to(pdu, status)))
            events.append(RequestRefused(pdu, status))
            return
        if cid == c.ENQUIRE_LINK:
            self._out.append(encode(p.EnquireLinkResp(c.ESME_ROK, pdu.sequence_number)))
        elif cid == c.UNBIND:
            self._out.append(encode(p.UnbindResp(c.ESME_ROK, pdu.sequence_number)))
            events.append(Unbound(by_peer=True))
            self._close("unbound by peer", events)
        else:
            if cid in _BIND_REQUESTS:
                self.peer_system_id = getattr(pdu, "system_id", "")
            events.append(RequestReceived(pdu))

    def _undecodable(self, error: PduError, events: list[Event]) -> None:
        cid = error.command_id
        answered = False
        if cid is not None and not cid & c.RESPONSE_BIT:
            response_cls = p.RESPONSE_FOR.get(cid)
            if response_cls is not None and error.command_status != c.ESME_RINVCMDID:
                # A known request with a bad body: its own response carries the error.
                self._out.append(encode(response_cls(error.command_status, error.sequence_number)))
            else:
                # Unknown command or bad header: generic_nack (SMPP 3.4 §4.3.1).
                self._out.append(encode(p.GenericNack(error.command_status, error.sequence_number)))
            answered = True
        events.append(ProtocolViolation(error, answered))

    # ---------------------------------------------------------------- time

    def next_deadline(self) -> float | None:
        """When `handle_timers` must run next, or None when nothing is pending."""
        if self._state is State.CLOSED:
            return None
        deadline: float | None = None
        if self._outstanding:
            deadline = next(iter(self._outstanding.values()))[1]
        if self._bound and not self._enquiring:
            idle = self._last_rx + self.enquire_link_interval_s
            if deadline is None or idle < deadline:
                deadline = idle
        return deadline

    def handle_timers(self, now: float) -> list[Event]:
        """Expire overdue requests and send enquire_link on an idle link."""
        events: list[Event] = []
        outstanding = self._outstanding
        while outstanding and self._state is not State.CLOSED:
            seq, (request, deadline) = next(iter(outstanding.items()))
            if deadline > now:
                break
            del outstanding[seq]
            cid = request.command_id
            if cid in WINDOWED:
                self._in_window -= 1
            events.append(ResponseTimedOut(request))
            if cid == c.ENQUIRE_LINK:
                self._enquiring = False
                self._close("peer unresponsive: enquire_link timed out", events)
            elif cid == c.UNBIND:
                self._close("unbind_resp timed out", events)
            elif cid in _BIND_REQUESTS and self._state is State.BINDING:
                self.state = State.OPEN
        if (
            self._state in BOUND_STATES
            and not self._enquiring
            and now >= self._last_rx + self.enquire_link_interval_s
        ):
            self.send(p.EnquireLink(), now)
        return events

    # ---------------------------------------------------------------- closing

    def connection_lost(self, reason: str = "connection lost") -> list[Event]:
        """The transport went away; report what will never be answered."""
        if self._state is State.CLOSED:
            return []
        events: list[Event] = []
        self._close(reason, events)
        return events

    def _close(self, reason: str, events: list[Event]) -> None:
        unanswered = tuple(request for request, _ in self._outstanding.values())
        self._outstanding.clear()
        self._in_window = 0
        self._enquiring = False
        self.state = State.CLOSED
        events.append(Closed(reason, unanswered))
