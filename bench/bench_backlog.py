"""A large backlog drained slowly: the daemon's memory must stay flat.

Run as `python bench/bench_backlog.py` (`--help` for the options). It starts a private
redis-server and the SMSC simulator, enqueues `--messages` entries (1 000 000 by default) into
`sms:outbound` before the daemon starts, then starts the daemon with the carrier's `tps` set
low (`--tps`, 200 by default), and samples every `--interval` seconds for `--seconds`:

- the daemon's RSS (VmRSS) and peak RSS (VmHWM) from /proc/<pid>/status,
- its CPU use over the interval (utime + stime of /proc/<pid>/stat),
- submits the simulator has accepted (its control port), the status events written, and the
  outbound entries still pending for the group (delivered to the daemon, not acknowledged).

The backlog stays in Redis: the daemon holds a bounded prefetch per carrier, so its RSS must not
follow the backlog. It prints the first sample ("start"), the largest and the last, and the
ratios max/start and end/start; "flat" means max/start <= --flat-ratio (1.25 by default).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Daemon RSS over time while it drains a large backlog at a low TPS.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="entries queued first")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to watch")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--tps", type=float, default=200.0, help="the carrier's tps")
    parser.add_argument("--binds", type=int, default=2, help="binds")
    parser.add_argument("--window", type=int, default=50, help="window per bind")
    parser.add_argument("--mix", action="store_true", help="half short GSM-7, half long UCS-2")
    parser.add_argument(
        "--no-receipts", dest="receipts", action="store_false", help="simulator sends none"
    )
    parser.add_argument("--flat-ratio", type=float, default=1.25, help="max/start deemed flat")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.seconds <= 0 or args.interval <= 0:
        parser.error("--messages, --seconds and --interval must be positive")
    return args


def pending(client: redis.Redis, stream: str) -> int:
    """Entries delivered to the group's consumers and not acknowledged yet."""
    try:
        info: Any = client.xpending(stream, "connector")
    except redis.RedisError:
        return 0
    return int(info["pending"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {h.machine()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    flat = True
    with h.Stack(scratch) as stack:
        server = stack.redis()
        simulator = stack.simulator(*([] if args.receipts else ["--no-receipts"]), control=True)
        config = h.daemon_config(
            scratch / "daemon.toml",
            server.url,
            [h.Carrier("bench0", simulator.host, simulator.port, h.carrier_prefix(0))],
            binds=args.binds,
            window=args.window,
            tps=args.tps,
        )
        client = server.client()
        print(f"enqueueing {args.messages:,} entries ...", flush=True)
        took = h.enqueue(client, args.messages, 1, mix=args.mix, chunk=10_000, progress=True)
        memory = client.info("memory")
        print(
            f"enqueued {args.messages:,} in {took:.1f} s ({args.messages / took:,.0f}/s); "
            f"redis used_memory {int(memory['used_memory']) / 2**20:,.0f} MiB",
            flush=True,
        )
        submits0 = simulator.stats()["submits_accepted"]
        daemon = stack.daemon(config)
        began = time.monotonic()
        samples: list[tuple[float, int]] = []
        print()
        header = (
            f"{'t s':>6} {'RSS MiB':>8} {'HWM MiB':>8} {'CPU %':>6} {'submits':>9} "
            f"{'submit/s':>9} {'status ev':>10} {'outbound pend':>14}"
        )
        print(header)
        print("-" * len(header))
        last_cpu, last_t, last_submits = 0.0, began, submits0
        for k in range(1, int(args.seconds / args.interval) + 1):
            target = began + k * args.interval
            time.sleep(max(0.0, target - time.monotonic()))
            if not daemon.alive:
                print(f"!! the daemon exited\n{daemon.tail()}")
                flat = False
                break
            now = time.monotonic()
            rss = h.memory_kib(daemon.pid, "VmRSS")
            hwm = h.memory_kib(daemon.pid, "VmHWM")
            cpu = h.cpu_seconds(daemon.pid)
            submits = simulator.stats()["submits_accepted"]
            events = int(client.xlen(f"{h.PREFIX}:status"))
            outbound = pending(client, f"{h.PREFIX}:outbound")
            print(
                f"{now - began:>6.1f} {rss / 1024:>8.1f} {hwm / 1024:>8.1f} "
                f"{100 * (cpu - last_cpu) / (now - last_t):>6.0f} {submits - submits0:>9,} "
                f"{(submits - last_submits) / (now - last_t):>9,.0f} {events:>10,} "
                f"{outbound:>14,}",
                flush=True,
            )
            samples.append((now - began, rss))
            last_cpu, last_t, last_submits = cpu, now, submits
        problems, sample = h.log_problems(daemon)
        stack.stop(daemon)
    if samples:
        start = samples[0][1]
        peak = max(rss for _, rss in samples)
        end = samples[-1][1]
        flat = flat and peak / start <= args.flat_ratio
        print()
        print(
            f"bench_backlog: {args.messages:,} queued, tps {args.tps:g}, {args.seconds:g} s: "
            f"RSS start {start / 1024:.1f} MiB (t={samples[0][0]:.0f} s), "
            f"max {peak / 1024:.1f} MiB, end {end / 1024:.1f} MiB; "
            f"max/start {peak / start:.3f}, end/start {end / start:.3f} -> "
            f"{'flat' if flat else 'NOT FLAT'}"
        )
    if problems:
        print(f"!! the daemon logged {problems} line(s) at warning or above, e.g.:")
        for line in sample:
            print(f"     {line[:300]}")
    if args.keep:
        print(f"process output kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
