"""Segment planning: which encoding a text goes in and the exact parts a carrier will bill.

`plan()` is the daemon's hot path and the gateway's price: GSM-7 (3GPP TS 23.038) when every
character has a GSM-7 form, else UCS-2; one part up to 160 septets / 70 UTF-16 units, else
concatenated parts of 153 / 67 (8-bit reference UDH) or 152 / 66 (16-bit reference), split so
that no part ends inside an escape sequence or a surrogate pair, with the fewest parts.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from connector.smpp import constants as c
from connector.smpp.pdu import Tlvs
from connector.text import gsm7
from connector.text.errors import EmptyMessage, MessageTooLong, UnencodableText
from connector.text.gsm7 import fill_bits_after
from connector.text.lookalikes import smart_map
from connector.text.udh import concat_udh

Encoding = Literal["gsm7", "ucs2"]
EncodingChoice = Literal["auto", "gsm7", "ucs2"]
Concat = Literal["udh", "sar", "payload"]
Gsm7Form = Literal["unpacked", "packed", "latin1"]

ENCODING_CHOICES: Final = ("auto", "gsm7", "ucs2")
CONCAT_MODES: Final = ("udh", "sar", "payload")
GSM7_FORMS: Final = ("unpacked", "packed", "latin1")

# SMPP 3.4 §5.2.19 data_coding.
DATA_CODING_DEFAULT: Final = 0x00
DATA_CODING_LATIN1: Final = 0x03
DATA_CODING_UCS2: Final = 0x08

# 140 octets of user data (23.040 §9.2.3.16) less the concatenation UDH, in septets / units:
# 6 octets (8-bit ref) = 7 septets incl. 1 fill bit = 3 UTF-16 units; 7 octets (16-bit ref)
# = 8 septets exactly = 3.5 units, so 4.
GSM7_SINGLE: Final = 160
GSM7_CONCAT_8BIT: Final = 153
GSM7_CONCAT_16BIT: Final = 152
UCS2_SINGLE: Final = 70
UCS2_CONCAT_8BIT: Final = 67
UCS2_CONCAT_16BIT: Final = 66

DEFAULT_MAX_PARTS: Final = 10
MAX_PARTS_CEILING: Final = 255  # the UDH / SAR "total" field is one octet

_ESC: Final = gsm7.ESC
_CR: Final = gsm7.CR
_HIGH_SURROGATE_FIRST: Final = 0xD8
_HIGH_SURROGATE_LAST: Final = 0xDB


class Part(msgspec.Struct, frozen=True, gc=False):
    """One submit_sm's worth: its exact short_message (UDH included) and TLVs to add."""

    short_message: bytes
    tlvs: Tlvs
    characters: int
    """Characters (Unicode code points) of the plan's text this part carries."""
    units: int
    """Septets (GSM-7) or UTF-16 units (UCS-2) it costs, the UDH not counted."""
    text: str
    """The slice of the plan's text it carries."""


class Plan(msgspec.Struct, frozen=True, gc=False):
    """How a text is sent: encoding, the submit_sm fields that depend on it, and its parts."""

    encoding: Encoding
    data_coding: int
    esm_class: int
    """Bits to OR into the submit_sm's esm_class: UDHI (0x40) when parts carry a UDH."""
    parts: tuple[Part, ...]
    """The submit_sm PDUs: one per billed part, or one carrying message_payload."""
    text: str
    """The text sent: smart-mapped when that made it GSM-7, else exactly the input."""
    billed_parts: int
    """Parts the carrier bills; equals len(parts) except with concat="payload"."""
    part_lengths: tuple[int, ...]
    """Characters in each billed part."""
    units: int
    """Septets or UTF-16 units of the whole text."""
    concat: Concat = "udh"
    gsm7_form: Gsm7Form = "unpacked"
    reference: int = 0
    reference_16bit: bool = False
    requested_encoding: EncodingChoice = "auto"
    smart: bool = False

    @property
    def ucs2_forced_by(self) -> tuple[str, ...]:
        """Characters without a GSM-7 form (after smart mapping), in order of first appearance.

        Empty for GSM-7 and for UCS-2 asked for explicitly. Computed on access: it costs as
        much as the rest of a UCS-2 plan, and only reports and logs read it.
        """
        if self.encoding == "gsm7" or self.requested_encoding == "ucs2":
            return ()
        candidate = smart_map(self.text) if self.smart else self.text
        return gsm7.first_non_gsm7(candidate, latin1=self.gsm7_form == "latin1")

    def with_reference(self, reference: int) -> Plan:
        """The same plan with another concatenation reference (one per destination in flight).

        Only the UDH octets or the sar_msg_ref_num TLV change, so a message to many
        recipients is planned once and re-referenced per recipient.
        """
        _check_reference(reference, self.reference_16bit)
        if reference == self.reference:
            return self
        parts = self.parts
        if len(parts) > 1 and self.concat == "udh":
            total = len(parts)
            parts = tuple(
                msgspec.structs.replace(
                    part,
                    short_message=concat_udh(reference, total, seq, ref_16bit=self.reference_16bit)
                    + part.short_message[_udh_octets(self.reference_16bit) :],
                )
                for seq, part in enumerate(parts, start=1)
            )
        elif len(parts) > 1 and self.concat == "sar":
            parts = tuple(
                msgspec.structs.replace(part, tlvs={**part.tlvs, c.TAG_SAR_MSG_REF_NUM: reference})
                for part in parts
            )
        return msgspec.structs.replace(self, parts=parts, reference=reference)


def _udh_octets(ref_16bit: bool) -> int:
    return 7 if ref_16bit else 6


def _check_reference(reference: int, ref_16bit: bool) -> None:
    top = 0xFFFF if ref_16bit else 0xFF
    if not 0 <= reference <= top:
        raise ValueError(f"reference {reference} out of range 0..{top}")


def _check_options(encoding: str, concat: str, max_parts: int, gsm7_form: str) -> None:
    if encoding not in ENCODING_CHOICES:
        raise ValueError(f"encoding must be one of {ENCODING_CHOICES}, not {encoding!r}")
    if concat not in CONCAT_MODES:
        raise ValueError(f"concat must be one of {CONCAT_MODES}, not {concat!r}")
    if gsm7_form not in GSM7_FORMS:
        raise ValueError(f"gsm7_form must be one of {GSM7_FORMS}, not {gsm7_form!r}")
    if not 1 <= max_parts <= MAX_PARTS_CEILING:
        raise ValueError(f"max_parts must be within 1..{MAX_PARTS_CEILING}, not {max_parts}")


def _utf16(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise UnencodableText(
            f"lone surrogate U+{ord(bad):04X} at position {exc.start} cannot be sent in UCS-2",
            (bad,),
        ) from None


def _describe(characters: tuple[str, ...]) -> str:
    return ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in characters)


def _prepare(text: str, encoding: str, smart: bool, latin1: bool) -> tuple[str, Encoding, bytes]:
    """The text to send, its encoding, and its septets or UTF-16BE octets.

    Smart mapping is kept only when it makes the text GSM-7: UCS-2 carries any character,
    so a text that is UCS-2 anyway goes out exactly as written.
    """
    if not text:
        raise EmptyMessage()
    if encoding == "ucs2":
        return text, "ucs2", _utf16(text)
    candidate = smart_map(text) if smart else text
    if not candidate:
        raise EmptyMessage("the message is empty once invisible characters are removed")
    septets = gsm7.try_encode_septets(candidate, latin1=latin1)
    if septets is not None:
        return candidate, "gsm7", septets
    if encoding == "gsm7":
        forced = gsm7.first_non_gsm7(candidate, latin1=latin1)
        where = "in Latin-1 (this carrier's gsm7_form)" if latin1 else "in GSM-7"
        raise UnencodableText(f"{_describe(forced)} cannot be sent {where}", forced)
    return text, "ucs2", _utf16(text)


# Why greedy filling gives the fewest parts. The text is a sequence of indivisible tokens of
# weight 1 or 2 (a septet or an escape sequence; a UTF-16 unit or a surrogate pair) and each
# part holds at most L units (L >= 2, so every token fits). Greedy makes each part the longest
# prefix of what remains that fits. Claim: after k parts greedy has consumed at least as many
# tokens as any valid split has after its k parts. True for k = 0; if it holds for k, the
# other split's part k+1 is a run of tokens (a, b] of weight <= L with a <= g_k (greedy's end
# after k parts). If b <= g_k there is nothing to show; else the tokens (g_k, b] weigh no
# more than (a, b], so they fit in greedy's part k+1, which therefore reaches at least b.
# So when another split ends after m parts, greedy has ended by then: greedy's count is the
# minimum. A text over the single-part limit needs >= 2 parts, all carrying the concatenation
# header, so the same L applies to every part. tests/text checks this against exhaustive
# search on small limits and against an exact dynamic programme on real texts.


def split_septets(septets: bytes, limit: int, packed_fill: int | None = None) -> list[int]:
    """End offsets of the greedy parts of unpacked septets, never splitting `ESC code`.

    Every ESC octet in an encoded text starts an escape sequence (no extension code is 0x1B
    and U+001B has no GSM-7 form), so a chunk ending on ESC is shortened by one septet.

    `packed_fill` (the fill bits before each part's septets, when they go out packed): a full
    part whose last septet is CR and ends exactly on an octet boundary would read as a part
    of one septet less padded with CR (23.038 §6.1.2.3.1), and it has no room for the second
    CR the spec adds then; it ends one septet earlier and the CR starts the next part. (CR is
    never the second septet of an escape: no extension code is 0x0D.) Greedy stays minimal:
    a full part another split ends at the same place ends on the same septet.
    """
    ends: list[int] = []
    start = 0
    size = len(septets)
    while start < size:
        end = start + limit
        if end >= size:
            ends.append(size)
            break
        if septets[end - 1] == _ESC or (
            packed_fill is not None
            and septets[end - 1] == _CR
            and (packed_fill + 7 * limit) % 8 == 0
        ):
            end -= 1
        ends.append(end)
        start = end
    return ends


def _packed_needs_cr(septets: bytes, fill_bits: int) -> bool:
    """Whether packed `septets` end on a CR exactly at an octet boundary: the receiver would
    take it for the CR that pads 7 spare bits and drop it (23.038 §6.1.2.3.1)."""
    return septets[-1:] == b"\r" and (fill_bits + 7 * len(septets)) % 8 == 0


def split_utf16(octets: bytes, limit: int) -> list[int]:
    """End offsets (in octets) of the greedy parts of UTF-16BE text of `limit` units each.

    A chunk ending on a high surrogate is shortened by one unit to keep the pair together.
    """
    ends: list[int] = []
    start = 0
    size = len(octets)
    step = 2 * limit
    while start < size:
        end = start + step
        if end >= size:
            ends.append(size)
            break
        if _HIGH_SURROGATE_FIRST <= octets[end - 2] <= _HIGH_SURROGATE_LAST:
            end -= 2
        ends.append(end)
        start = end
    return ends


def _limits(encoding: Encoding, ref_16bit: bool) -> tuple[int, int]:
    if encoding == "gsm7":
        return GSM7_SINGLE, GSM7_CONCAT_16BIT if ref_16bit else GSM7_CONCAT_8BIT
    return UCS2_SINGLE, UCS2_CONCAT_16BIT if ref_16bit else UCS2_CONCAT_8BIT


def _ends(
    encoding: Encoding, encoded: bytes, single: int, multi: int, packed_fill: int | None
) -> list[int]:
    """Where each part ends, within the `_limits` given; `packed_fill` as `split_septets`
    takes it (None unless GSM-7 goes out packed)."""
    if encoding == "gsm7":
        if len(encoded) <= single:
            return [len(encoded)]
        return split_septets(encoded, multi, packed_fill)
    if len(encoded) <= 2 * single:
        return [len(encoded)]
    return split_utf16(encoded, multi)


def _ends_anywhere(encoding: Encoding, encoded: bytes, sent: str, packed: bool) -> bool:
    """Whether a part may end after any unit, so counting needs no split: no escape (GSM-7),
    no CR a packed part could end on (see `split_septets`), no surrogate pair (UCS-2)."""
    if encoding == "gsm7":
        return _ESC not in encoded and not (packed and _CR in encoded)
    return len(encoded) // 2 == len(sent)


def _air_fill(ref_16bit: bool) -> int:
    """Fill bits after the concatenation UDH: where each part's septets start on the air, in
    every `concat` mode (an SMSC turns sar_* TLVs and message_payload into that UDH)."""
    return fill_bits_after(_udh_octets(ref_16bit))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def count_parts(
    text: str,
    *,
    encoding: EncodingChoice = "auto",
    smart: bool = False,
    concat: Concat = "udh",
    gsm7_form: Gsm7Form = "unpacked",
    reference_16bit: bool = False,
    max_parts: int | None = None,
) -> int:
    """Parts the carrier will bill for `text`, without building them (for pricing).

    The same count as `plan(...).billed_parts`, which `concat` does not change (it is taken
    so a carrier's options can be passed to both alike); raises the same EmptyMessage /
    UnencodableText, and MessageTooLong only when `max_parts` is given.
    """
    limit = DEFAULT_MAX_PARTS if max_parts is None else max_parts
    _check_options(encoding, concat, limit, gsm7_form)
    sent, chosen, encoded = _prepare(text, encoding, smart, gsm7_form == "latin1")
    single, multi = _limits(chosen, reference_16bit)
    packed = gsm7_form == "packed"
    units = len(encoded) if chosen == "gsm7" else len(encoded) // 2
    if units <= single:
        parts = 1
    elif _ends_anywhere(chosen, encoded, sent, packed):  # every part but the last is full
        parts = _ceil_div(units, multi)
    else:
        packed_fill = _air_fill(reference_16bit) if packed else None
        parts = len(_ends(chosen, encoded, single, multi, packed_fill))
    if max_parts is not None and parts > max_parts:
        raise MessageTooLong(parts, max_parts)
    return parts


def plan(
    text: str,
    *,
    encoding: EncodingChoice = "auto",
    smart: bool = False,
    concat: Concat = "udh",
    max_parts: int = DEFAULT_MAX_PARTS,
    gsm7_form: Gsm7Form = "unpacked",
    reference: int = 0,
    reference_16bit: bool = False,
) -> Plan:
    """The encoding and the exact submit_sm parts for `text` (see the module docstring).

    `concat`: "udh" puts a concatenation UDH in each part (esm_class UDHI); "sar" uses the
    sar_* TLVs with the same part sizes (the SMSC turns them into a UDH on the air
    interface, which costs the handset the same octets); "payload" sends one submit_sm with
    the whole text in message_payload, `billed_parts` still counting what the SMSC will
    split it into. A text that fits one part is a plain short_message in every mode.

    `gsm7_form`: "unpacked" (one septet per octet, data_coding 0x00), "packed" (8 septets in
    7 octets, fill bits after the UDH, data_coding 0x00) or "latin1" (data_coding 0x03; the
    SMSC converts to GSM-7, so the septet limits still apply and characters Latin-1 lacks,
    such as € or Greek capitals, force UCS-2).

    Raises EmptyMessage, UnencodableText (lone surrogates; `encoding="gsm7"` on a text
    GSM-7 cannot carry) or MessageTooLong (more than `max_parts`, at most 255). Option
    values out of range raise ValueError: they are configuration bugs, not text errors.
    """
    _check_options(encoding, concat, max_parts, gsm7_form)
    _check_reference(reference, reference_16bit)
    latin1 = gsm7_form == "latin1"
    sent, chosen, encoded = _prepare(text, encoding, smart, latin1)
    single, multi = _limits(chosen, reference_16bit)
    packed_fill = _air_fill(reference_16bit) if gsm7_form == "packed" else None
    ends = _ends(chosen, encoded, single, multi, packed_fill)
    count = len(ends)
    if count > max_parts:
        raise MessageTooLong(count, max_parts)

    # Characters and septets/units of each part, and the text slice it carries.
    gsm = chosen == "gsm7"
    lengths: list[int] = []
    units: list[int] = []
    slices: list[str] = []
    start = 0
    pos = 0
    if gsm:
        plain = _ESC not in encoded
        for end in ends:
            size = end - start
            chars = size if plain else size - encoded.count(_ESC, start, end)
            lengths.append(chars)
            units.append(size)
            slices.append(sent[pos : pos + chars])
            pos += chars
            start = end
        data_coding = DATA_CODING_LATIN1 if latin1 else DATA_CODING_DEFAULT
        total_units = len(encoded)
    else:
        plain = len(encoded) == 2 * len(sent)
        for end in ends:
            size = (end - start) // 2
            chars = size if plain else len(encoded[start:end].decode("utf-16-be"))
            lengths.append(chars)
            units.append(size)
            slices.append(sent[pos : pos + chars])
            pos += chars
            start = end
        data_coding = DATA_CODING_UCS2
        total_units = len(encoded) // 2

    def body(first: int, last: int, part_text: str, fill_bits: int, room: int) -> bytes:
        """A part's user data after any UDH; `room`: septets it may hold."""
        if not gsm:
            return encoded[first:last]
        if latin1:
            return part_text.encode("latin-1")
        if gsm7_form == "packed":
            septets = encoded[first:last]
            if len(septets) < room and _packed_needs_cr(septets, fill_bits):
                # 23.038 §6.1.2.3.1: another CR (a receiver treats CR CR as CR), so the
                # wanted one is not taken for padding. A full last part has no room for it:
                # its final CR may be dropped (split_septets keeps it off the other parts).
                septets += b"\r"
            return gsm7.pack_septets(septets, fill_bits)
        return encoded[first:last]

    esm_class = 0
    parts: list[Part] = []
    if count == 1:
        parts.append(Part(body(0, len(encoded), sent, 0, single), {}, lengths[0], units[0], sent))
    elif concat == "payload":
        parts.append(
            Part(
                b"",
                {c.TAG_MESSAGE_PAYLOAD: body(0, len(encoded), sent, 0, len(encoded) + 1)},
                len(sent),
                total_units,
                sent,
            )
        )
    else:
        udh_mode = concat == "udh"
        fill = _air_fill(reference_16bit) if udh_mode else 0
        start = 0
        for seq, end in enumerate(ends, start=1):
            index = seq - 1
            content = body(start, end, slices[index], fill, multi)
            if udh_mode:
                udh = concat_udh(reference, count, seq, ref_16bit=reference_16bit)
                parts.append(Part(udh + content, {}, lengths[index], units[index], slices[index]))
            else:
                tlvs: Tlvs = {
                    c.TAG_SAR_MSG_REF_NUM: reference,
                    c.TAG_SAR_TOTAL_SEGMENTS: count,
                    c.TAG_SAR_SEGMENT_SEQNUM: seq,
                }
                parts.append(Part(content, tlvs, lengths[index], units[index], slices[index]))
            start = end
        if udh_mode:
            esm_class = c.ESM_CLASS_UDHI

    return Plan(
        encoding=chosen,
        data_coding=data_coding,
        esm_class=esm_class,
        parts=tuple(parts),
        text=sent,
        billed_parts=count,
        part_lengths=tuple(lengths),
        units=total_units,
        concat=concat,
        gsm7_form=gsm7_form,
        reference=reference,
        reference_16bit=reference_16bit,
        requested_encoding=encoding,
        smart=smart,
    )
