"""Delivery receipts: the real-world corpus, recognition, state tables, dates, leniency."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.domain.message_ids import lookup_keys, receipt_keys
from connector.domain.receipts import (
    MESSAGE_STATE_STAT,
    STAT_STATUS,
    STAT_WORDS,
    Receipt,
    ReceiptParseError,
    decode_receipt_text,
    is_receipt,
    message_state_status,
    normalise_stat,
    parse_receipt,
    parse_receipt_date,
    parse_receipt_text,
    stat_status,
)
from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp.pdu import DataSm, DeliverSm
from tests.domain.receipt_corpus import CORPUS, ReceiptCase

# --- the corpus ------------------------------------------------------------------------------


def _pdu(case: ReceiptCase) -> DeliverSm | DataSm:
    if case.pdu_hex is not None:
        pdu = codec.decode(bytes.fromhex(case.pdu_hex))
        assert isinstance(pdu, DeliverSm | DataSm)
        return pdu
    if case.command == "data_sm":
        return DataSm(esm_class=case.esm_class, data_coding=case.data_coding, tlvs=dict(case.tlvs))
    return DeliverSm(
        esm_class=case.esm_class,
        data_coding=case.data_coding,
        short_message=case.short_message,
        tlvs=dict(case.tlvs),
    )


def test_corpus_is_large_and_sourced() -> None:
    assert len(CORPUS) >= 30
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    assert all(case.source.strip() for case in CORPUS)
    assert sum(case.expected is None for case in CORPUS) >= 3


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_corpus_case(case: ReceiptCase) -> None:
    pdu = _pdu(case)
    assert is_receipt(pdu)
    result = parse_receipt(pdu)
    if case.expected is None:
        assert isinstance(result, ReceiptParseError), result
        assert case.reason in result.reason
        return
    assert result == case.expected
    assert isinstance(result, Receipt)
    assert result.status == case.status
    assert result.final is (case.status is not None)
    contract = result.contract_receipt()
    assert contract == {"stat": result.stat, "err": result.err, "done_at": result.done_date}


@pytest.mark.parametrize(
    "case", [case for case in CORPUS if case.submit_id is not None], ids=lambda case: case.name
)
def test_corpus_receipt_meets_its_submit_id(case: ReceiptCase) -> None:
    assert case.submit_id is not None
    result = parse_receipt(_pdu(case))
    assert isinstance(result, Receipt)
    stored = set(receipt_keys(case.submit_id, case.id_mode))
    assert stored & set(lookup_keys(result.message_id, case.id_mode))
    # "auto" covers every directional case too.
    assert set(receipt_keys(case.submit_id, "auto")) & set(lookup_keys(result.message_id, "auto"))


@pytest.mark.parametrize(
    ("text_id", "tlv_id"),
    [("0059113978", "38601fa"), ("0000436949", "6aad5")],
)
def test_decimal_text_id_and_hex_tlv_id_name_the_same_part(text_id: str, tlv_id: str) -> None:
    # cloudhopper's and Jasmin's captured PDUs: whichever id the daemon looks up, it finds
    # the part stored under the hex submit_sm_resp id.
    for mode in ("hex_to_dec", "auto"):
        stored = set(receipt_keys(tlv_id, mode))
        assert stored & set(lookup_keys(text_id, mode))
        assert stored & set(lookup_keys(tlv_id, mode))


# --- recognition -----------------------------------------------------------------------------

RECEIPT_TLVS = {c.TAG_RECEIPTED_MESSAGE_ID: "abc", c.TAG_MESSAGE_STATE: 2}


@pytest.mark.parametrize(
    ("esm_class", "tlvs", "expected"),
    [
        (0x04, {}, True),  # SMSC delivery receipt
        (0x20, {}, True),  # intermediate delivery notification
        (0x04 | 0x40, {}, True),  # UDHI and reply path bits do not matter
        (0x20 | 0x80, {}, True),
        (0x00, {}, False),  # a plain MO message
        (0x40, {}, False),
        (0x08, {}, False),  # SME delivery acknowledgement
        (0x10, {}, False),  # SME manual / user acknowledgement
        (0x18, {}, False),  # conversation abort
        (0x08, RECEIPT_TLVS, False),  # TLVs do not turn an SME ack into a receipt
        (0x10, RECEIPT_TLVS, False),
        (0x18, RECEIPT_TLVS, False),
        (0x00, RECEIPT_TLVS, True),  # receipted_message_id + message_state: a receipt
        (0x00, {c.TAG_RECEIPTED_MESSAGE_ID: "abc"}, False),  # one of them is not enough
        (0x00, {c.TAG_MESSAGE_STATE: 2}, False),
    ],
)
def test_is_receipt(esm_class: int, tlvs: dict[int, int | str], expected: bool) -> None:
    assert is_receipt(DeliverSm(esm_class=esm_class, tlvs=dict(tlvs))) is expected
    assert is_receipt(DataSm(esm_class=esm_class, tlvs=dict(tlvs))) is expected


def test_parsing_an_mo_message_is_an_error_value() -> None:
    result = parse_receipt(DeliverSm(esm_class=0, short_message=b"id:1 stat:DELIVRD"))
    assert result == ReceiptParseError(
        raw="id:1 stat:DELIVRD", reason="not a delivery receipt (esm_class 0x00)"
    )


def test_plain_message_with_receipt_tlvs_parses() -> None:
    pdu = DeliverSm(esm_class=0, tlvs={c.TAG_RECEIPTED_MESSAGE_ID: "ab12", c.TAG_MESSAGE_STATE: 3})
    assert parse_receipt(pdu) == Receipt(message_id="ab12", stat="EXPIRED", message_state=3)


# --- state tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "undelivered"),
        ("DELETED", "undelivered"),
        ("UNKNOWN", "undelivered"),
        ("EXPIRED", "expired"),
        ("REJECTD", "rejected"),
        ("ENROUTE", None),
        ("ACCEPTD", None),
    ],
)
def test_stat_status(stat: str, status: str | None) -> None:
    assert normalise_stat(stat) == stat
    assert stat_status(stat) == status


def test_stat_table_is_complete() -> None:
    assert set(STAT_STATUS) == set(MESSAGE_STATE_STAT.values()) == set(STAT_WORDS.values())


@pytest.mark.parametrize(
    ("state", "stat", "status"),
    [
        (1, "ENROUTE", None),
        (2, "DELIVRD", "delivered"),
        (3, "EXPIRED", "expired"),
        (4, "DELETED", "undelivered"),
        (5, "UNDELIV", "undelivered"),
        (6, "ACCEPTD", None),
        (7, "UNKNOWN", "undelivered"),
        (8, "REJECTD", "rejected"),
        (0, None, None),  # SMPP 5.0 SCHEDULED: not a 3.4 state
        (9, None, None),  # SMPP 5.0 SKIPPED
    ],
)
def test_message_state_table(state: int, stat: str | None, status: str | None) -> None:
    assert MESSAGE_STATE_STAT.get(state) == stat
    assert message_state_status(state) == status


@pytest.mark.parametrize(
    ("word", "stat"),
    [
        ("delivrd", "DELIVRD"),
        ("Delivered", "DELIVRD"),
        ("DELIVERED", "DELIVRD"),
        ("UNDELIVERABLE", "UNDELIV"),
        ("undelivered", "UNDELIV"),
        ("FAILED", "UNDELIV"),
        ("REJECTED", "REJECTD"),
        ("Accepted", "ACCEPTD"),
        (" enroute ", "ENROUTE"),
        ("DELIVERED TO CARRIER", None),
        ("BADSTAT", None),
        ("", None),
    ],
)
def test_normalise_stat(word: str, stat: str | None) -> None:
    assert normalise_stat(word) == stat


def test_tlv_state_wins_over_text_stat() -> None:
    result = parse_receipt_text(
        "id:77 stat:DELIVRD err:000", {c.TAG_MESSAGE_STATE: c.MESSAGE_STATE_UNDELIVERABLE}
    )
    assert isinstance(result, Receipt)
    assert (result.stat, result.status, result.err) == ("UNDELIV", "undelivered", "000")


def test_unknown_tlv_state_falls_back_to_text() -> None:
    result = parse_receipt_text("id:77 stat:REJECTD", {c.TAG_MESSAGE_STATE: 9})
    assert isinstance(result, Receipt)
    assert (result.stat, result.message_state) == ("REJECTD", 9)


def test_tlv_id_wins_over_text_id() -> None:
    result = parse_receipt_text("id:1 stat:DELIVRD", {c.TAG_RECEIPTED_MESSAGE_ID: " 0a \x00"})
    assert isinstance(result, Receipt)
    assert result.message_id == "0a"


def test_unknown_text_stat_is_fine_when_the_tlv_says() -> None:
    result = parse_receipt_text("id:1 stat:DDDDDDD", {c.TAG_MESSAGE_STATE: 2})
    assert isinstance(result, Receipt)
    assert result.stat == "DELIVRD"


def test_intermediate_notification_is_never_final() -> None:
    result = parse_receipt(
        DeliverSm(
            esm_class=c.ESM_CLASS_INTERMEDIATE_NOTIFICATION, short_message=b"id:9 stat:DELIVRD"
        )
    )
    assert isinstance(result, Receipt)
    assert result.intermediate
    assert not result.final
    assert result.status is None


def test_err_comes_from_network_error_code_when_the_text_has_none() -> None:
    result = parse_receipt_text("id:5 stat:UNDELIV", {c.TAG_NETWORK_ERROR_CODE: b"\x01\x01\x2c"})
    assert isinstance(result, Receipt)
    assert result.err == "300"
    short = parse_receipt_text("id:5 stat:UNDELIV", {c.TAG_NETWORK_ERROR_CODE: b"\x01"})
    assert isinstance(short, Receipt)
    assert short.err is None
    assert short.network_error_code == b"\x01"


# --- text leniency ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        # text before stat with content: the stat after it is still found
        ("id:1 text:hi there stat:DELIVRD err:0", {"stat": "DELIVRD", "text": "hi there"}),
        # stat before text: keys inside the text stay text
        (
            "id:1 stat:EXPIRED text:id:2 stat:DELIVRD",
            {"stat": "EXPIRED", "text": "id:2 stat:DELIVRD"},
        ),
        # repeated key: the first wins
        ("id:1 id:2 stat:DELIVRD", {"message_id": "1"}),
        # newlines between fields, no spaces
        ("id:1\nsub:001\ndlvrd:001\nstat:DELIVRD\nerr:0\ntext:x", {"sub": 1, "text": "x"}),
        # tab after colon, mixed-case date keys
        (
            "id:\t42 Submit_Date:2601021530 DONE DATE:2601021531 stat:delivrd",
            {"message_id": "42", "submit_date": "2026-01-02T15:30:00Z"},
        ),
        # empty err and text
        ("id:1 stat:DELIVRD err: text:", {"err": None, "text": ""}),
        # empty done date followed by a key
        ("id:1 done date: stat:UNDELIV", {"done_date": None, "stat": "UNDELIV"}),
        # a word glued to a key is not that key
        ("xid:5 id:6 stat:DELIVRD", {"message_id": "6"}),
        # a bare stat word anywhere before the text
        ("id:1 sub:001 UNDELIV err:5 text:DELIVRD", {"stat": "UNDELIV", "text": "DELIVRD"}),
        # a date that is not a date does not fail the receipt
        ("id:1 submit date:0000000000 done date:2613011200 stat:DELIVRD", {"submit_date": None}),
    ],
)
def test_lenient_text(text: str, fields: dict[str, object]) -> None:
    result = parse_receipt_text(text)
    assert isinstance(result, Receipt), result
    for name, value in fields.items():
        assert getattr(result, name) == value, name


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no message id"),
        ("hello, this is a message from a subscriber", "no message id"),
        ("id: stat:DELIVRD", "no message id"),
        ("id:1 sub:001 dlvrd:001", "no stat"),
        ("id:1 stat: err:000", "no stat"),
        ("id:1 stat:SENT", "unknown stat 'SENT'"),
    ],
)
def test_unparseable_text(text: str, reason: str) -> None:
    result = parse_receipt_text(text)
    assert isinstance(result, ReceiptParseError)
    assert result.reason.startswith(reason)
    assert result.raw == text


def test_parse_error_is_a_value_that_serialises() -> None:
    error = parse_receipt_text("garbage")
    assert isinstance(error, ReceiptParseError)
    assert msgspec.json.decode(msgspec.json.encode(error), type=ReceiptParseError) == error


def test_receipt_serialises() -> None:
    case = next(case for case in CORPUS if case.name == "jasmin_issue_117_captured_pdu")
    receipt = case.expected
    assert receipt is not None
    assert msgspec.json.decode(msgspec.json.encode(receipt), type=Receipt) == receipt
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(receipt), type=Receipt) == receipt


@given(
    body=st.binary(max_size=300),
    esm_class=st.integers(0, 255),
    data_coding=st.sampled_from([0, 1, 3, 8]),
    tlvs=st.dictionaries(
        st.sampled_from(
            [
                c.TAG_RECEIPTED_MESSAGE_ID,
                c.TAG_MESSAGE_STATE,
                c.TAG_NETWORK_ERROR_CODE,
                c.TAG_MESSAGE_PAYLOAD,
            ]
        ),
        st.one_of(st.integers(0, 255), st.text(max_size=20), st.binary(max_size=20)),
    ),
)
def test_parse_never_raises(
    body: bytes, esm_class: int, data_coding: int, tlvs: dict[int, int | str | bytes]
) -> None:
    pdu = DeliverSm(esm_class=esm_class, data_coding=data_coding, short_message=body, tlvs=tlvs)
    assert isinstance(parse_receipt(pdu), Receipt | ReceiptParseError)


_FIELD_ID = st.from_regex(r"[0-9A-Za-z][0-9A-Za-z-]{0,30}", fullmatch=True)


@given(
    message_id=_FIELD_ID,
    stat=st.sampled_from(sorted(STAT_WORDS)),
    err=st.from_regex(r"[0-9A-Za-z]{1,4}", fullmatch=True),
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
    submit=st.datetimes(),
    done=st.datetimes(),
    seconds=st.booleans(),
    text=st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=40),
    order=st.permutations(range(7)),
    upper=st.booleans(),
    gap=st.sampled_from([" ", "  ", "\n", " \t "]),
)
def test_any_field_order_case_and_spacing_round_trips(
    *,
    message_id: str,
    stat: str,
    err: str,
    sub: int,
    dlvrd: int,
    submit: datetime,
    done: datetime,
    seconds: bool,
    text: str,
    order: list[int],
    upper: bool,
    gap: str,
) -> None:
    submit = submit.replace(year=2000 + submit.year % 100, microsecond=0)
    done = done.replace(year=2000 + done.year % 100, microsecond=0)
    if not seconds:
        submit, done = submit.replace(second=0), done.replace(second=0)
    fmt = "%y%m%d%H%M%S" if seconds else "%y%m%d%H%M"
    parts = [
        f"id:{message_id}",
        f"sub:{sub:03d}",
        f"dlvrd:{dlvrd:03d}",
        f"submit date:{submit.strftime(fmt)}",
        f"done date:{done.strftime(fmt)}",
        f"stat:{stat}",
        f"err:{err}",
    ]
    if upper:
        parts = [part.split(":", 1)[0].upper() + ":" + part.split(":", 1)[1] for part in parts]
    raw = gap.join(parts[i] for i in order) + gap + "text:" + text
    result = parse_receipt(DeliverSm(esm_class=4, short_message=raw.encode("latin-1")))
    assert result == Receipt(
        message_id=message_id,
        stat=STAT_WORDS[stat],
        err=err,
        submit_date=submit.strftime("%Y-%m-%dT%H:%M:%SZ"),
        done_date=done.strftime("%Y-%m-%dT%H:%M:%SZ"),
        sub=sub,
        dlvrd=dlvrd,
        text=text.strip(),
    )


# --- dates and decoding ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2611261300", "2026-11-26T13:00:00Z"),
        ("261126130004", "2026-11-26T13:00:04Z"),
        ("20261126130004", "2026-11-26T13:00:04Z"),
        ("261126130004012+", "2026-11-26T10:00:04Z"),  # +12 quarter hours: UTC+3
        ("261126130004008-", "2026-11-26T15:00:04Z"),  # -8 quarter hours: UTC-2
        ("261126130004000R", None),  # a relative time is no date
        ("2026-11-26T13:00:04Z", "2026-11-26T13:00:04Z"),
        ("2026-11-26T14:00:04+01:00", "2026-11-26T13:00:04Z"),
        ("2026-11-26 13:00:04", "2026-11-26T13:00:04Z"),
        ("2613261300", None),  # month 13
        ("0000000000", None),
        ("26112613", None),  # too short
        ("YYMMDDhhmm", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_receipt_date(value: str | None, iso: str | None) -> None:
    assert parse_receipt_date(value) == iso


def test_contract_receipt_falls_back_for_done_at() -> None:
    receipt = Receipt(message_id="1", stat="DELIVRD", err="000")
    fallback = "2026-11-26T13:00:04Z"
    assert receipt.contract_receipt(fallback) == {
        "stat": "DELIVRD",
        "err": "000",
        "done_at": fallback,
    }
    dated = Receipt(message_id="1", stat="DELIVRD", done_date="2026-11-26T13:00:00Z")
    assert dated.contract_receipt(fallback)["done_at"] == "2026-11-26T13:00:00Z"


@pytest.mark.parametrize(
    ("body", "data_coding", "text"),
    [
        (b"id:1 text:caf\xc3\xa9", 0, "id:1 text:café"),  # valid UTF-8
        (b"id:1 text:caf\xe9", 3, "id:1 text:café"),  # Latin-1
        ("id:1 text:ü".encode("utf-16-be"), 8, "id:1 text:ü"),
        ("id:1 text:ü".encode("utf-16-be"), 0, "id:1 text:ü"),  # UCS-2 without saying so
        (b"id:1 stat:DELIVRD\x00\x00", 0, "id:1 stat:DELIVRD"),
        (b"\x00", 8, ""),
    ],
)
def test_decode_receipt_text(body: bytes, data_coding: int, text: str) -> None:
    assert decode_receipt_text(body, data_coding) == text
