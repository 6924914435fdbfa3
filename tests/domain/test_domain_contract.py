"""The gateway contract (CONTRACT.md §1-3, §5): entry decoding, events, addresses, times."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.contract import (
    MAX_META_BYTES,
    Accepted,
    Dead,
    OutboundMessage,
    Recipient,
    dead_events,
    dead_letter,
    decode_outbound,
    destination_address,
    format_time,
    format_time_seconds,
    is_e164,
    mo_address,
    mo_event,
    parse_rfc3339,
    rejected_events,
    rejection,
    sender_kind,
    source_address,
    status_event,
    text_error,
    text_error_code,
    validity_period,
)
from connector.domain.receipts import Receipt
from connector.domain.tracker import ContractReceipt, ErrorInfo, RecipientTracker, StatusChange
from connector.text import TextError, plan

MID = "507f1f77bcf86cd799439011"
A = "+243998857000"
B = "+243811234567"
BASE: dict[str, Any] = {"message_id": MID, "to": [A, B], "message": "Hello", "sender_id": "MYAPP"}
DROP = object()
SENDER_RULE = (
    "is not alphanumeric (≤ 11 characters, at least one letter), a short code (3–8 digits) or E.164"
)


def entry(**changes: Any) -> dict[bytes, bytes]:
    """The fields of an outbound entry: BASE with `changes` (DROP removes a key)."""
    data = dict(BASE)
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return {b"data": msgspec.json.encode(data)}


def raw(data: bytes) -> dict[bytes, bytes]:
    return {b"data": data}


def decode(fields: dict[bytes, bytes]) -> Accepted | Dead:
    return decode_outbound("1732620000000-0", fields)


def accepted(fields: dict[bytes, bytes]) -> Accepted:
    result = decode(fields)
    assert isinstance(result, Accepted), result
    return result


def parse_time(text: str) -> float:
    moment = parse_rfc3339(text)
    assert moment is not None
    return moment


# --- §1: malformed entries -------------------------------------------------------------------

ALL = [A, B]
LONG_ID = "x" * 65
MANY = [f"+24399{i:07d}" for i in range(1001)]

# (id, fields, reason, readable message_id, readable recipients, error code)
DEAD_CASES: list[tuple[str, dict[bytes, bytes], str, str | None, list[str], str]] = [
    ("no data field", {b"payload": b"{}"}, "fields: missing 'data'", None, [], "invalid_message"),
    (
        "not JSON",
        raw(b"{not json"),
        "data: not valid JSON (JSON is malformed: object keys must be strings (byte 1))",
        None,
        [],
        "invalid_message",
    ),
    (
        "truncated JSON",
        raw(b'{"message_id": "x"'),
        "data: not valid JSON (Input data was truncated)",
        None,
        [],
        "invalid_message",
    ),
    (
        "empty data",
        raw(b""),
        "data: not valid JSON (Input data was truncated)",
        None,
        [],
        "invalid_message",
    ),
    (
        "trailing garbage",
        raw(b"{} x"),
        "data: not valid JSON (JSON is malformed: trailing characters (byte 4))",
        None,
        [],
        "invalid_message",
    ),
    (
        "invalid UTF-8",
        raw(b'{"message_id": "\xff"}'),
        "data: not valid JSON (invalid UTF-8 in a string: invalid start byte)",
        None,
        [],
        "invalid_message",
    ),
    (
        "lone low surrogate escape",
        raw(b'{"message": "\\udc00"}'),
        "data: not valid JSON (JSON is malformed: invalid utf-16 surrogate pair (byte 19))",
        None,
        [],
        "invalid_message",
    ),
    (
        "lone high surrogate escape",
        raw(b'{"message": "\\ud800x"}'),
        "data: not valid JSON (Input data was truncated)",
        None,
        [],
        "invalid_message",
    ),
    (
        "nested too deeply",
        raw(b"[" * 100_000),
        "data: not valid JSON (nested too deeply)",
        None,
        [],
        "invalid_message",
    ),
    (
        "data an array",
        raw(b"[]"),
        "data: expected a JSON object, got array",
        None,
        [],
        "invalid_message",
    ),
    (
        "data a string",
        raw(b'"x"'),
        "data: expected a JSON object, got string",
        None,
        [],
        "invalid_message",
    ),
    (
        "data a number",
        raw(b"12"),
        "data: expected a JSON object, got number",
        None,
        [],
        "invalid_message",
    ),
    (
        "data null",
        raw(b"null"),
        "data: expected a JSON object, got null",
        None,
        [],
        "invalid_message",
    ),
    # message_id
    (
        "message_id missing",
        entry(message_id=DROP),
        "message_id: missing",
        None,
        ALL,
        "invalid_message",
    ),
    (
        "message_id a number",
        entry(message_id=123),
        "message_id: expected a string, got number",
        None,
        ALL,
        "invalid_message",
    ),
    (
        "message_id null",
        entry(message_id=None),
        "message_id: expected a string, got null",
        None,
        ALL,
        "invalid_message",
    ),
    (
        "message_id empty",
        entry(message_id=""),
        "message_id: '' must be 1-64 characters of [A-Za-z0-9_-]",
        None,
        ALL,
        "invalid_message",
    ),
    (
        "message_id with a space",
        entry(message_id="a b"),
        "message_id: 'a b' must be 1-64 characters of [A-Za-z0-9_-]",
        "a b",
        ALL,
        "invalid_message",
    ),
    (
        "message_id with a slash",
        entry(message_id="abc/def"),
        "message_id: 'abc/def' must be 1-64 characters of [A-Za-z0-9_-]",
        "abc/def",
        ALL,
        "invalid_message",
    ),
    (
        "message_id of 65 characters",
        entry(message_id=LONG_ID),
        f"message_id: '{'x' * 40}…' must be 1-64 characters of [A-Za-z0-9_-]",
        LONG_ID,
        ALL,
        "invalid_message",
    ),
    # to
    ("to missing", entry(to=DROP), "to: missing", MID, [], "invalid_message"),
    ("to a string", entry(to=A), "to: expected an array, got string", MID, [], "invalid_message"),
    ("to null", entry(to=None), "to: expected an array, got null", MID, [], "invalid_message"),
    (
        "to an object",
        entry(to={"a": A}),
        "to: expected an array, got object",
        MID,
        [],
        "invalid_message",
    ),
    ("to empty", entry(to=[]), "to: 1–1000 recipients", MID, [], "invalid_message"),
    ("to of 1001", entry(to=MANY), "to: 1–1000 recipients", MID, MANY, "invalid_message"),
    (
        "to with a number item",
        entry(to=[243998857000]),
        "to[0]: expected a string, got number",
        MID,
        [],
        "invalid_message",
    ),
    (
        "to with a null item",
        entry(to=[A, None]),
        "to[1]: expected a string, got null",
        MID,
        [A],
        "invalid_message",
    ),
    # message
    ("message missing", entry(message=DROP), "message: missing", MID, ALL, "invalid_message"),
    (
        "message a number",
        entry(message=5),
        "message: expected a string, got number",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "message null",
        entry(message=None),
        "message: expected a string, got null",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "message an array",
        entry(message=["Hello"]),
        "message: expected a string, got array",
        MID,
        ALL,
        "invalid_message",
    ),
    ("message empty", entry(message=""), "message: empty", MID, ALL, "empty_message"),
    # sender_id
    ("sender_id missing", entry(sender_id=DROP), "sender_id: missing", MID, ALL, "invalid_sender"),
    (
        "sender_id a number",
        entry(sender_id=12345),
        "sender_id: expected a string, got number",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id punctuation",
        entry(sender_id="MY APP!!"),
        f"sender_id: 'MY APP!!' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id alphanumeric of 12",
        entry(sender_id="ABCDEFGHIJKL"),
        f"sender_id: 'ABCDEFGHIJKL' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id non-ASCII letters",
        entry(sender_id="ÉCOLE"),
        f"sender_id: 'ÉCOLE' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id leading space",
        entry(sender_id=" MYAPP"),
        f"sender_id: ' MYAPP' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id double space",
        entry(sender_id="MY  APP"),
        f"sender_id: 'MY  APP' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id empty",
        entry(sender_id=""),
        f"sender_id: '' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id short code of 2 digits",
        entry(sender_id="12"),
        f"sender_id: '12' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id 9 digits without +",
        entry(sender_id="243998857"),
        f"sender_id: '243998857' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id E.164 too short",
        entry(sender_id="+12"),
        f"sender_id: '+12' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "sender_id E.164 too long",
        entry(sender_id="+1234567890123456"),
        f"sender_id: '+1234567890123456' {SENDER_RULE}",
        MID,
        ALL,
        "invalid_sender",
    ),
    # sending_type / send_at / expires_at
    (
        "sending_type unknown",
        entry(sending_type="later"),
        "sending_type: must be one of immediate, scheduled",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "sending_type a number",
        entry(sending_type=1),
        "sending_type: must be one of immediate, scheduled",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "scheduled without send_at",
        entry(sending_type="scheduled"),
        "send_at: required when sending_type is 'scheduled'",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "scheduled with send_at null",
        entry(sending_type="scheduled", send_at=None),
        "send_at: required when sending_type is 'scheduled'",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at a word",
        entry(sending_type="scheduled", send_at="tomorrow"),
        "send_at: 'tomorrow' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at without an offset",
        entry(send_at="2026-11-26T13:00:04"),
        "send_at: '2026-11-26T13:00:04' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at a date only",
        entry(send_at="2026-11-26"),
        "send_at: '2026-11-26' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at month 13",
        entry(send_at="2026-13-01T00:00:00Z"),
        "send_at: '2026-13-01T00:00:00Z' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at 30 February",
        entry(send_at="2026-02-30T00:00:00Z"),
        "send_at: '2026-02-30T00:00:00Z' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at hour 24",
        entry(send_at="2026-11-26T24:00:00Z"),
        "send_at: '2026-11-26T24:00:00Z' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at offset +24:00",
        entry(send_at="2026-11-26T13:00:00+24:00"),
        "send_at: '2026-11-26T13:00:00+24:00' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "send_at a number",
        entry(sending_type="scheduled", send_at=1795698004),
        "send_at: expected a string, got number",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "expires_at a word",
        entry(expires_at="soon"),
        "expires_at: 'soon' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "expires_at with a bad offset",
        entry(expires_at="2026-11-26T13:00:00+0100"),
        "expires_at: '2026-11-26T13:00:00+0100' is not an RFC 3339 time",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "expires_at a boolean",
        entry(expires_at=True),
        "expires_at: expected a string, got boolean",
        MID,
        ALL,
        "invalid_message",
    ),
    # priority / encoding / smart_encoding / carrier / receipt
    (
        "priority unknown",
        entry(priority="urgent"),
        "priority: must be one of high, normal, low",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "priority upper case",
        entry(priority="HIGH"),
        "priority: must be one of high, normal, low",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "priority a number",
        entry(priority=1),
        "priority: must be one of high, normal, low",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "encoding unknown",
        entry(encoding="utf8"),
        "encoding: must be one of auto, gsm7, ucs2",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "encoding an array",
        entry(encoding=["gsm7"]),
        "encoding: must be one of auto, gsm7, ucs2",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "smart_encoding a string",
        entry(smart_encoding="yes"),
        "smart_encoding: expected a boolean, got string",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "smart_encoding a number",
        entry(smart_encoding=1),
        "smart_encoding: expected a boolean, got number",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "carrier a number",
        entry(carrier=5),
        "carrier: expected a string, got number",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "receipt a string",
        entry(receipt="true"),
        "receipt: expected a boolean, got string",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "receipt a number",
        entry(receipt=0),
        "receipt: expected a boolean, got number",
        MID,
        ALL,
        "invalid_message",
    ),
    # meta
    (
        "meta an array",
        entry(meta=[1]),
        "meta: expected a JSON object, got array",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "meta a string",
        entry(meta="acme"),
        "meta: expected a JSON object, got string",
        MID,
        ALL,
        "invalid_message",
    ),
    (
        "meta too large",
        entry(meta={"k": "x" * (MAX_META_BYTES - 7)}),
        "meta: larger than 4 KiB encoded",
        MID,
        ALL,
        "invalid_message",
    ),
    # several problems: all reported in field order, the first one's code
    (
        "only a message_id",
        raw(b'{"message_id": "m1"}'),
        "to: missing; message: missing; sender_id: missing",
        "m1",
        [],
        "invalid_message",
    ),
    (
        "empty message and a bad sender",
        entry(message="", sender_id="!"),
        f"message: empty; sender_id: '!' {SENDER_RULE}",
        MID,
        ALL,
        "empty_message",
    ),
    (
        "bad sender and a bad priority",
        entry(sender_id="!", priority="x"),
        f"sender_id: '!' {SENDER_RULE}; priority: must be one of high, normal, low",
        MID,
        ALL,
        "invalid_sender",
    ),
    (
        "a bad number does not mask an entry problem",
        entry(to=["+12", A], message=""),
        "message: empty",
        MID,
        ["+12", A],
        "empty_message",
    ),
]


@pytest.mark.parametrize(
    ("fields", "reason", "message_id", "recipients", "code"),
    [case[1:] for case in DEAD_CASES],
    ids=[case[0] for case in DEAD_CASES],
)
def test_malformed_entry_is_dead_with_its_reason(
    fields: dict[bytes, bytes],
    reason: str,
    message_id: str | None,
    recipients: list[str],
    code: str,
) -> None:
    result = decode(fields)
    assert result == Dead(
        reason=reason,
        message_id=message_id,
        recipients=recipients,
        error_code=code,  # type: ignore[arg-type]
        meta=result.meta if isinstance(result, Dead) else {},
    )

    events = [json.loads(event) for event in dead_events(result, at=1795698004.5)]
    if message_id is None:
        assert events == []
        return
    assert [event["to"] for event in events] == recipients
    for event in events:
        assert event == {
            "message_id": message_id,
            "to": event["to"],
            "status": "rejected",
            "carrier": None,
            "parts": 0,
            "smsc_ids": [],
            "error": {"code": code, "smpp_status": None, "description": reason},
            "receipt": None,
            "at": "2026-11-26T13:00:04.500000Z",
            "meta": {},
        }


def test_dead_entry_keeps_its_valid_meta_for_the_events() -> None:
    result = decode(entry(message="", meta={"account": "acme", "callback_url": "https://x/cb"}))
    assert isinstance(result, Dead)
    assert result.meta == {"account": "acme", "callback_url": "https://x/cb"}
    events = [json.loads(event) for event in dead_events(result, at=0.0)]
    assert [event["meta"] for event in events] == [result.meta, result.meta]
    assert {event["error"]["code"] for event in events} == {"empty_message"}


def test_dead_entry_with_a_bad_meta_has_no_meta() -> None:
    result = decode(entry(meta=[1]))
    assert isinstance(result, Dead)
    assert result.meta == {}


def test_meta_of_exactly_4_kib_is_accepted() -> None:
    meta = {"k": "x" * (MAX_META_BYTES - 8)}
    assert len(msgspec.json.encode(meta)) == MAX_META_BYTES
    assert accepted(entry(meta=meta)).message.meta == meta
    assert isinstance(decode(entry(meta={"k": "x" * (MAX_META_BYTES - 7)})), Dead)


def test_meta_size_is_measured_compact() -> None:
    # 4000 spaces of indentation in the sent JSON do not count.
    padded = b'{"message_id": "m", "to": ["+243998857000"], "message": "x", "sender_id": "AB",'
    padded += b' "meta": {' + b" " * 4000 + b'"k": "' + b"x" * 4000 + b'"}}'
    assert accepted(raw(padded)).message.meta == {"k": "x" * 4000}


# --- §1: per-recipient rejection and duplicates ----------------------------------------------


def test_one_bad_number_rejects_that_recipient_only() -> None:
    result = accepted(entry(to=[A, "+12", B, "243998857000", ""]))
    assert result.recipients == [Recipient(A, 0), Recipient(B, 2)]
    assert [(r.to, r.index, r.error) for r in result.rejected] == [
        (
            "+12",
            1,
            ErrorInfo("invalid_destination", None, "to[1]: '+12' is not an E.164 number"),
        ),
        (
            "243998857000",
            3,
            ErrorInfo("invalid_destination", None, "to[3]: '243998857000' is not an E.164 number"),
        ),
        ("", 4, ErrorInfo("invalid_destination", None, "to[4]: '' is not an E.164 number")),
    ]
    events = [json.loads(event) for event in rejected_events(result, at=1795698004.0)]
    assert events[0] == {
        "message_id": MID,
        "to": "+12",
        "status": "rejected",
        "carrier": None,
        "parts": 0,
        "smsc_ids": [],
        "error": {
            "code": "invalid_destination",
            "smpp_status": None,
            "description": "to[1]: '+12' is not an E.164 number",
        },
        "receipt": None,
        "at": "2026-11-26T13:00:04.000000Z",
        "meta": {},
    }
    assert [event["to"] for event in events] == ["+12", "243998857000", ""]


def test_every_number_bad_is_still_accepted_with_no_recipients() -> None:
    result = accepted(entry(to=["+12", "abc"]))
    assert result.recipients == []
    assert [r.to for r in result.rejected] == ["+12", "abc"]


def test_duplicated_numbers_are_deduplicated_keeping_the_first() -> None:
    result = accepted(entry(to=[A, B, A, "+12", "+12", B]))
    assert result.recipients == [Recipient(A, 0), Recipient(B, 1)]
    assert [(r.to, r.index) for r in result.rejected] == [("+12", 3)]


def test_recipient_bound_counts_the_array_as_sent() -> None:
    assert len(accepted(entry(to=[A] * 1000)).recipients) == 1
    result = decode(entry(to=[A] * 1001))
    assert isinstance(result, Dead)
    assert result.reason == "to: 1–1000 recipients"
    assert result.recipients == [A]


def test_a_thousand_distinct_recipients_are_accepted() -> None:
    assert len(accepted(entry(to=MANY[:1000])).recipients) == 1000


def test_bad_number_reason_cuts_a_long_value() -> None:
    result = accepted(entry(to=["9" * 100]))
    assert result.rejected[0].error.description == f"to[0]: '{'9' * 40}…' is not an E.164 number"
    assert result.rejected[0].to == "9" * 100


# --- §1: valid entries -----------------------------------------------------------------------


def test_minimal_entry_takes_the_defaults() -> None:
    result = accepted(entry())
    assert result.message == OutboundMessage(
        entry_id="1732620000000-0",
        message_id=MID,
        message="Hello",
        sender_id="MYAPP",
        sending_type="immediate",
        send_at=None,
        expires_at=None,
        priority="normal",
        encoding="auto",
        smart_encoding=None,
        carrier=None,
        receipt=True,
        meta={},
    )
    assert result.message.hold_until is None
    assert result.recipients == [Recipient(A, 0), Recipient(B, 1)]
    assert result.rejected == []


def test_every_field_round_trips() -> None:
    result = accepted(
        entry(
            sending_type="scheduled",
            send_at="2026-11-26T14:00:04.25+01:00",
            expires_at="2026-11-26T15:00:00Z",
            priority="high",
            encoding="ucs2",
            smart_encoding=True,
            carrier="airtel-cd",
            receipt=False,
            meta={"account": "acme", "n": [1, 2.5, None, {"x": True}]},
            unknown_field={"ignored": 1},
        )
    )
    message = result.message
    assert message.sending_type == "scheduled"
    assert message.send_at == 1795698004.25
    assert message.hold_until == 1795698004.25
    assert message.expires_at == 1795705200.0
    assert message.priority == "high"
    assert message.encoding == "ucs2"
    assert message.smart_encoding is True
    assert message.carrier == "airtel-cd"
    assert message.receipt is False
    assert message.meta == {"account": "acme", "n": [1, 2.5, None, {"x": True}]}


def test_null_optional_fields_are_absent() -> None:
    result = accepted(
        entry(
            sending_type=None,
            send_at=None,
            expires_at=None,
            priority=None,
            encoding=None,
            smart_encoding=None,
            carrier=None,
            receipt=None,
            meta=None,
        )
    )
    assert result.message == accepted(entry()).message


def test_send_at_of_an_immediate_message_is_kept_but_does_not_hold() -> None:
    message = accepted(entry(send_at="2026-11-26T13:00:04Z")).message
    assert message.send_at == 1795698004.0
    assert message.hold_until is None


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("MYAPP", "alphanumeric"),
        ("MY APP", "alphanumeric"),
        ("A", "alphanumeric"),
        ("1234567890A", "alphanumeric"),
        ("Bank 2 Go", "alphanumeric"),
        ("123", "shortcode"),
        ("12345678", "shortcode"),
        ("+12345678", "e164"),
        ("+123456789012345", "e164"),
    ],
)
def test_each_kind_of_sender_is_accepted(sender: str, kind: str) -> None:
    assert accepted(entry(sender_id=sender)).message.sender_id == sender
    assert sender_kind(sender) == kind


def test_unicode_message_is_kept_exactly() -> None:
    text = "Salut 😀 — مرحبا\n\t\u00a0"
    assert accepted(entry(message=text)).message.message == text


# --- §1: properties --------------------------------------------------------------------------

E164 = st.from_regex(r"\A\+[0-9]{8,15}\Z", fullmatch=True)
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "message_id": st.from_regex(r"\A[A-Za-z0-9_ -]{0,66}\Z", fullmatch=True) | JSON,
    "to": st.lists(E164 | st.text(max_size=17) | JSON, max_size=5) | JSON,
    "message": st.text(max_size=30) | JSON,
    "sender_id": st.sampled_from(["MYAPP", "MY APP!!", "123", "+243998857000", "", "12"]) | JSON,
    "sending_type": st.sampled_from(["immediate", "scheduled", "later"]) | JSON,
    "send_at": st.sampled_from(["2026-11-26T13:00:04Z", "2026-13-01T00:00:00Z"]) | JSON,
    "expires_at": st.sampled_from(["2026-11-26T13:00:04+01:00", "x"]) | JSON,
    "priority": st.sampled_from(["high", "normal", "low", "urgent"]) | JSON,
    "encoding": st.sampled_from(["auto", "gsm7", "ucs2", "utf8"]) | JSON,
    "smart_encoding": JSON,
    "carrier": JSON,
    "receipt": JSON,
    "meta": JSON,
}
ENTRY_JSON = st.fixed_dictionaries({}, optional=PLAUSIBLE) | JSON


def check_outcome(fields: dict[bytes, bytes]) -> None:
    result = decode(fields)
    if isinstance(result, Dead):
        assert result.reason
        letter = json.loads(dead_letter(result.reason, "sms:outbound", "1-0", fields))
        assert letter["reason"] == result.reason
        for event in dead_events(result, at=1795698004.0):
            assert json.loads(event)["status"] == "rejected"
        return
    assert isinstance(result, Accepted)
    numbers = [r.to for r in result.recipients]
    assert all(is_e164(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)
    assert not any(is_e164(r.to) for r in result.rejected)
    for event in rejected_events(result, at=1795698004.0):
        assert json.loads(event)["error"]["code"] == "invalid_destination"


@given(ENTRY_JSON)
@settings(max_examples=400)
def test_any_json_data_is_dead_or_accepted(data: Any) -> None:
    check_outcome(raw(msgspec.json.encode(data)))


@given(st.binary(max_size=200))
def test_any_bytes_as_data_are_dead_or_accepted(data: bytes) -> None:
    check_outcome(raw(data))


@given(st.binary(min_size=1, max_size=8), st.integers(min_value=0))
def test_corrupted_valid_entry_is_dead_or_accepted(junk: bytes, where: int) -> None:
    data = entry(meta={"a": 1})[b"data"]
    at = where % len(data)
    check_outcome(raw(data[:at] + junk + data[at + len(junk) :]))


@given(
    message_id=st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z", fullmatch=True),
    to=st.lists(E164, min_size=1, max_size=20),
    message=st.text(min_size=1, max_size=50),
    sender_id=st.from_regex(r"\A[0-9]{3,8}\Z", fullmatch=True)
    | E164
    | st.from_regex(r"\A[A-Z][A-Za-z0-9]{0,10}\Z", fullmatch=True),
    priority=st.sampled_from(["high", "normal", "low"]),
    encoding=st.sampled_from(["auto", "gsm7", "ucs2"]),
    smart=st.none() | st.booleans(),
    receipt=st.booleans(),
    carrier=st.none() | st.text(max_size=10),
    expires=st.none() | st.integers(min_value=0, max_value=4_000_000_000),
    meta=st.dictionaries(st.text(max_size=8), JSON, max_size=4),
)
def test_valid_entries_round_trip(
    message_id: str,
    to: list[str],
    message: str,
    sender_id: str,
    priority: str,
    encoding: str,
    smart: bool | None,
    receipt: bool,
    carrier: str | None,
    expires: int | None,
    meta: dict[str, Any],
) -> None:
    expires_text = None if expires is None else format_time(expires)
    result = accepted(
        {
            b"data": msgspec.json.encode(
                {
                    "message_id": message_id,
                    "to": to,
                    "message": message,
                    "sender_id": sender_id,
                    "priority": priority,
                    "encoding": encoding,
                    "smart_encoding": smart,
                    "receipt": receipt,
                    "carrier": carrier,
                    "expires_at": expires_text,
                    "meta": meta,
                }
            )
        }
    )
    assert result.message == OutboundMessage(
        entry_id="1732620000000-0",
        message_id=message_id,
        message=message,
        sender_id=sender_id,
        priority=priority,  # type: ignore[arg-type]
        encoding=encoding,  # type: ignore[arg-type]
        smart_encoding=smart,
        carrier=carrier,
        receipt=receipt,
        expires_at=None if expires is None else float(expires),
        meta=meta,
    )
    assert [r.to for r in result.recipients] == list(dict.fromkeys(to))
    assert result.rejected == []


# --- RFC 3339 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2026-11-26T13:00:04Z", 1795698004.0),
        ("2026-11-26T13:00:04.213071Z", 1795698004.213071),
        ("2026-11-26T14:00:04+01:00", 1795698004.0),
        ("2026-11-26T08:30:04-04:30", 1795698004.0),
        ("2026-11-26T13:00:04-00:00", 1795698004.0),
        ("2026-11-26t13:00:04z", 1795698004.0),
        ("2026-11-26 13:00:04Z", 1795698004.0),
        ("2016-12-31T23:59:60Z", 1483228800.0),  # a leap second reads as the next second
        ("1970-01-01T00:00:00Z", 0.0),
        ("2024-02-29T00:00:00Z", 1709164800.0),
    ],
)
def test_rfc3339_times_parse_to_utc_epoch(text: str, epoch: float) -> None:
    assert parse_rfc3339(text) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-26",
        "2026-11-26T13:00Z",
        "2026-11-26T13:00:04",
        "2026-11-26T13:00:04+01",
        "2026-11-26T13:00:04+0100",
        "2026-11-26T13:00:04.Z",
        "2026-11-26T13:00:04Z ",
        "2026-11-26T13:00:61Z",
        "2026-11-26T13:60:00Z",
        "2026-11-26T24:00:00Z",
        "2026-00-26T13:00:04Z",
        "2026-11-00T13:00:04Z",
        "2025-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-11-26T13:00:04+01:60",
        "２０２６-11-26T13:00:04Z",
        "26-11-26T13:00:04Z",
    ],
)
def test_not_rfc3339(text: str) -> None:
    assert parse_rfc3339(text) is None


# --- §2 status events ------------------------------------------------------------------------

CONTRACT_EXAMPLE = """
{"message_id": "507f1f77bcf86cd799439011", "to": "+243998857000", "status": "delivered",
 "carrier": "airtel-cd", "parts": 1, "smsc_ids": ["5f1a9c"],
 "error": null,
 "receipt": {"stat": "DELIVRD", "err": "000", "done_at": "2026-11-26T13:00:04Z"},
 "at": "2026-11-26T13:00:04.213071Z", "meta": {"account": "acme"}}
"""
DELIVRD: ContractReceipt = {"stat": "DELIVRD", "err": "000", "done_at": "2026-11-26T13:00:04Z"}
UNDELIV: ContractReceipt = {"stat": "UNDELIV", "err": "001", "done_at": "2026-11-26T13:00:04Z"}


def test_status_event_is_the_contract_example() -> None:
    change = StatusChange(status="delivered", receipt=dict(DELIVRD), smsc_ids=("5f1a9c",))
    event = status_event(
        MID,
        A,
        change,
        carrier="airtel-cd",
        parts=1,
        at=parse_time("2026-11-26T13:00:04.213071Z"),
        meta={"account": "acme"},
    )
    expected = json.loads(CONTRACT_EXAMPLE)
    assert json.loads(event) == expected
    assert list(json.loads(event)) == list(expected)  # same key order too


def test_status_event_from_a_tracked_message_is_the_contract_example() -> None:
    message = accepted(entry(to=[A], meta={"account": "acme"})).message
    tracker = RecipientTracker(parts=1)
    receipt = Receipt(message_id="5f1a9c", stat="DELIVRD", err="000", done_date=DELIVRD["done_at"])
    changes = tracker.routed() + tracker.part_accepted(0, "5f1a9c") + tracker.receipt(0, receipt)
    events = [
        json.loads(
            status_event(
                message.message_id,
                A,
                change,
                carrier="airtel-cd",
                parts=1,
                at=parse_time("2026-11-26T13:00:04.213071Z"),
                meta=message.meta,
            )
        )
        for change in changes
    ]
    assert [event["status"] for event in events] == ["processing", "sent", "delivered"]
    assert events[-1] == json.loads(CONTRACT_EXAMPLE)
    assert events[0]["smsc_ids"] == []
    assert events[1]["smsc_ids"] == ["5f1a9c"]
    for event in events[:2]:
        assert event["error"] is None
        assert event["receipt"] is None


RECEIPT_ERROR = ErrorInfo("receipt", None, "UNDELIV err:001")

# (change, error present, receipt present)
PRESENCE_CASES: list[tuple[StatusChange, bool, bool]] = [
    (StatusChange(status="processing"), False, False),
    (StatusChange(status="sent", smsc_ids=("a", "b")), False, False),
    (StatusChange(status="delivered", receipt=DELIVRD, smsc_ids=("a",)), False, True),
    (StatusChange(status="undelivered", error=RECEIPT_ERROR, receipt=UNDELIV), True, True),
    (StatusChange(status="expired", error=ErrorInfo("expired", None, "expires_at")), True, False),
    (
        StatusChange(
            status="expired",
            error=ErrorInfo("receipt", None, "EXPIRED"),
            receipt={**UNDELIV, "stat": "EXPIRED"},
        ),
        True,
        True,
    ),
    (
        StatusChange(status="rejected", error=ErrorInfo("smsc_rejected", 11, "ESME_RINVDSTADR")),
        True,
        False,
    ),
    (
        StatusChange(
            status="rejected",
            error=ErrorInfo("receipt", None, "REJECTD"),
            receipt={**UNDELIV, "stat": "REJECTD"},
        ),
        True,
        True,
    ),
    (StatusChange(status="failed", error=ErrorInfo("no_route", None, "no carrier")), True, False),
    (
        StatusChange(
            status="failed", error=ErrorInfo("retries_exhausted", 0x58, "ESME_RTHROTTLED")
        ),
        True,
        False,
    ),
]


@pytest.mark.parametrize(
    ("change", "has_error", "has_receipt"),
    PRESENCE_CASES,
    ids=[
        f"{case[0].status}-{case[0].error.code if case[0].error else 'ok'}"
        for case in PRESENCE_CASES
    ],
)
def test_error_and_receipt_presence_per_status(
    change: StatusChange, has_error: bool, has_receipt: bool
) -> None:
    event = json.loads(status_event(MID, A, change, carrier="c", parts=2, at=0.0))
    assert event["status"] == change.status
    assert (event["error"] is not None) == has_error
    assert (event["receipt"] is not None) == has_receipt
    if change.error is not None:
        assert event["error"] == {
            "code": change.error.code,
            "smpp_status": change.error.smpp_status,
            "description": change.error.description,
        }
    assert event["receipt"] == change.receipt
    assert event["smsc_ids"] == list(change.smsc_ids)
    assert event["meta"] == {}
    assert event["parts"] == 2


@pytest.mark.parametrize(
    "change",
    [
        StatusChange(status="processing", error=RECEIPT_ERROR),
        StatusChange(status="sent", receipt=DELIVRD),
        StatusChange(status="delivered"),
        StatusChange(status="delivered", receipt=DELIVRD, error=RECEIPT_ERROR),
        StatusChange(status="undelivered", receipt=UNDELIV),
        StatusChange(status="undelivered", error=RECEIPT_ERROR),
        StatusChange(status="rejected", error=ErrorInfo("smsc_rejected", 11, "x"), receipt=UNDELIV),
        StatusChange(status="failed"),
    ],
    ids=lambda change: change.status,
)
def test_status_event_refuses_a_change_breaking_the_presence_rules(change: StatusChange) -> None:
    with pytest.raises(ValueError, match=change.status):
        status_event(MID, A, change, carrier="c", parts=1, at=0.0)


def test_tracker_changes_all_encode() -> None:
    rejected_tracker = RecipientTracker(parts=2)
    rejected_changes = rejected_tracker.part_accepted(0, "x") + rejected_tracker.part_rejected(
        1, 11, "ESME_RINVDSTADR"
    )
    undelivered = RecipientTracker(parts=1)
    undelivered_changes = undelivered.part_accepted(0, "y") + undelivered.receipt(
        0, Receipt(message_id="y", stat="UNDELIV", err="001")
    )
    aborted = RecipientTracker(parts=1).abort("expired", ErrorInfo("expired", None, "too late"))
    for change in rejected_changes + undelivered_changes + aborted:
        json.loads(status_event(MID, A, change, carrier="c", parts=1, at=0.0))


def test_rejection_helper() -> None:
    error = ErrorInfo("message_too_long", None, "too long")
    assert rejection(error) == StatusChange(status="rejected", error=error)


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000000Z"),
        (1795698004.213071, "2026-11-26T13:00:04.213071Z"),
        (1795698004.0, "2026-11-26T13:00:04.000000Z"),
        (1795698004.9999996, "2026-11-26T13:00:05.000000Z"),
        (1795698004.000001, "2026-11-26T13:00:04.000001Z"),
        (951782400.5, "2000-02-29T00:00:00.500000Z"),
    ],
)
def test_event_time_has_microseconds(at: float, text: str) -> None:
    assert format_time(at) == text
    assert format_time(at) == text  # from the one-second memo too
    assert parse_rfc3339(text) == pytest.approx(round(at, 6), abs=1e-6)


def test_event_time_memo_follows_the_second() -> None:
    assert format_time(100.5) == "1970-01-01T00:01:40.500000Z"
    assert format_time(101.25) == "1970-01-01T00:01:41.250000Z"
    assert format_time(100.75) == "1970-01-01T00:01:40.750000Z"


# --- §3 MO and §5 dead letters ---------------------------------------------------------------


def test_mo_event_is_the_contract_example() -> None:
    event = mo_event(
        "+243998857000",
        "MYAPP",
        "STOP",
        carrier="airtel-cd",
        parts=1,
        complete=True,
        received_at=parse_time("2026-11-26T13:05:00.75Z"),
    )
    expected = {
        "from": "+243998857000",
        "to": "MYAPP",
        "message": "STOP",
        "carrier": "airtel-cd",
        "parts": 1,
        "complete": True,
        "received_at": "2026-11-26T13:05:00Z",
    }
    assert json.loads(event) == expected
    assert list(json.loads(event)) == list(expected)


def test_incomplete_mo_event() -> None:
    event = json.loads(
        mo_event(
            "+243998857000",
            "12345",
            "first half",
            carrier="c",
            parts=3,
            complete=False,
            received_at=0,
        )
    )
    assert event["complete"] is False
    assert event["parts"] == 3
    assert event["received_at"] == "1970-01-01T00:00:00Z"


def test_mo_event_replaces_a_lone_surrogate() -> None:
    event = json.loads(
        mo_event(
            "+1234567890", "A", "a\ud800b😀", carrier="c", parts=1, complete=True, received_at=0
        )
    )
    assert event["message"] == "a\ufffdb😀"


@pytest.mark.parametrize(
    ("ton", "addr", "expected"),
    [
        (1, "243998857000", "+243998857000"),
        (0, "243998857000", "243998857000"),
        (5, "MYAPP", "MYAPP"),
        (1, "+2439", "+2439"),
    ],
)
def test_mo_address(ton: int, addr: str, expected: str) -> None:
    assert mo_address(ton, addr) == expected


def test_dead_letter_is_the_contract_shape() -> None:
    fields = {b"data": b'{"to": ["+12"]}'}
    letter = dead_letter(
        "to[0]: '+12' is not an E.164 number", "sms:outbound", "1732620000000-0", fields
    )
    expected = {
        "reason": "to[0]: '+12' is not an E.164 number",
        "stream": "sms:outbound",
        "id": "1732620000000-0",
        "fields": {"data": '{"to": ["+12"]}'},
    }
    assert json.loads(letter) == expected
    assert list(json.loads(letter)) == list(expected)


def test_dead_letter_decodes_bad_utf8_with_replacement() -> None:
    letter = json.loads(
        dead_letter("r", "sms:outbound", "1-0", {b"data": b"\xff{}", b"\xfekey": b"v"})
    )
    assert letter["fields"] == {"data": "\ufffd{}", "\ufffdkey": "v"}


@pytest.mark.parametrize("case", DEAD_CASES, ids=[case[0] for case in DEAD_CASES])
def test_every_dead_case_makes_a_dead_letter(case: tuple[Any, ...]) -> None:
    fields = case[1]
    letter = json.loads(dead_letter(case[2], "sms:outbound", "1-0", fields))
    assert letter["reason"] == case[2]
    assert set(letter["fields"]) == {key.decode() for key in fields}


# --- text errors -----------------------------------------------------------------------------


def _text_error(text: str, **options: Any) -> TextError:
    with pytest.raises(TextError) as info:
        plan(text, **options)
    return info.value


@pytest.mark.parametrize(
    ("text", "options", "code"),
    [
        ("", {}, "empty_message"),
        ("x" * 2000, {"max_parts": 1}, "message_too_long"),
        ("日本", {"encoding": "gsm7"}, "invalid_message"),
    ],
)
def test_text_errors_map_to_contract_codes(text: str, options: dict[str, Any], code: str) -> None:
    exc = _text_error(text, **options)
    assert text_error_code(exc) == code
    assert text_error(exc) == ErrorInfo(code, None, str(exc))


def test_unknown_text_error_code_is_invalid_message() -> None:
    assert text_error_code(TextError("odd", "odd")) == "invalid_message"


# --- addresses and validity period -----------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("+12345678", True),
        ("+123456789012345", True),
        ("+243998857000", True),
        ("+1234567", False),
        ("+1234567890123456", False),
        ("243998857000", False),
        ("++243998857000", False),
        ("+243 998 857 000", False),
        ("+243998857000\n", False),
        ("+٢٤٣٩٩٨٨٥٧٠٠٠", False),
        ("", False),
    ],
)
def test_is_e164(number: str, valid: bool) -> None:
    assert is_e164(number) is valid


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("MYAPP", "alphanumeric"),
        ("MY APP", "alphanumeric"),
        ("ABCDEFGHIJK", "alphanumeric"),
        ("1A", "alphanumeric"),
        ("ABCDEFGHIJKL", None),
        ("MY APP!!", None),
        ("MY-APP", None),
        ("MYAPP ", None),
        ("", None),
        ("123", "shortcode"),
        ("12345678", "shortcode"),
        ("12", None),
        ("123456789", None),
        ("+243998857000", "e164"),
        ("+1234567", None),
    ],
)
def test_sender_kind(sender: str, kind: str | None) -> None:
    assert sender_kind(sender) == kind


def test_source_address_per_sender_kind() -> None:
    assert source_address("MY APP") == (5, 0, "MY APP")
    assert source_address("12345") == (3, 0, "12345")
    assert source_address("12345", shortcode_ton=0, shortcode_npi=1) == (0, 1, "12345")
    assert source_address("+243998857000") == (1, 1, "243998857000")
    with pytest.raises(ValueError, match="is not alphanumeric"):
        source_address("MY APP!!")


def test_destination_address() -> None:
    assert destination_address("+243998857000") == (1, 1, "243998857000")
    with pytest.raises(ValueError, match=r"not an E\.164 number"):
        destination_address("243998857000")


@pytest.mark.parametrize(
    ("expires_at", "now", "period"),
    [
        (None, 0.0, None),
        (parse_rfc3339("2026-11-26T13:00:04Z"), 0.0, "261126130004000+"),
        (parse_rfc3339("2026-11-26T14:00:04.9+01:00"), 0.0, "261126130004000+"),
        (parse_rfc3339("2000-01-01T00:00:00Z"), 0.0, "000101000000000+"),
        (parse_rfc3339("2099-12-31T23:59:59Z"), 0.0, "991231235959000+"),
        (parse_rfc3339("2100-01-01T00:00:00Z"), 0.0, None),
        (1795698004.5, 1795698004.25, "261126130004000+"),
    ],
)
def test_validity_period_is_smpp_absolute_utc(
    expires_at: float | None, now: float, period: str | None
) -> None:
    assert validity_period(expires_at, now) == period


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (1795698004.0, "261126130005000+"),
        (1795698005.0, "261126130006000+"),
        (1795698003.5, "261126130004000+"),
        (1795698002.0, "261126130004000+"),
    ],
)
def test_validity_period_never_lies_in_the_past(now: float, period: str) -> None:
    # expires_at 2026-11-26T13:00:04Z: once it has passed, now + 1 s.
    assert validity_period(1795698004.0, now) == period


def test_format_time_seconds_floors() -> None:
    assert format_time_seconds(1795698004.999) == "2026-11-26T13:00:04Z"


def test_sender_kind_remembers_a_bounded_number_of_ids_and_answers_the_same() -> None:
    """Classifications are cached per sender id: a flood of distinct ids stays bounded and
    every answer is the one the rules give (the first time and from the cache)."""
    from connector.domain import contract

    ids = [f"S{n:05d}" for n in range(6000)] + [f"+2438{n:08d}" for n in range(100)]
    first = [sender_kind(s) for s in ids]
    again = [sender_kind(s) for s in ids]
    assert first == again
    assert first[:6000] == ["alphanumeric"] * 6000
    assert first[6000:] == ["e164"] * 100
    assert sender_kind("bad sender!") is None
    assert sender_kind("bad sender!") is None  # a cached None is still None
    assert len(contract._SENDER_KINDS) <= contract._SENDER_KINDS_MAX
