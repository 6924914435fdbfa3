"""Segment planning throughput: `connector.text.plan` against smpplib's `gsm.make_parts`.

Run as a script: `python bench/bench_segment.py [--seconds S]`. Prints plans per second for
short and long GSM-7, UCS-2 and mixed (smart-encoded) texts, and smpplib's figure on the same
text where it is comparable (smpplib has no smart encoding, and splits GSM-7 by octets, so
an escape sequence may straddle two of its parts: it does less work, not the same work).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

from smpplib import consts as smpplib_consts
from smpplib import gsm as smpplib_gsm

from connector.text import count_parts, plan
from connector.text.references import ReferenceAllocator

CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("short GSM-7", "Your verification code is 482913. It expires in 10 minutes.", {}, True),
    (
        "long GSM-7",
        (
            "Dear customer, your monthly statement is ready. Total due: 12,500 CDF by 30/11. "
            "Pay via mobile money to avoid interruption of service. Reply STOP to opt out. "
        )
        * 3,
        {},
        True,
    ),
    ("long GSM-7 with escapes", "Offer: [50% off] {today} only, 5€ ~ |deal| ^^ " * 8, {}, True),
    ("UCS-2 Arabic + emoji", "مرحبا بكم في خدمتنا الجديدة 😀 " * 6, {}, True),
    ("UCS-2 CJK", "您的验证码是482913，十分钟内有效。" * 5, {}, True),
    (
        "mixed French, smart",
        "L’offre « Été » expire à minuit — répondez OUI pour l’activer… Merci ! " * 4,
        {"smart": True},
        False,
    ),
]


def _rate(func: Callable[[], object], seconds: float) -> float:
    """Calls per second of `func`, timed in batches for about `seconds`."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 10:
            break
        batch *= 2
    best = elapsed / batch
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        best = min(best, (time.perf_counter() - start) / batch)
    return 1.0 / best


def _smpplib_parts(text: str) -> Callable[[], object]:
    def run() -> object:
        return smpplib_gsm.make_parts(text, smpplib_consts.SMPP_ENCODING_DEFAULT)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()

    header = f"{'case':28} {'chars':>5} {'enc':>4} {'parts':>5} {'plan/s':>11} {'count/s':>11}"
    print(header + f" {'smpplib/s':>11} {'ratio':>6}")
    for name, text, options, comparable in CASES:
        result = plan(text, max_parts=255, **options)
        ours = _rate(functools.partial(plan, text, max_parts=255, **options), args.seconds)
        counted = _rate(functools.partial(count_parts, text, **options), args.seconds)
        line = (
            f"{name:28} {len(text):>5} {result.encoding:>4} {result.billed_parts:>5} "
            f"{ours:>11,.0f} {counted:>11,.0f}"
        )
        if comparable:
            theirs = _rate(_smpplib_parts(text), args.seconds)
            line += f" {theirs:>11,.0f} {ours / theirs:>5.1f}x"
        else:
            line += f" {'n/a':>11} {'':>6}"
        print(line)
    _references()


class _DictLru:
    """The obvious LRU on a plain dict (pop and re-insert, evict the first key): the baseline.

    Each eviction walks over the slots deleted before the first live key, so its cost grows
    with the keys it has evicted since the dict last compacted itself."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.counters: dict[str, int] = {}

    def allocate(self, destination: str) -> int:
        current = self.counters.pop(destination, None)
        if current is None:
            current = 0
            if len(self.counters) >= self.size:
                del self.counters[next(iter(self.counters))]
        self.counters[destination] = (current + 1) % 256
        return current


def _references(size: int = 100_000, messages: int = 300_000) -> None:
    """Concatenation references once `size` destinations are kept and every message goes to
    a new one (a bulk campaign): each allocation evicts the least recently used."""
    destinations = [f"+2438{n:08d}" for n in range(size + messages)]
    print(f"\nconcatenation references, {size:,} destinations kept, then {messages:,} new ones")
    for name, allocator in (
        ("ReferenceAllocator", ReferenceAllocator(max_destinations=size)),
        ("dict LRU (baseline)", _DictLru(size)),
    ):
        for destination in destinations[:size]:
            allocator.allocate(destination)
        start = time.perf_counter()
        for destination in destinations[size:]:
            allocator.allocate(destination)
        micros = 1e6 * (time.perf_counter() - start) / messages
        print(f"{name:28} {micros:>8.2f} µs per allocation")


if __name__ == "__main__":
    main()
