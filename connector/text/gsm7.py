"""The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 §6.2.1).

Owns the character tables, septet encoding (one septet per octet, "unpacked", as SMPP carries
it by default), septet packing with the fill bits a UDH needs (3GPP TS 23.040 §9.2.3.24) and
the lenient decoder used for mobile-originated text. Every table is built once at import so
the hot path is a `str.translate`, `bytes.translate` or codec call, not a Python loop.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

ESC: Final = 0x1B
"""Escape to the extension table (23.038 §6.2.1.1): `ESC code` is one character, two septets."""

CR: Final = 0x0D

# 23.038 §6.2.1, code = index. 0x1B is the escape, never a character of its own.
BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# 23.038 §6.2.1.1: the characters reached through ESC (form feed, ^ { } \ [ ~ ] | €).
EXTENSION_TABLE: Final[dict[int, str]] = {
    0x0A: "\x0c",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

BASIC_CHARACTERS: Final = frozenset(ch for code, ch in enumerate(BASIC_TABLE) if code != ESC)
EXTENSION_CHARACTERS: Final = frozenset(EXTENSION_TABLE.values())
GSM7_CHARACTERS: Final = BASIC_CHARACTERS | EXTENSION_CHARACTERS

# Characters GSM-7 has and Latin-1 lacks: with gsm7_form="latin1" they cannot be carried.
NOT_IN_LATIN1: Final = frozenset(ch for ch in GSM7_CHARACTERS if ord(ch) > 0xFF)
LATIN1_GSM7_CHARACTERS: Final = GSM7_CHARACTERS - NOT_IN_LATIN1

# str.translate table: character -> its septet(s), spelled as Latin-1 code points so that one
# `.encode("latin-1")` turns the result into septet octets.
_ENCODE_TABLE: Final[dict[int, str]] = {
    **{ord(ch): chr(code) for code, ch in enumerate(BASIC_TABLE) if code != ESC},
    **{ord(ch): chr(ESC) + chr(code) for code, ch in EXTENSION_TABLE.items()},
}


def _negated_class(characters: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[^" + "".join(re.escape(ch) for ch in sorted(characters)) + "]")


def _run_class(characters: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(characters)) + "]+")


_NOT_GSM7: Final = _negated_class(GSM7_CHARACTERS)
_NOT_LATIN1_GSM7: Final = _negated_class(LATIN1_GSM7_CHARACTERS)
_GSM7_RUNS: Final = _run_class(GSM7_CHARACTERS)
_LATIN1_GSM7_RUNS: Final = _run_class(LATIN1_GSM7_CHARACTERS)

# Latin-1 fast path (ASCII, French, Spanish, German, Swahili, ...): `str.encode("latin-1")`
# and two `bytes.translate` calls do in C what a per-character lookup would do in Python.
# _LATIN1_GSM7 lists the Latin-1 octets that are GSM-7 characters; _LATIN1_TO_SEPTET maps
# each to its septet, except the extension characters, which map to a placeholder octet
# 0x80 | code (no septet is above 0x7F) that _PLACEHOLDERS then expands to `ESC code`.
#
# The eleven GSM-7 characters beyond Latin-1 (€, Greek capitals) take the same path by first
# standing in for C1 control characters U+0080.. (which have no GSM-7 form, so a text that
# holds a real one is sent down the slow path instead and no stand-in is ambiguous).
_STAND_INS: Final = tuple((ch, chr(0x80 + index)) for index, ch in enumerate(sorted(NOT_IN_LATIN1)))
_C1: Final = re.compile("[\x80-\x9f]")
_LATIN1_GSM7: Final = bytes(sorted(ord(ch) for ch in LATIN1_GSM7_CHARACTERS))
_STAND_IN_GSM7: Final = _LATIN1_GSM7 + bytes(ord(stand_in) for _, stand_in in _STAND_INS)


def _latin1_to_septet(octet: int) -> int:
    ch = chr(octet)
    for original, stand_in in _STAND_INS:
        if ch == stand_in:
            ch = original
    if ch in EXTENSION_CHARACTERS:
        return 0x80 | next(code for code, ext in EXTENSION_TABLE.items() if ext == ch)
    encoded = _ENCODE_TABLE.get(ord(ch))
    return ord(encoded) if encoded is not None and len(encoded) == 1 else 0


_LATIN1_TO_SEPTET: Final = bytes(_latin1_to_septet(octet) for octet in range(256))
_PLACEHOLDERS: Final = tuple(
    (bytes((0x80 | code,)), bytes((ESC, code))) for code in EXTENSION_TABLE
)

# charmap_decode table: octet -> character; U+FFFE marks an undefined code, which the
# "replace" error handler turns into U+FFFD. ESC is undefined here because decode_septets
# handles it before the table is consulted.
_DECODE_BASIC: Final = (
    "".join("\ufffe" if code == ESC else ch for code, ch in enumerate(BASIC_TABLE)) + "\ufffe" * 128
)


def non_gsm7(text: str, *, latin1: bool = False) -> list[str]:
    """Characters of `text` without a GSM-7 form, in order, repeats included.

    With `latin1`, characters GSM-7 has but Latin-1 lacks (€, Greek capitals) count too.
    """
    pattern = _NOT_LATIN1_GSM7 if latin1 else _NOT_GSM7
    return pattern.findall(text)


def first_non_gsm7(text: str, *, latin1: bool = False) -> tuple[str, ...]:
    """The distinct characters of `text` without a GSM-7 form, in order of first appearance.

    Runs of GSM-7 characters are cut out in C first, so a mostly GSM-7 text costs little.
    """
    runs = _LATIN1_GSM7_RUNS if latin1 else _GSM7_RUNS
    return tuple(dict.fromkeys(runs.sub("", text)))


def is_gsm7(text: str, *, latin1: bool = False) -> bool:
    """True when every character of `text` has a GSM-7 form (and a Latin-1 one with `latin1`)."""
    return try_encode_septets(text, latin1=latin1) is not None


def try_encode_septets(text: str, *, latin1: bool = False) -> bytes | None:
    """GSM-7 septets of `text`, one per octet (`ESC code` for extension characters).

    None when some character has no GSM-7 form or, with `latin1`, no Latin-1 one either.
    """
    valid = _LATIN1_GSM7
    try:
        octets = text.encode("latin-1")
    except UnicodeEncodeError:
        if latin1:
            return None
        if _C1.search(text) is not None:  # no GSM-7 form, and it would pass for a stand-in
            return None
        for original, stand_in in _STAND_INS:
            if original in text:
                text = text.replace(original, stand_in)
        try:
            octets = text.encode("latin-1")
        except UnicodeEncodeError:
            return None  # a character neither Latin-1 nor GSM-7
        valid = _STAND_IN_GSM7
    if octets.translate(None, valid):
        return None
    septets = octets.translate(_LATIN1_TO_SEPTET)
    if not septets.isascii():
        for placeholder, sequence in _PLACEHOLDERS:
            if placeholder in septets:
                septets = septets.replace(placeholder, sequence)
    return septets


def encode_septets(text: str) -> bytes:
    """GSM-7 septets of `text`, one per octet; extension characters become `ESC code`.

    Raises ValueError when some character has no GSM-7 form.
    """
    septets = try_encode_septets(text)
    if septets is None:
        raise ValueError(f"no GSM-7 form for {first_non_gsm7(text)!r}")
    return septets


def septet_count(text: str) -> int:
    """Septets `text` costs in GSM-7 (extension characters cost two); `text` must be GSM-7."""
    return len(encode_septets(text))


def _decode_basic(septets: bytes) -> str:
    return codecs.charmap_decode(septets, "replace", _DECODE_BASIC)[0]


def decode_septets(septets: bytes) -> str:
    """Text of unpacked GSM-7 septets; never raises.

    Octets above 0x7F become U+FFFD. `ESC code` gives the extension character; for a code the
    extension table lacks, the basic-table character is shown, as 23.038 §6.2.1.1 tells a
    receiving entity to do; `ESC ESC` shows a space (reserved for a further table); a trailing
    lone ESC becomes U+FFFD.
    """
    if ESC not in septets:
        return _decode_basic(septets)
    out: list[str] = []
    pos = 0
    end = len(septets)
    while True:
        esc = septets.find(ESC, pos)
        if esc < 0:
            out.append(_decode_basic(septets[pos:]))
            return "".join(out)
        out.append(_decode_basic(septets[pos:esc]))
        if esc + 1 >= end:
            out.append("\ufffd")
            return "".join(out)
        code = septets[esc + 1]
        if code == ESC:
            out.append(" ")
        elif code in EXTENSION_TABLE:
            out.append(EXTENSION_TABLE[code])
        else:
            out.append(_decode_basic(bytes((code,))))
        pos = esc + 2


def fill_bits_after(udh_octets: int) -> int:
    """Fill bits between a UDH of that many octets (UDHL included) and the first septet.

    3GPP TS 23.040 §9.2.3.24: the short message starts on a septet boundary of the user data,
    so a 6-octet UDH (48 bits) is followed by 1 fill bit and a 7-octet one by none.
    """
    return (7 - (udh_octets * 8) % 7) % 7


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets 8 to 7 octets (23.038 §6.1.2.1.1), after `fill_bits` zero bits.

    When the last octet would keep 7 spare bits, they carry CR rather than zeros, so that the
    receiver does not read an extra `@` (23.038 §6.1.2.3.1).
    """
    if not septets:
        return b""
    out = bytearray()
    acc = 0
    bits = fill_bits
    for septet in septets:
        acc |= (septet & 0x7F) << bits
        bits += 7
        if bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        if bits == 1:
            acc |= CR << 1
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, fill_bits: int = 0, count: int | None = None) -> bytes:
    """Unpack packed GSM-7 octets into one septet per octet, skipping `fill_bits` first.

    Without `count` the number of septets is inferred from the length; a final CR sitting
    where 7 spare bits would be is the 23.038 §6.1.2.3.1 padding and is dropped.
    """
    available = len(data) * 8 - fill_bits
    if available <= 0:
        return b""
    inferred = count is None
    n = available // 7 if count is None else min(count, available // 7)
    out = bytearray()
    acc = 0
    bits = 0
    skip = fill_bits
    for octet in data:
        if skip >= 8:
            skip -= 8
            continue
        acc |= (octet >> skip) << bits
        bits += 8 - skip
        skip = 0
        while bits >= 7 and len(out) < n:
            out.append(acc & 0x7F)
            acc >>= 7
            bits -= 7
        if len(out) >= n:
            break
    if inferred and available % 7 == 0 and out and out[-1] == CR:
        del out[-1]
    return bytes(out)
