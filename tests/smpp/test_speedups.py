"""The optional C codec (`connector.smpp._speedups`) is the pure Python codec, only faster.

For random valid PDUs and for random mutations of their bytes, the accelerated `decode` and
`encode` give exactly what `decode_python` / `encode_python` give: an equal Struct (same
class, same field values and value types, same TLV order) or bytes, or the same error with
the same command_status. Valid PDUs must also actually take the C path.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import EncodeError, PduError
from connector.smpp.tlv import TLV_TYPES

try:
    from connector.smpp import _speedups
except ImportError:  # pragma: no cover - depends on the install
    pytest.skip(
        "connector.smpp._speedups is not built (no C compiler or Python headers when the "
        "package was installed): only the pure Python codec is in use",
        allow_module_level=True,
    )


def _setup() -> None:
    # codec.py already did this unless CONNECTOR_PURE_PYTHON=1; setup() may be repeated.
    _speedups.setup(
        p.SubmitSm,
        p.DeliverSm,
        p.SubmitSmResp,
        p.DeliverSmResp,
        dict(TLV_TYPES),
        codec.decode_python,
        codec.encode_python,
    )


_setup()

fast_decode = _speedups.decode
fast_encode = _speedups.encode
pure_decode = codec.decode_python
pure_encode = codec.encode_python

SM_CLASSES: tuple[type[p._ShortMessage], ...] = (p.SubmitSm, p.DeliverSm)
RESP_CLASSES: tuple[type[p._MessageIdResp], ...] = (p.SubmitSmResp, p.DeliverSmResp)

# --------------------------------------------------------------------------------- strategies

KNOWN_TAGS = sorted(TLV_TYPES)
UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLV_TYPES)
U32 = st.integers(0, 0xFFFFFFFF)
OCTET = st.integers(0, 0xFF)


def latin1(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=max_size)


def tlv_value(tag: int) -> st.SearchStrategy[p.TlvValue]:
    kind, size = TLV_TYPES[tag]
    if isinstance(kind, int):
        return st.integers(0, (1 << (8 * kind)) - 1)
    if kind == "c":
        return latin1(size - 1)
    if kind == "o":
        return st.binary(max_size=min(size, 300))
    return st.just(b"")


TLV_ITEM: st.SearchStrategy[tuple[int, p.TlvValue]] = st.one_of(
    st.sampled_from(KNOWN_TAGS).flatmap(lambda tag: st.tuples(st.just(tag), tlv_value(tag))),
    st.tuples(UNKNOWN_TAGS, st.binary(max_size=40)),
)
TLVS: st.SearchStrategy[p.Tlvs] = st.lists(TLV_ITEM, max_size=5).map(dict)
# What a delivery receipt carries (§4.6.1 / appendix B).
RECEIPT_TLVS: st.SearchStrategy[p.Tlvs] = st.fixed_dictionaries(
    {
        c.TAG_RECEIPTED_MESSAGE_ID: latin1(64),
        c.TAG_MESSAGE_STATE: st.integers(0, 8),
    }
)


@st.composite
def short_messages(draw: st.DrawFn, tlvs: st.SearchStrategy[p.Tlvs] = TLVS) -> p._ShortMessage:
    cls = draw(st.sampled_from(SM_CLASSES))
    return cls(
        draw(U32),
        draw(U32),
        draw(latin1(5)),
        draw(OCTET),
        draw(OCTET),
        draw(latin1(20)),
        draw(OCTET),
        draw(OCTET),
        draw(latin1(20)),
        draw(OCTET),
        draw(OCTET),
        draw(OCTET),
        draw(latin1(16)),
        draw(latin1(16)),
        draw(OCTET),
        draw(OCTET),
        draw(OCTET),
        draw(OCTET),
        draw(st.binary(max_size=254)),
        draw(tlvs),
    )


@st.composite
def message_id_resps(draw: st.DrawFn) -> p._MessageIdResp:
    cls = draw(st.sampled_from(RESP_CLASSES))
    status = draw(st.one_of(st.just(0), st.sampled_from([c.ESME_RTHROTTLED, c.ESME_RMSGQFUL]), U32))
    return cls(status, draw(U32), draw(latin1(64)), draw(st.one_of(st.just({}), TLVS)))


VALID_PDUS: st.SearchStrategy[p.Pdu] = st.one_of(
    short_messages(), short_messages(RECEIPT_TLVS), short_messages(st.just({})), message_id_resps()
)


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A valid frame with a few bytes changed, inserted, removed or appended."""
    frame = bytearray(pure_encode(draw(VALID_PDUS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "set", "insert", "delete", "truncate", "append"]))
        at = draw(st.integers(0, len(frame)))
        byte = draw(st.one_of(st.just(0), st.just(0xFF), OCTET))
        if op == "set" and at < len(frame):
            frame[at] = byte
        elif op == "insert":
            frame.insert(at, byte)
        elif op == "delete" and at < len(frame):
            del frame[at]
        elif op == "truncate":
            del frame[at:]
        elif op == "append":
            frame += draw(st.binary(min_size=1, max_size=8))
    if len(frame) >= 4 and draw(st.booleans()):
        # Keep command_length consistent so that the mutation reaches the body checks.
        frame[0:4] = len(frame).to_bytes(4, "big")
    return bytes(frame)


@st.composite
def random_bodies(draw: st.DrawFn) -> bytes:
    """A consistent header for one of the accelerated commands, then any bytes."""
    command_id = draw(
        st.sampled_from([c.SUBMIT_SM, c.DELIVER_SM, c.SUBMIT_SM_RESP, c.DELIVER_SM_RESP])
    )
    body = draw(st.binary(max_size=300))
    return struct.pack(">IIII", 16 + len(body), command_id, draw(U32), draw(U32)) + body


def _raw_cstring(draw: st.DrawFn, size: int) -> bytes:
    """Octets for a C-Octet String field of at most `size` octets, often near that limit."""
    length = draw(st.one_of(st.integers(0, size + 2), st.sampled_from([size - 1, size, size + 1])))
    text = draw(st.binary(min_size=length, max_size=length)).replace(b"\0", b"a")
    return text + b"\0" if draw(st.integers(0, 9)) else text


def _raw_tlvs(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        tag = draw(st.one_of(st.sampled_from(KNOWN_TAGS), UNKNOWN_TAGS))
        size = TLV_TYPES.get(tag, (0, 8))[1]
        length = draw(st.integers(0, min(size + 2, 300)))
        value = bytearray(draw(st.binary(min_size=length, max_size=length)))
        if value and draw(st.booleans()):
            value = value.replace(b"\0", b"a")
            if draw(st.booleans()):
                value[-1] = 0
        declared = length if draw(st.integers(0, 5)) else draw(st.integers(0, 0xFFFF))
        out += struct.pack(">HH", tag, declared) + bytes(value)
    if draw(st.integers(0, 5)) == 0:
        out += draw(st.binary(min_size=1, max_size=5))
    return out


@st.composite
def raw_frames(draw: st.DrawFn) -> bytes:
    """Frames assembled field by field with lengths around every limit (not via encode)."""
    command_id = draw(
        st.sampled_from([c.SUBMIT_SM, c.DELIVER_SM, c.SUBMIT_SM_RESP, c.DELIVER_SM_RESP])
    )
    if command_id in (c.SUBMIT_SM_RESP, c.DELIVER_SM_RESP):
        body = _raw_cstring(draw, 65) if draw(st.integers(0, 9)) else b""
    else:
        octets = st.binary(min_size=1, max_size=1)
        sm = draw(st.binary(max_size=draw(st.sampled_from([10, 254, 256]))))
        sm_length = len(sm) if draw(st.integers(0, 4)) else draw(st.integers(0, 255))
        body = b"".join(
            [
                _raw_cstring(draw, 6),
                draw(octets) * 2,
                _raw_cstring(draw, 21),
                draw(octets) * 2,
                _raw_cstring(draw, 21),
                draw(octets) * 3,
                _raw_cstring(draw, 17),
                _raw_cstring(draw, 17),
                draw(octets) * 4,
                bytes([sm_length]),
                sm,
            ]
        )
    body += _raw_tlvs(draw)
    if draw(st.integers(0, 9)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    status = draw(st.one_of(st.just(0), U32))
    return struct.pack(">IIII", 16 + len(body), command_id, status, draw(U32)) + body


# ------------------------------------------------------------------------------------ helpers


def _typed(value: object) -> object:
    """The value with the type of everything in it, so that 1 != True and b"" != bytearray()."""
    if isinstance(value, dict):
        return [(_typed(k), _typed(v)) for k, v in value.items()]
    return (type(value), value)


def _outcome(function: Callable[[Any], object], argument: object) -> object:
    try:
        result = function(argument)
    except PduError as exc:
        return (
            "PduError",
            exc.command_status,
            exc.command_id,
            exc.sequence_number,
            exc.fatal,
            exc.message,
        )
    except EncodeError as exc:
        return ("EncodeError", exc.command_status, str(exc))
    except Exception as exc:  # whatever the pure codec raises, the fast one must too
        return (type(exc), str(exc))
    if isinstance(result, msgspec.Struct):
        return (type(result), [_typed(v) for v in msgspec.structs.astuple(result)])
    return _typed(result)


def assert_same_decode(frame: object) -> None:
    assert _outcome(fast_decode, frame) == _outcome(pure_decode, frame)


def assert_same_encode(pdu: object) -> None:
    assert _outcome(fast_encode, pdu) == _outcome(pure_encode, pdu)


# -------------------------------------------------------------------------------------- tests


def test_codec_uses_the_extension_unless_disabled() -> None:
    if os.environ.get("CONNECTOR_PURE_PYTHON", "") not in ("", "0"):
        assert not codec.ACCELERATED
        assert codec.decode is codec.decode_python
    else:
        assert codec.ACCELERATED
        assert codec.decode is _speedups.decode
        assert codec.encode is _speedups.encode


@pytest.mark.parametrize(("value", "accelerated"), [("1", False), ("0", True), ("", True)])
def test_connector_pure_python_switch(value: str, accelerated: bool) -> None:
    # Import the very `connector` this process tests (installed or source tree).
    root = str(Path(codec.__file__).resolve().parents[2])
    env = dict(os.environ, CONNECTOR_PURE_PYTHON=value, PYTHONPATH=root)
    out = subprocess.run(
        [sys.executable, "-c", "from connector.smpp import codec; print(codec.ACCELERATED)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(accelerated)


@given(VALID_PDUS)
@settings(max_examples=400)
def test_valid_pdus_take_the_fast_path_and_match(pdu: p.Pdu) -> None:
    data = pure_encode(pdu)
    assert _speedups.encode_fast(pdu) == data
    assert fast_encode(pdu) == data
    decoded = _speedups.decode_fast(data)
    if isinstance(pdu, p._MessageIdResp) and len(data) == 16:
        assert decoded == pdu  # a bodiless error response
    assert decoded is not None
    assert _outcome(lambda _: decoded, None) == _outcome(pure_decode, data)
    assert_same_decode(data)


def test_receipt_with_missing_tlv_terminator_is_decoded_in_c() -> None:
    # receipted_message_id without its NUL: tolerated by tlv.py, and by the C path too.
    body = (
        b"\x00\x01\x01123\x00\x01\x01456\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x05hello"
        + struct.pack(">HH", c.TAG_RECEIPTED_MESSAGE_ID, 3)
        + b"abc"
        + struct.pack(">HHB", c.TAG_MESSAGE_STATE, 1, 2)
    )
    frame = struct.pack(">IIII", 16 + len(body), c.DELIVER_SM, 0, 9) + body
    decoded = _speedups.decode_fast(frame)
    assert isinstance(decoded, p.DeliverSm)
    assert decoded.tlvs == {c.TAG_RECEIPTED_MESSAGE_ID: "abc", c.TAG_MESSAGE_STATE: 2}
    assert_same_decode(frame)


@pytest.mark.parametrize(
    "tlv",
    [
        struct.pack(">HHH", c.TAG_MESSAGE_STATE, 2, 2),  # mis-sized integer (tolerated)
        struct.pack(">HH", c.TAG_RECEIPTED_MESSAGE_ID, 4) + b"a\0bc",  # embedded NUL
        struct.pack(">HH", c.TAG_RECEIPTED_MESSAGE_ID, 0),  # empty C-Octet String
        struct.pack(">HHB", c.TAG_MESSAGE_STATE, 1, 2) * 2,  # repeated tag
        struct.pack(">HH", c.TAG_RECEIPTED_MESSAGE_ID, 70) + b"x" * 70,  # too long
        struct.pack(">HH", c.TAG_MESSAGE_STATE, 9),  # runs past the PDU
        b"\x04",  # truncated TLV header
    ],
)
def test_unusual_tlvs_are_left_to_python(tlv: bytes) -> None:
    body = b"1\0" + tlv
    frame = struct.pack(">IIII", 16 + len(body), c.SUBMIT_SM_RESP, 0, 3) + body
    assert _speedups.decode_fast(frame) is None
    assert_same_decode(frame)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00" * 15,
        struct.pack(">IIII", 16, c.SUBMIT_SM_RESP, 0, 1),  # success without message_id
        struct.pack(">IIII", 17, c.SUBMIT_SM_RESP, 0, 1),  # command_length too large
        struct.pack(">IIII", 16, c.SUBMIT_SM, 0, 1),  # empty submit_sm
        struct.pack(">IIII", 16, c.ENQUIRE_LINK, 0, 1),  # not accelerated
        struct.pack(">IIII", 16, 0x12345678, 0, 1),  # unknown command
    ],
)
def test_edge_frames_are_left_to_python(frame: bytes) -> None:
    assert _speedups.decode_fast(frame) is None
    assert_same_decode(frame)


def test_frames_that_are_not_bytes_are_left_to_python() -> None:
    frame = pure_encode(p.SubmitSmResp(0, 1, "abc"))
    for other in (bytearray(frame), memoryview(frame)):
        assert _speedups.decode_fast(other) is None  # type: ignore[arg-type]
        assert_same_decode(other)
    assert _speedups.decode_fast("not bytes") is None  # type: ignore[arg-type]
    assert_same_decode(None)


@given(mutated_frames())
@settings(max_examples=2000)
def test_mutated_frames_decode_the_same(frame: bytes) -> None:
    assert_same_decode(frame)


SAMPLE_PDUS: list[p.Pdu] = [
    p.SubmitSm(0, 1, source_addr="12345", destination_addr="254700000000", short_message=b"hi"),
    p.SubmitSm(
        0,
        2,
        service_type="CMT",
        source_addr_ton=5,
        source_addr="x" * 20,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="y" * 20,
        esm_class=0x40,
        priority_flag=1,
        schedule_delivery_time="z" * 16,
        validity_period="v" * 16,
        registered_delivery=1,
        data_coding=8,
        short_message=b"\0" * 254,
        tlvs={c.TAG_SAR_MSG_REF_NUM: 7, 0x1501: b"vendor"},
    ),
    p.DeliverSm(
        0,
        3,
        source_addr="254700000000",
        destination_addr="12345",
        esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
        short_message=b"id:abc sub:001 dlvrd:001 submit date:2401011200 "
        b"done date:2401011201 stat:DELIVRD err:000 text:hello",
        tlvs={c.TAG_RECEIPTED_MESSAGE_ID: "abc", c.TAG_MESSAGE_STATE: 2},
    ),
    p.DeliverSm(0, 4),
    p.SubmitSmResp(0, 5, "0123456789abcdef"),
    p.SubmitSmResp(0, 6, "x" * 64, {c.TAG_ADDITIONAL_STATUS_INFO_TEXT: "ok"}),
    p.DeliverSmResp(0, 7, ""),
    p.DeliverSmResp(c.ESME_RTHROTTLED, 8),
]


@pytest.mark.parametrize("pdu", SAMPLE_PDUS, ids=lambda pdu: type(pdu).__name__)
def test_every_truncation_and_single_octet_change_decodes_the_same(pdu: p.Pdu) -> None:
    frame = pure_encode(pdu)
    assert _speedups.decode_fast(frame) == pdu
    for cut in range(len(frame) + 1):
        short = frame[:cut]
        assert_same_decode(short)
        if cut >= 4:
            assert_same_decode(cut.to_bytes(4, "big") + short[4:])
    for at in range(len(frame)):
        for byte in (0x00, 0x01, 0x7F, 0xFF):
            assert_same_decode(frame[:at] + bytes([byte]) + frame[at + 1 :])
            longer = frame[:at] + bytes([byte]) + frame[at:]
            assert_same_decode((len(frame) + 1).to_bytes(4, "big") + longer[4:])


@given(raw_frames())
@settings(max_examples=3000)
def test_raw_frames_near_every_limit_decode_the_same(frame: bytes) -> None:
    assert_same_decode(frame)


def test_short_message_of_255_octets() -> None:
    body = b"\0\0\0" + b"1\0\0\0" + b"2\0\0\0\0" + b"\0\0\0\0\0\0" + b"\xff" + b"x" * 255
    for command_id in (c.SUBMIT_SM, c.DELIVER_SM):
        frame = struct.pack(">IIII", 16 + len(body), command_id, 0, 1) + body
        assert _speedups.decode_fast(frame) is None
        assert_same_decode(frame)


@given(random_bodies())
@settings(max_examples=1000)
def test_random_bodies_decode_the_same(frame: bytes) -> None:
    assert_same_decode(frame)


# Values that break some field's type or limit; the C path must defer on each of them.
ODD_VALUES: list[object] = [
    -1,
    256,
    2**32,
    2**64,
    True,
    None,
    1.5,
    "",
    *("x" * n for n in (5, 6, 16, 17, 20, 21, 64, 65)),
    "a\0b",
    "\u20ac",
    "\xe9t\xe9",
    b"",
    b"x" * 255,
    bytearray(b"abc"),
    memoryview(b"abc"),
    {},
    [],
    {c.TAG_MESSAGE_STATE: 300},
    {c.TAG_MESSAGE_STATE: True},
    {c.TAG_MESSAGE_STATE: "2"},
    {c.TAG_RECEIPTED_MESSAGE_ID: "a\0"},
    {c.TAG_RECEIPTED_MESSAGE_ID: "x" * 65},
    {c.TAG_RECEIPTED_MESSAGE_ID: "\u20ac"},
    {c.TAG_RECEIPTED_MESSAGE_ID: b"abc"},
    {c.TAG_NETWORK_ERROR_CODE: b"1234"},
    {c.TAG_ALERT_ON_MESSAGE_DELIVERY: b"x"},
    {0x1501: "text"},
    {0x1501: b"x" * 70000},
    {70000: b""},
    {-1: b""},
    {"tag": b""},
]


class _Str(str):
    pass


class _Int(int):
    pass


ODD_VALUES += [_Str("abc"), _Int(1)]


ODD: st.SearchStrategy[object] = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(st.characters(max_codepoint=300), max_size=70),
    st.integers(-2, 2**32 + 1),
    st.binary(max_size=300),
)


@given(VALID_PDUS, st.lists(st.tuples(st.integers(0, 19), ODD), min_size=1, max_size=3))
@settings(max_examples=1500)
def test_odd_field_values_encode_the_same(pdu: p.Pdu, changes: list[tuple[int, object]]) -> None:
    fields = pdu.__struct_fields__
    for index, value in changes:
        setattr(pdu, fields[index % len(fields)], value)
    assert_same_encode(pdu)


@pytest.mark.parametrize(
    ("pdu", "field"),
    [
        pytest.param(pdu, field, id=f"{type(pdu).__name__}{i}-{field}")
        for i, pdu in enumerate(SAMPLE_PDUS)
        if i in (1, 2, 5, 6)
        for field in pdu.__struct_fields__
    ],
)
def test_every_odd_value_in_every_field_encodes_the_same(pdu: p.Pdu, field: str) -> None:
    for value in ODD_VALUES:
        changed = msgspec.structs.replace(pdu)
        setattr(changed, field, value)
        assert_same_encode(changed)


@given(VALID_PDUS)
@settings(max_examples=200)
def test_deleted_fields_encode_the_same(pdu: p.Pdu) -> None:
    delattr(pdu, pdu.__struct_fields__[-2])
    assert _speedups.encode_fast(pdu) is None
    assert_same_encode(pdu)


class _MySubmitSm(p.SubmitSm):
    pass


def test_subclasses_and_other_pdus_are_left_to_python() -> None:
    for pdu in (_MySubmitSm(0, 1, source_addr="1"), p.EnquireLink(0, 1), p.DataSm(0, 2)):
        assert _speedups.encode_fast(pdu) is None
        assert_same_encode(pdu)
    assert _speedups.encode_fast("not a pdu") is None  # type: ignore[arg-type]
    assert_same_encode("not a pdu")


def test_bodiless_error_responses() -> None:
    for cls in RESP_CLASSES:
        pdu = cls(c.ESME_RTHROTTLED, 7)
        data = _speedups.encode_fast(pdu)
        assert data == pure_encode(pdu) == struct.pack(">IIII", 16, cls.command_id, 0x58, 7)
        assert _speedups.decode_fast(data) == pure_decode(data) == pdu


def test_keyword_arguments_like_the_python_functions() -> None:
    pdu = p.SubmitSmResp(0, 1, "abc")
    data = fast_encode(pdu=pdu)
    assert fast_decode(frame=data) == pdu
    with pytest.raises(TypeError):
        fast_decode(data=data)  # type: ignore[call-arg]


def test_setup_rejects_a_changed_layout_and_keeps_the_previous_one() -> None:
    class Moved(p.SubmitSmResp):
        command_id = c.SUBMIT_SM  # the wrong command for the submit_sm slot's layout

    tlv_types = dict(TLV_TYPES)
    with pytest.raises(RuntimeError):
        _speedups.setup(
            p.SubmitSm,
            p.DeliverSm,
            p.SubmitSmResp,
            Moved,
            tlv_types,
            pure_decode,
            pure_encode,
        )
    with pytest.raises(RuntimeError):
        _speedups.setup(
            Moved, p.DeliverSm, p.SubmitSmResp, p.DeliverSmResp, tlv_types, pure_decode, pure_encode
        )
    # The earlier, valid setup is still in force.
    pdu = p.DeliverSmResp(0, 4, "x")
    assert _speedups.decode_fast(pure_encode(pdu)) == pdu
    _setup()
