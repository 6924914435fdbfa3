"""Typed SMPP 3.4 PDUs (SMPP 3.4 §4), one msgspec Struct per command.

Header fields live on every PDU (`command_status`, `sequence_number`); `command_length` is
computed by the encoder. C-Octet Strings are `str` (Latin-1, so any byte round-trips);
Octet Strings are `bytes`. Optional parameters are a dict of tag → value, typed per tag by
`connector.smpp.tlv`; unknown tags keep their raw bytes.

Structs are mutable so that the session can stamp a sequence number on a request it sends.
"""

from __future__ import annotations

from typing import ClassVar, TypeAlias

import msgspec

from connector.smpp import constants as c

TlvValue: TypeAlias = int | str | bytes
Tlvs: TypeAlias = dict[int, TlvValue]


class Pdu(msgspec.Struct, gc=False):
    """Header fields shared by every PDU."""

    command_id: ClassVar[int] = 0
    is_response: ClassVar[bool] = False

    command_status: int = 0
    sequence_number: int = 0


class Response(Pdu):
    """Marker base of every `*_resp` and of generic_nack."""

    is_response: ClassVar[bool] = True


# --- session management (§4.1, §4.2) ------------------------------------------------------------


class _Bind(Pdu):
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = c.SMPP_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


class BindTransmitter(_Bind):
    command_id: ClassVar[int] = c.BIND_TRANSMITTER


class BindReceiver(_Bind):
    command_id: ClassVar[int] = c.BIND_RECEIVER


class BindTransceiver(_Bind):
    command_id: ClassVar[int] = c.BIND_TRANSCEIVER


class _BindResp(Response):
    system_id: str = ""
    tlvs: Tlvs = msgspec.field(default_factory=dict)


class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = c.BIND_TRANSMITTER_RESP


class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = c.BIND_RECEIVER_RESP


class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = c.BIND_TRANSCEIVER_RESP


class Outbind(Pdu):
    command_id: ClassVar[int] = c.OUTBIND
    system_id: str = ""
    password: str = ""


class Unbind(Pdu):
    command_id: ClassVar[int] = c.UNBIND


class UnbindResp(Response):
    command_id: ClassVar[int] = c.UNBIND_RESP


class EnquireLink(Pdu):
    command_id: ClassVar[int] = c.ENQUIRE_LINK


class EnquireLinkResp(Response):
    command_id: ClassVar[int] = c.ENQUIRE_LINK_RESP


class GenericNack(Response):
    command_id: ClassVar[int] = c.GENERIC_NACK


# --- message submission and delivery (§4.4, §4.6, §4.7) -----------------------------------------


class _ShortMessage(Pdu):
    """submit_sm and deliver_sm share one body layout (§4.4.1, §4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = msgspec.field(default_factory=dict)


class SubmitSm(_ShortMessage):
    command_id: ClassVar[int] = c.SUBMIT_SM


class DeliverSm(_ShortMessage):
    command_id: ClassVar[int] = c.DELIVER_SM


class _MessageIdResp(Response):
    message_id: str = ""
    tlvs: Tlvs = msgspec.field(default_factory=dict)


class SubmitSmResp(_MessageIdResp):
    command_id: ClassVar[int] = c.SUBMIT_SM_RESP


class DeliverSmResp(_MessageIdResp):
    command_id: ClassVar[int] = c.DELIVER_SM_RESP


class DataSm(Pdu):
    command_id: ClassVar[int] = c.DATA_SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: Tlvs = msgspec.field(default_factory=dict)


class DataSmResp(_MessageIdResp):
    command_id: ClassVar[int] = c.DATA_SM_RESP


# --- ancillary operations (§4.8, §4.9, §4.12) ---------------------------------------------------


class QuerySm(Pdu):
    command_id: ClassVar[int] = c.QUERY_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


class QuerySmResp(Response):
    command_id: ClassVar[int] = c.QUERY_SM_RESP
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


class CancelSm(Pdu):
    command_id: ClassVar[int] = c.CANCEL_SM
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


class CancelSmResp(Response):
    command_id: ClassVar[int] = c.CANCEL_SM_RESP


class AlertNotification(Pdu):
    command_id: ClassVar[int] = c.ALERT_NOTIFICATION
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""
    tlvs: Tlvs = msgspec.field(default_factory=dict)


PDU_CLASSES: tuple[type[Pdu], ...] = (
    GenericNack,
    BindTransmitter,
    BindTransmitterResp,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    Outbind,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
    AlertNotification,
)
PDU_BY_COMMAND_ID: dict[int, type[Pdu]] = {cls.command_id: cls for cls in PDU_CLASSES}

# Each request and the response that answers it; requests absent here get no response.
RESPONSE_FOR: dict[int, type[Response]] = {
    c.BIND_TRANSMITTER: BindTransmitterResp,
    c.BIND_RECEIVER: BindReceiverResp,
    c.BIND_TRANSCEIVER: BindTransceiverResp,
    c.UNBIND: UnbindResp,
    c.ENQUIRE_LINK: EnquireLinkResp,
    c.SUBMIT_SM: SubmitSmResp,
    c.DELIVER_SM: DeliverSmResp,
    c.DATA_SM: DataSmResp,
    c.QUERY_SM: QuerySmResp,
    c.CANCEL_SM: CancelSmResp,
}


def response_to(request: Pdu, command_status: int = c.ESME_ROK) -> Response:
    """The empty response that answers `request` (generic_nack for requests without one)."""
    cls = RESPONSE_FOR.get(request.command_id, GenericNack)
    return cls(command_status, request.sequence_number)
