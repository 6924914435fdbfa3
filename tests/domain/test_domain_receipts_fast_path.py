"""The standard-layout fast path of receipt parsing gives exactly what the general path gives.

`parse_receipt_text` first tries `_parse_standard_text` (one full-match regex for the SMPP 3.4
Appendix B layout) and falls back to `_parse_general_text` when it returns None. These
properties generate standard-layout receipts and near misses of that layout, and require the
fast path to take the standard ones and, whenever it takes a text, to give the same value —
same types included — as the general path.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.domain import receipts
from connector.domain.receipts import (
    STAT_WORDS,
    Receipt,
    ReceiptParseError,
    _parse_general_text,
    _parse_standard_text,
    parse_receipt,
    parse_receipt_date,
    parse_receipt_text,
)
from connector.smpp import constants as c
from connector.smpp.pdu import DeliverSm, TlvValue
from tests.domain.receipt_corpus import CORPUS, ReceiptCase
from tests.domain.test_domain_receipts import _pdu

Result = Receipt | ReceiptParseError | None


def _typed(result: Result) -> object:
    """The result with the type of every field, so that 1 and True or "" and b"" differ."""
    if result is None:
        return None
    fields = msgspec.structs.asdict(result)
    return type(result), {name: (type(value), value) for name, value in fields.items()}


def _both(
    text: str, tlvs: dict[int, TlvValue], intermediate: bool
) -> tuple[Result, Receipt | ReceiptParseError]:
    clean = text.replace("\x00", "")
    fast = _parse_standard_text(clean, tlvs, intermediate)
    general = _parse_general_text(clean, tlvs, intermediate)
    public = parse_receipt_text(text, tlvs, intermediate=intermediate)
    assert _typed(public) == _typed(general)
    return fast, general


# --- generated standard-layout receipts ------------------------------------------------------

# A word: any non-whitespace characters, including colons, key names and non-ASCII letters.
_WORD = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00").filter(
        lambda ch: not ch.isspace()
    ),
    min_size=1,
    max_size=12,
)
_KEYISH = st.sampled_from(["id:", "sub:", "stat:", "text:", "err:", "date:", "ıd:", "ſtat:"])
_ODD_WORD = st.lists(st.one_of(_WORD, _KEYISH), min_size=1, max_size=3).map("".join)

_IDS = st.one_of(
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.from_regex(r"[0-9a-fA-F]{1,32}", fullmatch=True),
    st.uuids().map(str),
    _ODD_WORD,
)

_COUNTS = st.one_of(
    st.none(),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
    st.integers(0, 10**6).map(str),
    st.sampled_from(["...", "-1", "1.0", "²", "٣", "00A", "+1"]),
    _ODD_WORD,
)


def _fmt(moment: datetime, pattern: str) -> str:
    return moment.strftime(pattern)


_DATES = st.one_of(
    st.builds(
        _fmt,
        st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59)),
        st.sampled_from(["%y%m%d%H%M", "%y%m%d%H%M%S", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S"]),
    ),
    st.from_regex(r"[0-9]{10}|[0-9]{12}|[0-9]{14}|[0-9]{1,16}", fullmatch=True),
    st.from_regex(r"[0-9]{12}[0-9][0-9]{2}[+R-]", fullmatch=True),  # absolute / relative time
    st.sampled_from(
        [
            "0000000000",
            "2613261300",
            "2602301200",
            "YYMMDDhhmm",
            "2026-11-26T14:00:04+01:00",
            "2026-11-26T13:00:04Z",
            "2026-11-26",
            "２６１１２６１３００",  # full-width digits: isdigit() but not ASCII
        ]
    ),
    _ODD_WORD,
)


@st.composite
def _any_case(draw: st.DrawFn, word: str) -> str:
    return "".join(draw(st.sampled_from([ch.lower(), ch.upper()])) for ch in word)


_STATS = st.one_of(
    st.sampled_from(sorted(STAT_WORDS)).flatmap(_any_case),
    st.sampled_from(["SENT", "DDDDDDD", "délivré", "DELIVRD,", "ſtat", "ﬁ"]),
    _ODD_WORD,
)
_ERRS = st.one_of(st.from_regex(r"[0-9A-Za-z]{1,4}", fullmatch=True), _ODD_WORD)
_TEXTS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.lists(st.one_of(_KEYISH, _WORD, st.sampled_from([" ", "\n", "\t", "\x00"]))).map("".join),
)
_TLVS = st.dictionaries(
    st.sampled_from([c.TAG_RECEIPTED_MESSAGE_ID, c.TAG_MESSAGE_STATE, c.TAG_NETWORK_ERROR_CODE]),
    st.one_of(st.integers(0, 255), st.text(max_size=12), st.binary(max_size=4)),
)


@st.composite
def standard_receipts(draw: st.DrawFn) -> str:
    """A receipt in the standard layout, with every variation the fast path takes."""

    def key(name: str) -> str:
        return draw(_any_case(name))

    def gap() -> str:
        return " " * draw(st.integers(1, 3))

    def date_key(first: str) -> str:
        return key(first) + draw(st.sampled_from([" ", "_", ""])) + key("date")

    sub, dlvrd, text = draw(_COUNTS), draw(_COUNTS), draw(_TEXTS)
    parts = [f"{key('id')}:{draw(_IDS)}"]
    if sub is not None:
        parts.append(f"{key('sub')}:{sub}")
    if dlvrd is not None:
        parts.append(f"{key('dlvrd')}:{dlvrd}")
    parts += [
        f"{date_key('submit')}:{draw(_DATES)}",
        f"{date_key('done')}:{draw(_DATES)}",
        f"{key('stat')}:{draw(_STATS)}",
        f"{key('err')}:{draw(_ERRS)}",
    ]
    raw = parts[0] + "".join(gap() + part for part in parts[1:])
    if text is None:
        return raw + " " * draw(st.integers(0, 2))
    return raw + gap() + key("text") + ":" + text


@settings(max_examples=400)
@given(text=standard_receipts(), tlvs=_TLVS, intermediate=st.booleans())
@example(
    text="id:6232732 sub:001 dlvrd:000 submit date:2611261300 done date:2611261300 "
    "stat:UNDELIV err:001 text:hello",
    tlvs={c.TAG_RECEIPTED_MESSAGE_ID: "6232732", c.TAG_MESSAGE_STATE: 5},
    intermediate=False,
)
@example(text="ID:1 SUBMIT_DATE:x DONEDATE:y STAT:sent ERR:e  ", tlvs={}, intermediate=True)
def test_fast_path_takes_the_standard_layout_and_agrees(
    text: str, tlvs: dict[int, TlvValue], intermediate: bool
) -> None:
    fast, general = _both(text, tlvs, intermediate)
    assert fast is not None, "the fast path must take every standard-layout receipt"
    assert _typed(fast) == _typed(general)


# --- near misses: the fast path declines, or agrees ------------------------------------------

_KEYS = ["id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:", "text:"]
_VALUES = ["6232732", "001", "2611261300", "2611261301", "DELIVRD", "000", "Your"]
_MUTATIONS = [
    *((key, key + " ") for key in _KEYS),  # a space after the colon
    *((key, key[:-1] + " :") for key in _KEYS),  # a space before it
    *((value, "") for value in _VALUES),  # an empty value
    *((value, value + " x") for value in _VALUES),  # a second word
    ("id:", ""),
    (" sub:", "\tsub:"),
    (" stat:", "\nstat:"),
    ("submit date", "submit\tdate"),
    ("done date", "done  date"),
    ("stat:", "ſtat:"),
    ("id:", "ıd:"),
    ("text:", "TeXt:"),
    (" text:", "text:"),
    (" stat:", " STAT:DELIVRD stat:"),
    (" err:", " id:99 err:"),
    ("stat:DELIVRD", "DELIVRD"),
    (" sub:001", ""),
    (" submit date:2611261300", ""),
    ("dlvrd:001 ", "dlvrd:001 submit date:2611261259 "),
    ("id:6232732", "id:6232732\u00a0x"),
    ("id:6232732", "id:6232732\x1fx"),
    ("2611261300", "2026-11-26 13:00:00"),
    ("text:", "stat:EXPIRED text:"),
]
_BASE = (
    "id:6232732 sub:001 dlvrd:001 submit date:2611261300 done date:2611261301 stat:DELIVRD err:000"
)
_TAILS = [" text:Your code is 48291", " text:Your", " text:", ""]


def test_fast_path_on_every_one_or_two_near_misses_declines_or_agrees() -> None:
    # Exhaustive where the property above samples: each mutation and each pair of them (in
    # both orders), on each tail. A value swallowing the next key ("sub: dlvrd:001") is one
    # mutation away from the standard layout.
    combos: list[tuple[tuple[str, str], ...]] = [()]
    combos += [(a,) for a in _MUTATIONS]
    combos += [(a, b) for a in _MUTATIONS for b in _MUTATIONS]
    checked = taken = 0
    for tail in _TAILS:
        for combo in combos:
            text = _BASE + tail
            for old, new in combo:
                text = text.replace(old, new, 1)
            fast, general = _both(text, {}, intermediate=False)
            checked += 1
            if fast is not None:
                taken += 1
                assert _typed(fast) == _typed(general), text
    assert checked > taken > 100  # the fast path is exercised, not only declined


@settings(max_examples=300)
@given(
    tail=st.sampled_from(_TAILS),
    mutations=st.lists(st.sampled_from(_MUTATIONS), max_size=4),
    prefix=st.sampled_from(["", " ", "\n", "x "]),
    suffix=st.sampled_from(["", " ", "\n", " stat:EXPIRED", "\x00"]),
    tlvs=_TLVS,
)
def test_fast_path_on_near_misses_declines_or_agrees(
    *,
    tail: str,
    mutations: list[tuple[str, str]],
    prefix: str,
    suffix: str,
    tlvs: dict[int, TlvValue],
) -> None:
    text = _BASE + tail
    for old, new in mutations:
        text = text.replace(old, new, 1)
    fast, general = _both(prefix + text + suffix, tlvs, intermediate=False)
    if fast is not None:
        assert _typed(fast) == _typed(general)


@given(text=st.text(st.sampled_from(list("idsubtaexrvlnom :_\t\nIDSTAX0123ſı")), max_size=80))
def test_fast_path_on_key_soup_declines_or_agrees(text: str) -> None:
    fast, general = _both(text, {}, intermediate=False)
    if fast is not None:
        assert _typed(fast) == _typed(general)


# --- the corpus --------------------------------------------------------------------------------


def _corpus_text(case: ReceiptCase) -> tuple[str, dict[int, TlvValue]]:
    pdu = _pdu(case)
    body = pdu.short_message if isinstance(pdu, DeliverSm) else b""
    if not body:
        payload = pdu.tlvs.get(c.TAG_MESSAGE_PAYLOAD)
        body = payload if isinstance(payload, bytes) else b""
    return receipts.decode_receipt_text(body, pdu.data_coding), dict(pdu.tlvs)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_corpus_fast_path_declines_or_agrees(case: ReceiptCase) -> None:
    text, tlvs = _corpus_text(case)
    fast, general = _both(text, tlvs, intermediate=False)
    if fast is not None:
        assert _typed(fast) == _typed(general)


def test_the_fast_path_takes_most_of_the_corpus() -> None:
    taken = {
        case.name
        for case in CORPUS
        if _parse_standard_text(_corpus_text(case)[0].replace("\x00", ""), {}, False) is not None
    }
    assert len(taken) >= len(CORPUS) // 2, sorted(taken)
    assert {"appendix_b_adobe_campaign", "own_simulator_decimal_receipt", "upper_case_keys"} <= (
        taken
    )


def test_the_fast_path_takes_the_simulators_receipts() -> None:
    # The layout of connector/simulator/smsc.py SimSmsc._receipt.
    text = (
        "id:5f1a9c sub:001 dlvrd:001 submit date:2611261300 done date:2611261301 "
        "stat:DELIVRD err:000 text:Hello, world ?"
    )
    tlvs: dict[int, TlvValue] = {c.TAG_RECEIPTED_MESSAGE_ID: "5f1a9c", c.TAG_MESSAGE_STATE: 2}
    fast = _parse_standard_text(text, tlvs, False)
    assert fast == Receipt(
        message_id="5f1a9c",
        stat="DELIVRD",
        err="000",
        submit_date="2026-11-26T13:00:00Z",
        done_date="2026-11-26T13:01:00Z",
        sub=1,
        dlvrd=1,
        text="Hello, world ?",
        message_state=2,
    )
    assert parse_receipt(DeliverSm(esm_class=4, short_message=text.encode(), tlvs=tlvs)) == fast


# --- the date cache ----------------------------------------------------------------------------


def _reference_date(value: str | None) -> str | None:
    # parse_receipt_date before the cache and the digits-only shortcut: the general parser,
    # then the datetime formatted.
    if not value:
        return None
    moment = receipts._parse_date(value.strip())
    if moment is None:
        return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


_DIGIT_DATES = st.from_regex(r"\s*([0-9]{10}|[0-9]{12})\s*", fullmatch=True)


@settings(max_examples=300)
@given(value=st.one_of(_DIGIT_DATES, _DATES, st.text(max_size=40), st.none()))
@example(value="2602290000")  # no 29 February in 2026
@example(value="2402290000")
@example(value="260101240000")
@example(value="260101235960")
@example(value="2601012359")
def test_dates_fresh_and_cached_are_the_general_parsers(value: str | None) -> None:
    expected = _reference_date(value)
    receipts._DATE_CACHE.clear()
    assert parse_receipt_date(value) == expected
    assert parse_receipt_date(value) == expected  # now from the cache, when short enough


def test_date_cache_is_bounded() -> None:
    receipts._DATE_CACHE.clear()
    for minute in range(receipts._DATE_CACHE_SIZE * 3):
        parse_receipt_date(f"26112{minute:05d}")
    parse_receipt_date("1" * (receipts._DATE_CACHE_MAX_LEN + 1))
    assert len(receipts._DATE_CACHE) <= receipts._DATE_CACHE_SIZE
    assert "1" * (receipts._DATE_CACHE_MAX_LEN + 1) not in receipts._DATE_CACHE
