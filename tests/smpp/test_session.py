"""The sans-I/O SMPP session: an ESME and an SMSC driven back to back with a fake clock."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.codec import HEADER, decode, encode
from connector.smpp.errors import LocalProtocolError, PduError, WindowFullError
from connector.smpp.session import (
    BOUND_STATES,
    INCOMING,
    MAX_SEQUENCE,
    OUTGOING,
    WINDOWED,
    Bound,
    Closed,
    Event,
    ProtocolViolation,
    RequestReceived,
    RequestRefused,
    ResponseReceived,
    ResponseTimedOut,
    Role,
    Session,
    State,
    Unbound,
    UnexpectedResponse,
)

REQUESTS: dict[int, type[p.Pdu]] = {
    cls.command_id: cls for cls in p.PDU_CLASSES if not cls.is_response
}
REQUEST_IDS: list[int] = sorted(REQUESTS)
RESPONSE_IDS: list[int] = sorted(cls.command_id for cls in p.PDU_CLASSES if cls.is_response)
NO_RESPONSE = frozenset({c.OUTBIND, c.ALERT_NOTIFICATION})
BINDS = {"TX": c.BIND_TRANSMITTER, "RX": c.BIND_RECEIVER, "TRX": c.BIND_TRANSCEIVER}
BOUND_AS = {"TX": State.BOUND_TX, "RX": State.BOUND_RX, "TRX": State.BOUND_TRX}
STATE_LABELS = (
    "OPEN",
    "BINDING",
    "BOUND_TX",
    "BOUND_RX",
    "BOUND_TRX",
    "UNBINDING_TX",
    "UNBINDING_RX",
    "UNBINDING_TRX",
)
TIMEOUT = 10.0
INTERVAL = 25.0


# ------------------------------------------------------------------------------------- helpers


def split_frames(data: bytes) -> list[p.Pdu]:
    """Decode every PDU in a buffer the session produced."""
    pdus: list[p.Pdu] = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        pdus.append(decode(data[pos : pos + length]))
        pos += length
    return pdus


def frame(command_id: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, seq) + body


def make_bind(cid: int, system_id: str = "", password: str = "") -> p.Pdu:
    if cid == c.BIND_TRANSMITTER:
        return p.BindTransmitter(system_id=system_id, password=password)
    if cid == c.BIND_RECEIVER:
        return p.BindReceiver(system_id=system_id, password=password)
    assert cid == c.BIND_TRANSCEIVER
    return p.BindTransceiver(system_id=system_id, password=password)


def state_of(session: Session) -> State:
    """The state, read through a call so that mypy does not narrow it between steps."""
    return session.state


def bind_resp(cid: int, seq: int, status: int = c.ESME_ROK, system_id: str = "SMSC") -> p.Pdu:
    if cid == c.BIND_TRANSMITTER:
        return p.BindTransmitterResp(status, seq, system_id=system_id)
    if cid == c.BIND_RECEIVER:
        return p.BindReceiverResp(status, seq, system_id=system_id)
    assert cid == c.BIND_TRANSCEIVER
    return p.BindTransceiverResp(status, seq, system_id=system_id)


def make_pair(
    *, window: int = 10, timeout: float = TIMEOUT, interval: float = INTERVAL, now: float = 0.0
) -> tuple[Session, Session]:
    def make(role: Role) -> Session:
        return Session(
            role,
            window=window,
            response_timeout_s=timeout,
            enquire_link_interval_s=interval,
            now=now,
        )

    return make(Role.ESME), make(Role.SMSC)


def bind(esme: Session, smsc: Session, cid: int, now: float = 0.0) -> list[Event]:
    """Full bind handshake; returns the ESME's events."""
    esme.send(make_bind(cid, "esme", "pw"), now)
    (received,) = smsc.receive_data(esme.data_to_send(), now)
    assert isinstance(received, RequestReceived)
    smsc.send(bind_resp(cid, received.pdu.sequence_number), now)
    return esme.receive_data(smsc.data_to_send(), now)


def bound_pair(
    kind: str = "TRX",
    *,
    window: int = 10,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    now: float = 0.0,
) -> tuple[Session, Session]:
    esme, smsc = make_pair(window=window, timeout=timeout, interval=interval, now=now)
    bind(esme, smsc, BINDS[kind], now)
    assert esme.state is smsc.state is BOUND_AS[kind]
    return esme, smsc


def session_in(role: Role, label: str) -> Session:
    """A session of `role` in the state named by `label`, with nothing left to send."""
    if label == "OPEN":
        return Session(role)
    if label == "BINDING":
        if role is Role.ESME:
            session = Session(role)
            session.send(p.BindTransmitter(), 0.0)
        else:
            # An SMSC answers binds straight from OPEN and never reaches BINDING on its own;
            # the table still has the entry, so force the state to check it.
            session = Session(role)
            session.state = State.BINDING
        session.data_to_send()
        return session
    kind = label.split("_")[1]
    esme, smsc = bound_pair(kind)
    session = esme if role is Role.ESME else smsc
    if label.startswith("UNBINDING"):
        session.unbind(0.0)
    session.data_to_send()
    return session


def incoming_allowed(role: Role, label: str) -> frozenset[int]:
    if label.startswith("UNBINDING"):  # still answers what the bound state took
        return INCOMING[(role, BOUND_AS[label.split("_")[1]])]
    return INCOMING[(role, State[label])]


def all_cases() -> list[tuple[Role, str, int]]:
    return [(role, label, cid) for role in Role for label in STATE_LABELS for cid in REQUEST_IDS]


def case_id(case: tuple[Role, str, int]) -> str:
    role, label, cid = case
    return f"{role.value}-{label.lower()}-{c.command_name(cid)}"


CASES = all_cases()
CASE_IDS = [case_id(case) for case in CASES]


# --------------------------------------------------------------------------------- the tables


def test_tables_match_smpp34_table_2_1() -> None:
    """INCOMING / OUTGOING against SMPP 3.4 table 2-1, written out independently.

    As the project reads it: data_sm goes ESME → SMSC when the ESME may transmit and
    SMSC → ESME when it may receive; enquire_link is also allowed before the bind.
    """
    tx_rx_trx = {State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX}
    esme_sends = {
        c.BIND_TRANSMITTER: {State.OPEN},
        c.BIND_RECEIVER: {State.OPEN},
        c.BIND_TRANSCEIVER: {State.OPEN},
        c.UNBIND: tx_rx_trx,
        c.ENQUIRE_LINK: tx_rx_trx | {State.OPEN},
        c.SUBMIT_SM: {State.BOUND_TX, State.BOUND_TRX},
        c.DATA_SM: {State.BOUND_TX, State.BOUND_TRX},
        c.QUERY_SM: {State.BOUND_TX, State.BOUND_TRX},
        c.CANCEL_SM: {State.BOUND_TX, State.BOUND_TRX},
    }
    smsc_sends = {
        c.OUTBIND: {State.OPEN},
        c.UNBIND: tx_rx_trx,
        c.ENQUIRE_LINK: tx_rx_trx | {State.OPEN},
        c.DELIVER_SM: {State.BOUND_RX, State.BOUND_TRX},
        c.DATA_SM: {State.BOUND_RX, State.BOUND_TRX},
        c.ALERT_NOTIFICATION: {State.BOUND_RX, State.BOUND_TRX},
    }
    for state in (State.OPEN, *sorted(BOUND_STATES, key=lambda s: s.value)):
        by_esme = {cid for cid, states in esme_sends.items() if state in states}
        by_smsc = {cid for cid, states in smsc_sends.items() if state in states}
        assert OUTGOING[(Role.ESME, state)] == by_esme, state
        assert INCOMING[(Role.SMSC, state)] == by_esme, state
        assert OUTGOING[(Role.SMSC, state)] == by_smsc, state
        assert INCOMING[(Role.ESME, state)] == by_smsc, state
    for role in Role:
        assert OUTGOING[(role, State.BINDING)] == frozenset()
        assert INCOMING[(role, State.BINDING)] == {c.ENQUIRE_LINK}
        assert (role, State.UNBINDING) not in OUTGOING
        assert (role, State.CLOSED) not in OUTGOING


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="window"):
        Session(Role.ESME, window=0)
    with pytest.raises(ValueError, match="positive"):
        Session(Role.ESME, response_timeout_s=0)
    with pytest.raises(ValueError, match="positive"):
        Session(Role.SMSC, enquire_link_interval_s=-1)


# ---------------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("kind", ["TX", "RX", "TRX"])
def test_bind(kind: str) -> None:
    esme, smsc = make_pair()
    cid = BINDS[kind]
    request = make_bind(cid, "esme", "pw")
    seq = esme.send(request, 1.0)
    assert seq == 1
    assert esme.state is State.BINDING
    assert esme.outstanding == 1
    assert esme.window_in_use == 0

    events = smsc.receive_data(esme.data_to_send(), 1.0)
    assert events == [RequestReceived(request)]
    assert smsc.peer_system_id == "esme"
    assert smsc.state is State.OPEN
    smsc.send(bind_resp(cid, seq), 1.0)
    assert smsc.state is BOUND_AS[kind]
    assert smsc.is_bound

    events = esme.receive_data(smsc.data_to_send(), 1.0)
    assert len(events) == 2
    response = events[0]
    assert isinstance(response, ResponseReceived)
    assert response.request is request
    assert response.response == bind_resp(cid, seq)
    assert events[1] == Bound(BOUND_AS[kind], "SMSC")
    assert esme.state is BOUND_AS[kind]
    assert esme.peer_system_id == "SMSC"
    assert esme.outstanding == 0


@pytest.mark.parametrize("kind", ["TX", "RX", "TRX"])
def test_bind_refused(kind: str) -> None:
    esme, smsc = make_pair()
    cid = BINDS[kind]
    seq = esme.send(make_bind(cid, "esme", "wrong"), 0.0)
    smsc.receive_data(esme.data_to_send(), 0.0)
    smsc.send(bind_resp(cid, seq, c.ESME_RINVPASWD), 0.0)
    assert smsc.state is State.OPEN
    events = esme.receive_data(smsc.data_to_send(), 0.0)
    assert len(events) == 1
    assert isinstance(events[0], ResponseReceived)
    assert events[0].response.command_status == c.ESME_RINVPASWD
    assert esme.state is State.OPEN
    assert not esme.is_bound
    # A second attempt works.
    assert Bound(BOUND_AS[kind], "SMSC") in bind(esme, smsc, cid)


def test_bind_answered_by_generic_nack_is_refused() -> None:
    esme, smsc = make_pair()
    seq = esme.send(p.BindTransceiver(), 0.0)
    smsc.receive_data(esme.data_to_send(), 0.0)
    smsc.send(p.GenericNack(c.ESME_RSYSERR, seq), 0.0)
    events = esme.receive_data(smsc.data_to_send(), 0.0)
    assert [type(e) for e in events] == [ResponseReceived]
    assert esme.state is State.OPEN


def test_bind_fed_one_byte_at_a_time() -> None:
    esme, smsc = make_pair()
    esme.send(p.BindTransmitter(system_id="esme"), 0.0)
    data = esme.data_to_send()
    events: list[Event] = []
    for i in range(len(data)):
        events += smsc.receive_data(data[i : i + 1], 0.0)
    assert events == [RequestReceived(p.BindTransmitter(0, 1, system_id="esme"))]


@pytest.mark.parametrize("kind", ["TX", "TRX"])
def test_submit_sm_fifty_in_flight(kind: str) -> None:
    esme, smsc = bound_pair(kind, window=50)
    requests = [p.SubmitSm(destination_addr=f"2547{i:08d}", short_message=b"hi") for i in range(50)]
    seqs = [esme.send(request, 2.0) for request in requests]
    assert seqs == list(range(2, 52))  # 1 went to the bind
    assert esme.window_in_use == 50
    assert esme.window_available == 0
    assert esme.outstanding == 50
    with pytest.raises(WindowFullError):
        esme.send(p.SubmitSm(), 2.0)
    # Link management never waits behind traffic.
    esme.send(p.EnquireLink(), 2.0)
    assert esme.outstanding == 51

    events = smsc.receive_data(esme.data_to_send(), 2.0)
    assert len(events) == 50
    assert [e.pdu for e in events if isinstance(e, RequestReceived)] == requests
    assert esme.receive_data(smsc.data_to_send(), 2.0) == [
        ResponseReceived(p.EnquireLink(0, 52), p.EnquireLinkResp(0, 52))
    ]
    for request in reversed(requests):
        smsc.send(p.SubmitSmResp(0, request.sequence_number, f"id{request.sequence_number}"), 3.0)
    assert smsc.window_in_use == 0  # responses never take a slot

    events = esme.receive_data(smsc.data_to_send(), 3.0)
    assert len(events) == 50
    for event in events:
        assert isinstance(event, ResponseReceived)
        assert isinstance(event.response, p.SubmitSmResp)
        assert event.response.message_id == f"id{event.request.sequence_number}"
        assert event.response.sequence_number == event.request.sequence_number
    assert {id(e.request) for e in events if isinstance(e, ResponseReceived)} == {
        id(r) for r in requests
    }
    assert esme.window_in_use == 0
    assert esme.window_available == 50
    assert esme.outstanding == 0


def test_window_slot_freed_by_each_response() -> None:
    esme, smsc = bound_pair("TX", window=2)
    first = esme.send(p.SubmitSm(), 0.0)
    esme.send(p.QuerySm(message_id="x"), 0.0)
    with pytest.raises(WindowFullError):
        esme.send(p.CancelSm(), 0.0)
    smsc.receive_data(esme.data_to_send(), 0.0)
    smsc.send(p.SubmitSmResp(c.ESME_RTHROTTLED, first), 0.0)
    esme.receive_data(smsc.data_to_send(), 0.0)
    assert esme.window_in_use == 1
    esme.send(p.CancelSm(), 0.0)
    assert esme.window_in_use == 2


@pytest.mark.parametrize("kind", ["RX", "TRX"])
def test_deliver_sm(kind: str) -> None:
    esme, smsc = bound_pair(kind)
    deliver = p.DeliverSm(
        source_addr="254700000001", esm_class=4, short_message=b"id:1 stat:DELIVRD"
    )
    seq = smsc.send(deliver, 1.0)
    assert smsc.window_in_use == 1
    events = esme.receive_data(smsc.data_to_send(), 1.0)
    assert events == [RequestReceived(deliver)]
    esme.send(p.DeliverSmResp(0, seq), 1.0)
    events = smsc.receive_data(esme.data_to_send(), 1.0)
    assert events == [ResponseReceived(deliver, p.DeliverSmResp(0, seq))]
    assert smsc.window_in_use == 0


@pytest.mark.parametrize(
    ("kind", "sender"),
    [("TX", Role.ESME), ("TRX", Role.ESME), ("RX", Role.SMSC), ("TRX", Role.SMSC)],
)
def test_data_sm(kind: str, sender: Role) -> None:
    esme, smsc = bound_pair(kind)
    a, b = (esme, smsc) if sender is Role.ESME else (smsc, esme)
    request = p.DataSm(source_addr="1", destination_addr="2", tlvs={c.TAG_MESSAGE_PAYLOAD: b"x"})
    seq = a.send(request, 0.0)
    assert b.receive_data(a.data_to_send(), 0.0) == [RequestReceived(request)]
    b.send(p.DataSmResp(0, seq, "m1"), 0.0)
    assert a.receive_data(b.data_to_send(), 0.0) == [
        ResponseReceived(request, p.DataSmResp(0, seq, "m1"))
    ]


@pytest.mark.parametrize(("kind", "sender"), [("RX", Role.ESME), ("TX", Role.SMSC)])
def test_data_sm_illegal_direction(kind: str, sender: Role) -> None:
    esme, smsc = bound_pair(kind)
    with pytest.raises(LocalProtocolError):
        (esme if sender is Role.ESME else smsc).send(p.DataSm(), 0.0)


def test_query_sm_and_cancel_sm() -> None:
    esme, smsc = bound_pair("TX")
    query = p.QuerySm(message_id="abc", source_addr="1")
    cancel = p.CancelSm(message_id="abc", source_addr="1", destination_addr="2")
    q_seq = esme.send(query, 0.0)
    c_seq = esme.send(cancel, 0.0)
    events = smsc.receive_data(esme.data_to_send(), 0.0)
    assert events == [RequestReceived(query), RequestReceived(cancel)]
    query_resp = p.QuerySmResp(0, q_seq, "abc", "", c.MESSAGE_STATE_DELIVERED, 0)
    smsc.send(query_resp, 0.0)
    smsc.send(p.CancelSmResp(c.ESME_RCANCELFAIL, c_seq), 0.0)
    events = esme.receive_data(smsc.data_to_send(), 0.0)
    assert events == [
        ResponseReceived(query, query_resp),
        ResponseReceived(cancel, p.CancelSmResp(c.ESME_RCANCELFAIL, c_seq)),
    ]
    assert esme.window_in_use == 0


def test_outbind_then_bind() -> None:
    esme, smsc = make_pair()
    outbind = p.Outbind(system_id="SMSC", password="pw")
    smsc.send(outbind, 0.0)
    assert smsc.outstanding == 0
    assert smsc.next_deadline() is None
    assert smsc.state is State.OPEN
    assert esme.receive_data(smsc.data_to_send(), 0.0) == [RequestReceived(outbind)]
    assert esme.data_to_send() == b""  # outbind has no response
    assert Bound(State.BOUND_RX, "SMSC") in bind(esme, smsc, c.BIND_RECEIVER)


@pytest.mark.parametrize("kind", ["RX", "TRX"])
def test_alert_notification(kind: str) -> None:
    esme, smsc = bound_pair(kind)
    alert = p.AlertNotification(source_addr="1", esme_addr="2")
    smsc.send(alert, 0.0)
    assert smsc.outstanding == 0
    assert smsc.window_in_use == 0
    assert esme.receive_data(smsc.data_to_send(), 0.0) == [RequestReceived(alert)]
    assert esme.data_to_send() == b""


def _count_closed(events: list[Event]) -> int:
    return sum(isinstance(e, Closed) for e in events)


@pytest.mark.parametrize("kind", ["TX", "RX", "TRX"])
@pytest.mark.parametrize("initiator", [Role.ESME, Role.SMSC])
def test_unbind(kind: str, initiator: Role) -> None:
    esme, smsc = bound_pair(kind)
    a, b = (esme, smsc) if initiator is Role.ESME else (smsc, esme)
    request = p.Unbind()
    seq = a.send(request, 1.0)
    assert state_of(a) is State.UNBINDING
    events_b = b.receive_data(a.data_to_send(), 1.0)
    assert events_b == [Unbound(by_peer=True), Closed("unbound by peer", ())]
    assert b.state is State.CLOSED
    events_a = a.receive_data(b.data_to_send(), 1.0)
    assert events_a == [
        ResponseReceived(request, p.UnbindResp(0, seq)),
        Unbound(by_peer=False),
        Closed("unbound", ()),
    ]
    assert state_of(a) is State.CLOSED
    assert _count_closed(events_a) == _count_closed(events_b) == 1
    for session in (a, b):
        assert session.connection_lost() == []
        assert session.handle_timers(1e9) == []
        assert session.next_deadline() is None
        assert session.data_to_send() == b""


def test_unbind_by_peer_reports_unanswered_requests() -> None:
    esme, smsc = bound_pair("TRX")
    submits = [p.SubmitSm() for _ in range(3)]
    for submit in submits:
        esme.send(submit, 0.0)
    esme.data_to_send()  # lost on the way
    smsc.send(p.Unbind(), 0.0)
    events = esme.receive_data(smsc.data_to_send(), 0.0)
    assert events == [Unbound(by_peer=True), Closed("unbound by peer", tuple(submits))]
    assert esme.window_in_use == 0
    assert esme.outstanding == 0


def test_simultaneous_unbind() -> None:
    esme, smsc = bound_pair("TRX")
    esme_unbind, smsc_unbind = p.Unbind(), p.Unbind()
    esme.send(esme_unbind, 0.0)
    smsc.send(smsc_unbind, 0.0)
    from_esme, from_smsc = esme.data_to_send(), smsc.data_to_send()
    events_e = esme.receive_data(from_smsc, 0.0)
    events_s = smsc.receive_data(from_esme, 0.0)
    assert events_e == [Unbound(by_peer=True), Closed("unbound by peer", (esme_unbind,))]
    assert events_s == [Unbound(by_peer=True), Closed("unbound by peer", (smsc_unbind,))]
    # The unbind_resp each sent arrives at a closed session and is ignored.
    assert esme.receive_data(smsc.data_to_send(), 0.0) == []
    assert smsc.receive_data(esme.data_to_send(), 0.0) == []


def test_unbinding_session_still_answers_traffic() -> None:
    esme, smsc = bound_pair("TRX")
    esme.send(p.Unbind(), 0.0)
    deliver = p.DeliverSm(short_message=b"late")
    seq = smsc.send(deliver, 0.0)
    assert esme.receive_data(smsc.data_to_send(), 0.0) == [RequestReceived(deliver)]
    esme.send(p.DeliverSmResp(0, seq), 0.0)  # responses are still allowed in UNBINDING
    events = smsc.receive_data(esme.data_to_send(), 0.0)
    assert events == [Unbound(by_peer=True), Closed("unbound by peer", (deliver,))]


def test_connection_lost() -> None:
    esme, _smsc = bound_pair("TX")
    submit = p.SubmitSm()
    esme.send(submit, 0.0)
    assert esme.connection_lost("reset") == [Closed("reset", (submit,))]
    assert esme.connection_lost() == []
    assert esme.window_in_use == 0


# ------------------------------------------------------------ every (role, state, command) pair


@pytest.mark.parametrize(("role", "label", "cid"), CASES, ids=CASE_IDS)
def test_incoming_request(role: Role, label: str, cid: int) -> None:
    session = session_in(role, label)
    state_before = session.state
    outstanding_before = session.outstanding
    request = REQUESTS[cid](0, 77)
    events = session.receive_data(encode(request), 5.0)
    sent = split_frames(session.data_to_send())

    if cid in incoming_allowed(role, label):
        if cid == c.ENQUIRE_LINK:
            assert events == []
            assert sent == [p.EnquireLinkResp(c.ESME_ROK, 77)]
        elif cid == c.UNBIND:
            assert len(events) == 2
            assert events[0] == Unbound(by_peer=True)
            assert isinstance(events[1], Closed)
            assert len(events[1].unanswered) == outstanding_before
            assert sent == [p.UnbindResp(c.ESME_ROK, 77)]
            assert session.state is State.CLOSED
            return
        else:
            assert events == [RequestReceived(request)]
            assert sent == []
    else:
        status = (
            c.ESME_RALYBND
            if cid in BINDS.values() and state_before in BOUND_STATES
            else c.ESME_RINVBNDSTS
        )
        assert events == [RequestRefused(request, status)]
        if cid in NO_RESPONSE:
            assert sent == []
        else:
            assert sent == [p.response_to(request, status)]
            assert sent[0].command_id == cid | c.RESPONSE_BIT
            assert sent[0].command_status == status
    assert session.state is state_before
    assert session.outstanding == outstanding_before


@pytest.mark.parametrize(("role", "label", "cid"), CASES, ids=CASE_IDS)
def test_outgoing_request(role: Role, label: str, cid: int) -> None:
    session = session_in(role, label)
    state_before = session.state
    outstanding_before = session.outstanding
    allowed = OUTGOING.get((role, state_before), frozenset())
    assert session.can_send(cid) is (cid in allowed)
    request = REQUESTS[cid]()
    if cid not in allowed:
        with pytest.raises(LocalProtocolError, match="not allowed") as info:
            session.send(request, 5.0)
        assert not isinstance(info.value, WindowFullError)
        assert session.data_to_send() == b""
        assert session.state is state_before
        assert session.outstanding == outstanding_before
        return
    seq = session.send(request, 5.0)
    assert 1 <= seq <= MAX_SEQUENCE
    assert request.sequence_number == seq
    assert split_frames(session.data_to_send()) == [request]
    expected_state = {
        c.BIND_TRANSMITTER: State.BINDING,
        c.BIND_RECEIVER: State.BINDING,
        c.BIND_TRANSCEIVER: State.BINDING,
        c.UNBIND: State.UNBINDING,
    }.get(cid, state_before)
    assert session.state is expected_state
    assert session.outstanding == outstanding_before + (cid not in NO_RESPONSE)
    assert session.window_in_use == (cid in WINDOWED)


@pytest.mark.parametrize("role", list(Role))
def test_closed_session_is_inert(role: Role) -> None:
    session = Session(role)
    assert session.connection_lost() == [Closed("connection lost", ())]
    for cid in REQUEST_IDS:
        assert session.receive_data(encode(REQUESTS[cid](0, 3)), 0.0) == []
        with pytest.raises(LocalProtocolError):
            session.send(REQUESTS[cid](), 0.0)
    assert session.receive_data(b"\xff" * 40, 0.0) == []
    with pytest.raises(LocalProtocolError, match="closed"):
        session.send(p.EnquireLinkResp(0, 3), 0.0)
    assert session.data_to_send() == b""
    assert session.next_deadline() is None
    assert session.handle_timers(1e9) == []


# ------------------------------------------------------------------------------------- timers


def test_next_deadline_tracks_responses_and_idle_time() -> None:
    esme, smsc = bound_pair("TX", timeout=10.0, interval=30.0)
    assert esme.next_deadline() == 30.0  # idle since the bind_resp at 0
    assert Session(Role.ESME).next_deadline() is None  # OPEN, nothing pending
    first = esme.send(p.SubmitSm(), 5.0)
    assert esme.next_deadline() == 15.0
    second = esme.send(p.SubmitSm(), 7.0)
    assert esme.next_deadline() == 15.0
    smsc.receive_data(esme.data_to_send(), 7.0)
    smsc.send(p.SubmitSmResp(0, first, "a"), 8.0)
    esme.receive_data(smsc.data_to_send(), 8.0)
    assert esme.next_deadline() == 17.0  # the second submit
    smsc.send(p.SubmitSmResp(0, second, "b"), 9.0)
    esme.receive_data(smsc.data_to_send(), 9.0)
    assert esme.next_deadline() == 39.0  # idle: last receipt at 9
    # A request with a deadline later than the idle time does not hide it.
    esme.send(p.SubmitSm(), 35.0)
    assert esme.next_deadline() == 39.0


def test_idle_enquire_link_answered_by_peer() -> None:
    esme, smsc = bound_pair("TRX", timeout=10.0, interval=30.0)
    assert esme.handle_timers(29.9) == []
    assert esme.data_to_send() == b""
    assert esme.handle_timers(30.0) == []
    sent = split_frames(esme.data_to_send())
    assert [type(pdu) for pdu in sent] == [p.EnquireLink]
    assert esme.next_deadline() == 40.0  # now the enquire_link's response deadline
    assert esme.handle_timers(35.0) == []  # no second enquire_link while one is out
    assert esme.data_to_send() == b""

    assert smsc.receive_data(encode(sent[0]), 31.0) == []  # auto-answered
    events = esme.receive_data(smsc.data_to_send(), 31.0)
    assert events == [ResponseReceived(sent[0], p.EnquireLinkResp(0, sent[0].sequence_number))]
    assert esme.next_deadline() == 61.0
    assert esme.state is State.BOUND_TRX


def test_unanswered_enquire_link_closes_session() -> None:
    esme, _smsc = bound_pair("TRX", timeout=10.0, interval=30.0)
    submit = p.SubmitSm()
    esme.send(submit, 25.0)
    esme.handle_timers(30.0)
    enquire = split_frames(esme.data_to_send())[-1]
    assert isinstance(enquire, p.EnquireLink)
    # The submit (deadline 35) expires first, the enquire_link (deadline 40) then kills it.
    assert esme.handle_timers(35.0) == [ResponseTimedOut(submit)]
    assert esme.handle_timers(39.9) == []
    events = esme.handle_timers(40.0)
    assert events[0] == ResponseTimedOut(enquire)
    assert isinstance(events[1], Closed)
    assert events[1].reason.startswith("peer unresponsive")
    assert events[1].unanswered == ()
    assert len(events) == 2
    assert esme.state is State.CLOSED
    assert esme.next_deadline() is None


def test_unanswered_submit_times_out_and_frees_its_slot() -> None:
    esme, _smsc = bound_pair("TX", window=2, timeout=10.0, interval=100.0)
    a, b = p.SubmitSm(), p.SubmitSm()
    seq_a = esme.send(a, 1.0)
    esme.send(b, 2.0)
    with pytest.raises(WindowFullError):
        esme.send(p.SubmitSm(), 3.0)
    assert esme.handle_timers(10.9) == []
    assert esme.handle_timers(11.0) == [ResponseTimedOut(a)]
    assert esme.window_in_use == 1
    assert esme.next_deadline() == 12.0
    esme.send(p.SubmitSm(), 11.0)  # the slot is free again
    assert esme.handle_timers(12.0) == [ResponseTimedOut(b)]
    assert esme.window_in_use == 1
    assert esme.state is State.BOUND_TX
    # A late answer to a request that timed out is dropped.
    late = p.SubmitSmResp(0, seq_a, "late")
    assert esme.receive_data(encode(late), 13.0) == [UnexpectedResponse(late)]
    assert esme.window_in_use == 1


def test_bind_timeout_returns_to_open() -> None:
    esme = Session(Role.ESME, response_timeout_s=5.0)
    bind_request = p.BindTransmitter()
    esme.send(bind_request, 0.0)
    assert esme.next_deadline() == 5.0
    assert esme.handle_timers(5.0) == [ResponseTimedOut(bind_request)]
    assert esme.state is State.OPEN
    assert esme.next_deadline() is None


def test_unbind_timeout_closes() -> None:
    esme, _smsc = bound_pair("TX", timeout=10.0)
    unbind = p.Unbind()
    esme.send(unbind, 1.0)
    events = esme.handle_timers(11.0)
    assert events == [ResponseTimedOut(unbind), Closed("unbind_resp timed out", ())]


def test_sequence_wraps_to_one() -> None:
    esme, _smsc = bound_pair("TX")
    esme._next_seq = MAX_SEQUENCE - 1
    assert esme.send(p.SubmitSm(), 0.0) == MAX_SEQUENCE - 1
    assert esme.send(p.SubmitSm(), 0.0) == MAX_SEQUENCE
    assert esme.send(p.SubmitSm(), 0.0) == 1
    assert esme.send(p.SubmitSm(), 0.0) == 2


def test_sequence_skips_numbers_still_outstanding() -> None:
    esme = Session(Role.ESME, window=10)
    smsc = Session(Role.SMSC)
    bind(esme, smsc, c.BIND_TRANSMITTER)  # seq 1, answered
    held = [esme.send(p.SubmitSm(), 0.0) for _ in range(3)]
    assert held == [2, 3, 4]
    esme._next_seq = MAX_SEQUENCE
    assert esme.send(p.SubmitSm(), 0.0) == MAX_SEQUENCE
    assert esme.send(p.SubmitSm(), 0.0) == 1  # 1 is free again
    assert esme.send(p.SubmitSm(), 0.0) == 5  # 2, 3 and 4 still await their response
    esme._next_seq = 3
    assert esme.send(p.EnquireLink(), 0.0) == 6
    # Outstanding sequence numbers are unique.
    assert len(set(esme._outstanding)) == esme.outstanding == 7
    # Skipping past the top wraps too: MAX is taken, so is 1, 2 ... 6.
    esme._next_seq = MAX_SEQUENCE
    assert esme.send(p.EnquireLink(), 0.0) == 7
    assert esme._next_seq == 8
    assert all(1 <= seq <= MAX_SEQUENCE for seq in esme._outstanding)


# ------------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: smsc\r\n\r\n",
        b"\x00\x00\x00\x05hello world, not smpp",
        b"\x00\x00\x00\x00",
        b"\xff\xff\xff\xff\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x09",
    ],
    ids=["http", "short-length", "zero-length", "4GiB-length"],
)
def test_unframeable_bytes_nack_then_close(garbage: bytes) -> None:
    esme, _smsc = bound_pair("TRX")
    submit = p.SubmitSm()
    esme.send(submit, 0.0)
    events = esme.receive_data(garbage, 1.0)
    assert len(events) == 2
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered
    assert events[0].error.fatal
    assert events[0].error.command_status == c.ESME_RINVCMDLEN
    assert isinstance(events[1], Closed)
    assert events[1].reason.startswith("framing lost")
    assert events[1].unanswered == (submit,)
    sent = split_frames(esme.data_to_send())
    assert [type(pdu) for pdu in sent] == [p.SubmitSm, p.GenericNack]
    assert sent[1].command_status == c.ESME_RINVCMDLEN
    if len(garbage) >= 16:
        assert sent[1].sequence_number == int.from_bytes(garbage[12:16], "big")
    # Later data, even valid, is ignored and nothing else is ever sent.
    assert esme.receive_data(encode(p.EnquireLink(0, 5)), 2.0) == []
    assert esme.data_to_send() == b""
    assert esme.connection_lost() == []


def test_garbage_after_valid_frames_in_same_chunk() -> None:
    esme, _smsc = bound_pair("TRX")
    deliver = p.DeliverSm(0, 9, short_message=b"ok")
    chunk = encode(deliver) + b"\xff\xff\xff\xff" + b"\x00" * 12
    events = esme.receive_data(chunk, 0.0)
    assert events[0] == RequestReceived(deliver)
    assert isinstance(events[1], ProtocolViolation)
    assert isinstance(events[2], Closed)
    assert [type(x) for x in split_frames(esme.data_to_send())] == [p.GenericNack]


def test_incomplete_garbage_is_buffered() -> None:
    esme, _smsc = bound_pair("TRX")
    # A plausible length with too few octets behind it: wait for the rest.
    assert esme.receive_data(b"\x00\x00\x01\x00junk", 0.0) == []
    assert esme.state is State.BOUND_TRX


def test_response_to_request_never_made() -> None:
    esme, _smsc = bound_pair("TRX")
    for response in (p.SubmitSmResp(0, 999, "x"), p.GenericNack(c.ESME_RSYSERR, 0)):
        assert esme.receive_data(encode(response), 0.0) == [UnexpectedResponse(response)]
    assert esme.data_to_send() == b""
    assert esme.state is State.BOUND_TRX


def test_response_with_wrong_command_id() -> None:
    esme, _smsc = bound_pair("TX")
    submit = p.SubmitSm()
    seq = esme.send(submit, 0.0)
    wrong = p.QuerySmResp(0, seq, "x")
    assert esme.receive_data(encode(wrong), 0.0) == [UnexpectedResponse(wrong)]
    assert esme.outstanding == 1
    assert esme.window_in_use == 1
    nack = p.GenericNack(c.ESME_RTHROTTLED, seq)  # a generic_nack answers any request
    assert esme.receive_data(encode(nack), 0.0) == [ResponseReceived(submit, nack)]
    assert esme.window_in_use == 0


def _submit_body(
    source: bytes = b"1", dest: bytes = b"2", sm: bytes = b"hi", sm_length: int | None = None
) -> bytes:
    length = len(sm) if sm_length is None else sm_length
    return (
        b"\0" + b"\x01\x01" + source + b"\0" + b"\x01\x01" + dest + b"\0"
        + b"\x00\x00\x00" + b"\0" + b"\0" + b"\x00\x00\x00\x00" + bytes([length]) + sm
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_submit_body(source=b"1" * 30), c.ESME_RINVSRCADR),
        (_submit_body(dest=b"2" * 30), c.ESME_RINVDSTADR),
        (_submit_body(sm_length=200), c.ESME_RINVMSGLEN),
        (_submit_body() + b"\x04\x24\x00", c.ESME_RINVOPTPARSTREAM),
        (b"\0\x01", c.ESME_RINVCMDLEN),
    ],
    ids=["long-source", "long-dest", "sm-length", "truncated-tlv", "truncated"],
)
def test_corrupt_submit_sm_answered_with_decoder_status(body: bytes, status: int) -> None:
    esme, smsc = bound_pair("TX")
    data = frame(c.SUBMIT_SM, 42, body)
    with pytest.raises(PduError) as info:
        decode(data)
    assert info.value.command_status == status
    events = smsc.receive_data(data, 0.0)
    assert len(events) == 1
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered
    assert events[0].error.command_status == status
    assert split_frames(smsc.data_to_send()) == [p.SubmitSmResp(status, 42)]
    assert smsc.state is State.BOUND_TX
    # The session goes on.
    esme.send(p.SubmitSm(), 0.0)
    assert [type(e) for e in smsc.receive_data(esme.data_to_send(), 0.0)] == [RequestReceived]


def test_sanity_of_corrupt_body_helper() -> None:
    decoded = decode(frame(c.SUBMIT_SM, 1, _submit_body()))
    assert decoded == p.SubmitSm(
        0, 1, source_addr_ton=1, source_addr_npi=1, source_addr="1", dest_addr_ton=1,
        dest_addr_npi=1, destination_addr="2", short_message=b"hi",
    )  # fmt: skip


@pytest.mark.parametrize("cid", [c.SUBMIT_MULTI, c.REPLACE_SM, 0x000000FF, 0x00010200])
def test_unknown_command_gets_generic_nack(cid: int) -> None:
    _esme, smsc = bound_pair("TRX")
    events = smsc.receive_data(frame(cid, 31, b"\x00" * 4), 0.0)
    assert len(events) == 1
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered
    assert split_frames(smsc.data_to_send()) == [p.GenericNack(c.ESME_RINVCMDID, 31)]
    assert smsc.state is State.BOUND_TRX


def test_unknown_or_corrupt_response_is_not_answered() -> None:
    esme, _smsc = bound_pair("TX")
    seq = esme.send(p.SubmitSm(), 0.0)
    esme.data_to_send()
    for data in (
        frame(0x800000FF, 5),
        frame(c.SUBMIT_SM_RESP, seq, b"no terminator"),
    ):
        events = esme.receive_data(data, 0.0)
        assert len(events) == 1
        assert isinstance(events[0], ProtocolViolation)
        assert not events[0].answered
        assert esme.data_to_send() == b""
    assert esme.outstanding == 1  # still waiting: the corrupt answer resolved nothing


def test_corrupt_request_without_response_gets_generic_nack() -> None:
    esme = Session(Role.ESME)
    events = esme.receive_data(frame(c.OUTBIND, 8, b"x" * 20), 0.0)
    assert isinstance(events[0], ProtocolViolation)
    assert split_frames(esme.data_to_send()) == [p.GenericNack(c.ESME_RINVSYSID, 8)]


def test_max_command_length_is_enforced() -> None:
    smsc = Session(Role.SMSC, max_command_length=64)
    big = encode(p.BindTransmitter(0, 4, system_id="x" * 15, address_range="y" * 40))
    assert len(big) > 64
    events = smsc.receive_data(big, 0.0)
    assert [type(e) for e in events] == [ProtocolViolation, Closed]
    assert split_frames(smsc.data_to_send()) == [p.GenericNack(c.ESME_RINVCMDLEN, 4)]


def test_huge_command_length_closes_and_ignores_later_data() -> None:
    _esme, smsc = bound_pair("TX")
    events = smsc.receive_data(b"\xff\xff\xff\xff", 0.0)  # ~4 GiB announced
    assert [type(e) for e in events] == [ProtocolViolation, Closed]
    assert split_frames(smsc.data_to_send()) == [p.GenericNack(c.ESME_RINVCMDLEN, 0)]
    assert smsc.receive_data(b"\x00" * 64, 1.0) == []
    assert smsc.receive_data(encode(p.SubmitSm(0, 3)), 1.0) == []
    assert smsc.data_to_send() == b""


FUZZ_IDS = [*REQUEST_IDS, *RESPONSE_IDS, c.SUBMIT_MULTI, c.REPLACE_SM, 0x12345678]


@settings(max_examples=300)
@given(
    role=st.sampled_from(list(Role)),
    cid=st.sampled_from(FUZZ_IDS),
    seq=st.integers(0, 0xFFFFFFFF),
    body=st.binary(max_size=60),
)
def test_fuzzed_frame_never_raises(role: Role, cid: int, seq: int, body: bytes) -> None:
    esme, smsc = bound_pair("TRX")
    session = esme if role is Role.ESME else smsc
    events = session.receive_data(frame(cid, seq, body), 1.0)
    sent = split_frames(session.data_to_send())
    assert len(sent) <= 1
    for pdu in sent:  # whatever goes back echoes the sequence number
        assert pdu.is_response
        assert pdu.sequence_number == seq
    for event in events:
        if isinstance(event, ProtocolViolation):
            assert event.answered is (not cid & c.RESPONSE_BIT)
            assert len(sent) == event.answered


def _comparable(event: Event) -> object:
    """Events compare by value, except the PduError inside a ProtocolViolation."""
    if isinstance(event, ProtocolViolation):
        error = event.error
        return (str(error), error.command_id, error.sequence_number, event.answered)
    return event


@settings(max_examples=200)
@given(
    requests=st.lists(
        st.sampled_from([c.SUBMIT_SM, c.QUERY_SM, c.ENQUIRE_LINK, c.DATA_SM]), max_size=12
    ),
    flips=st.lists(st.tuples(st.integers(16, 10_000), st.integers(1, 255)), max_size=3),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_corrupted_stream_in_any_chunks(
    requests: list[int], flips: list[tuple[int, int]], cuts: list[int]
) -> None:
    """Bodies with flipped octets, cut anywhere: same outcome as one chunk, never an exception."""
    stream = bytearray()
    for seq, cid in enumerate(requests, start=1):
        stream += encode(REQUESTS[cid](0, seq))
    for pos, xor in flips:
        if stream:
            index = pos % len(stream)
            start = 0  # find the PDU holding `index`; keep its command_length intact
            while start + int.from_bytes(stream[start : start + 4], "big") <= index:
                start += int.from_bytes(stream[start : start + 4], "big")
            if index - start >= 4:
                stream[index] ^= xor
    data = bytes(stream)
    _whole_esme, whole = bound_pair("TRX")
    expected = whole.receive_data(data, 1.0)
    expected_out = whole.data_to_send()
    _chunked_esme, chunked = bound_pair("TRX")
    events: list[Event] = []
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(points):
        events += chunked.receive_data(data[start:end], 1.0)
    assert [_comparable(e) for e in events] == [_comparable(e) for e in expected]
    assert chunked.data_to_send() == expected_out
    assert chunked.state is whole.state


# --------------------------------------------------------------------- stateful back to back

SIDES = st.sampled_from([Role.ESME, Role.SMSC])
MACHINE_TIMEOUT = 10.0
MACHINE_INTERVAL = 25.0


def other(side: Role) -> Role:
    return Role.SMSC if side is Role.ESME else Role.ESME


class BackToBack(RuleBasedStateMachine):
    """An ESME and an SMSC wired together, doing legal and illegal things at random times."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.window = 3
        self.start_seq = 1
        self.keep: list[p.Pdu] = []  # keeps ids unique for the whole run
        self.pending: dict[int, tuple[Role, p.Pdu]] = {}
        self.resolved: set[int] = set()
        self.sessions: dict[Role, Session] = {}
        self.wire: dict[Role, list[bytes]] = {}
        self.inbox: dict[Role, list[p.Pdu]] = {}
        self.closed: dict[Role, int] = {}
        self._connect()

    def _connect(self) -> None:
        self.sessions = {
            role: Session(
                role,
                window=self.window,
                response_timeout_s=MACHINE_TIMEOUT,
                enquire_link_interval_s=MACHINE_INTERVAL,
                now=self.now,
            )
            for role in Role
        }
        for session in self.sessions.values():
            session._next_seq = self.start_seq
        self.wire = {role: [] for role in Role}
        self.inbox = {role: [] for role in Role}
        self.closed = dict.fromkeys(Role, 0)

    # -------------------------------------------------------- plumbing

    def _resolve(self, side: Role, request: p.Pdu) -> None:
        key = id(request)
        assert key not in self.resolved, f"{request} resolved twice"
        owner, tracked = self.pending.pop(key)
        assert owner is side
        assert tracked is request
        self.resolved.add(key)

    def _handle(self, side: Role, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, ResponseReceived):
                request, response = event.request, event.response
                assert response.sequence_number == request.sequence_number
                assert response.command_id in (
                    c.GENERIC_NACK,
                    request.command_id | c.RESPONSE_BIT,
                )
                self._resolve(side, request)
            elif isinstance(event, ResponseTimedOut):
                self._resolve(side, event.request)
            elif isinstance(event, Closed):
                self.closed[side] += 1
                assert self.closed[side] == 1, "Closed reported twice"
                for request in event.unanswered:
                    self._resolve(side, request)
            elif isinstance(event, RequestReceived) and event.pdu.command_id in p.RESPONSE_FOR:
                self.inbox[side].append(event.pdu)
        if events:
            assert sum(isinstance(e, Closed) for e in events) <= 1
            if any(isinstance(e, Closed) for e in events):
                assert isinstance(events[-1], Closed)

    def _collect(self, side: Role) -> None:
        data = self.sessions[side].data_to_send()
        if data:
            self.wire[side].append(data)

    def _deliver(self, side: Role, split: int) -> None:
        data = b"".join(self.wire[side])
        self.wire[side].clear()
        if not data:
            return
        peer = other(side)
        cut = split % (len(data) + 1)
        for part in (data[:cut], data[cut:]):
            self._handle(peer, self.sessions[peer].receive_data(part, self.now))
            self._collect(peer)

    def _settle(self) -> None:
        """A closed side's transport goes away: flush what it said, then drop the peer."""
        for side in Role:
            peer = other(side)
            if (
                self.sessions[side].state is State.CLOSED
                and self.sessions[peer].state is not State.CLOSED
            ):
                self._deliver(side, 0)
                if self.sessions[peer].state is not State.CLOSED:
                    self._handle(peer, self.sessions[peer].connection_lost("peer went away"))
                self._collect(peer)

    def _send(self, side: Role, pdu: p.Pdu) -> None:
        session = self.sessions[side]
        if pdu.is_response:
            try:
                session.send(pdu, self.now)
            except LocalProtocolError:
                assert session.state is State.CLOSED
            self._collect(side)
            return
        cid = pdu.command_id
        allowed = session.can_send(cid)
        full = cid in WINDOWED and session.window_in_use >= session.window
        try:
            seq = session.send(pdu, self.now)
        except WindowFullError:
            assert allowed
            assert full
        except LocalProtocolError:
            assert not allowed
        else:
            assert allowed
            assert not full
            assert seq == pdu.sequence_number
            self.keep.append(pdu)
            if cid not in NO_RESPONSE:
                self.pending[id(pdu)] = (side, pdu)
        self._collect(side)

    # -------------------------------------------------------- rules

    @initialize(
        window=st.integers(1, 4),
        start_seq=st.sampled_from([1, MAX_SEQUENCE - 3, MAX_SEQUENCE]),
        kind=st.sampled_from(["", "TX", "RX", "TRX", "TRX"]),
    )
    def setup(self, window: int, start_seq: int, kind: str) -> None:
        self.window = window
        self.start_seq = start_seq
        self._connect()
        if kind:  # most of the interesting traffic needs a bound session
            self.handshake(kind)

    @rule(side=SIDES, cid=st.sampled_from(REQUEST_IDS), legal=st.booleans())
    def send_request(self, side: Role, cid: int, legal: bool) -> None:
        """Any request half the time, one the state allows the other half."""
        allowed = sorted(OUTGOING.get((side, self.sessions[side].state), ()))
        if legal and allowed:
            cid = allowed[cid % len(allowed)]
        self._send(side, REQUESTS[cid]())
        self._settle()

    @precondition(
        lambda self: (
            all(s.state is State.OPEN for s in self.sessions.values())
            and not any(self.wire.values())
        )
    )
    @rule(kind=st.sampled_from(list(BINDS)))
    def handshake(self, kind: str) -> None:
        self._send(Role.ESME, make_bind(BINDS[kind], "esme"))
        self._deliver(Role.ESME, 0)
        self.answer(Role.SMSC, 0, c.ESME_ROK)
        self._deliver(Role.SMSC, 0)
        self._settle()

    @rule(
        side=SIDES,
        index=st.integers(0, 3),
        status=st.sampled_from([c.ESME_ROK, c.ESME_ROK, c.ESME_RINVPASWD, c.ESME_RTHROTTLED]),
    )
    def answer(self, side: Role, index: int, status: int) -> None:
        inbox = self.inbox[side]
        if not inbox:
            return
        request = inbox.pop(index % len(inbox))
        cid = request.command_id
        if cid in BINDS.values():
            response = bind_resp(cid, request.sequence_number, status)
        else:
            response = p.response_to(request, status)
        self._send(side, response)
        self._settle()

    @rule(
        side=SIDES,
        cid=st.sampled_from(RESPONSE_IDS),
        seq=st.integers(0, 6),
        hit=st.booleans(),
        status=st.sampled_from([c.ESME_ROK, c.ESME_RSYSERR]),
    )
    def bogus_response(self, side: Role, cid: int, seq: int, hit: bool, status: int) -> None:
        """A response nobody asked for, or aimed at one of the peer's outstanding requests."""
        outstanding = list(self.sessions[other(side)]._outstanding)
        if hit and outstanding:
            seq = outstanding[seq % len(outstanding)]
        self._send(side, p.PDU_BY_COMMAND_ID[cid](status, seq))
        self._settle()

    @rule(side=SIDES, split=st.integers(0, 1 << 16))
    def deliver(self, side: Role, split: int) -> None:
        self._deliver(side, split)
        self._settle()

    @rule(answer=st.booleans())
    def exchange(self, answer: bool) -> None:
        """A healthy network: deliver both ways (answering what arrives) until quiet."""
        for _ in range(4):
            for side in Role:
                self._deliver(side, 0)
                while answer and self.inbox[side]:
                    self.answer(side, 0, c.ESME_ROK)
        self._settle()

    @rule(side=SIDES, blob=st.binary(min_size=1, max_size=24), dice=st.integers(0, 5))
    def garbage(self, side: Role, blob: bytes, dice: int) -> None:
        if dice == 0:  # rare, or sessions hardly live long enough to do anything
            self.wire[side].append(blob)

    @rule(dt=st.sampled_from([0.0, 1.0, 4.0, 9.5, 10.0, 26.0, 60.0]))
    def advance(self, dt: float) -> None:
        self.now += dt
        for side in Role:
            session = self.sessions[side]
            deadline = session.next_deadline()
            events = session.handle_timers(self.now)
            data = session.data_to_send()
            if deadline is None or deadline > self.now:
                assert events == []
                assert data == b""
            else:
                assert events or data, "a due deadline did nothing"
            if data:
                self.wire[side].append(data)
            self._handle(side, events)
            # The idle enquire_link is the one request a session sends on its own.
            for request, _ in session._outstanding.values():
                if id(request) not in self.pending:
                    assert isinstance(request, p.EnquireLink)
                    self.keep.append(request)
                    self.pending[id(request)] = (side, request)
            after = session.next_deadline()
            assert after is None or after > self.now
        self._settle()

    @rule(side=SIDES, dice=st.integers(0, 5))
    def lose_connection(self, side: Role, dice: int) -> None:
        if dice == 0:
            self._handle(side, self.sessions[side].connection_lost())
            self._settle()

    @precondition(lambda self: all(s.state is State.CLOSED for s in self.sessions.values()))
    @rule(kind=st.sampled_from(["", "TX", "RX", "TRX"]))
    def reconnect(self, kind: str) -> None:
        assert self.pending == {}, "requests left without an outcome"
        assert all(count == 1 for count in self.closed.values())
        self._connect()
        if kind:
            self.handshake(kind)

    @rule(side=SIDES, index=st.integers(0, 7))
    def jump_sequence(self, side: Role, index: int) -> None:
        """Point the next sequence number at the wrap or at a number still outstanding."""
        session = self.sessions[side]
        targets = [MAX_SEQUENCE, *session._outstanding]
        session._next_seq = targets[index % len(targets)]

    # -------------------------------------------------------- invariants

    @invariant()
    def window_and_sequences(self) -> None:
        for side, session in self.sessions.items():
            outstanding = session._outstanding
            windowed = sum(request.command_id in WINDOWED for request, _ in outstanding.values())
            assert session.window_in_use == windowed <= session.window
            for seq, (request, _) in outstanding.items():
                assert 1 <= seq <= MAX_SEQUENCE
                assert request.sequence_number == seq
            mine = {key for key, (owner, _) in self.pending.items() if owner is side}
            assert {id(request) for request, _ in outstanding.values()} == mine
            if session.state is State.CLOSED:
                assert not outstanding
                assert self.closed[side] == 1
            else:
                assert self.closed[side] == 0
            # BINDING and UNBINDING always wait on their request, which a timer bounds.
            kinds = [request.command_id for request, _ in outstanding.values()]
            if session.state is State.BINDING:
                assert sum(cid in BINDS.values() for cid in kinds) == 1
            if session.state is State.UNBINDING:
                assert kinds.count(c.UNBIND) == 1
            if session.state in BOUND_STATES:  # the idle enquire_link keeps a timer running
                assert session.next_deadline() is not None

    def teardown(self) -> None:
        for side in Role:
            self._handle(side, self.sessions[side].connection_lost())
        assert self.pending == {}


def test_back_to_back_state_machine() -> None:
    run_state_machine_as_test(
        BackToBack,
        settings=settings(max_examples=250, stateful_step_count=60, deadline=None),
    )
