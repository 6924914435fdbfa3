"""Incoming payloads: every data_coding decodes, nothing raises, malformed UDH is a value."""

from __future__ import annotations

import codecs
import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.text import ConcatInfo, decode_short_message, plan
from connector.text.gsm7 import GSM7_CHARACTERS, decode_septets, pack_septets, unpack_septets

importlib.import_module("gsm0338")  # registers the "gsm03.38" codec


def test_gsm7_unpacked_with_extension_table() -> None:
    decoded = decode_short_message(0x00, b"Prix \x1b\x65 5 \x1b\x28ok\x1b\x29 \x00\x11")
    assert decoded.text == "Prix € 5 {ok} @_"
    assert decoded.alphabet == "gsm7"
    assert not decoded.best_effort


def test_gsm7_octets_above_0x7f_become_replacement_characters() -> None:
    assert decode_short_message(0x00, b"a\x80b\xffc").text == "a\ufffdb\ufffdc"


def test_gsm7_escape_to_an_unknown_code_shows_the_basic_character() -> None:
    # 23.038 §6.2.1.1: a code absent from the extension table displays as the basic one.
    assert decode_septets(b"\x1b\x41") == "A"
    assert decode_septets(b"\x1b\x1bx") == " x"  # ESC ESC: reserved, shown as a space
    assert decode_septets(b"ab\x1b") == "ab\ufffd"  # dangling escape
    assert decode_septets(b"\x1b\x80") == "\ufffd"


def test_gsm7_packed_decodes_with_the_option() -> None:
    packed = bytes.fromhex("E8329BFD4697D9EC37")
    assert decode_short_message(0x00, packed, gsm7_packed=True).text == "hellohello"
    assert decode_short_message(0x00, packed).text != "hellohello"


def test_gsm7_packed_after_udh_skips_the_fill_bit() -> None:
    result = plan("Bonjour à tous! " * 12, gsm7_form="packed", reference=7)
    decoded = [
        decode_short_message(0x00, part.short_message, udhi=True, gsm7_packed=True)
        for part in result.parts
    ]
    assert [d.udh.concat for d in decoded if d.udh] == [ConcatInfo(7, 2, 1), ConcatInfo(7, 2, 2)]
    assert "".join(d.text for d in decoded) == result.text


def test_packed_cr_padding_is_dropped() -> None:
    assert unpack_septets(pack_septets(b"abcdefg")) == b"abcdefg"
    assert decode_short_message(0x00, pack_septets(b"\x61" * 7), gsm7_packed=True).text == "a" * 7


def test_ia5_ascii() -> None:
    decoded = decode_short_message(0x01, b"STOP\xe9")
    assert decoded.text == "STOP\ufffd"
    assert decoded.alphabet == "ascii"


def test_latin1() -> None:
    assert decode_short_message(0x03, "Café €".encode("cp1252")[:-1] + b"\xa4").text == "Café ¤"


def test_ucs2_with_surrogate_pair() -> None:
    decoded = decode_short_message(0x08, "Салют 😀".encode("utf-16-be"))
    assert decoded.text == "Салют 😀"
    assert decoded.alphabet == "ucs2"


def test_ucs2_odd_length_and_lone_surrogates_do_not_raise() -> None:
    assert decode_short_message(0x08, b"\x00a\x00").text == "a\ufffd"
    assert decode_short_message(0x08, b"\xd8\x3d\x00a").text == "\ufffda"
    assert decode_short_message(0x08, b"\xdc\x00").text == "\ufffd"


@pytest.mark.parametrize("data_coding", [0x02, 0x04])
def test_binary_data_codings_return_octets(data_coding: int) -> None:
    decoded = decode_short_message(data_coding, b"\x00\xff\x10")
    assert decoded.text == ""
    assert decoded.binary == b"\x00\xff\x10"
    assert decoded.alphabet == "binary"


def test_binary_after_udh_returns_the_octets_after_it() -> None:
    decoded = decode_short_message(0x04, bytes.fromhex("0605040B8423F0") + b"\x01\x02", udhi=True)
    assert decoded.binary == b"\x01\x02"
    assert decoded.udh is not None
    assert decoded.udh.elements[0].iei == 0x05


@pytest.mark.parametrize(
    ("data_coding", "charset", "text"),
    [(0x06, "iso8859-5", "Привет"), (0x07, "iso8859-8", "שלום"), (0x0E, "euc-kr", "안녕")],
)
def test_other_smpp_charsets(data_coding: int, charset: str, text: str) -> None:
    decoded = decode_short_message(data_coding, text.encode(charset))
    assert decoded.text == text
    assert not decoded.best_effort


@pytest.mark.parametrize("data_coding", [0x05, 0x09, 0x0D, 0x80, 0xC0])
def test_unknown_data_coding_is_read_as_latin1_and_flagged(data_coding: int) -> None:
    decoded = decode_short_message(data_coding, b"caf\xe9")
    assert decoded.text == "café"
    assert decoded.best_effort


def test_gsm_dcs_values_passed_through_are_honoured_and_flagged() -> None:
    assert decode_short_message(0xF0, b"\x00hi").text == "@hi"
    assert decode_short_message(0xF4, b"\x01\x02").binary == b"\x01\x02"
    ucs2 = decode_short_message(0x18, "ok😀".encode("utf-16-be"))
    assert (ucs2.text, ucs2.alphabet, ucs2.best_effort) == ("ok😀", "ucs2", True)


def test_concat_udh_is_parsed_for_any_data_coding() -> None:
    for data_coding, body in ((0x00, b"hi"), (0x03, b"hi"), (0x08, "hi".encode("utf-16-be"))):
        decoded = decode_short_message(data_coding, bytes.fromhex("0500030A0201") + body, udhi=True)
        assert decoded.text == "hi"
        assert decoded.udh is not None
        assert decoded.udh.concat == ConcatInfo(0x0A, 2, 1)


def test_malformed_udh_is_reported_and_the_payload_kept() -> None:
    decoded = decode_short_message(0x00, b"\x20abc", udhi=True)
    assert decoded.udh is None
    assert decoded.udh_error is not None
    assert decoded.udh_error.reason == "udh_length_beyond_payload"
    assert decoded.text.endswith("abc")


def test_udhi_with_empty_payload_is_reported() -> None:
    decoded = decode_short_message(0x08, b"", udhi=True)
    assert decoded.udh_error is not None
    assert decoded.text == ""


@given(
    data_coding=st.integers(0, 255),
    payload=st.binary(max_size=300),
    udhi=st.booleans(),
    packed=st.booleans(),
)
@settings(max_examples=1000)
def test_any_payload_decodes_without_raising(
    data_coding: int, payload: bytes, udhi: bool, packed: bool
) -> None:
    decoded = decode_short_message(data_coding, payload, udhi=udhi, gsm7_packed=packed)
    assert isinstance(decoded.text, str)
    assert (decoded.udh is None) or (decoded.udh_error is None)


@given(st.text(st.sampled_from(sorted(GSM7_CHARACTERS)), max_size=300))
@settings(max_examples=300)
def test_gsm7_decoding_agrees_with_the_gsm0338_codec(text: str) -> None:
    septets = codecs.encode(text, "gsm03.38")
    assert decode_short_message(0x00, septets).text == text
    assert decode_short_message(0x00, pack_septets(septets), gsm7_packed=True).text in (
        text,
        text.removesuffix("\r"),  # a CR ending on an octet boundary reads as padding
    )
