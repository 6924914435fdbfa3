"""Segment planning on fixed texts with exact expected part sizes and bytes."""

from __future__ import annotations

import pytest
from smpplib import gsm as smpplib_gsm

from connector.smpp import constants as c
from connector.text import (
    EmptyMessage,
    MessageTooLong,
    TextError,
    UnencodableText,
    count_parts,
    decode_short_message,
    plan,
)
from connector.text.gsm7 import pack_septets

CYR = "ж"  # one UTF-16 unit, no GSM-7 form
EMOJI = "😀"  # two UTF-16 units (a surrogate pair)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, (1,)),
        (160, (160,)),
        (161, (153, 8)),
        (306, (153, 153)),
        (307, (153, 153, 1)),
        (459, (153, 153, 153)),
        (460, (153, 153, 153, 1)),
    ],
)
def test_gsm7_part_sizes_follow_160_then_153(size: int, expected: tuple[int, ...]) -> None:
    result = plan("a" * size)
    assert result.encoding == "gsm7"
    assert result.data_coding == 0x00
    assert result.part_lengths == expected
    assert tuple(part.units for part in result.parts) == expected
    assert result.billed_parts == len(expected) == count_parts("a" * size)
    assert result.esm_class == (c.ESM_CLASS_UDHI if len(expected) > 1 else 0)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (70, (70,)),
        (71, (67, 4)),
        (134, (67, 67)),
        (135, (67, 67, 1)),
        (201, (67, 67, 67)),
        (202, (67, 67, 67, 1)),
    ],
)
def test_ucs2_part_sizes_follow_70_then_67(size: int, expected: tuple[int, ...]) -> None:
    result = plan(CYR * size)
    assert result.encoding == "ucs2"
    assert result.data_coding == 0x08
    assert result.part_lengths == expected
    assert result.billed_parts == count_parts(CYR * size)
    for part, units in zip(result.parts, expected, strict=True):
        header = 6 if len(expected) > 1 else 0
        assert len(part.short_message) == header + 2 * units


@pytest.mark.parametrize(
    ("size", "ref_16bit", "expected"),
    [(152, True, (152,)), (161, True, (152, 9)), (305, True, (152, 152, 1))],
)
def test_16bit_reference_parts_hold_152_septets(
    size: int, ref_16bit: bool, expected: tuple[int, ...]
) -> None:
    assert plan("a" * size, reference_16bit=ref_16bit).part_lengths == expected


def test_16bit_reference_ucs2_parts_hold_66_units() -> None:
    assert plan(CYR * 71, reference_16bit=True).part_lengths == (66, 5)


@pytest.mark.parametrize("escaped", ["€", "{"])
@pytest.mark.parametrize(
    ("before", "expected"),
    [
        # The escape sequence starts at septet index `before` (0-based) of a 153-septet part.
        (151, (152, 60)),  # ESC at 151, code at 152: both fit, part 1 is 153 septets
        (152, (152, 61)),  # ESC would be the 153rd septet: it moves to part 2
        (153, (153, 61)),  # part 1 is full of `a`, the escape opens part 2
    ],
)
def test_escape_sequence_at_a_part_boundary_moves_whole_to_the_next_part(
    escaped: str, before: int, expected: tuple[int, ...]
) -> None:
    text = "a" * before + escaped + "a" * 60
    result = plan(text)
    assert result.part_lengths == expected
    first = result.parts[0].short_message[6:]
    assert first[-1] != 0x1B
    assert result.parts[1].text.startswith(escaped) == (before >= 152)
    assert result.parts[0].units == (152 if before == 152 else 153)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        # The surrogate pair starts at UTF-16 unit index `before` (0-based) of a 67-unit part.
        (65, (66, 30)),  # units 65-66: fits, part 1 is 67 units and 66 characters
        (66, (66, 31)),  # units 66-67 would straddle: the emoji moves to part 2
        (67, (67, 31)),  # part 1 is full, the emoji opens part 2
    ],
)
def test_surrogate_pair_at_a_part_boundary_moves_whole_to_the_next_part(
    before: int, expected: tuple[int, ...]
) -> None:
    result = plan(CYR * before + EMOJI + CYR * 30)
    assert result.part_lengths == expected
    for part in result.parts:
        part.short_message[6:].decode("utf-16-be")  # strict: no half pair
    assert result.parts[1].text.startswith(EMOJI) == (before >= 66)


def test_udh_parts_carry_the_8bit_concatenation_header() -> None:
    result = plan("a" * 161, reference=0xAB)
    assert [part.short_message[:6] for part in result.parts] == [
        bytes.fromhex("050003AB0201"),
        bytes.fromhex("050003AB0202"),
    ]
    assert result.parts[0].short_message[6:] == b"a" * 153
    assert all(part.tlvs == {} for part in result.parts)
    assert result.esm_class == c.ESM_CLASS_UDHI


def test_udh_parts_carry_the_16bit_concatenation_header() -> None:
    result = plan("a" * 161, reference=0x1234, reference_16bit=True)
    assert result.parts[1].short_message[:7] == bytes.fromhex("06080412340202")


def test_sar_parts_carry_tlvs_and_no_udh() -> None:
    result = plan("a" * 161, concat="sar", reference=300, reference_16bit=True)
    assert result.esm_class == 0
    assert result.part_lengths == (152, 9)
    assert [part.short_message for part in result.parts] == [b"a" * 152, b"a" * 9]
    assert [part.tlvs for part in result.parts] == [
        {c.TAG_SAR_MSG_REF_NUM: 300, c.TAG_SAR_TOTAL_SEGMENTS: 2, c.TAG_SAR_SEGMENT_SEQNUM: 1},
        {c.TAG_SAR_MSG_REF_NUM: 300, c.TAG_SAR_TOTAL_SEGMENTS: 2, c.TAG_SAR_SEGMENT_SEQNUM: 2},
    ]


def test_sar_parts_use_the_same_sizes_as_udh_parts() -> None:
    assert plan("a" * 400, concat="sar").part_lengths == (153, 153, 94)
    assert plan(CYR * 140, concat="sar").part_lengths == (67, 67, 6)


def test_payload_mode_sends_one_pdu_and_still_reports_the_billed_parts() -> None:
    result = plan("a" * 400, concat="payload")
    (part,) = result.parts
    assert part.short_message == b""
    assert part.tlvs == {c.TAG_MESSAGE_PAYLOAD: b"a" * 400}
    assert result.billed_parts == 3
    assert result.part_lengths == (153, 153, 94)
    assert result.esm_class == 0


def test_payload_mode_ucs2_carries_the_whole_text_in_utf16() -> None:
    result = plan(CYR * 100 + EMOJI, concat="payload")
    (part,) = result.parts
    assert part.tlvs[c.TAG_MESSAGE_PAYLOAD] == (CYR * 100 + EMOJI).encode("utf-16-be")
    assert result.part_lengths == (67, 34)


def test_a_text_that_fits_one_part_is_a_plain_short_message_in_every_mode() -> None:
    for concat in ("udh", "sar", "payload"):
        result = plan("hello", concat=concat)
        assert result.parts[0].short_message == b"hello"
        assert result.parts[0].tlvs == {}
        assert result.esm_class == 0


def test_more_parts_than_max_parts_is_rejected_not_truncated() -> None:
    assert plan("a" * 1530).billed_parts == 10
    with pytest.raises(MessageTooLong) as info:
        plan("a" * 1531)
    assert info.value.code == "message_too_long"
    assert (info.value.parts, info.value.max_parts) == (11, 10)
    with pytest.raises(MessageTooLong):
        plan("a" * 400, max_parts=2)
    with pytest.raises(MessageTooLong):
        plan("a" * 400, max_parts=2, concat="payload")
    with pytest.raises(MessageTooLong):
        count_parts("a" * 400, max_parts=2)
    assert count_parts("a" * 400) == 3


def test_max_parts_may_reach_255_but_not_beyond() -> None:
    assert plan("a" * (153 * 255), max_parts=255).billed_parts == 255
    with pytest.raises(MessageTooLong):
        plan("a" * (153 * 255 + 1), max_parts=255)
    with pytest.raises(ValueError, match="max_parts"):
        plan("a", max_parts=256)
    with pytest.raises(ValueError, match="max_parts"):
        plan("a", max_parts=0)


def test_empty_message_is_rejected() -> None:
    with pytest.raises(EmptyMessage) as info:
        plan("")
    assert info.value.code == "empty_message"
    with pytest.raises(EmptyMessage):
        count_parts("")


def test_lone_surrogate_is_rejected_as_invalid_message() -> None:
    with pytest.raises(UnencodableText) as info:
        plan("abc\ud83d")
    assert info.value.code == "invalid_message"
    assert info.value.characters == ("\ud83d",)
    assert "U+D83D" in info.value.message
    with pytest.raises(UnencodableText):
        plan("\udc00", encoding="ucs2")


def test_forcing_gsm7_on_text_gsm7_lacks_is_rejected() -> None:
    with pytest.raises(UnencodableText) as info:
        plan("Привет 😀", encoding="gsm7")
    assert info.value.code == "invalid_message"
    assert info.value.characters == ("П", "р", "и", "в", "е", "т", EMOJI)


def test_every_text_error_carries_a_contract_code() -> None:
    for text, code in [
        ("", "empty_message"),
        ("a" * 2000, "message_too_long"),
        ("\ud800", "invalid_message"),
    ]:
        with pytest.raises(TextError) as info:
            plan(text)
        assert info.value.code == code
        assert info.value.retryable is False


def test_forcing_ucs2_on_gsm7_text_sends_utf16() -> None:
    result = plan("hello", encoding="ucs2")
    assert result.encoding == "ucs2"
    assert result.parts[0].short_message == "hello".encode("utf-16-be")
    assert result.ucs2_forced_by == ()


def test_one_character_without_gsm7_form_makes_the_whole_text_ucs2() -> None:
    result = plan("a" * 100 + "ç" + "a" * 100 + "ç")
    assert result.encoding == "ucs2"
    assert result.ucs2_forced_by == ("ç",)
    assert result.part_lengths == (67, 67, 67, 1)


def test_extension_characters_cost_two_septets() -> None:
    result = plan("{" * 80)
    assert (result.units, result.billed_parts) == (160, 1)
    result = plan("{" * 81)
    assert result.part_lengths == (76, 5)  # 153 is odd: 76 escapes then the 77th moves
    assert [part.units for part in result.parts] == [152, 10]


def test_form_feed_is_an_extension_character() -> None:
    result = plan("a\x0cb")
    assert result.parts[0].short_message == b"a\x1b\x0ab"
    assert result.units == 4


def test_the_escape_control_character_itself_has_no_gsm7_form() -> None:
    result = plan("a\x1bb")
    assert result.encoding == "ucs2"
    assert result.ucs2_forced_by == ("\x1b",)


def test_gsm7_basic_table_spot_checks() -> None:
    result = plan("@£$¥_ΔΩ¤§¿à")
    assert result.parts[0].short_message == bytes.fromhex("00010203111015245F607F")


def test_packed_form_packs_eight_septets_in_seven_octets() -> None:
    result = plan("hellohello", gsm7_form="packed")
    assert result.data_coding == 0x00
    assert result.parts[0].short_message == bytes.fromhex("E8329BFD4697D9EC37")
    assert len(plan("a" * 160, gsm7_form="packed").parts[0].short_message) == 140


def test_packed_parts_after_an_8bit_udh_start_with_one_fill_bit() -> None:
    result = plan("a" * 161, gsm7_form="packed")
    first, second = result.parts
    assert first.short_message[:6] == bytes.fromhex("050003000201")
    assert first.short_message[6:] == pack_septets(b"a" * 153, 1)
    assert first.short_message[6] == (0x61 << 1) & 0xFF  # fill bit 0, then the septet
    assert len(first.short_message) == 140
    assert second.short_message[6:] == pack_septets(b"a" * 8, 1)


def test_packed_parts_after_a_16bit_udh_need_no_fill_bits() -> None:
    result = plan("a" * 161, gsm7_form="packed", reference_16bit=True)
    assert result.parts[0].short_message[7:] == pack_septets(b"a" * 152, 0)
    assert len(result.parts[0].short_message) == 140


def test_packing_pads_seven_spare_bits_with_cr() -> None:
    assert pack_septets(b"\x61" * 7) == pack_septets(b"\x61" * 7 + b"\x0d")
    assert pack_septets(b"\x61" * 7)[-1] >> 1 == 0x0D


def test_a_packed_cr_ending_on_an_octet_boundary_gets_a_second_cr() -> None:
    # 8 septets fill 7 octets exactly: a final CR would read as the padding of 7 spare bits
    # (23.038 §6.1.2.3.1), so another CR follows it (a receiver treats CR CR as CR).
    result = plan("a" * 7 + "\r", gsm7_form="packed")
    assert result.parts[0].short_message == pack_septets(b"a" * 7 + b"\r\r")
    assert len(result.parts[0].short_message) == 8
    decoded = decode_short_message(0x00, result.parts[0].short_message, gsm7_packed=True)
    assert decoded.text == "a" * 7 + "\r\r"
    assert result.units == 8  # billed and counted as written
    # 9 septets leave spare bits: nothing to add.
    assert plan("a" * 8 + "\r", gsm7_form="packed").parts[0].short_message == pack_septets(
        b"a" * 8 + b"\r"
    )


def test_a_full_packed_part_never_ends_on_a_cr_at_an_octet_boundary() -> None:
    # 153 septets after a 6-octet UDH fill 140 octets exactly: a CR as the 153rd would be
    # taken for padding and there is no room for a second one, so the part ends before it.
    text = "a" * 152 + "\r" + "a" * 153
    assert count_parts(text) == 2  # unpacked: 153 + 153
    assert count_parts(text, gsm7_form="packed") == 3
    result = plan(text, gsm7_form="packed")
    assert [part.text for part in result.parts] == ["a" * 152, "\r" + "a" * 152, "a"]
    joined = "".join(
        decode_short_message(0x00, part.short_message, udhi=True, gsm7_packed=True).text
        for part in result.parts
    )
    assert joined == text
    # With a 16-bit reference the parts hold 152 septets, on a boundary too.
    assert count_parts("a" * 151 + "\r" + "a" * 152, gsm7_form="packed", reference_16bit=True) == 3


def test_a_full_single_packed_part_ending_in_cr_keeps_its_size_and_may_lose_that_cr() -> None:
    # 160 septets fill 140 octets: no room for a second CR. Splitting would bill two parts
    # for a trailing CR, so the part stays one, and a receiver may drop that final CR.
    result = plan("a" * 159 + "\r", gsm7_form="packed")
    assert result.billed_parts == count_parts("a" * 159 + "\r", gsm7_form="packed") == 1
    assert len(result.parts[0].short_message) == 140
    decoded = decode_short_message(0x00, result.parts[0].short_message, gsm7_packed=True)
    assert decoded.text == "a" * 159


def test_latin1_form_sends_latin1_octets_with_data_coding_3() -> None:
    result = plan("Café à {Noel}", gsm7_form="latin1")
    assert result.encoding == "gsm7"
    assert result.data_coding == 0x03
    assert result.parts[0].short_message == "Café à {Noel}".encode("latin-1")
    assert result.units == 15  # the SMSC sends GSM-7: { and } still cost two septets


def test_latin1_form_splits_on_septets_not_octets() -> None:
    result = plan("{" * 81, gsm7_form="latin1")
    assert result.part_lengths == (76, 5)
    assert result.parts[0].short_message[6:] == b"{" * 76


@pytest.mark.parametrize("character", ["€", "Δ", "Ω", "Σ"])
def test_latin1_form_forces_ucs2_for_gsm7_characters_latin1_lacks(character: str) -> None:
    result = plan(f"Prix: 5{character}", gsm7_form="latin1")
    assert result.encoding == "ucs2"
    assert result.ucs2_forced_by == (character,)
    assert plan(f"Prix: 5{character}").encoding == "gsm7"
    with pytest.raises(UnencodableText, match="Latin-1"):
        plan(f"Prix: 5{character}", gsm7_form="latin1", encoding="gsm7")


def test_with_reference_rewrites_only_the_reference() -> None:
    base = plan("a" * 200, reference=1)
    moved = base.with_reference(2)
    assert moved.parts[0].short_message[:6] == bytes.fromhex("050003020201")
    assert moved.parts[0].short_message[6:] == base.parts[0].short_message[6:]
    assert moved.reference == 2
    assert base.with_reference(1) is base
    with pytest.raises(ValueError, match="reference"):
        base.with_reference(256)


@pytest.mark.parametrize(
    "options",
    [
        {"encoding": "utf8"},
        {"concat": "multipart"},
        {"gsm7_form": "ascii"},
        {"reference": 256},
        {"reference": -1},
        {"reference": 65536, "reference_16bit": True},
    ],
)
def test_option_values_out_of_range_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        plan("hello", **options)  # type: ignore[arg-type]


def test_part_counts_are_code_points_not_grapheme_clusters() -> None:
    family = "👨‍👩‍👧"  # 3 emoji + 2 ZWJ: 5 code points, 8 UTF-16 units
    result = plan(family)
    assert result.part_lengths == (5,)
    assert result.units == 8


def test_udh_parts_match_smpplib_where_its_byte_split_is_correct() -> None:
    text = "Hello from Kinshasa. " * 20
    theirs, data_coding, esm_class = smpplib_gsm.make_parts(text)
    ours = plan(text, reference=theirs[0][3])
    assert [part.short_message for part in ours.parts] == theirs
    assert (ours.data_coding, ours.esm_class) == (data_coding, esm_class)


def test_smpplib_splits_an_escape_sequence_where_plan_does_not() -> None:
    text = "a" * 152 + "€" + "a" * 60
    theirs, _, _ = smpplib_gsm.make_parts(text)
    assert theirs[0][-1] == 0x1B  # smpplib's FIXME: the € is cut in two
    ours = plan(text)
    assert ours.parts[0].short_message[-1] != 0x1B
    assert ours.parts[1].text.startswith("€")
