"""Carrier message ids: the keys under which a submit_sm_resp id and its receipt's id meet.

SMSCs disagree with themselves: the id in `submit_sm_resp` may be hex (`5f1a9c`) while the
receipt says `6232732` (the same number in decimal), or the other way round; case and leading
zeros drift (`0005F1A9C`); some ids are not numbers at all (UUIDs). Each carrier's `receipt_id`
setting (CONFIG.md) says how to match. The same functions serve both sides:

- `receipt_keys(message_id, mode)`: the keys under which an accepted part's id (from
  submit_sm_resp) is stored;
- `lookup_keys(receipt_id, mode)`: the keys to try, in order, for an incoming receipt's id.

A submit id and a receipt id that denote the same message always share a key.

Rules, exactly:

1. Cleaning: surrounding whitespace and NULs are removed and the id is lower-cased. An empty id
   has no keys. A cleaned id is *decimal* when it is only `0-9`, *hex* when it is only
   `0-9a-f`, *explicit hex* when it is `0x` followed by hex digits. Ids longer than 66
   characters (beyond any SMPP message_id) are only ever matched as text.
2. Keys are strings: `n:<value in decimal, no leading zeros>` for an id read as a number (any
   size: 64-bit ids and 128-bit ones alike), `s:<cleaned id>` for an id matched as text, with
   leading zeros removed when the id is hex (`s:0` for all zeros).
3. Per mode (`D` = read in base 10, `H` = read in base 16):

   ===============  =====================================  ====================================
   mode             receipt_keys (submit_sm_resp id)       lookup_keys (receipt id)
   ===============  =====================================  ====================================
   ``as_is``        ``s:``                                 ``s:``
   ``hex_to_dec``   hex: ``n:H``                           decimal: ``n:D``; else hex: ``n:H``
   ``dec_to_hex``   decimal: ``n:D``; else hex: ``n:H``    hex: ``n:H``
   ``auto``         decimal: ``n:D``, ``n:H``; hex: ``n:H``  same as receipt_keys
   ===============  =====================================  ====================================

   In every numeric mode an explicit hex id gives ``n:H`` and an id that is no number (a UUID,
   anything with a dash) falls back to its ``s:`` key, so such carriers work in any mode.
   The directional modes tolerate an id that already arrives in the other form when that form
   is unambiguous (a receipt id with hex letters under ``hex_to_dec``).

Collisions. `as_is` and the directional modes are injective: different ids (after cleaning)
never share a key. `auto` must guess for ids made only of decimal digits and stores them under
both readings, so two live ids `a` and `b` collide only if one's hex reading equals the other's
decimal reading (`int(a, 16) == int(b, 10)`). For counter-style ids of six or more digits the
two readings of one id lie at least ~0.9 million apart, far more than the messages awaiting a
receipt at once; for small ids (a simulator counting from 1) prefer a directional mode.
`lookup_keys` orders the decimal reading first, as decimal receipts for hex submit ids are the
common case (Kannel's `msg-id-type`, Jasmin's `dlr_msgid`).

Changing a carrier's mode affects the parts accepted after the change.
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeAlias

Mode: TypeAlias = Literal["as_is", "hex_to_dec", "dec_to_hex", "auto"]
MODES: Final[tuple[Mode, ...]] = ("as_is", "hex_to_dec", "dec_to_hex", "auto")

# SMPP message ids are C-Octet Strings of at most 65 octets (64 characters); anything longer
# is matched as text only.
MAX_NUMERIC_LENGTH: Final = 66

_DEC: Final = frozenset("0123456789")
_HEX: Final = frozenset("0123456789abcdef")


def clean(message_id: str) -> str:
    """The id without surrounding whitespace / NULs, lower-cased."""
    return message_id.strip(" \t\r\n\x00").lower()


def receipt_keys(message_id: str, mode: Mode) -> tuple[str, ...]:
    """Keys under which an accepted part's id (from submit_sm_resp) is stored."""
    return _keys(message_id, mode, submit=True)


def lookup_keys(receipt_id: str, mode: Mode) -> tuple[str, ...]:
    """Keys to try, in order, for the id carried by an incoming receipt."""
    return _keys(receipt_id, mode, submit=False)


def _keys(message_id: str, mode: Mode, *, submit: bool) -> tuple[str, ...]:
    if mode not in MODES:
        raise ValueError(f"unknown receipt_id mode {mode!r}; one of {', '.join(MODES)}")
    cleaned = clean(message_id)
    if not cleaned:
        return ()
    if mode == "as_is" or len(cleaned) > MAX_NUMERIC_LENGTH:
        return (_text_key(cleaned),)
    # One match classifies the id (two ids per message go through here).
    match = _CLASSIFY(cleaned)
    if match is None:  # no number: matched as text
        return ("s:" + cleaned,)
    explicit, decimal, letters = match.groups()
    if explicit is not None:
        return (_num_key(int(explicit, 16)),)
    if letters is not None:
        return (_num_key(int(letters, 16)),)  # hex letters: only one reading, in every mode
    hex_key = _num_key(int(decimal, 16))
    dec_key = _num_key(int(decimal, 10))
    if mode == "auto":
        return (dec_key,) if dec_key == hex_key else (dec_key, hex_key)
    # The side that is in decimal: the receipt under hex_to_dec, the submit id under dec_to_hex.
    in_decimal = (mode == "hex_to_dec") != submit
    return (dec_key,) if in_decimal else (hex_key,)


# `0x` + hex digits (explicit hex), decimal digits, or hex digits with at least one letter.
_CLASSIFY: Final = re.compile("0x([0-9a-f]+)|([0-9]+)|([0-9a-f]+)").fullmatch

_MATCHERS: Final = {
    _DEC: re.compile("[0-9]*").fullmatch,
    _HEX: re.compile("[0-9a-f]*").fullmatch,
}


def _is(text: str, alphabet: frozenset[str]) -> bool:
    # One C-level regex match instead of a generator over the characters (the receipt path
    # asks this a few times per part).
    return _MATCHERS[alphabet](text) is not None


def _num_key(value: int) -> str:
    return f"n:{value}"


def _text_key(cleaned: str) -> str:
    if _is(cleaned, _HEX):
        cleaned = cleaned.lstrip("0") or "0"
    return f"s:{cleaned}"
