"""Pacer micro-benchmark: how many acquisitions per second the pacer itself can grant.

Run as `python bench/bench_pacer.py`. Simulated time (no sleeping): the clock advances by a
fixed step per call so that the schedule, not the clock, is what the pacer checks. Each figure
is the best of 5 repeats of a `perf_counter_ns` loop sized to last about 0.2 s; the loop's own
overhead is included.

Cases:
- try_acquire, granted: one call per part at the pace (every call is granted);
- try_acquire, refused: a caller polling too early (every call is refused, nothing recorded);
- next_send_at: asking when the next send is due;
- acquire_many: batches of 25 parts (a 5 ms wake-up at 5000 tps), per part granted;
- the guard binding: rate above the limit, every call hits the sliding-window ring.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

from connector.flow import Pacer

REPEATS = 5
TARGET_NS = 200_000_000
TPS = 5000.0


@dataclass(frozen=True)
class Result:
    name: str
    ns_per_op: float
    granted_fraction: float


def granted_loop(n: int) -> tuple[int, int]:
    pacer = Pacer(TPS)
    step = 1.0 / TPS
    acquire = pacer.try_acquire
    now = 1000.0
    granted = 0
    start = time.perf_counter_ns()
    for _ in range(n):
        granted += acquire(now)
        now += step
    return time.perf_counter_ns() - start, granted


def refused_loop(n: int) -> tuple[int, int]:
    pacer = Pacer(TPS)
    pacer.try_acquire(1000.0)
    acquire = pacer.try_acquire
    now = 1000.0
    granted = 0
    start = time.perf_counter_ns()
    for _ in range(n):
        granted += acquire(now)
    return time.perf_counter_ns() - start, granted


def next_send_at_loop(n: int) -> tuple[int, int]:
    pacer = Pacer(TPS)
    pacer.try_acquire(1000.0)
    ask = pacer.next_send_at
    now = 1000.0
    start = time.perf_counter_ns()
    for _ in range(n):
        ask(now)
    return time.perf_counter_ns() - start, 0


def batch_loop(n: int) -> tuple[int, int]:
    batch = 25
    pacer = Pacer(TPS)
    step = batch / TPS
    take = pacer.acquire_many
    now = 1000.0
    granted = 0
    calls = max(1, n // batch)
    start = time.perf_counter_ns()
    for _ in range(calls):
        granted += take(now, batch)
        now += step
    return time.perf_counter_ns() - start, granted


def guard_loop(n: int) -> tuple[int, int]:
    pacer = Pacer(TPS)
    pacer.set_rate(10 * TPS, 0.0)
    step = 1.0 / (10 * TPS)
    acquire = pacer.try_acquire
    now = 1000.0
    granted = 0
    start = time.perf_counter_ns()
    for _ in range(n):
        granted += acquire(now)
        now += step
    return time.perf_counter_ns() - start, granted


def measure(name: str, loop: Callable[[int], tuple[int, int]]) -> Result:
    n = 1000
    while True:  # calibrate: grow the loop until it lasts at least a tenth of a repeat
        elapsed, _ = loop(n)
        if elapsed >= TARGET_NS // 10:
            break
        n *= 10 if elapsed < TARGET_NS // 100 else 2
    n = max(1000, int(n * TARGET_NS / max(elapsed, 1)))
    runs = [loop(n) for _ in range(REPEATS)]
    best, granted = min(runs)
    return Result(name, best / n, granted / n)


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, pacer at {TPS:g} tps")
    header = f"{'case':<36} {'ns/op':>8} {'ops/s':>14} {'granted':>8}"
    print(header)
    print("-" * len(header))
    cases: list[tuple[str, Callable[[int], tuple[int, int]]]] = [
        ("try_acquire (granted)", granted_loop),
        ("try_acquire (refused: too early)", refused_loop),
        ("next_send_at", next_send_at_loop),
        ("acquire_many (25 per call, per part)", batch_loop),
        ("try_acquire (guard binding, 10x)", guard_loop),
    ]
    for name, loop in cases:
        result = measure(name, loop)
        print(
            f"{result.name:<36} {result.ns_per_op:>8.1f} {1e9 / result.ns_per_op:>14,.0f} "
            f"{result.granted_fraction:>8.0%}"
        )


if __name__ == "__main__":
    main()
