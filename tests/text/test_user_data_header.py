"""User Data Header parsing: concat IEs 8/16-bit, raw IEs, malformed headers as values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import constants as c
from connector.smpp.pdu import Tlvs
from connector.text import ConcatInfo, UdhError, UserDataHeader, concat_from_sar, parse_udh
from connector.text.udh import InformationElement, concat_udh


def test_8bit_concat_header_is_parsed() -> None:
    header, rest = parse_udh(bytes.fromhex("050003AB0302") + b"text")
    assert header == UserDataHeader(octets=6, concat=ConcatInfo(0xAB, 3, 2, ref_16bit=False))
    assert rest == b"text"


def test_16bit_concat_header_is_parsed() -> None:
    header, rest = parse_udh(bytes.fromhex("06080412340301") + b"x")
    assert isinstance(header, UserDataHeader)
    assert header.concat == ConcatInfo(0x1234, 3, 1, ref_16bit=True)
    assert rest == b"x"


def test_built_headers_parse_back() -> None:
    for ref_16bit, reference in ((False, 200), (True, 60_000)):
        header, rest = parse_udh(concat_udh(reference, 9, 4, ref_16bit=ref_16bit) + b"!")
        assert isinstance(header, UserDataHeader)
        assert header.concat == ConcatInfo(reference, 9, 4, ref_16bit)
        assert rest == b"!"


def test_other_elements_are_kept_raw_beside_the_concat_info() -> None:
    # Application port addressing 16-bit (IEI 0x05) then an 8-bit concat IE.
    payload = bytes.fromhex("0B05040B8423F0000301020148")
    header, rest = parse_udh(payload)
    assert isinstance(header, UserDataHeader)
    assert header.elements == (InformationElement(0x05, bytes.fromhex("0B8423F0")),)
    assert header.concat == ConcatInfo(1, 2, 1)
    assert rest == b"\x48"


def test_concat_element_with_invalid_seq_is_kept_raw_and_ignored() -> None:
    for seq_total in ("0300", "0204", "0001"):
        header, _ = parse_udh(bytes.fromhex("05000301" + seq_total))
        assert isinstance(header, UserDataHeader)
        assert header.concat is None
        assert header.elements == (InformationElement(0x00, bytes.fromhex("01" + seq_total)),)


def test_udh_length_beyond_payload_is_an_error_value() -> None:
    payload = bytes.fromhex("0A000301")
    header, rest = parse_udh(payload)
    assert isinstance(header, UdhError)
    assert header.reason == "udh_length_beyond_payload"
    assert rest == payload


def test_element_length_beyond_header_is_an_error_value() -> None:
    header, _ = parse_udh(bytes.fromhex("0300050102FF"))
    assert isinstance(header, UdhError)
    assert header.reason == "udh_element_length_beyond_header"


def test_truncated_element_header_is_an_error_value() -> None:
    header, _ = parse_udh(bytes.fromhex("0100"))
    assert isinstance(header, UdhError)
    assert header.reason == "udh_element_truncated"


def test_missing_udh_is_an_error_value() -> None:
    header, rest = parse_udh(b"")
    assert isinstance(header, UdhError)
    assert header.reason == "udh_missing"
    assert rest == b""


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_any_octets_parse_without_raising(payload: bytes) -> None:
    header, rest = parse_udh(payload)
    if isinstance(header, UserDataHeader):
        assert header.octets + len(rest) == len(payload)
    else:
        assert rest == payload


def test_sar_tlvs_give_the_same_concat_info() -> None:
    tlvs: Tlvs = {
        c.TAG_SAR_MSG_REF_NUM: 300,
        c.TAG_SAR_TOTAL_SEGMENTS: 3,
        c.TAG_SAR_SEGMENT_SEQNUM: 2,
    }
    assert concat_from_sar(tlvs) == ConcatInfo(300, 3, 2, ref_16bit=True)
    assert concat_from_sar({}) is None
    assert concat_from_sar({**tlvs, c.TAG_SAR_SEGMENT_SEQNUM: 4}) is None
    assert concat_from_sar({**tlvs, c.TAG_SAR_TOTAL_SEGMENTS: b"\x03"}) is None
