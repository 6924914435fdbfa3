"""User Data Header (3GPP TS 23.040 §9.2.3.24): building concatenation headers, parsing any.

A malformed header coming from the network is an error *value* (`UdhError`), never an
exception: the inbound path must still answer the carrier and keep what it can.
"""

from __future__ import annotations

from typing import Final

import msgspec

from connector.smpp import constants as c
from connector.smpp.pdu import Tlvs

IEI_CONCAT_8BIT: Final = 0x00
"""Concatenated short messages, 8-bit reference (23.040 §9.2.3.24.1)."""
IEI_CONCAT_16BIT: Final = 0x08
"""Concatenated short messages, 16-bit reference (23.040 §9.2.3.24.8)."""

CONCAT_UDH_OCTETS_8BIT: Final = 6  # UDHL 05, IEI 00, IEIDL 03, ref, total, seq
CONCAT_UDH_OCTETS_16BIT: Final = 7  # UDHL 06, IEI 08, IEIDL 04, ref hi, ref lo, total, seq


class ConcatInfo(msgspec.Struct, frozen=True, gc=False):
    """Which part of which concatenated message this is."""

    reference: int
    total: int
    seq: int
    ref_16bit: bool = False


class InformationElement(msgspec.Struct, frozen=True, gc=False):
    """One UDH information element, kept raw."""

    iei: int
    data: bytes


class UserDataHeader(msgspec.Struct, frozen=True):
    """A parsed UDH: its size on the wire, the concat part it names and every other IE raw."""

    octets: int
    """Octets the header takes, the UDHL octet included."""
    concat: ConcatInfo | None = None
    elements: tuple[InformationElement, ...] = ()


class UdhError(msgspec.Struct, frozen=True, gc=False):
    """Why a header the peer sent could not be read (`reason` is a stable identifier)."""

    reason: str
    detail: str = ""


def concat_udh(reference: int, total: int, seq: int, *, ref_16bit: bool = False) -> bytes:
    """The concatenation UDH: `05 00 03 ref total seq` or `06 08 04 refhi reflo total seq`."""
    if ref_16bit:
        return bytes((0x06, IEI_CONCAT_16BIT, 0x04, reference >> 8, reference & 0xFF, total, seq))
    return bytes((0x05, IEI_CONCAT_8BIT, 0x03, reference, total, seq))


def _concat_from_element(iei: int, data: bytes) -> ConcatInfo | None:
    """The concat IE's content, or None when it is not one or is invalid.

    23.040 §9.2.3.24.1: a sequence number of 0 or beyond the total makes the IE ignored.
    """
    if iei == IEI_CONCAT_8BIT and len(data) == 3:
        reference, total, seq = data
        ref_16bit = False
    elif iei == IEI_CONCAT_16BIT and len(data) == 4:
        reference = (data[0] << 8) | data[1]
        total, seq = data[2], data[3]
        ref_16bit = True
    else:
        return None
    if total < 1 or not 1 <= seq <= total:
        return None
    return ConcatInfo(reference=reference, total=total, seq=seq, ref_16bit=ref_16bit)


def parse_udh(payload: bytes) -> tuple[UserDataHeader | UdhError, bytes]:
    """Split `payload` (which starts with a UDH) into the parsed header and the rest.

    On error the rest is the whole payload, so the caller can still keep the octets.
    """
    if not payload:
        return UdhError("udh_missing", "UDHI is set but the payload is empty"), payload
    udhl = payload[0]
    end = 1 + udhl
    if end > len(payload):
        return (
            UdhError(
                "udh_length_beyond_payload",
                f"UDH length {udhl} exceeds the {len(payload) - 1} octets that follow it",
            ),
            payload,
        )
    concat: ConcatInfo | None = None
    elements: list[InformationElement] = []
    pos = 1
    while pos < end:
        if pos + 2 > end:
            return UdhError("udh_element_truncated", f"IE header cut at octet {pos}"), payload
        iei = payload[pos]
        length = payload[pos + 1]
        data_end = pos + 2 + length
        if data_end > end:
            return (
                UdhError(
                    "udh_element_length_beyond_header",
                    f"IE 0x{iei:02X} length {length} exceeds the UDH",
                ),
                payload,
            )
        data = payload[pos + 2 : data_end]
        found = _concat_from_element(iei, data)
        if found is not None:
            concat = found  # 23.040 §9.2.3.24: a repeated IE, the last occurrence is used.
        else:
            elements.append(InformationElement(iei=iei, data=data))
        pos = data_end
    return UserDataHeader(octets=end, concat=concat, elements=tuple(elements)), payload[end:]


def concat_from_sar(tlvs: Tlvs) -> ConcatInfo | None:
    """The SMPP 3.4 §5.3.2.22-24 SAR TLVs as a ConcatInfo, or None when absent or invalid."""
    reference = tlvs.get(c.TAG_SAR_MSG_REF_NUM)
    total = tlvs.get(c.TAG_SAR_TOTAL_SEGMENTS)
    seq = tlvs.get(c.TAG_SAR_SEGMENT_SEQNUM)
    if not (isinstance(reference, int) and isinstance(total, int) and isinstance(seq, int)):
        return None
    if total < 1 or not 1 <= seq <= total:
        return None
    return ConcatInfo(reference=reference, total=total, seq=seq, ref_16bit=reference > 0xFF)
