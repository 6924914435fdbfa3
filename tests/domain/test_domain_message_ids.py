"""Message-id normalisation: submit_sm_resp ids and receipt ids meet under a shared key."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from connector.domain.message_ids import (
    MAX_NUMERIC_LENGTH,
    MODES,
    Mode,
    clean,
    lookup_keys,
    receipt_keys,
)

# Realistic id sizes: from a simulator's first message to 64-bit and 128-bit ids.
NUMBERS = st.one_of(st.integers(0, 2**16), st.integers(0, 2**64 - 1), st.integers(0, 2**128))


def meet(submit_id: str, receipt_id: str, mode: Mode) -> bool:
    return bool(set(receipt_keys(submit_id, mode)) & set(lookup_keys(receipt_id, mode)))


@st.composite
def spellings(draw: st.DrawFn, digits: str) -> str:
    """The same id as an SMSC may spell it: any case, leading zeros, padding."""
    spelled = "".join(draw(st.sampled_from([ch.lower(), ch.upper()])) for ch in digits)
    zeros = "0" * draw(st.integers(0, 6))
    pad = draw(st.sampled_from(["", " ", "\x00", "\r\n"]))
    return f"{zeros}{spelled}{pad}"


def hex_form(n: int) -> str:
    return format(n, "x")


# --- the examples from the brief and the field -----------------------------------------------


@pytest.mark.parametrize(
    ("submit_id", "receipt_id", "mode"),
    [
        ("5f1a9c", "6232732", "hex_to_dec"),
        ("5f1a9c", "6232732", "auto"),
        ("5F1A9C", "6232732", "hex_to_dec"),
        ("0005f1a9c", "6232732", "hex_to_dec"),
        ("5f1a9c", "0006232732", "auto"),
        ("6232732", "5f1a9c", "dec_to_hex"),
        ("6232732", "5F1A9C", "auto"),
        ("6232732", "0x5f1a9c", "dec_to_hex"),
        ("5f1a9c", "5F1A9C", "as_is"),
        ("5f1a9c", "0005f1a9c", "as_is"),
        ("00B8BE19", "B8BE19", "as_is"),  # jasmin #1129
        ("00B8BE19", "00b8be19", "auto"),
        ("39f99dd5", "0972660181", "hex_to_dec"),  # jasmin #1034
        ("812FC7470000001B", "9308878062554710043", "hex_to_dec"),  # jasmin #586, 64-bit
        ("812FC7470000001B", "9308878062554710043", "auto"),
        ("16fee0e525", "98765432101", "auto"),  # cloudhopper
        ("38601fa", "0059113978", "hex_to_dec"),  # cloudhopper captured PDU
        ("5f1a9c", "5f1a9c", "hex_to_dec"),  # receipt already hex: letters say so
        ("5f1a9c", "5f1a9c", "dec_to_hex"),  # submit id already hex: letters say so
        ("74e02ee1-4e2f-4a6e-a78b-4b247d756a22", "74E02EE1-4E2F-4A6E-A78B-4B247D756A22", "auto"),
        ("74e02ee1-4e2f-4a6e-a78b-4b247d756a22", "74E02EE1-4E2F-4A6E-A78B-4B247D756A22", "as_is"),
        ("rdwjwxns18krxr9936ey96ymcw", "RDWJWXNS18KRXR9936EY96YMCW", "hex_to_dec"),
        ("0", "000", "auto"),
        ("0", "0x0", "hex_to_dec"),
    ],
)
def test_same_message_meets(submit_id: str, receipt_id: str, mode: Mode) -> None:
    assert meet(submit_id, receipt_id, mode)


@pytest.mark.parametrize(
    ("submit_id", "receipt_id", "mode"),
    [
        ("5f1a9c", "5f1a9d", "auto"),
        ("5f1a9c", "6232733", "hex_to_dec"),
        ("5f1a9c", "6232732", "as_is"),  # as_is compares text only
        ("123456", "123456", "hex_to_dec"),  # a digits-only receipt is decimal here
        ("6232732", "6232732", "hex_to_dec"),
        ("6232732", "6232732", "dec_to_hex"),  # a digits-only receipt is hex here
        ("74e02ee1-4e2f-4a6e-a78b-4b247d756a22", "74e02ee1-4e2f-4a6e-a78b-4b247d756a23", "auto"),
        ("abc", "", "auto"),
        ("", "", "as_is"),
    ],
)
def test_different_messages_do_not_meet(submit_id: str, receipt_id: str, mode: Mode) -> None:
    assert not meet(submit_id, receipt_id, mode)


@pytest.mark.parametrize(
    ("message_id", "mode", "keys"),
    [
        ("5F1A9C", "as_is", ("s:5f1a9c",)),
        ("0005f1a9c", "as_is", ("s:5f1a9c",)),
        ("000", "as_is", ("s:0",)),
        ("0x5f", "as_is", ("s:0x5f",)),
        ("Msg-0001", "as_is", ("s:msg-0001",)),
        ("5f1a9c", "hex_to_dec", ("n:6232732",)),
        ("6232732", "dec_to_hex", ("n:6232732",)),
        ("0x5F1A9C", "auto", ("n:6232732",)),
        ("10", "auto", ("n:10", "n:16")),
        ("7", "auto", ("n:7",)),
        ("ff", "auto", ("n:255",)),
        ("uuid-like-1", "hex_to_dec", ("s:uuid-like-1",)),
        ("  \x00", "auto", ()),
    ],
)
def test_receipt_keys_exactly(message_id: str, mode: Mode, keys: tuple[str, ...]) -> None:
    assert receipt_keys(message_id, mode) == keys


@pytest.mark.parametrize(
    ("receipt_id", "mode", "keys"),
    [
        ("6232732", "hex_to_dec", ("n:6232732",)),
        ("5f1a9c", "hex_to_dec", ("n:6232732",)),
        ("5f1a9c", "dec_to_hex", ("n:6232732",)),
        ("10", "dec_to_hex", ("n:16",)),
        ("10", "hex_to_dec", ("n:10",)),
        ("10", "auto", ("n:10", "n:16")),  # decimal reading first
    ],
)
def test_lookup_keys_exactly(receipt_id: str, mode: Mode, keys: tuple[str, ...]) -> None:
    assert lookup_keys(receipt_id, mode) == keys


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown receipt_id mode"):
        receipt_keys("1", "hex")  # type: ignore[arg-type]


def test_overlong_ids_are_text_only() -> None:
    long_digits = "1" * (MAX_NUMERIC_LENGTH + 1)
    assert receipt_keys(long_digits, "auto") == (f"s:{long_digits}",)
    assert receipt_keys("1" * 5000, "hex_to_dec") == ("s:" + "1" * 5000,)
    assert len(receipt_keys("1" * MAX_NUMERIC_LENGTH, "auto")) == 2


def test_clean() -> None:
    assert clean(" 0A1b\x00\r\n") == "0a1b"


# --- properties ------------------------------------------------------------------------------


@given(n=NUMBERS, data=st.data())
def test_hex_submit_decimal_receipt(n: int, data: st.DataObject) -> None:
    submit_id = data.draw(spellings(hex_form(n)))
    receipt_id = data.draw(spellings(str(n)))
    assert meet(submit_id, receipt_id, "hex_to_dec")
    assert meet(submit_id, receipt_id, "auto")


@given(n=NUMBERS, data=st.data())
def test_decimal_submit_hex_receipt(n: int, data: st.DataObject) -> None:
    submit_id = data.draw(spellings(str(n)))
    receipt_id = data.draw(spellings(hex_form(n)))
    assert meet(submit_id, receipt_id, "dec_to_hex")
    assert meet(submit_id, receipt_id, "auto")


@given(n=NUMBERS, hex_ids=st.booleans(), mode=st.sampled_from(MODES), data=st.data())
def test_same_form_both_sides(n: int, hex_ids: bool, mode: Mode, data: st.DataObject) -> None:
    digits = hex_form(n) if hex_ids else str(n)
    submit_id = data.draw(spellings(digits))
    receipt_id = data.draw(spellings(digits))
    # The carrier echoes its own id: as_is and auto always match; a directional mode still
    # matches when hex letters make the form unambiguous, and reads digits its own way.
    if mode in ("as_is", "auto") or not digits.isdigit():
        assert meet(submit_id, receipt_id, mode)
    elif int(digits, 16) != int(digits, 10):
        assert not meet(submit_id, receipt_id, mode)


@given(a=NUMBERS, b=NUMBERS, data=st.data())
def test_directional_modes_are_injective(a: int, b: int, data: st.DataObject) -> None:
    assume(a != b)
    assert not meet(data.draw(spellings(hex_form(a))), data.draw(spellings(str(b))), "hex_to_dec")
    assert not meet(data.draw(spellings(str(a))), data.draw(spellings(hex_form(b))), "dec_to_hex")


@given(a=NUMBERS, b=NUMBERS)
def test_auto_collides_only_across_readings(a: int, b: int) -> None:
    # auto can only confuse two ids when one's hex reading is the other's decimal reading.
    assume(a != b)
    for x, y in ((hex_form(a), hex_form(b)), (str(a), str(b)), (hex_form(a), str(b))):
        if meet(x, y, "auto"):
            readings_x = {int(x, 16)} | ({int(x, 10)} if x.isdigit() else set())
            readings_y = {int(y, 16)} | ({int(y, 10)} if y.isdigit() else set())
            assert readings_x & readings_y


ID_TEXT = st.text(
    st.characters(codec="ascii", categories=["L", "N", "Pd", "Pc"]), min_size=1, max_size=40
)


@given(x=ID_TEXT, y=ID_TEXT)
def test_as_is_distinct_ids_never_collide(x: str, y: str) -> None:
    def canonical(value: str) -> str:
        value = clean(value)
        hexish = all(ch in "0123456789abcdef" for ch in value)
        return (value.lstrip("0") or "0") if hexish else value

    assume(canonical(x) != canonical(y))
    assert not meet(x, y, "as_is")
    assert meet(x, x.upper(), "as_is")


@given(x=ID_TEXT, mode=st.sampled_from(MODES))
def test_keys_are_deterministic_and_nonempty(x: str, mode: Mode) -> None:
    keys = receipt_keys(x, mode)
    assert keys == receipt_keys(x, mode)
    assert 1 <= len(keys) <= 2
    assert len(set(keys)) == len(keys)
    assert all(key.startswith(("n:", "s:")) for key in keys + lookup_keys(x, mode))
