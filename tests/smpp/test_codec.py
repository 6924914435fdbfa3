"""Codec: round trips of every PDU, byte-for-byte smpplib compatibility, hostile input.

Every test runs against the public `encode` / `decode` (which may be the C speedups) and, when
those are accelerated, against the pure Python codec as well.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpplib import smpp as smpplib_smpp
from smpplib.ptypes import ostr as smpplib_ostr

from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import EncodeError, PduError
from connector.smpp.pdu import Tlvs, TlvValue
from connector.smpp.tlv import TLV_TYPES


class Codec(NamedTuple):
    name: str
    decode: Callable[[bytes], p.Pdu]
    encode: Callable[[p.Pdu], bytes]


CODECS = [Codec("public", codec.decode, codec.encode)]
if getattr(codec, "ACCELERATED", False):
    CODECS.append(Codec("pure-python", codec.decode_python, codec.encode_python))
ALL_CODECS = pytest.mark.parametrize("impl", CODECS, ids=[impl.name for impl in CODECS])

SEQ = 0x01020304
RESPONSE_CLASSES = [cls for cls in p.PDU_CLASSES if cls.is_response]
FIELD_DEFAULTS = {"c": b"1\0", "i": b"\x01", "s": b"\x02hi", "t": b""}


def _name(cls: type[p.Pdu]) -> str:
    return c.command_name(cls.command_id)


def _frame(
    command_id: int,
    body: bytes = b"",
    *,
    status: int = 0,
    seq: int = SEQ,
    length: int | None = None,
) -> bytes:
    return (
        struct.pack(">IIII", 16 + len(body) if length is None else length, command_id, status, seq)
        + body
    )


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def _body(
    cls: type[p.Pdu], target: str = "", replacement: bytes = b"", *, stop: bool = False
) -> bytes:
    """A valid body for `cls`, field `target` replaced (and the body ending there if `stop`)."""
    out = b""
    for name, kind, _, _ in codec.FIELDS[cls]:
        if name == target:
            out += replacement
            if stop:
                return out
        else:
            out += FIELD_DEFAULTS[kind]
    return out


# ------------------------------------------------------------------------------- strategies

U32 = st.integers(0, 0xFFFFFFFF)
OCTET = st.integers(0, 0xFF)
STATUSES = st.one_of(st.just(0), st.sampled_from(sorted(c.STATUS_NAMES)), U32)


def cstrings(size: int) -> st.SearchStrategy[str]:
    """Latin-1 C-Octet String contents that fit a field of `size` octets with its NUL."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=size - 1)


def tlv_value(tag: int) -> st.SearchStrategy[TlvValue]:
    kind, size = TLV_TYPES[tag]
    if isinstance(kind, int):
        return st.integers(0, (1 << (8 * kind)) - 1)
    if kind == "c":
        return cstrings(size)
    if kind == "o":
        return st.binary(max_size=min(size, 300))
    return st.just(b"")


UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLV_TYPES)
TLV_ITEMS: st.SearchStrategy[tuple[int, TlvValue]] = st.one_of(
    st.sampled_from(sorted(TLV_TYPES)).flatmap(lambda tag: st.tuples(st.just(tag), tlv_value(tag))),
    st.tuples(UNKNOWN_TAGS, st.binary(max_size=60)),
)
TLVS: st.SearchStrategy[Tlvs] = st.lists(TLV_ITEMS, unique_by=lambda item: item[0], max_size=6).map(
    dict
)


def field_values(kind: str, size: int) -> st.SearchStrategy[Any]:
    if kind == "c":
        return cstrings(size)
    if kind == "i":
        return OCTET
    if kind == "s":
        return st.binary(max_size=size)
    return TLVS


def pdus(cls: type[p.Pdu]) -> st.SearchStrategy[p.Pdu]:
    """Any valid `cls`: every field within the limits `codec.FIELDS` gives it."""
    fields = {name: field_values(kind, size) for name, kind, size, _ in codec.FIELDS[cls]}
    return st.builds(cls, command_status=STATUSES, sequence_number=U32, **fields)


ANY_PDU = st.sampled_from(p.PDU_CLASSES).flatmap(pdus)


# ------------------------------------------------------------------------------ round trips


def test_field_table_covers_every_pdu_class_and_every_body_field() -> None:
    assert set(codec.FIELDS) == set(p.PDU_CLASSES)
    for cls in p.PDU_CLASSES:
        body_fields = [
            f for f in cls.__struct_fields__ if f not in ("command_status", "sequence_number")
        ]
        assert [name for name, *_ in codec.FIELDS[cls]] == body_fields, cls.__name__
        assert p.PDU_BY_COMMAND_ID[cls.command_id] is cls


@ALL_CODECS
@pytest.mark.parametrize("cls", p.PDU_CLASSES, ids=_name)
@settings(max_examples=40)
@given(data=st.data())
def test_every_pdu_class_round_trips_through_encode_and_decode(
    impl: Codec, cls: type[p.Pdu], data: st.DataObject
) -> None:
    pdu = data.draw(pdus(cls))
    encoded = impl.encode(pdu)
    assert struct.unpack_from(">IIII", encoded) == (
        len(encoded),
        cls.command_id,
        pdu.command_status,
        pdu.sequence_number,
    )
    decoded = impl.decode(encoded)
    assert type(decoded) is cls
    assert decoded == pdu
    assert impl.encode(decoded) == encoded


@ALL_CODECS
@pytest.mark.parametrize("cls", p.PDU_CLASSES, ids=_name)
def test_every_pdu_class_with_default_fields_round_trips(impl: Codec, cls: type[p.Pdu]) -> None:
    pdu = cls(0, 1)
    assert impl.decode(impl.encode(pdu)) == pdu


@ALL_CODECS
@pytest.mark.parametrize("cls", p.PDU_CLASSES, ids=_name)
def test_every_pdu_class_encodes_its_fields_in_spec_order(impl: Codec, cls: type[p.Pdu]) -> None:
    kwargs: dict[str, Any] = {}
    expected = b""
    for i, (name, kind, _, _) in enumerate(codec.FIELDS[cls]):
        if kind == "c":
            kwargs[name] = f"f{i}"
            expected += f"f{i}\0".encode()
        elif kind == "i":
            kwargs[name] = i
            expected += bytes([i])
        elif kind == "s":
            kwargs[name] = b"hello"
            expected += b"\x05hello"
        else:
            kwargs[name] = {c.TAG_SAR_MSG_REF_NUM: 0x0102}
            expected += _tlv(c.TAG_SAR_MSG_REF_NUM, b"\x01\x02")
    pdu = cls(0, 77, **kwargs)
    assert impl.encode(pdu) == _frame(cls.command_id, expected, seq=77)


TLV_CLASSES = [cls for cls in p.PDU_CLASSES if "tlvs" in cls.__struct_fields__]


@ALL_CODECS
@pytest.mark.parametrize("cls", TLV_CLASSES, ids=_name)
@settings(max_examples=30)
@given(
    unknown=st.lists(
        st.tuples(UNKNOWN_TAGS, st.binary(max_size=50)),
        min_size=1,
        max_size=4,
        unique_by=lambda item: item[0],
    ),
    status=STATUSES,
)
def test_unknown_tlvs_re_encode_byte_for_byte_unchanged(
    impl: Codec, cls: type[p.Pdu], unknown: list[tuple[int, bytes]], status: int
) -> None:
    # Hand-built wire bytes (not our encoder's), known TLVs interleaved with unknown ones.
    tlv_bytes = _tlv(c.TAG_SAR_TOTAL_SEGMENTS, b"\x02") + b"".join(_tlv(t, v) for t, v in unknown)
    tlv_bytes += _tlv(c.TAG_RECEIPTED_MESSAGE_ID, b"abc\0")
    raw = _frame(cls.command_id, _body(cls) + tlv_bytes, status=status)
    decoded = impl.decode(raw)
    tlvs = decoded.tlvs  # type: ignore[attr-defined]
    assert list(tlvs.items()) == [
        (c.TAG_SAR_TOTAL_SEGMENTS, 2),
        *unknown,
        (c.TAG_RECEIPTED_MESSAGE_ID, "abc"),
    ]
    assert impl.encode(decoded) == raw


# ---------------------------------------------------------------- empty-body error responses


@ALL_CODECS
@pytest.mark.parametrize("cls", RESPONSE_CLASSES, ids=_name)
def test_response_with_empty_body_and_error_status_decodes_to_default_fields(
    impl: Codec, cls: type[p.Pdu]
) -> None:
    decoded = impl.decode(_frame(cls.command_id, status=c.ESME_RTHROTTLED))
    assert decoded == cls(c.ESME_RTHROTTLED, SEQ)


@ALL_CODECS
@pytest.mark.parametrize("cls", [p.SubmitSmResp, p.DeliverSmResp], ids=_name)
def test_error_submit_and_deliver_resp_without_message_id_encode_without_body(
    impl: Codec, cls: type[p.Pdu]
) -> None:
    # §4.4.2 / §4.6.2: the body is not returned when command_status is non-zero.
    encoded = impl.encode(cls(c.ESME_RSUBMITFAIL, 5))
    assert encoded == _frame(cls.command_id, status=c.ESME_RSUBMITFAIL, seq=5)
    assert impl.decode(encoded) == cls(c.ESME_RSUBMITFAIL, 5)


@ALL_CODECS
@pytest.mark.parametrize("cls", [p.SubmitSmResp, p.DeliverSmResp], ids=_name)
def test_message_id_resp_keeps_its_body_when_ok_or_when_it_has_content(
    impl: Codec, cls: type[p.SubmitSmResp | p.DeliverSmResp]
) -> None:
    cid = cls.command_id
    assert impl.encode(cls(0, 5)) == _frame(cid, b"\0", seq=5)
    assert impl.encode(cls(8, 5, "id")) == _frame(cid, b"id\0", status=8, seq=5)
    with_tlv = cls(8, 5, "", {c.TAG_SAR_TOTAL_SEGMENTS: 1})
    assert impl.encode(with_tlv) == _frame(
        cid, b"\0" + _tlv(c.TAG_SAR_TOTAL_SEGMENTS, b"\x01"), status=8, seq=5
    )
    assert impl.decode(impl.encode(with_tlv)) == with_tlv


@ALL_CODECS
@pytest.mark.parametrize(
    "cls",
    [cls for cls in p.PDU_CLASSES if not cls.is_response and codec.FIELDS[cls]],
    ids=_name,
)
def test_request_with_empty_body_is_rejected(impl: Codec, cls: type[p.Pdu]) -> None:
    with pytest.raises(PduError) as info:
        impl.decode(_frame(cls.command_id))
    assert info.value.command_status != c.ESME_ROK
    assert info.value.command_id == cls.command_id


# -------------------------------------------------------------------- smpplib compatibility
#
# Where smpplib departs from SMPP 3.4 we do not follow it; those places are left out of the
# byte comparison and listed here:
# * it silently truncates a too-long C-Octet String to its maximum (we raise EncodeError);
# * it encodes C-Octet String TLVs as UTF-8 with the *character* count as length (we use
#   Latin-1, one octet per character), so only ASCII string TLVs are compared;
# * it always sends message_id's NUL in submit_sm_resp / deliver_sm_resp, even with an error
#   status, where §4.4.2 says the body is not returned;
# * source_subaddress / dest_subaddress are NUL-terminated strings (spec: Octet Strings),
#   submit_sm's source_addr_subunit is 2 octets (spec: 1), its_session_info is an integer
#   (spec: a 2-octet Octet String, the same bytes, so it is compared as bytes), and it never
#   emits the alert_on_message_delivery flag;
# * bind_* constructors overwrite interface_version with 0x34 (we set it afterwards);
# * integer TLVs set to None and string / octet TLVs that are empty are omitted (so the
#   strategies draw non-empty strings for those).


class _SmpplibClient:
    """The client object smpplib PDUs take their sequence numbers from."""

    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


class SmpplibTlv(NamedTuple):
    name: str
    tag: int
    values: st.SearchStrategy[Any]
    to_ours: Callable[[Any], TlvValue]


def _same(value: Any) -> TlvValue:
    return value  # type: ignore[no-any-return]


def _octets2(value: Any) -> TlvValue:
    return int(value).to_bytes(2, "big")


def _smpplib_tlvs(command: str) -> list[SmpplibTlv]:
    """The TLVs smpplib's `command` can send that SMPP 3.4 types the same way, in its order."""
    sample = smpplib_smpp.make_pdu(command, client=_SmpplibClient())
    out: list[SmpplibTlv] = []
    for field in sample.params_order:
        if not sample.field_is_optional(field):
            continue
        param = sample.params[field]
        tag = c.TLV_TAGS[field]
        kind, size = TLV_TYPES[tag]
        if param.type is int and getattr(param, "size", None) == kind:
            out.append(SmpplibTlv(field, tag, st.integers(0, (1 << (8 * size)) - 1), _same))
        elif param.type is int and kind == "o" and param.size == size == 2:
            out.append(SmpplibTlv(field, tag, st.integers(0, 0xFFFF), _octets2))
        elif param.type is smpplib_ostr and kind == "o":
            values = st.binary(min_size=1, max_size=min(size, 300))
            out.append(SmpplibTlv(field, tag, values, _same))
        elif param.type is str and kind == "c":
            limit = min(size, getattr(param, "max", size)) - 1
            text = st.text(
                st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=limit
            )
            out.append(SmpplibTlv(field, tag, text, _same))
    return out


COMPAT_CLASSES: list[type[p.Pdu]] = [
    p.SubmitSm,
    p.DeliverSm,
    p.BindTransmitter,
    p.BindReceiver,
    p.BindTransceiver,
    p.BindTransmitterResp,
    p.BindReceiverResp,
    p.BindTransceiverResp,
    p.SubmitSmResp,
    p.DeliverSmResp,
    p.EnquireLink,
    p.EnquireLinkResp,
    p.Unbind,
    p.UnbindResp,
    p.GenericNack,
]
SMPPLIB_TLVS = {_name(cls): _smpplib_tlvs(_name(cls)) for cls in COMPAT_CLASSES}


def test_smpplib_comparison_covers_the_common_tlvs() -> None:
    assert {"sar_msg_ref_num", "message_payload", "its_session_info", "callback_num"} <= {
        t.name for t in SMPPLIB_TLVS["submit_sm"]
    }
    assert {"receipted_message_id", "message_state", "network_error_code"} <= {
        t.name for t in SMPPLIB_TLVS["deliver_sm"]
    }
    assert [t.name for t in SMPPLIB_TLVS["bind_transceiver_resp"]] == ["sc_interface_version"]


class CompatCase(NamedTuple):
    ours: p.Pdu
    fields: dict[str, Any]  # smpplib attribute name → value, mandatory fields and TLVs


@st.composite
def compat_cases(draw: st.DrawFn, cls: type[p.Pdu]) -> CompatCase:
    status = draw(STATUSES)
    seq = draw(U32)
    mandatory: dict[str, Any] = {}
    for name, kind, size, _ in codec.FIELDS[cls]:
        if kind != "t":
            mandatory[name] = draw(field_values(kind, size))
    specs = SMPPLIB_TLVS[_name(cls)]
    chosen = sorted(draw(st.sets(st.integers(0, len(specs) - 1)))) if specs else []
    smpplib_tlvs: dict[str, Any] = {}
    ours_tlvs: Tlvs = {}
    for index in chosen:
        spec = specs[index]
        if spec.name == "message_payload" and mandatory.get("short_message"):
            continue  # smpplib refuses both at once (as §5.3.2.32 requires)
        value = draw(spec.values)
        smpplib_tlvs[spec.name] = value
        ours_tlvs[spec.tag] = spec.to_ours(value)
    if cls in (p.SubmitSmResp, p.DeliverSmResp) and status and not mandatory["message_id"]:
        mandatory["message_id"] = "1"  # smpplib sends a body where §4.4.2 says not to
    fields = {**mandatory, **smpplib_tlvs}
    if "tlvs" in cls.__struct_fields__:
        mandatory["tlvs"] = ours_tlvs
    return CompatCase(cls(status, seq, **mandatory), fields)


def _smpplib_pdu(case: CompatCase) -> Any:
    pdu = smpplib_smpp.make_pdu(_name(type(case.ours)), client=_SmpplibClient())
    for name, value in case.fields.items():
        setattr(pdu, name, value)
    pdu.status = case.ours.command_status
    pdu.sequence = case.ours.sequence_number
    return pdu


def _assert_smpplib_parsed(parsed: Any, case: CompatCase) -> None:
    assert parsed.command == _name(type(case.ours))
    assert parsed.status == case.ours.command_status
    assert parsed.sequence == case.ours.sequence_number
    for name, value in case.fields.items():
        got = getattr(parsed, name)
        if isinstance(value, str):
            assert got == value.encode("latin-1"), name  # smpplib parses strings to bytes
        elif isinstance(value, bytes):
            assert (got or b"") == value, name  # an empty short_message is left as None
        else:
            assert got == value, name


@ALL_CODECS
@pytest.mark.parametrize("cls", COMPAT_CLASSES, ids=_name)
@settings(max_examples=40)
@given(data=st.data())
def test_encoding_matches_smpplib_byte_for_byte_and_each_decodes_the_other(
    impl: Codec, cls: type[p.Pdu], data: st.DataObject
) -> None:
    case = data.draw(compat_cases(cls))
    theirs = _smpplib_pdu(case).generate()
    ours = impl.encode(case.ours)
    assert ours == theirs
    assert impl.decode(theirs) == case.ours
    _assert_smpplib_parsed(smpplib_smpp.parse_pdu(ours, client=_SmpplibClient()), case)


@ALL_CODECS
@pytest.mark.parametrize("cls", [p.SubmitSmResp, p.DeliverSmResp], ids=_name)
def test_error_resp_from_smpplib_with_empty_message_id_body_decodes_like_ours(
    impl: Codec, cls: type[p.Pdu]
) -> None:
    case = CompatCase(cls(c.ESME_RTHROTTLED, 9), {"message_id": ""})
    theirs = _smpplib_pdu(case).generate()
    assert theirs == _frame(cls.command_id, b"\0", status=c.ESME_RTHROTTLED, seq=9)
    assert impl.decode(theirs) == case.ours
    assert impl.encode(case.ours) == theirs[:-1].replace(
        b"\x00\x00\x00\x11", b"\x00\x00\x00\x10", 1
    )


@ALL_CODECS
@pytest.mark.parametrize(
    ("field", "size"),
    [("source_addr", 21), ("destination_addr", 21), ("service_type", 6), ("validity_period", 17)],
)
def test_too_long_c_string_is_refused_where_smpplib_truncates_it(
    impl: Codec, field: str, size: int
) -> None:
    fields: dict[str, Any] = {field: "9" * size}
    case = CompatCase(p.SubmitSm(0, 1, **fields), fields)
    theirs = smpplib_smpp.parse_pdu(_smpplib_pdu(case).generate(), client=_SmpplibClient())
    assert getattr(theirs, field) == b"9" * (size - 1)  # smpplib: silently cut
    with pytest.raises(EncodeError):
        impl.encode(case.ours)


# ----------------------------------------------------------------- strict decoding: fixed cases

SM_BODY = _body(p.SubmitSm)
BIND_BODY = _body(p.BindTransmitter)


class Hostile(NamedTuple):
    frame: bytes
    status: int
    command_id: int | None
    fatal: bool = False


def _hostile(command_id: int, body: bytes, status: int, **kwargs: Any) -> Hostile:
    return Hostile(_frame(command_id, body, **kwargs), status, command_id)


HOSTILE: dict[str, Hostile] = {
    # header
    "shorter-than-header": Hostile(
        b"\x00\x00\x00\x10\x00\x00\x00\x15\x00", c.ESME_RINVCMDLEN, None, True
    ),
    "length-says-more": Hostile(
        _frame(c.ENQUIRE_LINK, length=17), c.ESME_RINVCMDLEN, c.ENQUIRE_LINK, True
    ),
    "length-says-less": Hostile(
        _frame(c.SUBMIT_SM, SM_BODY, length=16 + len(SM_BODY) - 1),
        c.ESME_RINVCMDLEN,
        c.SUBMIT_SM,
        True,
    ),
    "length-zero": Hostile(_frame(c.UNBIND, length=0), c.ESME_RINVCMDLEN, c.UNBIND, True),
    "unknown-command-id": _hostile(0x00000099, b"", c.ESME_RINVCMDID),
    "unknown-response-id": _hostile(0x80000099, b"", c.ESME_RINVCMDID),
    "replace_sm-unsupported": _hostile(c.REPLACE_SM, b"", c.ESME_RINVCMDID),
    "submit_multi-unsupported": _hostile(c.SUBMIT_MULTI, SM_BODY, c.ESME_RINVCMDID),
    # C-Octet Strings
    "service_type-too-long": _hostile(c.SUBMIT_SM, b"ABCDEF\0" + SM_BODY[1:], c.ESME_RINVSERTYP),
    "service_type-unterminated": _hostile(c.SUBMIT_SM, b"CMT", c.ESME_RINVSERTYP),
    "source_addr-too-long": _hostile(
        c.SUBMIT_SM, _body(p.SubmitSm, "source_addr", b"1" * 21 + b"\0"), c.ESME_RINVSRCADR
    ),
    "source_addr-unterminated": _hostile(c.SUBMIT_SM, b"\0\x01\x01" + b"4479", c.ESME_RINVSRCADR),
    "source_addr-missing": _hostile(c.SUBMIT_SM, b"\0\x01\x01", c.ESME_RINVSRCADR),
    "destination_addr-too-long": _hostile(
        c.DELIVER_SM, _body(p.DeliverSm, "destination_addr", b"2" * 21 + b"\0"), c.ESME_RINVDSTADR
    ),
    "destination_addr-unterminated": _hostile(
        c.SUBMIT_SM, b"\0\x01\x011\0\x01\x01" + b"4479", c.ESME_RINVDSTADR
    ),
    "schedule_delivery_time-too-long": _hostile(
        c.SUBMIT_SM,
        _body(p.SubmitSm, "schedule_delivery_time", b"0" * 17 + b"\0"),
        c.ESME_RINVSCHED,
    ),
    "validity_period-too-long": _hostile(
        c.SUBMIT_SM, _body(p.SubmitSm, "validity_period", b"0" * 17 + b"\0"), c.ESME_RINVEXPIRY
    ),
    "system_id-too-long": _hostile(
        c.BIND_TRANSCEIVER, b"s" * 16 + b"\0" + BIND_BODY[2:], c.ESME_RINVSYSID
    ),
    "password-too-long": _hostile(
        c.BIND_TRANSMITTER, _body(p.BindTransmitter, "password", b"p" * 9 + b"\0"), c.ESME_RINVPASWD
    ),
    "system_type-unterminated": _hostile(c.BIND_RECEIVER, b"sys\0pw\0VMA", c.ESME_RINVSYSTYP),
    "bind_resp-system_id-unterminated": _hostile(
        c.BIND_TRANSMITTER_RESP, b"smsc", c.ESME_RINVSYSID
    ),
    "submit_sm_resp-message_id-too-long": _hostile(
        c.SUBMIT_SM_RESP, b"m" * 65 + b"\0", c.ESME_RINVMSGID
    ),
    "deliver_sm_resp-message_id-unterminated": _hostile(
        c.DELIVER_SM_RESP, b"abc", c.ESME_RINVMSGID
    ),
    "data_sm_resp-message_id-too-long": _hostile(
        c.DATA_SM_RESP, b"m" * 65 + b"\0", c.ESME_RINVMSGID
    ),
    "query_sm-message_id-unterminated": _hostile(c.QUERY_SM, b"abc", c.ESME_RINVMSGID),
    "query_sm-source_addr-too-long": _hostile(
        c.QUERY_SM, b"id\0\x01\x01" + b"1" * 21 + b"\0", c.ESME_RINVSRCADR
    ),
    "cancel_sm-destination_addr-too-long": _hostile(
        c.CANCEL_SM, _body(p.CancelSm, "destination_addr", b"2" * 21 + b"\0"), c.ESME_RINVDSTADR
    ),
    "data_sm-source_addr-too-long": _hostile(
        c.DATA_SM, _body(p.DataSm, "source_addr", b"1" * 65 + b"\0"), c.ESME_RINVSRCADR
    ),
    "alert_notification-esme_addr-too-long": _hostile(
        c.ALERT_NOTIFICATION,
        _body(p.AlertNotification, "esme_addr", b"2" * 65 + b"\0"),
        c.ESME_RINVDSTADR,
    ),
    # sm_length / short_message
    "sm_length-beyond-pdu": _hostile(c.SUBMIT_SM, SM_BODY[:-3] + b"\x0ahello", c.ESME_RINVMSGLEN),
    "sm_length-255": _hostile(c.SUBMIT_SM, SM_BODY[:-3] + b"\xff" + b"x" * 255, c.ESME_RINVMSGLEN),
    "deliver_sm-sm_length-beyond-pdu": _hostile(
        c.DELIVER_SM, SM_BODY[:-3] + b"\x01", c.ESME_RINVMSGLEN
    ),
    # TLV stream
    "tlv-header-truncated": _hostile(
        c.SUBMIT_SM, SM_BODY + b"\x02\x0c\x00", c.ESME_RINVOPTPARSTREAM
    ),
    "tlv-header-one-octet": _hostile(c.DELIVER_SM, SM_BODY + b"\x04", c.ESME_RINVOPTPARSTREAM),
    "resp-tlv-header-truncated": _hostile(c.SUBMIT_SM_RESP, b"id\0\x00", c.ESME_RINVOPTPARSTREAM),
    "bind_resp-tlv-header-truncated": _hostile(
        c.BIND_TRANSCEIVER_RESP, b"smsc\0\x02", c.ESME_RINVOPTPARSTREAM
    ),
    "tlv-overruns-pdu": _hostile(
        c.SUBMIT_SM, SM_BODY + b"\x04\x24\x00\x64" + b"x" * 5, c.ESME_RINVOPTPARSTREAM
    ),
    "data_sm-tlv-overruns-pdu": _hostile(
        c.DATA_SM, _body(p.DataSm) + b"\x04\x24\x00\x02\x00", c.ESME_RINVOPTPARSTREAM
    ),
    "alert-tlv-overruns-pdu": _hostile(
        c.ALERT_NOTIFICATION,
        _body(p.AlertNotification) + b"\x04\x22\x00\x01",
        c.ESME_RINVOPTPARSTREAM,
    ),
    "int-tlv-wrong-length": _hostile(
        c.SUBMIT_SM, SM_BODY + _tlv(c.TAG_SAR_MSG_REF_NUM, b"123"), c.ESME_RINVPARLEN
    ),
    "int-tlv-empty": _hostile(
        c.SUBMIT_SM, SM_BODY + _tlv(c.TAG_SAR_TOTAL_SEGMENTS, b""), c.ESME_RINVPARLEN
    ),
    "cstring-tlv-too-long": _hostile(
        c.DELIVER_SM,
        SM_BODY + _tlv(c.TAG_RECEIPTED_MESSAGE_ID, b"r" * 65 + b"\0"),
        c.ESME_RINVPARLEN,
    ),
    "octet-tlv-too-long": _hostile(
        c.DELIVER_SM,
        SM_BODY + _tlv(c.TAG_NETWORK_ERROR_CODE, b"\x03\x00\x01\x02"),
        c.ESME_RINVPARLEN,
    ),
    "flag-tlv-with-value": _hostile(
        c.DATA_SM,
        _body(p.DataSm) + _tlv(c.TAG_ALERT_ON_MESSAGE_DELIVERY, b"\x01"),
        c.ESME_RINVPARLEN,
    ),
    "resp-tlv-wrong-length": _hostile(
        c.SUBMIT_SM_RESP,
        b"id\0" + _tlv(c.TAG_SC_INTERFACE_VERSION, b"\x00\x00\x34"),
        c.ESME_RINVPARLEN,
    ),
    # trailing octets after a body without TLVs
    "enquire_link-trailing": _hostile(c.ENQUIRE_LINK, b"\0", c.ESME_RINVCMDLEN),
    "enquire_link_resp-trailing": _hostile(c.ENQUIRE_LINK_RESP, b"abcd", c.ESME_RINVCMDLEN),
    "unbind-trailing": _hostile(c.UNBIND, b"x", c.ESME_RINVCMDLEN),
    "unbind_resp-trailing": _hostile(c.UNBIND_RESP, b"x", c.ESME_RINVCMDLEN),
    "generic_nack-trailing": _hostile(c.GENERIC_NACK, b"\0\0", c.ESME_RINVCMDLEN),
    "cancel_sm_resp-trailing": _hostile(c.CANCEL_SM_RESP, b"\0", c.ESME_RINVCMDLEN),
    "bind-trailing": _hostile(c.BIND_TRANSMITTER, BIND_BODY + b"\0", c.ESME_RINVCMDLEN),
    "bind-trailing-tlv": _hostile(
        c.BIND_TRANSMITTER, BIND_BODY + _tlv(c.TAG_SC_INTERFACE_VERSION, b"\x34"), c.ESME_RINVCMDLEN
    ),
    "outbind-trailing": _hostile(c.OUTBIND, b"sys\0pw\0x", c.ESME_RINVCMDLEN),
    "query_sm-trailing": _hostile(c.QUERY_SM, _body(p.QuerySm) + b"\0", c.ESME_RINVCMDLEN),
    "query_sm_resp-trailing": _hostile(
        c.QUERY_SM_RESP, _body(p.QuerySmResp) + b"\0", c.ESME_RINVCMDLEN
    ),
    "cancel_sm-trailing": _hostile(c.CANCEL_SM, _body(p.CancelSm) + b"\0", c.ESME_RINVCMDLEN),
    # body ends before a one-octet field
    "bind-ends-before-interface_version": _hostile(
        c.BIND_TRANSMITTER, b"sys\0pw\0\0", c.ESME_RINVCMDLEN
    ),
    "submit_sm-ends-before-source_addr_npi": _hostile(c.SUBMIT_SM, b"\0\x01", c.ESME_RINVCMDLEN),
    "submit_sm-ends-before-sm_length": _hostile(c.SUBMIT_SM, SM_BODY[:-3], c.ESME_RINVCMDLEN),
    "query_sm_resp-ends-before-error_code": _hostile(
        c.QUERY_SM_RESP, _body(p.QuerySmResp)[:-1], c.ESME_RINVCMDLEN
    ),
}


@ALL_CODECS
@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_pdu_is_rejected_with_the_exact_status_and_header_fields(
    impl: Codec, case: Hostile
) -> None:
    with pytest.raises(PduError) as info:
        impl.decode(case.frame)
    error = info.value
    assert error.command_status == case.status, c.status_name(error.command_status)
    assert error.command_id == case.command_id
    assert error.sequence_number == (SEQ if case.command_id is not None else 0)
    assert error.fatal is case.fatal


def test_hostile_table_bodies_are_valid_apart_from_the_defect() -> None:
    # Guards the table itself: the untouched bodies it is built from decode fine.
    for cls in p.PDU_CLASSES:
        assert type(codec.decode(_frame(cls.command_id, _body(cls)))) is cls
    longest = codec.decode(_frame(c.SUBMIT_SM, SM_BODY[:-3] + b"\xfe" + b"x" * 254))
    assert isinstance(longest, p.SubmitSm)
    assert longest.short_message == b"x" * 254


# ------------------------------------------------------- strict decoding: every C-Octet String

CSTRING_FIELD_ROWS = [
    (cls, name, size, status)
    for cls in p.PDU_CLASSES
    for name, kind, size, status in codec.FIELDS[cls]
    if kind == "c"
]
CSTRING_FIELDS = [pytest.param(*row, id=f"{_name(row[0])}.{row[1]}") for row in CSTRING_FIELD_ROWS]
# Fields that can be missing from a non-empty body (an empty response body is the
# error-response special case).
CSTRING_FIELDS_AFTER_SOMETHING = [
    pytest.param(*row, id=f"{_name(row[0])}.{row[1]}")
    for row in CSTRING_FIELD_ROWS
    if _body(row[0], row[1], b"", stop=True) or not row[0].is_response
]


@ALL_CODECS
@pytest.mark.parametrize(("cls", "field", "size", "status"), CSTRING_FIELDS)
def test_c_string_longer_than_spec_is_rejected_with_the_fields_status(
    impl: Codec, cls: type[p.Pdu], field: str, size: int, status: int
) -> None:
    frame = _frame(cls.command_id, _body(cls, field, b"7" * size + b"\0"))
    with pytest.raises(PduError) as info:
        impl.decode(frame)
    assert info.value.command_status == status
    assert (info.value.command_id, info.value.sequence_number) == (cls.command_id, SEQ)


@ALL_CODECS
@pytest.mark.parametrize(("cls", "field", "size", "status"), CSTRING_FIELDS)
def test_c_string_without_terminator_is_rejected_with_the_fields_status(
    impl: Codec, cls: type[p.Pdu], field: str, size: int, status: int
) -> None:
    frame = _frame(cls.command_id, _body(cls, field, b"77", stop=True))
    with pytest.raises(PduError) as info:
        impl.decode(frame)
    assert info.value.command_status == status


@ALL_CODECS
@pytest.mark.parametrize(("cls", "field", "size", "status"), CSTRING_FIELDS_AFTER_SOMETHING)
def test_body_ending_before_a_c_string_is_rejected_with_the_fields_status(
    impl: Codec, cls: type[p.Pdu], field: str, size: int, status: int
) -> None:
    body = _body(cls, field, b"", stop=True)
    with pytest.raises(PduError) as info:
        impl.decode(_frame(cls.command_id, body))
    assert info.value.command_status == status


@ALL_CODECS
@pytest.mark.parametrize(("cls", "field", "size", "status"), CSTRING_FIELDS)
def test_c_string_of_exactly_the_spec_maximum_is_accepted(
    impl: Codec, cls: type[p.Pdu], field: str, size: int, status: int
) -> None:
    decoded = impl.decode(_frame(cls.command_id, _body(cls, field, b"7" * (size - 1) + b"\0")))
    assert getattr(decoded, field) == "7" * (size - 1)


@ALL_CODECS
@pytest.mark.parametrize("cls", [p.SubmitSm, p.DeliverSm], ids=_name)
@settings(max_examples=150)
@given(data=st.data())
def test_unrolled_short_message_decoder_agrees_with_the_field_table(
    impl: Codec, cls: type[p.Pdu], data: st.DataObject
) -> None:
    """decode()'s hand-written submit_sm/deliver_sm path behaves as codec.FIELDS says."""
    valid = codec.encode_python(data.draw(pdus(cls)))
    body = bytearray(valid[16:])
    for _ in range(data.draw(st.integers(0, 3))):
        if not body:
            break
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.sampled_from([0, 1, 0x7F, 0xFF, body[i] ^ 0xFF]))
    body = body[: data.draw(st.integers(0, len(body)))]
    frame = _frame(cls.command_id, bytes(body), seq=42)
    try:
        expected: p.Pdu | int = cls(
            0,
            42,
            *codec._decode_fields(frame, 16, len(frame), codec.FIELDS[cls], cls.command_id, 42),
        )
    except PduError as exc:
        expected = exc.command_status
    try:
        got: p.Pdu | int = impl.decode(frame)
    except PduError as exc:
        got = exc.command_status
    assert got == expected


# --------------------------------------------------------------------------- encoder errors


def _encode_error_cases() -> list[Any]:
    cases: list[Any] = []
    for cls in p.PDU_CLASSES:
        for name, kind, size, status in codec.FIELDS[cls]:
            tag = f"{_name(cls)}.{name}"
            if kind == "c":
                cases += [
                    pytest.param(cls, name, "x" * size, status, id=f"{tag}-too-long"),
                    pytest.param(cls, name, "\u20ac", None, id=f"{tag}-not-latin1"),
                    pytest.param(cls, name, "a\0b", None, id=f"{tag}-nul"),
                    pytest.param(cls, name, b"abc", None, id=f"{tag}-bytes"),
                    pytest.param(cls, name, 7, None, id=f"{tag}-int"),
                    pytest.param(cls, name, None, None, id=f"{tag}-none"),
                ]
            elif kind == "i":
                cases += [
                    pytest.param(cls, name, -1, None, id=f"{tag}-negative"),
                    pytest.param(cls, name, 256, None, id=f"{tag}-256"),
                    pytest.param(cls, name, 1 << 70, None, id=f"{tag}-huge"),
                    pytest.param(cls, name, "1", None, id=f"{tag}-str"),
                    pytest.param(cls, name, 1.0, None, id=f"{tag}-float"),
                    pytest.param(cls, name, None, None, id=f"{tag}-none"),
                ]
            elif kind == "s":
                cases += [
                    pytest.param(cls, name, b"x" * 255, status, id=f"{tag}-255-octets"),
                    pytest.param(cls, name, "text", None, id=f"{tag}-str"),
                    pytest.param(cls, name, None, None, id=f"{tag}-none"),
                ]
            else:
                cases += [
                    pytest.param(
                        cls, name, {c.TAG_SAR_MSG_REF_NUM: "1"}, None, id=f"{tag}-str-for-int"
                    ),
                    pytest.param(
                        cls, name, {c.TAG_SAR_TOTAL_SEGMENTS: 256}, None, id=f"{tag}-int-range"
                    ),
                    pytest.param(
                        cls, name, {c.TAG_RECEIPTED_MESSAGE_ID: 5}, None, id=f"{tag}-int-for-str"
                    ),
                    pytest.param(
                        cls,
                        name,
                        {c.TAG_RECEIPTED_MESSAGE_ID: "\u20ac"},
                        None,
                        id=f"{tag}-tlv-not-latin1",
                    ),
                    pytest.param(
                        cls, name, {c.TAG_MESSAGE_PAYLOAD: "text"}, None, id=f"{tag}-str-for-octets"
                    ),
                    pytest.param(cls, name, {0x1400: 1}, None, id=f"{tag}-int-for-unknown"),
                    pytest.param(cls, name, {0x10000: b""}, None, id=f"{tag}-tag-range"),
                    pytest.param(cls, name, [(0x1400, b"")], None, id=f"{tag}-not-a-dict"),
                ]
    return cases


@ALL_CODECS
@pytest.mark.parametrize(("cls", "field", "value", "status"), _encode_error_cases())
def test_encoding_a_field_outside_its_spec_raises_encode_error(
    impl: Codec, cls: type[p.Pdu], field: str, value: object, status: int | None
) -> None:
    pdu = cls(0, 1)
    setattr(pdu, field, value)
    with pytest.raises(EncodeError) as info:
        impl.encode(pdu)
    if status is not None:
        assert info.value.command_status == status


@ALL_CODECS
@pytest.mark.parametrize("cls", p.PDU_CLASSES, ids=_name)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("command_status", -1),
        ("command_status", 1 << 32),
        ("command_status", "0"),
        ("sequence_number", -1),
        ("sequence_number", 1 << 32),
        ("sequence_number", None),
        ("sequence_number", 1.5),
    ],
)
def test_encoding_a_header_field_out_of_range_raises_encode_error(
    impl: Codec, cls: type[p.Pdu], field: str, value: object
) -> None:
    pdu = cls(0, 1)
    setattr(pdu, field, value)
    with pytest.raises(EncodeError):
        impl.encode(pdu)


@ALL_CODECS
def test_encoding_a_pdu_class_without_a_wire_format_raises_encode_error(impl: Codec) -> None:
    class Custom(p.SubmitSmResp):
        command_id = 0x00000099

    with pytest.raises(EncodeError):
        impl.encode(p.Pdu())
    with pytest.raises(EncodeError):
        impl.encode(Custom())


ANYTHING: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 40), 1 << 40),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.binary(max_size=300),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(
        st.integers(-5, 70000),
        st.one_of(st.integers(-5, 1 << 33), st.text(max_size=5), st.binary(max_size=5), st.none()),
        max_size=3,
    ),
)


@ALL_CODECS
@settings(max_examples=250)
@given(cls=st.sampled_from(p.PDU_CLASSES), data=st.data())
def test_encoding_arbitrary_field_values_raises_only_encode_error(
    impl: Codec, cls: type[p.Pdu], data: st.DataObject
) -> None:
    pdu = data.draw(pdus(cls))
    names = ["command_status", "sequence_number", *(name for name, *_ in codec.FIELDS[cls])]
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
        setattr(pdu, name, data.draw(ANYTHING))
    try:
        encoded = impl.encode(pdu)
    except EncodeError:
        return
    assert type(impl.decode(encoded)) is cls


# ------------------------------------------------------------------------------ fuzz decode


def _check_decode_contract(impl: Codec, frame: bytes) -> None:
    """decode returns a Pdu or raises PduError with a non-zero status: nothing else escapes."""
    error: PduError | None = None
    try:
        decoded = impl.decode(frame)
    except PduError as exc:
        error = exc
    if error is not None:
        assert isinstance(error.command_status, int)
        assert error.command_status != c.ESME_ROK
        if len(frame) >= 16:
            _, command_id, _, seq = struct.unpack_from(">IIII", frame)
            assert error.command_id == command_id
            assert error.sequence_number == seq
        return
    assert isinstance(decoded, p.Pdu)
    _, command_id, status, seq = struct.unpack_from(">IIII", frame)
    assert decoded.command_id == command_id
    assert (decoded.command_status, decoded.sequence_number) == (status, seq)


KNOWN_IDS = sorted({*p.PDU_BY_COMMAND_ID, c.REPLACE_SM, c.SUBMIT_MULTI, 0, 0x80000000, 0xFFFFFFFF})


@ALL_CODECS
@settings(max_examples=300)
@given(raw=st.binary(max_size=200), command_id=st.sampled_from(KNOWN_IDS), fix_length=st.booleans())
def test_decoding_random_bytes_raises_only_pdu_error(
    impl: Codec, raw: bytes, command_id: int, fix_length: bool
) -> None:
    _check_decode_contract(impl, raw)
    # Also behind a plausible header, so the body parsers see the noise.
    frame = _frame(command_id, raw) if fix_length else _frame(command_id, raw, length=len(raw))
    _check_decode_contract(impl, frame)


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    frame = bytearray(codec.encode_python(draw(ANY_PDU)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "length", "byte"]))
        if op == "flip" and frame:
            i = draw(st.integers(0, len(frame) * 8 - 1))
            frame[i // 8] ^= 1 << (i % 8)
        elif op == "truncate":
            del frame[draw(st.integers(0, len(frame))) :]
        elif op == "insert":
            i = draw(st.integers(0, len(frame)))
            frame[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and frame:
            i = draw(st.integers(0, len(frame) - 1))
            del frame[i : i + draw(st.integers(1, 8))]
        elif op == "byte" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] = draw(st.sampled_from([0, 1, 0x7F, 0xFF]))
        elif op == "length" and len(frame) >= 4:
            length = draw(
                st.one_of(U32, st.integers(len(frame) - 3, len(frame) + 3).filter(lambda n: n >= 0))
            )
            frame[:4] = length.to_bytes(4, "big")
    if draw(st.booleans()) and len(frame) >= 4:
        frame[:4] = len(frame).to_bytes(4, "big")  # keep framing valid: exercise the body parsers
    return bytes(frame)


@ALL_CODECS
@settings(max_examples=400)
@given(frame=mutated_frames())
def test_decoding_mutated_valid_pdus_raises_only_pdu_error(impl: Codec, frame: bytes) -> None:
    _check_decode_contract(impl, frame)


@ALL_CODECS
@settings(max_examples=100)
@given(pdu=ANY_PDU, data=st.data())
def test_every_strict_prefix_of_a_valid_pdu_is_rejected_or_decodes_consistently(
    impl: Codec, pdu: p.Pdu, data: st.DataObject
) -> None:
    encoded = codec.encode_python(pdu)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    prefix = encoded[:cut]
    with pytest.raises(PduError):
        impl.decode(prefix)  # the header still claims the full length
    if cut >= 16:
        _check_decode_contract(impl, len(prefix).to_bytes(4, "big") + prefix[4:])
