"""Latency at a fixed offered load: stream entry -> `sent` (and -> `processing`, -> `delivered`).

Run as `python bench/bench_latency.py` (`--help` for the options). It starts a private
redis-server, the SMSC simulator (or uses `--smsc host:port`) and the daemon, warms the daemon
up, and then:

1. unless `--rate` is given, measures the maximum: a burst of `--calibrate-messages` entries
   enqueued at once, rate = recipients per second between the first and the last of their
   last events (`delivered` with receipts, `sent` without: done as bench_end_to_end.py
   counts done); the offered load is then half of it. The `sent` rate is printed beside it;
   until session 6 it was the maximum, which overstated it once `sent` events stopped
   waiting on the previous outcome call (23 500 `sent`/s against 20 000 `delivered`/s);
2. offers that load for `--seconds`: every 5 ms the entries due so far are XADDed (one
   pipeline), each with `meta.t` = the wall-clock time just before the pipeline is sent;
3. waits until every offered entry is `sent` (and `delivered` with receipts), then reads the
   status events: latency = the event's `at` minus the time the entry entered the stream,
   the milliseconds of its stream id (Redis's wall clock, the same machine's; floored to the
   millisecond, so a latency errs high by up to 1 ms). Until session 6 it was measured from
   `meta.t`, which also counts the load generator's own delays between its stamp and its
   XADD (p99 up to 9 ms on a busy 2-core machine); that figure is printed as well.

It prints p50 / p90 / p99 / p99.9 / max of entry -> processing, -> sent and (with receipts)
-> delivered, and of `sent` -> `delivered` (the receipt's leg: the SMSC sends a receipt as it
answers, so this is the daemon reading it and the receipt call's round trip), the achieved
rate, and the daemon's CPU use during the offered load.

`--sut-nice N` lowers the nice value of the daemon and its redis-server by N once they run
(raising their CPU priority: root or CAP_SYS_NICE). On a 2-core machine the two processes
share the cores with the load generator and the simulator; at equal priority the scheduler
lets those take turns that the daemon's batches wait behind, and the tail comes in episodes
of 100–600 ms in which every leg slows. The option shows the tail where the rig cannot take
the daemon's CPU, as on a host whose load comes over the network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

TICK_S = 0.005
SLICE_S = 0.1  # the slices report_episodes cuts the run into
EPISODE_P99_S = 0.010  # a slice whose own entry -> `sent` p99 is above this is an episode


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Stream entry -> sent latency distribution at a fixed offered load.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rate", type=float, default=None, help="offered msg/s (default: max/2)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the load")
    parser.add_argument(
        "--calibrate-messages", type=int, default=10_000, help="burst size to measure the max"
    )
    parser.add_argument("--warmup", type=int, default=1000, help="warm-up messages")
    parser.add_argument("--binds", type=int, default=2, help="binds per carrier")
    parser.add_argument("--window", type=int, default=50, help="window per bind")
    parser.add_argument("--mix", action="store_true", help="half short GSM-7, half long UCS-2")
    parser.add_argument("--delay", type=float, default=0.0, help="SMSC response delay (s)")
    parser.add_argument(
        "--no-receipts", dest="receipts", action="store_false", help="simulator sends none"
    )
    parser.add_argument("--tps", type=float, default=50_000, help="carrier tps in the config")
    parser.add_argument("--smsc", default=None, metavar="HOST:PORT", help="use this SMSC")
    parser.add_argument("--timeout", type=float, default=300.0, help="per wait (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--sut-nice",
        type=int,
        default=0,
        metavar="N",
        help="raise the daemon's and redis-server's CPU priority by N (nice -N; needs root)",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or (args.rate is not None and args.rate <= 0):
        parser.error("--seconds and --rate must be positive")
    return args


class Feeder:
    """Enqueues tagged entries and knows how many status events they will produce."""

    def __init__(self, server: h.RedisServer, args: argparse.Namespace, daemon: h.Proc) -> None:
        self.client = server.client()
        self.args = args
        self.daemon = daemon
        self.per_message = 3 if args.receipts else 2
        self.expected = 0
        self.next_index = 0
        # message_id -> the entry's time in Redis (its stream id's milliseconds), for entries
        # of the offered load
        self.added_at: dict[str, float] = {}

    def burst(self, n: int, tag: str) -> None:
        h.enqueue(self.client, n, 1, mix=self.args.mix, start=self.next_index, tag=tag)
        self.next_index += n
        self.expected += n * self.per_message

    def wait(self, what: str) -> None:
        ok, why = h.wait_for_events(
            self.client, self.expected, [self.daemon], timeout_s=self.args.timeout
        )
        if not ok:
            raise RuntimeError(f"{what}: {why}")

    def offer(self, rate: float, seconds: float) -> tuple[int, float]:
        """XADD at `rate` per second for `seconds`; returns (entries, seconds it took)."""
        stream = f"{h.PREFIX}:outbound"
        began = time.monotonic()
        sent = 0
        for _ in range(int(seconds / TICK_S) + 1000):
            elapsed = time.monotonic() - began
            if elapsed >= seconds:
                break
            due = int(rate * elapsed) - sent
            if due > 0:
                pipe = self.client.pipeline(transaction=False)
                stamp = time.time()
                for k in range(due):
                    i = self.next_index + k
                    data = h.entry(i, 1, mix=self.args.mix, meta={"t": stamp}, tag="m")
                    pipe.xadd(stream, {"data": data})
                for k, entry_id in enumerate(pipe.execute()):
                    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    self.added_at[f"m{self.next_index + k:09d}"] = int(text.split("-")[0]) / 1000
                self.next_index += due
                sent += due
            time.sleep(max(0.0, TICK_S - (time.monotonic() - began - elapsed)))
        self.expected += sent * self.per_message
        return sent, time.monotonic() - began


def measure_max(feeder: Feeder, n: int) -> tuple[float, float]:
    """The rates of `sent` and of each recipient's last event (`delivered` with receipts, else
    `sent`) over a burst of `n`; the second is the maximum (see the module docstring)."""
    after = h.last_status_id(feeder.client)
    feeder.burst(n, "c")
    feeder.wait("calibration burst")
    last = "delivered" if feeder.args.receipts else "sent"
    stamps: dict[str, list[float]] = {"sent": [], last: []}
    for event in h.status_events(feeder.client, after):
        if event["status"] in stamps:
            stamps[event["status"]].append(h.parse_at(event["at"]))
    rates: list[float] = []
    for status in ("sent", last):
        at = sorted(stamps[status])
        if len(at) < 2 or at[-1] <= at[0]:
            raise RuntimeError(f"calibration: too few `{status}` events to measure a rate")
        rates.append((len(at) - 1) / (at[-1] - at[0]))
    return rates[0], rates[1]


def episode_slices(slices: dict[int, list[float]], limit_s: float = EPISODE_P99_S) -> set[int]:
    """The 100 ms slices (by entry time) whose own p99 of entry -> `sent` is over `limit_s`."""
    return {k for k, values in slices.items() if h.percentile(sorted(values), 99) > limit_s}


def report_episodes(slices: dict[int, list[float]], bad: set[int]) -> None:
    """Whether the tail is spread evenly or comes in episodes (`bad`, see `episode_slices`):
    how many entries they hold, and the p99 outside them."""
    if not slices:
        return
    inside = sum(len(slices[k]) for k in bad)
    outside = sorted(v for k, values in slices.items() if k not in bad for v in values)
    total = inside + len(outside)
    calm = f"{1000 * h.percentile(outside, 99):.2f} ms" if outside else "-"
    print(
        f"episodes: {len(bad)} of {len(slices)} slices of {1000 * SLICE_S:.0f} ms had an "
        f"entry -> sent p99 over {1000 * EPISODE_P99_S:.0f} ms, holding "
        f"{100 * inside / total:.1f} % of the entries; p99 outside them {calm}"
    )


def leg_percentiles(
    legs: dict[int, list[tuple[float, float]]], bad: set[int], inside: bool
) -> tuple[float, float, float, float] | None:
    """p50 and p99 (s) of entry -> `processing` and of `processing` -> `sent`, over the
    slices in `bad` (`inside`) or over the others; None when there are none."""
    pairs = [pair for k, values in legs.items() if (k in bad) == inside for pair in values]
    if not pairs:
        return None
    intake = sorted(a for a, _ in pairs)
    rest = sorted(b for _, b in pairs)
    return (
        h.percentile(intake, 50),
        h.percentile(intake, 99),
        h.percentile(rest, 50),
        h.percentile(rest, 99),
    )


def report_legs(legs: dict[int, list[tuple[float, float]]], bad: set[int]) -> None:
    """Which leg an episode's time is in: entry -> `processing` (the intake: read, script)
    or `processing` -> `sent` (work read, SMSC, outcomes)."""
    for label, inside in (("inside episodes", True), ("outside them", False)):
        found = leg_percentiles(legs, bad, inside)
        if found is not None:
            ms = [1000 * x for x in found]
            print(
                f"  {label}: entry -> processing p50 {ms[0]:.2f} / p99 {ms[1]:.2f} ms, "
                f"processing -> sent p50 {ms[2]:.2f} / p99 {ms[3]:.2f} ms"
            )


def report(name: str, values: list[float]) -> None:
    values.sort()
    ms = [1000 * h.percentile(values, q) for q in (50, 90, 99, 99.9)]
    print(
        f"{name:<24} {len(values):>8,} {ms[0]:>9.2f} {ms[1]:>9.2f} {ms[2]:>9.2f} "
        f"{ms[3]:>9.2f} {1000 * values[-1]:>9.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {h.machine()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    with h.Stack(scratch) as stack:
        server = stack.redis()
        if args.smsc is not None:
            host, _, port_text = args.smsc.rpartition(":")
            endpoint = (host, int(port_text))
        else:
            options: list[str] = [] if args.receipts else ["--no-receipts"]
            if args.delay > 0:
                options += ["--response-delay", str(args.delay)]
            simulator = stack.simulator(*options)
            endpoint = (simulator.host, simulator.port)
        config = h.daemon_config(
            scratch / "daemon.toml",
            server.url,
            [h.Carrier("bench0", *endpoint, h.carrier_prefix(0))],
            binds=args.binds,
            window=args.window,
            tps=args.tps,
        )
        daemon = stack.daemon(config)
        if args.sut_nice:
            for pid in (daemon.pid, server.proc.pid):
                os.setpriority(os.PRIO_PROCESS, pid, -args.sut_nice)
            print(f"daemon and redis-server at nice {-args.sut_nice} (the rig at 0)")
        feeder = Feeder(server, args, daemon)
        feeder.burst(args.warmup, "w")
        feeder.wait("warm-up")
        if args.rate is None:
            sent_rate, maximum = measure_max(feeder, args.calibrate_messages)
            rate = maximum / 2
            last = "delivered" if args.receipts else "sent"
            print(
                f"calibration: {args.calibrate_messages:,} entries at once -> "
                f"{maximum:,.0f} {last}/s (sent {sent_rate:,.0f}/s); "
                f"offered load = half: {rate:,.0f} msg/s"
            )
        else:
            rate = args.rate
        after = h.last_status_id(feeder.client)
        address = h.metrics_address(config)
        view_before = h.scrape(address)
        cpu0 = h.cpu_seconds(daemon.pid)
        offered, took = feeder.offer(rate, args.seconds)
        cpu_load = h.cpu_seconds(daemon.pid) - cpu0
        feeder.wait("offered load")
        view_after = h.scrape(address)
        problems, sample = h.log_problems(daemon)
        latencies: dict[str, list[float]] = {"processing": [], "sent": [], "delivered": []}
        stamped: dict[str, list[float]] = {"processing": [], "sent": [], "delivered": []}
        last_sent = 0.0
        first_t = float("inf")
        slices: dict[int, list[float]] = {}  # entry -> `sent`, by the entry's 100 ms slice
        sent_at: dict[str, float] = {}
        processing_at: dict[str, float] = {}
        # (entry -> processing, processing -> sent) of each recipient, by its entry's slice
        legs: dict[int, list[tuple[float, float]]] = {}
        receipt_leg: list[float] = []  # `sent` -> `delivered` of each recipient
        others: dict[str, int] = {}
        for event in h.status_events(feeder.client, after):
            status = event["status"]
            t = event.get("meta", {}).get("t")
            if t is None:
                continue
            at = h.parse_at(event["at"])
            if status in latencies:
                latencies[status].append(at - feeder.added_at[event["message_id"]])
                stamped[status].append(at - t)
            else:
                others[status] = others.get(status, 0) + 1
            if status == "delivered" and event["message_id"] in sent_at:
                receipt_leg.append(at - sent_at.pop(event["message_id"]))
            if status == "processing":
                processing_at[event["message_id"]] = at
            if status == "sent":
                sent_at[event["message_id"]] = at
                entered = feeder.added_at[event["message_id"]]
                slices.setdefault(int(entered / SLICE_S), []).append(at - entered)
                taken = processing_at.pop(event["message_id"], None)
                if taken is not None:
                    legs.setdefault(int(entered / SLICE_S), []).append(
                        (taken - entered, at - taken)
                    )
                last_sent = max(last_sent, at)
                first_t = min(first_t, t)
    print(
        f"bench_latency: offered {offered:,} entries at {rate:,.0f} msg/s for {took:.1f} s "
        f"({'mix' if args.mix else 'GSM-7 1 part'}, binds {args.binds} x window {args.window}, "
        f"SMSC delay {args.delay:g} s, {'receipts' if args.receipts else 'no receipts'}); "
        f"daemon CPU during the load {100 * cpu_load / took:.0f}% of a core"
    )
    if last_sent > first_t:
        print(f"achieved: {len(latencies['sent']) / (last_sent - first_t):,.0f} sent/s")
    print()
    header = (
        f"{'entry -> status (ms)':<24} {'count':>8} {'p50':>9} {'p90':>9} {'p99':>9} "
        f"{'p99.9':>9} {'max':>9}"
    )
    print(header)
    print("-" * len(header))
    for status, values in latencies.items():
        if values:
            report(f"entry -> {status}", values)
    if receipt_leg:
        report("sent -> delivered", receipt_leg)
    for status, values in stamped.items():
        if values:
            report(f"(stamp -> {status})", values)
    print(
        "entry: the entry's time in Redis (its stream id, in whole ms: up to 1 ms early, so "
        "the figures err high); stamp: the load generator's clock before its XADD pipeline "
        "(adds its own delays)"
    )
    bad = episode_slices(slices)
    report_episodes(slices, bad)
    report_legs(legs, bad)
    print()
    h.report_daemon_view(view_before, view_after)
    if others:
        print(f"!! other statuses: {others}")
    if problems:
        print(f"!! the daemon logged {problems} line(s) at warning or above, e.g.:")
        for line in sample:
            print(f"     {line[:300]}")
    if args.keep:
        print(f"\nprocess output kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
