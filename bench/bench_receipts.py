"""Receipt parsing micro-benchmark: µs per `parse_receipt` call.

Run as `python bench/bench_receipts.py [--seconds S]`. Measures `parse_receipt(pdu)` (decoding
the short_message included) on the standard SMPP 3.4 Appendix B text our simulator sends, with
and without its receipted_message_id / message_state TLVs, and on three non-standard receipts
from the corpus (tests/domain/receipt_corpus.py) that take the general parser: fields out of
order with `text:` before `stat:`, irregular spacing with spaces after the colons, and ISO
dates with a full-word stat.

"standard, every date new" cycles through 5000 such receipts whose dates all differ, so that
no parsed date is reused (the worst case for the date cache).

Each figure is the best of 5 repeats of a loop sized to last about `seconds / 5`.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from connector.domain.receipts import Receipt, parse_receipt
from connector.smpp import constants as c
from connector.smpp.pdu import DeliverSm

REPEATS = 5

_STANDARD = (
    b"id:6232732 sub:001 dlvrd:001 submit date:2611261300 done date:2611261301 "
    b"stat:DELIVRD err:000 text:Your code is 48291"
)

CASES: list[tuple[str, DeliverSm]] = [
    ("standard, text only", DeliverSm(esm_class=4, short_message=_STANDARD)),
    (
        "standard + TLVs (simulator)",
        DeliverSm(
            esm_class=4,
            short_message=_STANDARD,
            tlvs={c.TAG_RECEIPTED_MESSAGE_ID: "6232732", c.TAG_MESSAGE_STATE: 2},
        ),
    ),
    (
        "corpus: fields out of order",
        DeliverSm(
            esm_class=4,
            short_message=b"sub:001 id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 err:000 dlvrd:001 "
            b"done date:110206193110 submit date:110206193041 text: stat:DELIVRD",
        ),
    ),
    (
        "corpus: extra spaces",
        DeliverSm(
            esm_class=4,
            short_message=b"id:117062714244798261  sub:001  dlvrd:001 submit date: 1706271624 "
            b"done date:1706271624   stat: DELIVRD err: 0 text:Hello world",
        ),
    ),
    (
        "corpus: ISO dates, full-word stat",
        DeliverSm(
            esm_class=4,
            short_message=b"id:1711022400000000000 sub:001 dlvrd:001 "
            b"submit date:2024-03-21 12:00:00 done date:2024-03-21 12:00:00 "
            b"stat:DELIVERED err:600 TEXT:",
            tlvs={c.TAG_MESSAGE_STATE: 2, c.TAG_RECEIPTED_MESSAGE_ID: "1711022400000000000"},
        ),
    ),
]


def _new_dates(count: int) -> list[DeliverSm]:
    """Standard receipts whose dates all differ (no two within `count` parses alike)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    pdus = []
    for n in range(count):
        submit = (start + timedelta(minutes=2 * n)).strftime("%y%m%d%H%M")
        done = (start + timedelta(minutes=2 * n + 1)).strftime("%y%m%d%H%M")
        text = _STANDARD.replace(b"2611261300", submit.encode()).replace(
            b"2611261301", done.encode()
        )
        pdus.append(DeliverSm(esm_class=4, short_message=text))
    return pdus


def _us_per_call(pdus: list[DeliverSm], seconds: float) -> float:
    rounds = 1
    while True:
        start = time.perf_counter()
        for _ in range(rounds):
            for pdu in pdus:
                parse_receipt(pdu)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / REPEATS / 4:
            break
        rounds *= 2
    rounds = max(1, int(rounds * (seconds / REPEATS) / elapsed))
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(rounds):
            for pdu in pdus:
                parse_receipt(pdu)
        best = min(best, (time.perf_counter() - start) / rounds / len(pdus))
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    args = parser.parse_args()
    runs = [(name, [pdu]) for name, pdu in CASES]
    runs.insert(2, ("standard, every date new", _new_dates(5000)))
    for name, pdus in runs:
        assert all(isinstance(parse_receipt(pdu), Receipt) for pdu in pdus), name
        print(f"{name:<36} {_us_per_call(pdus, args.seconds):7.2f} µs/parse")


if __name__ == "__main__":
    main()
