"""Optional parameters (TLVs): typed round trip, lenient decoding, strict length checks."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import constants as c
from connector.smpp.errors import EncodeError, PduError
from connector.smpp.pdu import Tlvs, TlvValue
from connector.smpp.tlv import TLV_TYPES, decode_tlvs, encode_tlvs

INT_TAGS = sorted(tag for tag, (kind, _) in TLV_TYPES.items() if isinstance(kind, int))
CSTRING_TAGS = sorted(tag for tag, (kind, _) in TLV_TYPES.items() if kind == "c")
OCTET_TAGS = sorted(tag for tag, (kind, _) in TLV_TYPES.items() if kind == "o")
UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLV_TYPES)


def _latin1_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=max_size)


def value_for(tag: int) -> st.SearchStrategy[TlvValue]:
    """A value of the type `TLV_TYPES` gives `tag`, within its size limit."""
    kind, size = TLV_TYPES[tag]
    if isinstance(kind, int):
        return st.integers(0, (1 << (8 * kind)) - 1)
    if kind == "c":
        return _latin1_text(size - 1)
    if kind == "o":
        return st.binary(max_size=min(size, 300))
    return st.just(b"")


def _decode(data: bytes) -> Tlvs:
    return decode_tlvs(data, 0, len(data), c.SUBMIT_SM, 7)


def _raw(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def test_every_tlv_type_is_one_of_the_documented_kinds() -> None:
    for tag, (kind, size) in TLV_TYPES.items():
        assert kind in (1, 2, 4, "c", "o", "f"), hex(tag)
        if isinstance(kind, int):
            assert size == kind
    # Spot-check the spec (§5.3.2) rather than restating the table.
    assert TLV_TYPES[c.TAG_SAR_MSG_REF_NUM] == (2, 2)
    assert TLV_TYPES[c.TAG_QOS_TIME_TO_LIVE] == (4, 4)
    assert TLV_TYPES[c.TAG_RECEIPTED_MESSAGE_ID] == ("c", 65)
    assert TLV_TYPES[c.TAG_MESSAGE_PAYLOAD] == ("o", 65535)
    assert TLV_TYPES[c.TAG_ALERT_ON_MESSAGE_DELIVERY] == ("f", 0)


@pytest.mark.parametrize("tag", sorted(TLV_TYPES), ids=lambda tag: c.TLV_NAMES[tag])
@settings(max_examples=15)
@given(data=st.data())
def test_every_known_tag_round_trips_a_value_of_its_type(tag: int, data: st.DataObject) -> None:
    value = data.draw(value_for(tag))
    encoded = encode_tlvs({tag: value})
    assert _decode(encoded) == {tag: value}
    assert encode_tlvs(_decode(encoded)) == encoded


@settings(max_examples=100)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(TLV_TYPES)).flatmap(
                lambda tag: st.tuples(st.just(tag), value_for(tag))
            ),
            st.tuples(UNKNOWN_TAGS, st.binary(max_size=40)),
        ),
        unique_by=lambda item: item[0],
        max_size=8,
    )
)
def test_a_sequence_of_mixed_tlvs_round_trips_in_order(items: list[tuple[int, TlvValue]]) -> None:
    tlvs: Tlvs = dict(items)
    encoded = encode_tlvs(tlvs)
    decoded = _decode(encoded)
    assert decoded == tlvs
    assert list(decoded) == list(tlvs)
    assert encode_tlvs(decoded) == encoded


def test_integer_tlvs_encode_with_their_spec_width() -> None:
    assert encode_tlvs({c.TAG_SAR_TOTAL_SEGMENTS: 3}) == b"\x02\x0e\x00\x01\x03"
    assert encode_tlvs({c.TAG_SAR_MSG_REF_NUM: 0x1234}) == b"\x02\x0c\x00\x02\x12\x34"
    assert encode_tlvs({c.TAG_QOS_TIME_TO_LIVE: 1}) == b"\x00\x17\x00\x04\x00\x00\x00\x01"


def test_cstring_tlv_is_encoded_with_its_nul_terminator() -> None:
    assert encode_tlvs({c.TAG_RECEIPTED_MESSAGE_ID: "ab"}) == b"\x00\x1e\x00\x03ab\x00"


@pytest.mark.parametrize("tag", CSTRING_TAGS, ids=lambda tag: c.TLV_NAMES[tag])
def test_cstring_tlv_without_nul_terminator_is_accepted(tag: int) -> None:
    assert _decode(_raw(tag, b"ABC123")) == {tag: "ABC123"}


def test_cstring_tlv_of_full_size_without_nul_is_accepted() -> None:
    raw = _raw(c.TAG_RECEIPTED_MESSAGE_ID, b"9" * 65)
    assert _decode(raw) == {c.TAG_RECEIPTED_MESSAGE_ID: "9" * 65}


def test_cstring_tlv_value_stops_at_first_nul() -> None:
    raw = _raw(c.TAG_RECEIPTED_MESSAGE_ID, b"abc\0")
    assert _decode(raw) == {c.TAG_RECEIPTED_MESSAGE_ID: "abc"}


def test_cstring_tlv_decodes_latin1_bytes_one_to_one() -> None:
    raw = _raw(c.TAG_ADDITIONAL_STATUS_INFO_TEXT, bytes(range(1, 256)) + b"\0")
    assert _decode(raw) == {
        c.TAG_ADDITIONAL_STATUS_INFO_TEXT: bytes(range(1, 256)).decode("latin-1")
    }


@pytest.mark.parametrize("tag", INT_TAGS, ids=lambda tag: c.TLV_NAMES[tag])
@pytest.mark.parametrize("width", [1, 2, 4])
def test_integer_tlv_sent_with_1_2_or_4_octets_decodes(tag: int, width: int) -> None:
    value = 0xA5 if width == 1 else (0x0102 if width == 2 else 0x01020304)
    assert _decode(_raw(tag, value.to_bytes(width, "big"))) == {tag: value}


@pytest.mark.parametrize("tag", INT_TAGS, ids=lambda tag: c.TLV_NAMES[tag])
@pytest.mark.parametrize("width", [0, 3, 5, 8])
def test_integer_tlv_with_other_width_is_rejected_with_rinvparlen(tag: int, width: int) -> None:
    with pytest.raises(PduError) as info:
        _decode(_raw(tag, b"\x01" * width))
    assert info.value.command_status == c.ESME_RINVPARLEN
    assert info.value.command_id == c.SUBMIT_SM
    assert info.value.sequence_number == 7


@pytest.mark.parametrize(
    "tag",
    # message_payload's limit is the largest length a TLV header can state.
    [tag for tag in CSTRING_TAGS + OCTET_TAGS if TLV_TYPES[tag][1] < 0xFFFF],
    ids=lambda tag: c.TLV_NAMES[tag],
)
def test_string_tlv_longer_than_its_spec_size_is_rejected_with_rinvparlen(tag: int) -> None:
    size = TLV_TYPES[tag][1]
    with pytest.raises(PduError) as info:
        _decode(_raw(tag, b"a" * (size + 1)))
    assert info.value.command_status == c.ESME_RINVPARLEN


@pytest.mark.parametrize("tag", CSTRING_TAGS + OCTET_TAGS, ids=lambda tag: c.TLV_NAMES[tag])
def test_string_tlv_of_exactly_its_spec_size_is_accepted(tag: int) -> None:
    kind, size = TLV_TYPES[tag]
    value = b"a" * (size - 1) + b"\0" if kind == "c" else b"a" * size
    decoded = _decode(_raw(tag, value))
    assert decoded == {tag: "a" * (size - 1) if kind == "c" else value}


def test_flag_tlv_with_zero_length_decodes_to_empty_bytes() -> None:
    raw = _raw(c.TAG_ALERT_ON_MESSAGE_DELIVERY, b"")
    assert _decode(raw) == {c.TAG_ALERT_ON_MESSAGE_DELIVERY: b""}
    assert encode_tlvs(_decode(raw)) == raw


def test_flag_tlv_with_a_value_is_rejected_with_rinvparlen() -> None:
    with pytest.raises(PduError) as info:
        _decode(_raw(c.TAG_ALERT_ON_MESSAGE_DELIVERY, b"\x01"))
    assert info.value.command_status == c.ESME_RINVPARLEN


@settings(max_examples=100)
@given(tag=UNKNOWN_TAGS, value=st.binary(max_size=100))
def test_unknown_tag_keeps_its_raw_bytes_and_re_encodes_unchanged(tag: int, value: bytes) -> None:
    raw = _raw(tag, value)
    assert _decode(raw) == {tag: value}
    assert encode_tlvs(_decode(raw)) == raw


def test_unknown_tag_between_known_tags_keeps_its_place() -> None:
    raw = (
        _raw(c.TAG_SAR_MSG_REF_NUM, b"\x00\x07")
        + _raw(0x1403, b"\xde\xad\xbe\xef")
        + _raw(c.TAG_RECEIPTED_MESSAGE_ID, b"id\0")
    )
    decoded = _decode(raw)
    assert list(decoded.items()) == [
        (c.TAG_SAR_MSG_REF_NUM, 7),
        (0x1403, b"\xde\xad\xbe\xef"),
        (c.TAG_RECEIPTED_MESSAGE_ID, "id"),
    ]
    assert encode_tlvs(decoded) == raw


@pytest.mark.parametrize("tail", [b"\x02", b"\x02\x0c", b"\x02\x0c\x00"])
def test_truncated_tlv_header_is_rejected_with_rinvoptparstream(tail: bytes) -> None:
    with pytest.raises(PduError) as info:
        _decode(_raw(c.TAG_SAR_TOTAL_SEGMENTS, b"\x01") + tail)
    assert info.value.command_status == c.ESME_RINVOPTPARSTREAM
    assert info.value.sequence_number == 7


@pytest.mark.parametrize("tag", [c.TAG_MESSAGE_PAYLOAD, c.TAG_SAR_MSG_REF_NUM, 0x1401])
def test_tlv_length_overrunning_the_pdu_is_rejected_with_rinvoptparstream(tag: int) -> None:
    with pytest.raises(PduError) as info:
        _decode(struct.pack(">HH", tag, 10) + b"\x00\x01")
    assert info.value.command_status == c.ESME_RINVOPTPARSTREAM


def test_decode_tlvs_reads_only_the_given_window() -> None:
    raw = b"junk" + _raw(c.TAG_SAR_TOTAL_SEGMENTS, b"\x02") + b"junk"
    assert decode_tlvs(raw, 4, len(raw) - 4, 0, 0) == {c.TAG_SAR_TOTAL_SEGMENTS: 2}


@pytest.mark.parametrize(
    "tlvs",
    [
        pytest.param({c.TAG_SAR_MSG_REF_NUM: "7"}, id="str-for-int"),
        pytest.param({c.TAG_SAR_MSG_REF_NUM: b"\x00\x07"}, id="bytes-for-int"),
        pytest.param({c.TAG_SAR_MSG_REF_NUM: True}, id="bool-for-int"),
        pytest.param({c.TAG_SAR_MSG_REF_NUM: 0x10000}, id="int-too-big"),
        pytest.param({c.TAG_SAR_TOTAL_SEGMENTS: -1}, id="int-negative"),
        pytest.param({c.TAG_QOS_TIME_TO_LIVE: 1 << 32}, id="int4-too-big"),
        pytest.param({c.TAG_RECEIPTED_MESSAGE_ID: b"id"}, id="bytes-for-cstring"),
        pytest.param({c.TAG_RECEIPTED_MESSAGE_ID: 5}, id="int-for-cstring"),
        pytest.param({c.TAG_RECEIPTED_MESSAGE_ID: "x" * 65}, id="cstring-too-long"),
        pytest.param({c.TAG_RECEIPTED_MESSAGE_ID: "€uro"}, id="cstring-not-latin1"),
        pytest.param({c.TAG_RECEIPTED_MESSAGE_ID: "a\0b"}, id="cstring-with-nul"),
        pytest.param({c.TAG_MESSAGE_PAYLOAD: "text"}, id="str-for-octets"),
        pytest.param({c.TAG_NETWORK_ERROR_CODE: b"1234"}, id="octets-too-long"),
        pytest.param({c.TAG_ALERT_ON_MESSAGE_DELIVERY: b"\x01"}, id="flag-with-value"),
        pytest.param({c.TAG_ALERT_ON_MESSAGE_DELIVERY: 1}, id="int-for-flag"),
        pytest.param({0x1401: "raw"}, id="str-for-unknown"),
        pytest.param({0x1401: 1}, id="int-for-unknown"),
        pytest.param({0x1401: b"x" * 0x10000}, id="unknown-too-long"),
        pytest.param({0x10000: b""}, id="tag-too-big"),
        pytest.param({-1: b""}, id="tag-negative"),
        pytest.param({"sar_msg_ref_num": 1}, id="tag-not-int"),
        pytest.param([(c.TAG_SAR_MSG_REF_NUM, 1)], id="not-a-dict"),
    ],
)
def test_encoding_a_tlv_of_the_wrong_type_or_size_raises_encode_error(tlvs: object) -> None:
    with pytest.raises(EncodeError):
        encode_tlvs(tlvs)  # type: ignore[arg-type]
