"""Incoming short messages: the text (and UDH) of a deliver_sm's payload, whatever it holds.

Peer data enters here, so nothing raises: unknown codes become U+FFFD, odd UCS-2 lengths and
lone surrogates too, a malformed UDH is reported as a value, an unknown data_coding is read
as Latin-1 and flagged.
"""

from __future__ import annotations

from typing import Final

import msgspec

from connector.text import gsm7
from connector.text.gsm7 import fill_bits_after
from connector.text.udh import UdhError, UserDataHeader, parse_udh

# SMPP 3.4 §5.2.19 data_coding values with a character set Python knows.
_CHARSETS: Final[dict[int, str]] = {
    0x01: "ascii",  # IA5 (CCITT T.50) / ASCII
    0x03: "latin-1",  # ISO-8859-1
    0x06: "iso8859-5",  # Cyrillic
    0x07: "iso8859-8",  # Latin/Hebrew
    0x08: "utf-16-be",  # UCS-2, read as UTF-16 so surrogate pairs (emoji) survive
    0x0A: "iso2022-jp",  # ISO-2022-JP (Music Codes)
    0x0E: "euc-kr",  # KS C 5601
}
_BINARY: Final = frozenset({0x02, 0x04})  # octet unspecified (8-bit binary)


class DecodedMessage(msgspec.Struct, frozen=True, gc=False):
    """What a short message payload says."""

    text: str
    """The text; empty for binary data (see `binary`)."""
    data_coding: int
    alphabet: str
    """"gsm7", "ascii", "latin-1", "ucs2", "binary", ... : how `text` was read."""
    udh: UserDataHeader | None = None
    udh_error: UdhError | None = None
    """Set when UDHI was on but the header could not be read; `text` then covers it all."""
    binary: bytes | None = None
    """The octets after the UDH, for 8-bit data (data_coding 0x02 / 0x04 or a binary DCS)."""
    best_effort: bool = False
    """True when the data_coding is not one SMPP 3.4 defines with a known charset."""


def _dcs_alphabet(data_coding: int) -> str | None:
    """The alphabet a GSM 03.38 DCS value names (23.038 §4), for SMSCs that pass one through.

    Only the groups outside SMPP's own 0x00-0x0F range: general data coding 0x10-0x7F
    (bits 3-2) and data coding / message class 0xF0-0xFF (bit 2). Compressed text is not
    decoded.
    """
    if 0x10 <= data_coding <= 0x7F:
        if data_coding & 0x20:
            return None  # compressed
        return {0: "gsm7", 1: "binary", 2: "ucs2"}.get((data_coding >> 2) & 0x03)
    if data_coding >= 0xF0:
        return "binary" if data_coding & 0x04 else "gsm7"
    return None


def _decode_gsm7(body: bytes, packed: bool, fill_bits: int) -> str:
    if packed:
        return gsm7.decode_septets(gsm7.unpack_septets(body, fill_bits))
    return gsm7.decode_septets(body)


def decode_short_message(
    data_coding: int, payload: bytes, *, udhi: bool = False, gsm7_packed: bool = False
) -> DecodedMessage:
    """Decode `payload` (short_message or message_payload) sent with `data_coding`.

    `udhi`: the esm_class UDHI bit was set, the payload starts with a UDH. `gsm7_packed`:
    this carrier sends GSM-7 as packed septets (else one septet per octet).
    """
    udh: UserDataHeader | None = None
    udh_error: UdhError | None = None
    body = payload
    udh_octets = 0
    if udhi:
        parsed, rest = parse_udh(payload)
        if isinstance(parsed, UdhError):
            udh_error = parsed
        else:
            udh = parsed
            body = rest
            udh_octets = parsed.octets

    best_effort = False
    if data_coding == 0x00:
        alphabet = "gsm7"
    elif data_coding in _BINARY:
        alphabet = "binary"
    elif data_coding in _CHARSETS:
        alphabet = "ucs2" if data_coding == 0x08 else _CHARSETS[data_coding]
    else:
        best_effort = True
        alphabet = _dcs_alphabet(data_coding) or "latin-1"

    if alphabet == "binary":
        return DecodedMessage("", data_coding, alphabet, udh, udh_error, body, best_effort)
    if alphabet == "gsm7":
        # Packed septets after a UDH start on the next septet boundary (23.040 §9.2.3.24).
        text = _decode_gsm7(body, gsm7_packed, fill_bits_after(udh_octets) if udh_octets else 0)
    elif alphabet == "ucs2":
        text = body.decode("utf-16-be", "replace")
    else:
        text = body.decode(_CHARSETS.get(data_coding, alphabet), "replace")
    return DecodedMessage(text, data_coding, alphabet, udh, udh_error, None, best_effort)
