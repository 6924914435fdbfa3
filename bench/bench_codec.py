"""Codec micro-benchmark: our SMPP codec (C speedups and pure Python) against smpplib and smpp34.

Run as `python bench/bench_codec.py` (or `make bench`). Every implementation is measured in
the same run on the same PDUs: a submit_sm as a client sends it, the submit_sm_resp that
answers it, and a delivery receipt (deliver_sm with a text-form short_message and the
receipted_message_id and message_state TLVs).

Each figure is the best of 5 repeats of a `perf_counter_ns` loop of `fn(arg)` calls sized to
last about 0.2 s; the loop's own overhead (some 10-20 ns) is included for every
implementation alike. Ratios are speed-ups: the reference's time divided by the row's time.

What each library does per operation (as its own client does it):
- ours: `encode(pdu)` of a built Struct / `decode(frame)` into a typed Struct with every field
  and TLV decoded (str, int, bytes). "build+encode" adds constructing the Struct.
- smpplib: `make_pdu("submit_sm", client=..., **fields).generate()` (it has no separate
  encode of a built PDU) / `smpplib.smpp.parse_pdu(frame, client=...)`.
- smpp34 (Rust, when installed): `SubmitSm.encode()` of a built object ("build+encode" adds
  constructing it) / `smpp34.decode(frame)`, which returns a `RawPdu` with the body left
  undecoded for submit_sm_resp, and TLVs as raw bytes for deliver_sm.
"""

from __future__ import annotations

import importlib
import itertools
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import smpplib.client
import smpplib.smpp

from connector.smpp import codec
from connector.smpp import constants as c
from connector.smpp import pdu as p

REPEATS = 5
TARGET_NS = 200_000_000  # one repeat

SOURCE = "Lisoloo"
DESTINATION = "254712345678"
TEXT = b"Your verification code is 482913. It expires in 10 minutes."
MESSAGE_ID = "5f1c0b8e-7d2a-4c47-9a1e-3b6f2d9c8e11"
RECEIPT_TEXT = (
    f"id:{MESSAGE_ID} sub:001 dlvrd:001 submit date:2406011200 done date:2406011201 "
    "stat:DELIVRD err:000 text:Your verification"
).encode("latin-1")

SUBMIT_FIELDS: dict[str, Any] = {
    "source_addr_ton": 5,
    "source_addr_npi": 0,
    "source_addr": SOURCE,
    "dest_addr_ton": 1,
    "dest_addr_npi": 1,
    "destination_addr": DESTINATION,
    "registered_delivery": 1,
    "data_coding": 0,
    "short_message": TEXT,
}

SUBMIT_SM = p.SubmitSm(0, 1, **SUBMIT_FIELDS)
SUBMIT_SM_RESP = p.SubmitSmResp(0, 1, MESSAGE_ID)
RECEIPT = p.DeliverSm(
    0,
    2,
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr=DESTINATION,
    dest_addr_ton=5,
    destination_addr=SOURCE,
    esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
    short_message=RECEIPT_TEXT,
    tlvs={c.TAG_RECEIPTED_MESSAGE_ID: MESSAGE_ID, c.TAG_MESSAGE_STATE: c.MESSAGE_STATE_DELIVERED},
)
SUBMIT_SM_RESP_FRAME = codec.encode_python(SUBMIT_SM_RESP)
RECEIPT_FRAME = codec.encode_python(RECEIPT)

ENCODE = "encode submit_sm"
BUILD_ENCODE = "build+encode submit_sm"
DECODE_RESP = "decode submit_sm_resp"
DECODE_RECEIPT = "decode deliver_sm receipt"
OPERATIONS = (ENCODE, BUILD_ENCODE, DECODE_RESP, DECODE_RECEIPT)

OURS_C = "ours (C speedups)"
OURS_PY = "ours (pure Python)"
SMPPLIB = "smpplib"
SMPP34 = "smpp34 (Rust)"


@dataclass(frozen=True)
class Case:
    operation: str
    implementation: str
    function: Callable[[Any], object]
    argument: object


@dataclass(frozen=True)
class Result:
    case: Case
    ns_per_op: float


def _build_and_encode(fields: dict[str, Any]) -> bytes:
    return codec.encode(p.SubmitSm(0, 1, **fields))


def _build_and_encode_python(fields: dict[str, Any]) -> bytes:
    return codec.encode_python(p.SubmitSm(0, 1, **fields))


def our_cases() -> list[Case]:
    cases: list[Case] = []
    if codec.ACCELERATED:
        cases += [
            Case(ENCODE, OURS_C, codec.encode, SUBMIT_SM),
            Case(BUILD_ENCODE, OURS_C, _build_and_encode, SUBMIT_FIELDS),
            Case(DECODE_RESP, OURS_C, codec.decode, SUBMIT_SM_RESP_FRAME),
            Case(DECODE_RECEIPT, OURS_C, codec.decode, RECEIPT_FRAME),
        ]
    return [
        *cases,
        Case(ENCODE, OURS_PY, codec.encode_python, SUBMIT_SM),
        Case(BUILD_ENCODE, OURS_PY, _build_and_encode_python, SUBMIT_FIELDS),
        Case(DECODE_RESP, OURS_PY, codec.decode_python, SUBMIT_SM_RESP_FRAME),
        Case(DECODE_RECEIPT, OURS_PY, codec.decode_python, RECEIPT_FRAME),
    ]


def smpplib_cases() -> list[Case]:
    client = smpplib.client.Client("127.0.0.1", 2775, allow_unknown_opt_params=True)
    make_pdu = smpplib.smpp.make_pdu
    parse_pdu = smpplib.smpp.parse_pdu

    def encode(fields: dict[str, Any]) -> bytes:
        data: bytes = make_pdu("submit_sm", client=client, **fields).generate()
        return data

    def decode(frame: bytes) -> Any:
        return parse_pdu(frame, client=client)

    # Sanity: smpplib reads our frames and we read its.
    sent = codec.decode(encode(SUBMIT_FIELDS))
    assert isinstance(sent, p.SubmitSm)
    assert sent.short_message == TEXT
    assert sent.destination_addr == DESTINATION
    assert decode(SUBMIT_SM_RESP_FRAME).message_id == MESSAGE_ID.encode()
    receipt = decode(RECEIPT_FRAME)
    assert receipt.receipted_message_id == MESSAGE_ID.encode()
    assert receipt.message_state == c.MESSAGE_STATE_DELIVERED
    return [
        Case(ENCODE, SMPPLIB, encode, SUBMIT_FIELDS),
        Case(BUILD_ENCODE, SMPPLIB, encode, SUBMIT_FIELDS),
        Case(DECODE_RESP, SMPPLIB, decode, SUBMIT_SM_RESP_FRAME),
        Case(DECODE_RECEIPT, SMPPLIB, decode, RECEIPT_FRAME),
    ]


def smpp34_cases() -> list[Case]:
    try:
        smpp34: Any = importlib.import_module("smpp34")
    except ImportError:
        return []
    submit_class = smpp34.SubmitSm

    def build(fields: dict[str, Any]) -> Any:
        extra = {k: v for k, v in fields.items() if k not in ("source_addr", "destination_addr")}
        short_message = extra.pop("short_message")
        return submit_class(
            fields["source_addr"],
            fields["destination_addr"],
            short_message,
            sequence_number=1,
            **extra,
        )

    def build_and_encode(fields: dict[str, Any]) -> bytes:
        data: bytes = build(fields).encode()
        return data

    built = build(SUBMIT_FIELDS)
    # Sanity: the same bytes as ours, and it reads our frames.
    assert built.encode() == codec.encode_python(SUBMIT_SM)
    assert smpp34.decode(RECEIPT_FRAME).short_message == RECEIPT_TEXT
    assert smpp34.decode(SUBMIT_SM_RESP_FRAME).body == MESSAGE_ID.encode() + b"\0"
    return [
        Case(ENCODE, SMPP34, type(built).encode, built),
        Case(BUILD_ENCODE, SMPP34, build_and_encode, SUBMIT_FIELDS),
        Case(DECODE_RESP, SMPP34, smpp34.decode, SUBMIT_SM_RESP_FRAME),
        Case(DECODE_RECEIPT, SMPP34, smpp34.decode, RECEIPT_FRAME),
    ]


def _loop(function: Callable[[Any], object], argument: object, n: int) -> int:
    repeat = itertools.repeat(None, n)
    start = time.perf_counter_ns()
    for _ in repeat:
        function(argument)
    return time.perf_counter_ns() - start


def measure(case: Case) -> Result:
    n = 1
    while True:  # calibrate: grow the loop until it lasts at least a tenth of a repeat
        elapsed = _loop(case.function, case.argument, n)
        if elapsed >= TARGET_NS // 10:
            break
        n *= 10 if elapsed < TARGET_NS // 100 else 2
    n = max(1, int(n * TARGET_NS / max(elapsed, 1)))
    best = min(_loop(case.function, case.argument, n) for _ in range(REPEATS))
    return Result(case, best / n)


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _ratio(reference: Result | None, result: Result) -> str:
    if reference is None:
        return "-"
    return f"{reference.ns_per_op / result.ns_per_op:.3g}x"


def print_table(results: list[Result]) -> None:
    by_key = {(r.case.operation, r.case.implementation): r for r in results}
    header = (
        f"{'operation':<26} {'implementation':<20} {'µs/op':>9} {'ops/s':>12} "
        f"{'vs smpplib':>11} {'vs smpp34':>10}"
    )
    print(header)
    print("-" * len(header))
    for operation in OPERATIONS:
        smpplib_result = by_key.get((operation, SMPPLIB))
        smpp34_result = by_key.get((operation, SMPP34))
        for implementation in (OURS_C, OURS_PY, SMPPLIB, SMPP34):
            result = by_key.get((operation, implementation))
            if result is None:
                continue
            us = result.ns_per_op / 1000
            print(
                f"{operation:<26} {implementation:<20} {us:>9.3f} "
                f"{1e9 / result.ns_per_op:>12,.0f} {_ratio(smpplib_result, result):>11} "
                f"{_ratio(smpp34_result, result):>10}"
            )
        print()
    print("vs X: X's µs/op divided by this row's (above 1 = faster than X)")


def main() -> None:
    # The two decoders must agree before either is timed.
    for frame in (SUBMIT_SM_RESP_FRAME, RECEIPT_FRAME):
        assert codec.decode(frame) == codec.decode_python(frame)
    assert codec.encode(SUBMIT_SM) == codec.encode_python(SUBMIT_SM)
    cases = our_cases() + smpplib_cases() + smpp34_cases()
    print(
        f"Python {platform.python_version()} ({platform.machine()}), "
        f"C speedups: {'on' if codec.ACCELERATED else 'off'}, "
        f"smpplib {_version('smpplib')}, smpp34 {_version('smpp34')}; "
        f"best of {REPEATS} x ~{TARGET_NS / 1e9:.1f} s per row"
    )
    print()
    results = [measure(case) for case in cases]
    print_table(results)


if __name__ == "__main__":
    main()
