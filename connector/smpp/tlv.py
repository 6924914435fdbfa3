"""Optional parameters (TLVs, SMPP 3.4 §5.3): the type of every standard tag, and their codec.

Integers decode to `int`, C-Octet Strings to `str` (a missing terminator is tolerated, as
many SMSCs omit it on receipted_message_id), Octet Strings and unknown tags to `bytes`,
which re-encode unchanged.
"""

from __future__ import annotations

import struct
from typing import Final

from connector.smpp import constants as c
from connector.smpp.errors import EncodeError, PduError
from connector.smpp.pdu import Tlvs, TlvValue

# kind: 1, 2, 4 = unsigned integer of that many octets; "c" = C-Octet String of at most `size`
# octets with its NUL; "o" = Octet String of at most `size` octets; "f" = zero-length flag.
TLV_TYPES: Final[dict[int, tuple[int | str, int]]] = {
    c.TAG_DEST_ADDR_SUBUNIT: (1, 1),
    c.TAG_DEST_NETWORK_TYPE: (1, 1),
    c.TAG_DEST_BEARER_TYPE: (1, 1),
    c.TAG_DEST_TELEMATICS_ID: (2, 2),
    c.TAG_SOURCE_ADDR_SUBUNIT: (1, 1),
    c.TAG_SOURCE_NETWORK_TYPE: (1, 1),
    c.TAG_SOURCE_BEARER_TYPE: (1, 1),
    c.TAG_SOURCE_TELEMATICS_ID: (2, 2),
    c.TAG_QOS_TIME_TO_LIVE: (4, 4),
    c.TAG_PAYLOAD_TYPE: (1, 1),
    c.TAG_ADDITIONAL_STATUS_INFO_TEXT: ("c", 256),
    c.TAG_RECEIPTED_MESSAGE_ID: ("c", 65),
    c.TAG_MS_MSG_WAIT_FACILITIES: (1, 1),
    c.TAG_PRIVACY_INDICATOR: (1, 1),
    c.TAG_SOURCE_SUBADDRESS: ("o", 23),
    c.TAG_DEST_SUBADDRESS: ("o", 23),
    c.TAG_USER_MESSAGE_REFERENCE: (2, 2),
    c.TAG_USER_RESPONSE_CODE: (1, 1),
    c.TAG_SOURCE_PORT: (2, 2),
    c.TAG_DESTINATION_PORT: (2, 2),
    c.TAG_SAR_MSG_REF_NUM: (2, 2),
    c.TAG_LANGUAGE_INDICATOR: (1, 1),
    c.TAG_SAR_TOTAL_SEGMENTS: (1, 1),
    c.TAG_SAR_SEGMENT_SEQNUM: (1, 1),
    c.TAG_SC_INTERFACE_VERSION: (1, 1),
    c.TAG_CALLBACK_NUM_PRES_IND: (1, 1),
    c.TAG_CALLBACK_NUM_ATAG: ("o", 65),
    c.TAG_NUMBER_OF_MESSAGES: (1, 1),
    c.TAG_CALLBACK_NUM: ("o", 19),
    c.TAG_DPF_RESULT: (1, 1),
    c.TAG_SET_DPF: (1, 1),
    c.TAG_MS_AVAILABILITY_STATUS: (1, 1),
    c.TAG_NETWORK_ERROR_CODE: ("o", 3),
    c.TAG_MESSAGE_PAYLOAD: ("o", 65535),
    c.TAG_DELIVERY_FAILURE_REASON: (1, 1),
    c.TAG_MORE_MESSAGES_TO_SEND: (1, 1),
    c.TAG_MESSAGE_STATE: (1, 1),
    c.TAG_USSD_SERVICE_OP: (1, 1),
    c.TAG_DISPLAY_TIME: (1, 1),
    c.TAG_SMS_SIGNAL: (2, 2),
    c.TAG_MS_VALIDITY: (1, 1),
    c.TAG_ALERT_ON_MESSAGE_DELIVERY: ("f", 0),
    c.TAG_ITS_REPLY_TYPE: (1, 1),
    c.TAG_ITS_SESSION_INFO: ("o", 2),
}

_TL: Final = struct.Struct(">HH")
_TLB: Final = struct.Struct(">HHB")
_TLH: Final = struct.Struct(">HHH")
_TLI: Final = struct.Struct(">HHI")
_INT_PACKERS: Final = {1: _TLB, 2: _TLH, 4: _TLI}
_INT_MAX: Final = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}


def decode_tlvs(data: bytes, pos: int, end: int, command_id: int, sequence_number: int) -> Tlvs:
    """Decode the TLVs in `data[pos:end]`; a truncated or mis-sized one raises PduError."""
    tlvs: Tlvs = {}
    types = TLV_TYPES
    while pos < end:
        if end - pos < 4:
            raise PduError(
                f"truncated TLV header: {end - pos} octet(s) left",
                c.ESME_RINVOPTPARSTREAM,
                command_id=command_id,
                sequence_number=sequence_number,
            )
        tag = (data[pos] << 8) | data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
        if pos + length > end:
            raise PduError(
                f"TLV 0x{tag:04X} claims {length} octet(s), {end - pos} left",
                c.ESME_RINVOPTPARSTREAM,
                command_id=command_id,
                sequence_number=sequence_number,
            )
        kind = types.get(tag)
        value: TlvValue
        if kind is None:
            value = data[pos : pos + length]
        else:
            k, size = kind
            if k == "c":
                if length > size:
                    raise _bad_length(tag, length, command_id, sequence_number)
                raw = data[pos : pos + length]
                nul = raw.find(0)
                value = (raw if nul < 0 else raw[:nul]).decode("latin-1")
            elif k == "o":
                if length > size:
                    raise _bad_length(tag, length, command_id, sequence_number)
                value = data[pos : pos + length]
            elif k == "f":
                if length != 0:
                    raise _bad_length(tag, length, command_id, sequence_number)
                value = b""
            else:
                # Integers: tolerate any of 1, 2 or 4 octets, as some SMSCs mis-size them.
                if length not in (1, 2, 4):
                    raise _bad_length(tag, length, command_id, sequence_number)
                value = int.from_bytes(data[pos : pos + length], "big")
        tlvs[tag] = value
        pos += length
    return tlvs


def _bad_length(tag: int, length: int, command_id: int, sequence_number: int) -> PduError:
    name = c.TLV_NAMES.get(tag, f"0x{tag:04X}")
    return PduError(
        f"TLV {name} has invalid length {length}",
        c.ESME_RINVPARLEN,
        command_id=command_id,
        sequence_number=sequence_number,
    )


def encode_tlvs(tlvs: Tlvs) -> bytes:
    """Encode TLVs in the dict's order; values must match their tag's type."""
    if not isinstance(tlvs, dict):
        raise EncodeError(f"TLVs must be a dict, got {type(tlvs).__name__}")
    out: list[bytes] = []
    for tag, value in tlvs.items():
        if not isinstance(tag, int) or not 0 <= tag <= 0xFFFF:
            raise EncodeError(f"TLV tag {tag!r} out of range")
        kind = TLV_TYPES.get(tag)
        if kind is None or kind[0] in ("o", "f"):
            if not isinstance(value, bytes):
                raise EncodeError(f"TLV 0x{tag:04X} needs bytes, got {type(value).__name__}")
            if kind is not None and len(value) > kind[1]:
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} longer than {kind[1]} octets")
            if len(value) > 0xFFFF:
                raise EncodeError(f"TLV 0x{tag:04X} longer than 65535 octets")
            out.append(_TL.pack(tag, len(value)))
            out.append(value)
        elif kind[0] == "c":
            if not isinstance(value, str):
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} needs str, got {type(value).__name__}")
            try:
                raw = value.encode("latin-1") + b"\0"
            except UnicodeEncodeError:
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} is not Latin-1") from None
            if raw.index(0) != len(raw) - 1:
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} holds a NUL character")
            if len(raw) > kind[1]:
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} longer than {kind[1] - 1} characters")
            out.append(_TL.pack(tag, len(raw)))
            out.append(raw)
        else:
            size = kind[0]
            assert isinstance(size, int)
            if not isinstance(value, int) or isinstance(value, bool):
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} needs int, got {type(value).__name__}")
            if not 0 <= value <= _INT_MAX[size]:
                raise EncodeError(f"TLV {c.TLV_NAMES[tag]} value {value} out of range")
            out.append(_INT_PACKERS[size].pack(tag, size, value))
    return b"".join(out)
