"""The GSM 03.38 tables, septet encoding and packing, checked against the gsm0338 package."""

from __future__ import annotations

import codecs
import importlib
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.text import gsm7

gsm0338_charset = importlib.import_module("gsm0338.charset")
importlib.import_module("gsm0338")  # registers the "gsm03.38" codec


def test_basic_table_matches_the_gsm0338_package() -> None:
    theirs = {
        code: unicodedata.lookup(name)
        for code, name in gsm0338_charset.BASIC_CHARACTER_SET.items()
        if code != gsm7.ESC
    }
    ours = {code: ch for code, ch in enumerate(gsm7.BASIC_TABLE) if code != gsm7.ESC}
    assert ours == theirs


def test_extension_table_matches_the_gsm0338_package() -> None:
    theirs = {
        code: unicodedata.lookup(name)
        for code, name in gsm0338_charset.BASIC_CHARACTER_SET_EXTENSION.items()
    }
    assert theirs == gsm7.EXTENSION_TABLE
    assert set(gsm7.EXTENSION_TABLE.values()) == {
        "\x0c",
        "^",
        "{",
        "}",
        "\\",
        "[",
        "~",
        "]",
        "|",
        "€",
    }


def test_latin1_subset_excludes_euro_and_greek_capitals() -> None:
    assert frozenset("€ΔΦΓΛΩΠΨΣΘΞ") == gsm7.NOT_IN_LATIN1


@pytest.mark.parametrize("character", ["`", "\t", "\x1b", "ç", "ê", "«", "’", "€x"])
def test_is_gsm7_agrees_between_the_ascii_fast_path_and_the_table(character: str) -> None:
    for text in (character, "abc" + character, "é" + character):
        expected = all(ch in gsm7.GSM7_CHARACTERS for ch in text)
        assert gsm7.is_gsm7(text) is expected, text


@given(st.text(st.characters(max_codepoint=0x7F), max_size=200))
@settings(max_examples=300)
def test_ascii_fast_path_matches_the_general_path(text: str) -> None:
    assert gsm7.is_gsm7(text) == (not gsm7.non_gsm7(text))
    if gsm7.is_gsm7(text):
        general = text.translate(gsm7._ENCODE_TABLE).encode("latin-1")
        assert gsm7.encode_septets(text) == general == codecs.encode(text, "gsm03.38")
        assert gsm7.septet_count(text) == len(general)


MIXED = "".join(sorted(gsm7.GSM7_CHARACTERS)) + "\x80\x81\x8a\x9f`çêœ«’жΨψ😀\x1b\t"


@given(st.text(st.sampled_from(MIXED), max_size=60), st.booleans())
@settings(max_examples=1000)
def test_fast_encoder_agrees_with_a_per_character_reference(text: str, latin1: bool) -> None:
    allowed = gsm7.LATIN1_GSM7_CHARACTERS if latin1 else gsm7.GSM7_CHARACTERS
    expected = (
        text.translate(gsm7._ENCODE_TABLE).encode("latin-1")
        if all(ch in allowed for ch in text)
        else None
    )
    assert gsm7.try_encode_septets(text, latin1=latin1) == expected
    assert gsm7.is_gsm7(text, latin1=latin1) == (expected is not None)
    assert gsm7.first_non_gsm7(text, latin1=latin1) == tuple(
        dict.fromkeys(ch for ch in text if ch not in allowed)
    )


@given(st.text(st.sampled_from(sorted(gsm7.GSM7_CHARACTERS)), max_size=300))
@settings(max_examples=300)
def test_encode_and_decode_round_trip(text: str) -> None:
    septets = gsm7.encode_septets(text)
    assert septets == codecs.encode(text, "gsm03.38")
    assert gsm7.decode_septets(septets) == text
    assert gsm7.septet_count(text) == len(septets)


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
@settings(max_examples=500)
def test_pack_and_unpack_round_trip_with_fill_bits(septets: bytes, fill: int) -> None:
    packed = gsm7.pack_septets(septets, fill)
    assert len(packed) == ((fill + 7 * len(septets) + 7) // 8 if septets else 0)
    assert gsm7.unpack_septets(packed, fill, len(septets)) == septets
    inferred = gsm7.unpack_septets(packed, fill)
    assert inferred == septets or (septets.endswith(b"\r") and inferred == septets[:-1])


@pytest.mark.parametrize(("udh_octets", "fill"), [(6, 1), (7, 0), (12, 2), (1, 6), (0, 0)])
def test_fill_bits_align_the_first_septet(udh_octets: int, fill: int) -> None:
    assert gsm7.fill_bits_after(udh_octets) == fill
    assert (udh_octets * 8 + fill) % 7 == 0


def test_unpack_of_nothing_is_nothing() -> None:
    assert gsm7.unpack_septets(b"") == b""
    assert gsm7.unpack_septets(b"\x00", 8) == b""
    assert gsm7.pack_septets(b"") == b""
