"""Bytes ↔ typed PDUs (SMPP 3.4 §3, §4), strict about everything a hostile peer can send.

`decode` takes one whole frame (as the framer yields it) and raises only `PduError`, with
the command_status to answer. `encode` raises only `EncodeError`. The submit_sm / deliver_sm
and `*_resp` paths are hand-written for speed; the rest follow a per-command field table.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import EncodeError, PduError
from connector.smpp.tlv import decode_tlvs, encode_tlvs

HEADER: Final = struct.Struct(">IIII")
HEADER_SIZE: Final = 16
DEFAULT_MAX_COMMAND_LENGTH: Final = 64 * 1024
_MAX_SEQUENCE: Final = 0xFFFFFFFF

# Field kinds: ("c", max octets incl. NUL, status when too long) for C-Octet Strings,
# ("i", 0, 0) for one-octet integers, ("s", 0, 0) for sm_length + short_message,
# ("t", 0, 0) for the TLVs that end the body.
_Field = tuple[str, str, int, int]

_BIND_FIELDS: Final[tuple[_Field, ...]] = (
    ("system_id", "c", 16, c.ESME_RINVSYSID),
    ("password", "c", 9, c.ESME_RINVPASWD),
    ("system_type", "c", 13, c.ESME_RINVSYSTYP),
    ("interface_version", "i", 0, 0),
    ("addr_ton", "i", 0, 0),
    ("addr_npi", "i", 0, 0),
    ("address_range", "c", 41, c.ESME_RINVPARLEN),
)
_BIND_RESP_FIELDS: Final[tuple[_Field, ...]] = (
    ("system_id", "c", 16, c.ESME_RINVSYSID),
    ("tlvs", "t", 0, 0),
)
_SM_FIELDS: Final[tuple[_Field, ...]] = (
    ("service_type", "c", 6, c.ESME_RINVSERTYP),
    ("source_addr_ton", "i", 0, 0),
    ("source_addr_npi", "i", 0, 0),
    ("source_addr", "c", 21, c.ESME_RINVSRCADR),
    ("dest_addr_ton", "i", 0, 0),
    ("dest_addr_npi", "i", 0, 0),
    ("destination_addr", "c", 21, c.ESME_RINVDSTADR),
    ("esm_class", "i", 0, 0),
    ("protocol_id", "i", 0, 0),
    ("priority_flag", "i", 0, 0),
    ("schedule_delivery_time", "c", 17, c.ESME_RINVSCHED),
    ("validity_period", "c", 17, c.ESME_RINVEXPIRY),
    ("registered_delivery", "i", 0, 0),
    ("replace_if_present_flag", "i", 0, 0),
    ("data_coding", "i", 0, 0),
    ("sm_default_msg_id", "i", 0, 0),
    ("short_message", "s", 254, c.ESME_RINVMSGLEN),
    ("tlvs", "t", 0, 0),
)
_MESSAGE_ID_RESP_FIELDS: Final[tuple[_Field, ...]] = (
    ("message_id", "c", 65, c.ESME_RINVMSGID),
    ("tlvs", "t", 0, 0),
)

FIELDS: Final[dict[type[p.Pdu], tuple[_Field, ...]]] = {
    p.GenericNack: (),
    p.BindTransmitter: _BIND_FIELDS,
    p.BindReceiver: _BIND_FIELDS,
    p.BindTransceiver: _BIND_FIELDS,
    p.BindTransmitterResp: _BIND_RESP_FIELDS,
    p.BindReceiverResp: _BIND_RESP_FIELDS,
    p.BindTransceiverResp: _BIND_RESP_FIELDS,
    p.Outbind: (
        ("system_id", "c", 16, c.ESME_RINVSYSID),
        ("password", "c", 9, c.ESME_RINVPASWD),
    ),
    p.Unbind: (),
    p.UnbindResp: (),
    p.EnquireLink: (),
    p.EnquireLinkResp: (),
    p.SubmitSm: _SM_FIELDS,
    p.DeliverSm: _SM_FIELDS,
    p.SubmitSmResp: _MESSAGE_ID_RESP_FIELDS,
    p.DeliverSmResp: _MESSAGE_ID_RESP_FIELDS,
    p.DataSm: (
        ("service_type", "c", 6, c.ESME_RINVSERTYP),
        ("source_addr_ton", "i", 0, 0),
        ("source_addr_npi", "i", 0, 0),
        ("source_addr", "c", 65, c.ESME_RINVSRCADR),
        ("dest_addr_ton", "i", 0, 0),
        ("dest_addr_npi", "i", 0, 0),
        ("destination_addr", "c", 65, c.ESME_RINVDSTADR),
        ("esm_class", "i", 0, 0),
        ("registered_delivery", "i", 0, 0),
        ("data_coding", "i", 0, 0),
        ("tlvs", "t", 0, 0),
    ),
    p.DataSmResp: _MESSAGE_ID_RESP_FIELDS,
    p.QuerySm: (
        ("message_id", "c", 65, c.ESME_RINVMSGID),
        ("source_addr_ton", "i", 0, 0),
        ("source_addr_npi", "i", 0, 0),
        ("source_addr", "c", 21, c.ESME_RINVSRCADR),
    ),
    p.QuerySmResp: (
        ("message_id", "c", 65, c.ESME_RINVMSGID),
        ("final_date", "c", 17, c.ESME_RINVPARLEN),
        ("message_state", "i", 0, 0),
        ("error_code", "i", 0, 0),
    ),
    p.CancelSm: (
        ("service_type", "c", 6, c.ESME_RINVSERTYP),
        ("message_id", "c", 65, c.ESME_RINVMSGID),
        ("source_addr_ton", "i", 0, 0),
        ("source_addr_npi", "i", 0, 0),
        ("source_addr", "c", 21, c.ESME_RINVSRCADR),
        ("dest_addr_ton", "i", 0, 0),
        ("dest_addr_npi", "i", 0, 0),
        ("destination_addr", "c", 21, c.ESME_RINVDSTADR),
    ),
    p.CancelSmResp: (),
    p.AlertNotification: (
        ("source_addr_ton", "i", 0, 0),
        ("source_addr_npi", "i", 0, 0),
        ("source_addr", "c", 65, c.ESME_RINVSRCADR),
        ("esme_addr_ton", "i", 0, 0),
        ("esme_addr_npi", "i", 0, 0),
        ("esme_addr", "c", 65, c.ESME_RINVDSTADR),
        ("tlvs", "t", 0, 0),
    ),
}

_BY_ID: Final[dict[int, type[p.Pdu]]] = dict(p.PDU_BY_COMMAND_ID)
_FIELDS_BY_ID: Final[dict[int, tuple[_Field, ...]]] = {
    cls.command_id: fields for cls, fields in FIELDS.items()
}


# ------------------------------------------------------------------------------------ decoding


def decode(frame: bytes) -> p.Pdu:
    """Decode one whole PDU (header included) or raise PduError with the status to answer."""
    n = len(frame)
    if n < HEADER_SIZE:
        raise PduError(
            f"PDU of {n} octet(s) is shorter than its header", c.ESME_RINVCMDLEN, fatal=True
        )
    length, command_id, status, seq = HEADER.unpack_from(frame)
    if length != n:
        raise PduError(
            f"command_length {length} does not match the {n} octet(s) framed",
            c.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
            fatal=True,
        )
    if command_id in (c.SUBMIT_SM_RESP, c.DELIVER_SM_RESP):
        return _decode_message_id_resp(frame, n, command_id, status, seq)
    if command_id in (c.DELIVER_SM, c.SUBMIT_SM):
        return _decode_short_message(frame, n, command_id, status, seq)
    fields = _FIELDS_BY_ID.get(command_id)
    if fields is None:
        raise PduError(
            f"unknown or unsupported command_id 0x{command_id:08X}",
            c.ESME_RINVCMDID,
            command_id=command_id,
            sequence_number=seq,
        )
    cls = _BY_ID[command_id]
    if n == HEADER_SIZE and cls.is_response:
        # §4: a response with a non-zero status may omit its body.
        return cls(status, seq)
    return cls(status, seq, *_decode_fields(frame, HEADER_SIZE, n, fields, command_id, seq))


def _decode_fields(
    data: bytes, pos: int, end: int, fields: tuple[_Field, ...], command_id: int, seq: int
) -> list[Any]:
    values: list[Any] = []
    for name, kind, size, status in fields:
        if kind == "c":
            nul = data.find(0, pos, min(pos + size, end))
            if nul < 0:
                raise _cstring_error(data, pos, end, size, name, status, command_id, seq)
            values.append(data[pos:nul].decode("latin-1"))
            pos = nul + 1
        elif kind == "i":
            if pos >= end:
                raise _truncated(name, command_id, seq)
            values.append(data[pos])
            pos += 1
        elif kind == "s":
            if pos >= end:
                raise _truncated("sm_length", command_id, seq)
            sm_length = data[pos]
            pos += 1
            if sm_length > size or pos + sm_length > end:
                raise _sm_length_error(sm_length, end - pos, command_id, seq)
            values.append(data[pos : pos + sm_length])
            pos += sm_length
        else:  # "t"
            values.append(decode_tlvs(data, pos, end, command_id, seq))
            pos = end
    if pos != end:
        raise PduError(
            f"{end - pos} unexpected octet(s) after the body of {c.command_name(command_id)}",
            c.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
        )
    return values


def _decode_message_id_resp(data: bytes, n: int, command_id: int, status: int, seq: int) -> p.Pdu:
    cls = p.SubmitSmResp if command_id == c.SUBMIT_SM_RESP else p.DeliverSmResp
    if n == HEADER_SIZE:
        return cls(status, seq)
    nul = data.find(0, HEADER_SIZE, min(HEADER_SIZE + 65, n))
    if nul < 0:
        raise _cstring_error(
            data, HEADER_SIZE, n, 65, "message_id", c.ESME_RINVMSGID, command_id, seq
        )
    message_id = data[HEADER_SIZE:nul].decode("latin-1")
    if nul + 1 == n:
        return cls(status, seq, message_id)
    return cls(status, seq, message_id, decode_tlvs(data, nul + 1, n, command_id, seq))


def _decode_short_message(data: bytes, n: int, command_id: int, status: int, seq: int) -> p.Pdu:
    # Unrolled _decode_fields(_SM_FIELDS): this is the receipt and MO path.
    find = data.find
    pos = HEADER_SIZE
    nul = find(0, pos, min(pos + 6, n))
    if nul < 0:
        raise _cstring_error(data, pos, n, 6, "service_type", c.ESME_RINVSERTYP, command_id, seq)
    service_type = data[pos:nul].decode("latin-1") if nul > pos else ""
    pos = nul + 3
    if pos > n:  # pos == n: source_addr is missing, which the C-string check reports
        raise _truncated("source_addr_npi", command_id, seq)
    src_ton = data[nul + 1]
    src_npi = data[nul + 2]
    nul = find(0, pos, min(pos + 21, n))
    if nul < 0:
        raise _cstring_error(data, pos, n, 21, "source_addr", c.ESME_RINVSRCADR, command_id, seq)
    source_addr = data[pos:nul].decode("latin-1")
    pos = nul + 3
    if pos > n:
        raise _truncated("dest_addr_npi", command_id, seq)
    dst_ton = data[nul + 1]
    dst_npi = data[nul + 2]
    nul = find(0, pos, min(pos + 21, n))
    if nul < 0:
        raise _cstring_error(
            data, pos, n, 21, "destination_addr", c.ESME_RINVDSTADR, command_id, seq
        )
    destination_addr = data[pos:nul].decode("latin-1")
    pos = nul + 4
    if pos > n:
        raise _truncated("priority_flag", command_id, seq)
    esm_class = data[nul + 1]
    protocol_id = data[nul + 2]
    priority_flag = data[nul + 3]
    nul = find(0, pos, min(pos + 17, n))
    if nul < 0:
        raise _cstring_error(
            data, pos, n, 17, "schedule_delivery_time", c.ESME_RINVSCHED, command_id, seq
        )
    schedule = data[pos:nul].decode("latin-1") if nul > pos else ""
    pos = nul + 1
    nul = find(0, pos, min(pos + 17, n))
    if nul < 0:
        raise _cstring_error(
            data, pos, n, 17, "validity_period", c.ESME_RINVEXPIRY, command_id, seq
        )
    validity = data[pos:nul].decode("latin-1") if nul > pos else ""
    pos = nul + 6
    if pos > n:
        raise _truncated("sm_length", command_id, seq)
    sm_length = data[pos - 1]
    end = pos + sm_length
    if sm_length > 254 or end > n:
        raise _sm_length_error(sm_length, n - pos, command_id, seq)
    cls = p.DeliverSm if command_id == c.DELIVER_SM else p.SubmitSm
    return cls(
        status,
        seq,
        service_type,
        src_ton,
        src_npi,
        source_addr,
        dst_ton,
        dst_npi,
        destination_addr,
        esm_class,
        protocol_id,
        priority_flag,
        schedule,
        validity,
        data[nul + 1],
        data[nul + 2],
        data[nul + 3],
        data[nul + 4],
        data[pos:end],
        decode_tlvs(data, end, n, command_id, seq) if end < n else {},
    )


def _cstring_error(
    data: bytes,
    pos: int,
    end: int,
    size: int,
    name: str,
    status: int,
    command_id: int,
    seq: int,
) -> PduError:
    if data.find(0, pos, end) < 0:
        message = f"{name} is not NUL-terminated"
        if pos >= end:
            message = f"PDU ends before {name}"
    else:
        message = f"{name} is longer than {size - 1} characters"
    return PduError(message, status, command_id=command_id, sequence_number=seq)


def _truncated(name: str, command_id: int, seq: int) -> PduError:
    return PduError(
        f"PDU ends before {name}", c.ESME_RINVCMDLEN, command_id=command_id, sequence_number=seq
    )


def _sm_length_error(sm_length: int, left: int, command_id: int, seq: int) -> PduError:
    return PduError(
        f"sm_length {sm_length} does not fit ({left} octet(s) left, at most 254 allowed)",
        c.ESME_RINVMSGLEN,
        command_id=command_id,
        sequence_number=seq,
    )


def read_header(data: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a frame's header."""
    length, command_id, status, seq = HEADER.unpack_from(data)
    return length, command_id, status, seq


# ------------------------------------------------------------------------------------ encoding

_PACK_HEADER: Final = HEADER.pack


def encode(pdu: p.Pdu) -> bytes:
    """Encode one PDU; raise EncodeError when a field breaks its spec limits."""
    command_id = pdu.command_id
    if command_id in (c.SUBMIT_SM, c.DELIVER_SM):
        assert isinstance(pdu, p._ShortMessage)
        return encode_short_message(pdu)
    if command_id in (c.SUBMIT_SM_RESP, c.DELIVER_SM_RESP):
        assert isinstance(pdu, p._MessageIdResp)
        return _encode_message_id_resp(pdu)
    fields = _FIELDS_BY_ID.get(command_id)
    if fields is None or type(pdu) is not _BY_ID[command_id]:
        raise EncodeError(f"cannot encode {type(pdu).__name__}")
    body = _encode_fields(pdu, fields)
    return _header(len(body), command_id, pdu) + body


def _header(body_length: int, command_id: int, pdu: p.Pdu) -> bytes:
    try:
        return _PACK_HEADER(
            HEADER_SIZE + body_length, command_id, pdu.command_status, pdu.sequence_number
        )
    except struct.error as exc:
        raise EncodeError(f"header out of range: {exc}") from None


def _encode_fields(pdu: p.Pdu, fields: tuple[_Field, ...]) -> bytes:
    out = bytearray()
    for name, kind, size, status in fields:
        value = getattr(pdu, name)
        if kind == "c":
            out += _cstring(value, size, name, status)
        elif kind == "i":
            out.append(_octet(value, name))
        elif kind == "s":
            if len(value) > size:
                raise EncodeError(f"short_message of {len(value)} octets exceeds {size}", status)
            out.append(len(value))
            out += value
        elif value:
            out += encode_tlvs(value)
    return bytes(out)


def _cstring(value: object, size: int, name: str, status: int) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{name} must be str, got {type(value).__name__}", status)
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{name} has characters outside Latin-1", status) from None
    if len(raw) >= size or 0 in raw:
        raise EncodeError(f"{name} {value!r} longer than {size - 1} characters or has NUL", status)
    return raw + b"\0"


def _octet(value: object, name: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise EncodeError(f"{name} must be an integer 0..255, got {value!r}")
    return value


def _encode_message_id_resp(pdu: p._MessageIdResp) -> bytes:
    if pdu.command_status != c.ESME_ROK and not pdu.message_id and not pdu.tlvs:
        # §4.4.2: no body in an error response.
        return _header(0, pdu.command_id, pdu)
    body = _cstring(pdu.message_id, 65, "message_id", c.ESME_RINVMSGID)
    if pdu.tlvs:
        body += encode_tlvs(pdu.tlvs)
    return _header(len(body), pdu.command_id, pdu) + body


_SM_FORMAT: Final = b"%b\0%c%c%b\0%c%c%b\0%c%c%c%b\0%b\0%c%c%c%c%c%b"


def encode_short_message(pdu: p._ShortMessage) -> bytes:
    """Encode a submit_sm or deliver_sm: the hot path, one format and one header pack."""
    try:
        st = pdu.service_type.encode("latin-1")
        sa = pdu.source_addr.encode("latin-1")
        da = pdu.destination_addr.encode("latin-1")
        sdt = pdu.schedule_delivery_time.encode("latin-1")
        vp = pdu.validity_period.encode("latin-1")
        sm = pdu.short_message
        body = _SM_FORMAT % (
            st,
            pdu.source_addr_ton,
            pdu.source_addr_npi,
            sa,
            pdu.dest_addr_ton,
            pdu.dest_addr_npi,
            da,
            pdu.esm_class,
            pdu.protocol_id,
            pdu.priority_flag,
            sdt,
            vp,
            pdu.registered_delivery,
            pdu.replace_if_present_flag,
            pdu.data_coding,
            pdu.sm_default_msg_id,
            len(sm),
            sm,
        )
    except (UnicodeEncodeError, OverflowError, TypeError, AttributeError) as exc:
        raise EncodeError(f"{type(pdu).__name__} field out of range: {exc}") from None
    if (
        len(st) > 5
        or len(sa) > 20
        or len(da) > 20
        or len(sdt) > 16
        or len(vp) > 16
        or len(sm) > 254
    ):
        _check_short_message_limits(pdu)
    if 0 in st or 0 in sa or 0 in da or 0 in sdt or 0 in vp:
        raise EncodeError("a C-Octet String field holds a NUL character")
    if pdu.tlvs:
        body += encode_tlvs(pdu.tlvs)
    return _header(len(body), pdu.command_id, pdu) + body


def _check_short_message_limits(pdu: p._ShortMessage) -> None:
    for name, kind, size, status in _SM_FIELDS:
        if kind == "c":
            _cstring(getattr(pdu, name), size, name, status)
        elif kind == "s" and len(pdu.short_message) > size:
            raise EncodeError(
                f"short_message of {len(pdu.short_message)} octets exceeds {size}", status
            )


# ---------------------------------------------------------------------- optional C speedups
# connector/smpp/_speedups.c (an optional extension, built by `pip install` when a compiler is
# present) decodes and encodes well-formed submit_sm, deliver_sm and their responses in C, and
# returns None for anything else, in which case the functions above run: they stay the one
# source of every error and every unusual result. decode_python / encode_python are always the
# pure Python codec (tests and bench/bench_codec.py compare against them).
# CONNECTOR_PURE_PYTHON=1 in the environment disables the extension.

decode_python: Final = decode
encode_python: Final = encode
ACCELERATED = False


def _speedups_wanted() -> bool:
    import os

    return os.environ.get("CONNECTOR_PURE_PYTHON", "") in ("", "0")


if _speedups_wanted():
    try:
        from connector.smpp import _speedups
    except ImportError:
        pass
    else:
        from connector.smpp.tlv import TLV_TYPES as _TLV_TYPES

        _speedups.setup(
            p.SubmitSm,
            p.DeliverSm,
            p.SubmitSmResp,
            p.DeliverSmResp,
            dict(_TLV_TYPES),
            decode_python,
            encode_python,
        )
        decode = _speedups.decode
        encode = _speedups.encode
        ACCELERATED = True
