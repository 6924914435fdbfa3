"""End-to-end throughput: the daemon draining a Redis backlog into an SMSC, against baselines.

Run as `python bench/bench_end_to_end.py` (`--help` for the options; `make bench` runs a
modest one). One invocation:

1. starts a private redis-server (free loopback port, no persistence) and the SMSC simulator
   (one per `--carriers`; or uses the SMSC given by `--smsc host:port`);
2. per run (`--repeat K`, median reported): empties Redis, enqueues N messages as the gateway
   does (CONTRACT §1, one recipient each, XADD in pipelines) *before* the daemon starts, then
   starts the daemon (`python -m connector.cli run`, log level warning) and waits until every
   recipient has `delivered` (or `sent` with `--no-receipts`) in `sms:status`;
3. after each daemon run, against the same SMSC, each baseline library (bench/baselines.py,
   one process each) submits the same N messages with nothing else to do. The runs are
   interleaved (daemon, baselines, daemon, baselines, ...) so that a machine whose speed
   drifts during the benchmark weighs on every implementation alike.

Figures, per implementation:
- msg/s: N / wall time. For the daemon the wall time runs from the first `processing` event to
  the last recipient reaching the target status (the events' own `at` times), so interpreter
  start-up is excluded; for a baseline, from its bind to its last response or receipt.
- CPU µs/msg: CPU time (utime + stime of /proc/<pid>/stat, every thread) over the same span,
  divided by N. The daemon's row is the daemon process alone; the redis-server's CPU, which
  the daemon's Lua scripts spend, is shown on its own line.
- peak RSS: VmHWM of /proc/<pid>/status (the daemon, or a baseline's own process).
- vs daemon: the daemon's msg/s divided by the row's, and the row's CPU µs/msg divided by the
  daemon's (above 1: the daemon is faster / cheaper). The daemon does much more per message:
  the contract's validation, routing, segmentation, status events, receipt matching, all
  durably in Redis; the baselines only submit and count.

`floor` is not a library but a reference: the minimal hand-written uvloop client of the
issue's table (bench/baselines.py), measured in the same run. Its CPU µs/msg is what any
Python SMPP client costs on this machine that day, so `daemon ×CPU` against it (below 1: the
daemon costs that fraction's inverse) reads the daemon's CPU independently of the machine's
speed spell. Against our simulator its throughput is largely the simulator's.

smpplib is stop-and-wait: its run stops submitting after `--baseline-seconds` and its rate is
scaled to N (printed as "k of N"). `--profile FILE` attaches py-spy (raw collapsed stacks, 200
Hz) to the daemon during the run and prints the top self-time frames.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h
from bench import baselines


@dataclass
class Row:
    """One implementation's figures (medians over the repeats)."""

    name: str
    messages: int  # messages the rate was measured on
    requested: int
    parts: int
    wall_s: float
    cpu_s: float
    peak_rss_kib: int
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_s / self.messages if self.messages else float("nan")


@dataclass
class DaemonRun:
    row: Row
    redis_cpu_s: float
    smsc_cpu_s: float
    startup_s: float
    enqueue_s: float
    counts: dict[str, int]
    errors: dict[str, int]
    log_lines: int
    log_sample: list[str]
    ok: bool
    why: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Daemon throughput end to end (Redis backlog -> SMSC -> status events), "
        "CPU per message and peak RSS, against smpplib / aiosmpplib / naz / smpp34.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=100_000, help="messages (N)")
    parser.add_argument("--binds", type=int, default=2, help="binds per carrier")
    parser.add_argument("--window", type=int, default=50, help="window per bind")
    parser.add_argument("--carriers", type=int, default=1, help="carriers (one simulator each)")
    parser.add_argument("--mix", action="store_true", help="half short GSM-7, half long UCS-2")
    parser.add_argument(
        "--recipients",
        type=int,
        default=1,
        help="recipients per outbound entry (a bulk send: up to 1000); N counts recipients",
    )
    parser.add_argument("--delay", type=float, default=0.0, help="SMSC response delay (s)")
    parser.add_argument(
        "--no-receipts",
        dest="receipts",
        action="store_false",
        help="simulator sends no receipts; done when every recipient is `sent`",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument("--smsc", default=None, metavar="HOST:PORT", help="use this SMSC")
    parser.add_argument("--tps", type=float, default=50_000, help="carrier tps in the config")
    parser.add_argument(
        "--tps-scope",
        choices=["host", "global"],
        default="host",
        help="carrier tps_scope: 'global' draws every send's permit from the budget in Redis",
    )
    parser.add_argument(
        "--baselines",
        default=",".join(baselines.NAMES),
        help="comma-separated baselines to run ('' or 'none' for none)",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=20.0,
        help="submit budget of a baseline; a slower one is measured on fewer messages",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per daemon run (s)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy raw output file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.carriers < 1 or args.repeat < 1:
        parser.error("--messages, --carriers and --repeat must be at least 1")
    if not 1 <= args.recipients <= 1000:
        parser.error("--recipients must be 1 to 1000 (CONTRACT: `to` holds 1-1000 numbers)")
    return args


# ------------------------------------------------------------------------------ the daemon


def run_daemon(
    stack: h.Stack,
    server: h.RedisServer,
    smscs: list[h.Simulator],
    config: Path,
    args: argparse.Namespace,
    index: int,
) -> DaemonRun:
    client = server.client()
    client.flushall()
    n = args.messages
    enqueue_s = h.enqueue(client, n, args.carriers, mix=args.mix, recipients=args.recipients)
    parts = h.parts_total(n, args.mix, args.recipients)
    target = "delivered" if args.receipts else "sent"
    expected = n * (3 if args.receipts else 2)
    marks: dict[str, float] = {}
    spawned = time.monotonic()
    daemon = stack.daemon(config, name=f"daemon-{index}")
    profiler = None
    smsc_pids = [s.proc.pid for s in smscs]

    def first_event() -> None:
        marks["daemon"] = h.cpu_seconds(daemon.pid)
        marks["daemon_sys"] = h.system_seconds(daemon.pid)
        marks["redis"] = h.cpu_seconds(server.proc.pid)
        with contextlib.suppress(Exception):
            client.config_resetstat()
        marks["smsc"] = sum(h.cpu_seconds(pid) for pid in smsc_pids)
        marks["startup"] = time.monotonic() - spawned

    try:
        if args.profile is not None:
            time.sleep(0.3)
            profiler = h.start_profiler(stack, daemon.pid, args.profile)
        ok, why = h.wait_for_events(
            client, expected, [daemon], timeout_s=args.timeout, on_first=first_event
        )
        # Redis's figures now, before this process reads the events back (XRANGE of every
        # event: as much Redis CPU again as the run itself, which is not the daemon's).
        commands: Any = client.info("commandstats")
        redis_cpu = h.cpu_seconds(server.proc.pid) - marks.get("redis", 0.0)
        outcome = h.read_outcome(client, target)
        # Events may repeat or be missing: keep reading until every recipient is there.
        for _ in range(200):
            if outcome.reached >= n or not daemon.alive:
                break
            time.sleep(0.1)
            outcome = h.read_outcome(client, target)
        daemon_cpu = h.cpu_seconds(daemon.pid) - marks.get("daemon", 0.0)
        daemon_sys = h.system_seconds(daemon.pid) - marks.get("daemon_sys", 0.0)
        smsc_cpu = sum(h.cpu_seconds(pid) for pid in smsc_pids) - marks.get("smsc", 0.0)
        peak = h.memory_kib(daemon.pid, "VmHWM")
    finally:
        h.stop_profiler(stack, profiler)
        rc = stack.stop(daemon)
    log_lines, sample = h.log_problems(daemon)
    if outcome.reached < n:
        ok = False
        why = why or f"only {outcome.reached} of {n} recipients reached {target}"
    if rc not in (0, None):
        sample.append(f"daemon exit code {rc}")
    wall = outcome.last_at - outcome.first_at if outcome.reached else 0.0
    top = sorted(commands.items(), key=lambda kv: -int(kv[1]["usec"]))[:16]
    print(
        f"  daemon kernel time {1e6 * daemon_sys / n:.1f} µs/msg of its CPU; Redis commands "
        "(calls per message, Redis µs per message): "
        + ", ".join(
            f"{name.removeprefix('cmdstat_')} {int(v['calls']) / n:.2f} / {int(v['usec']) / n:.1f}"
            for name, v in top
        ),
        flush=True,
    )
    row = Row("smpp-connector daemon", n, n, parts, wall, daemon_cpu, peak)
    return DaemonRun(
        row,
        redis_cpu,
        smsc_cpu,
        marks.get("startup", float("nan")),
        enqueue_s,
        dict(outcome.counts),
        dict(outcome.errors),
        log_lines,
        sample,
        ok,
        why,
    )


# ------------------------------------------------------------------------------ baselines


def run_baseline(
    stack: h.Stack, name: str, host: str, port: int, args: argparse.Namespace, index: int
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve().parent / "baselines.py"),
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--messages",
        str(args.messages),
        "--window",
        str(args.window),
        "--binds",
        str(args.binds),
        "--max-seconds",
        str(args.baseline_seconds),
    ]
    if not args.receipts:
        command.append("--no-receipts")
    if args.mix:
        command.append("--mix")
    proc = stack.start(f"baseline-{name}-{index}", command)
    deadline = time.monotonic() + args.baseline_seconds + 60
    for _ in range(1_000_000):
        if not proc.alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    stack.stop(proc, timeout_s=5)
    lines = [line for line in proc.stdout().splitlines() if line.startswith("{")]
    if not lines:
        return {"name": name, "done": 0, "note": f"no result\n{proc.tail()}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


_ROW_NAMES = {"smpplib": "smpplib (stop-and-wait)", "floor": "floor (reference)"}


def baseline_row(name: str, results: list[dict[str, Any]], requested: int) -> Row:
    good = [r for r in results if r.get("done", 0) > 0 and r.get("wall_s", 0) > 0]
    notes = sorted({str(r.get("note", "")).strip() for r in results} - {""})
    if len(results) > 1:
        rates = [r["done"] / r["wall_s"] if r.get("wall_s") else 0.0 for r in results]
        notes.append("runs: " + ", ".join(f"{rate:,.0f}" for rate in rates) + " msg/s")
    if not good:
        return Row(name, 0, requested, 0, 0.0, 0.0, 0, note="; ".join(notes) or "no result")
    # Medians of the per-message figures, applied to the median message count.
    done = int(h.median([r["done"] for r in good]))
    rate = h.median([r["done"] / r["wall_s"] for r in good])
    cpu_per = h.median([r["cpu_s"] / r["done"] for r in good])
    rss = int(h.median([r["peak_rss_kib"] for r in good]))
    parts = int(h.median([r["parts"] for r in good]))
    return Row(
        name, done, requested, parts, done / rate, cpu_per * done, rss, note="; ".join(notes)
    )


# ------------------------------------------------------------------------------ report


def print_table(daemon: Row, redis_us: float, smsc_us: float | None, rows: list[Row]) -> None:
    header = (
        f"{'implementation':<24} {'messages':>15} {'parts':>7} {'wall s':>8} {'msg/s':>9} "
        f"{'CPU µs/msg':>11} {'peak RSS':>9} {'daemon ×speed':>14} {'daemon ×CPU':>12}"
    )
    print(header)
    print("-" * len(header))

    def line(row: Row, speed: str, cpu: str) -> None:
        messages = f"{row.messages:,}"
        if row.messages != row.requested:
            messages = f"{row.messages:,} of {row.requested:,}"
        wall = row.wall_s if row.messages == row.requested else row.requested / row.rate
        scaled = "" if row.messages == row.requested else "*"
        print(
            f"{row.name:<24} {messages:>15} {row.parts:>7,} {wall:>7.2f}{scaled or ' '} "
            f"{row.rate:>9,.0f} {row.cpu_us:>11.1f} {row.peak_rss_kib / 1024:>6.1f} MiB "
            f"{speed:>14} {cpu:>12}"
        )

    line(daemon, "-", "-")
    print(f"{'  + redis-server CPU':<24} {'':>15} {'':>7} {'':>8} {'':>9} {redis_us:>11.1f}")
    if smsc_us is not None:
        print(f"{'  (SMSC simulator CPU)':<24} {'':>15} {'':>7} {'':>8} {'':>9} {smsc_us:>11.1f}")
    for row in rows:
        if row.messages == 0:
            print(f"{row.name:<24} {'skipped':>15}  {row.note}")
            continue
        speed = f"{daemon.rate / row.rate:.2f}x" if row.rate else "-"
        cpu = f"{row.cpu_us / daemon.cpu_us:.2f}x" if daemon.cpu_us else "-"
        line(row, speed, cpu)
        if row.note:
            print(f"{'':<24}   note: {row.note}")
    if any(r.messages and r.messages != r.requested for r in rows):
        print("* stopped early: wall time scaled to every message from the measured rate")
    print(
        "daemon ×speed: daemon msg/s ÷ row msg/s; daemon ×CPU: row CPU µs/msg ÷ daemon's "
        "(daemon process only; > 1 = the daemon is faster / cheaper)"
    )


def describe(args: argparse.Namespace) -> str:
    texts = "mix: half GSM-7 1 part, half UCS-2 3 parts" if args.mix else "GSM-7, 1 part"
    return (
        f"N={args.messages:,} messages ({texts}"
        f"{f', {args.recipients} recipients per entry' if args.recipients > 1 else ''}), "
        f"{args.carriers} carrier(s) x {args.binds} binds x window {args.window}, "
        f"tps {args.tps:g} ({args.tps_scope}), SMSC response delay {args.delay:g} s, "
        f"{'receipts (until delivered)' if args.receipts else 'no receipts (until sent)'}, "
        f"repeat {args.repeat} (median)"
    )


class _SimulatorLog:
    """What the simulators write to stderr while one run goes (a warning means trouble)."""

    def __init__(self, smscs: list[h.Simulator]) -> None:
        self.smscs = smscs
        self.before = [len(s.proc.stderr()) for s in smscs]

    def report(self, during: str) -> None:
        for smsc, before in zip(self.smscs, self.before, strict=True):
            said = smsc.proc.stderr()[before:].strip().splitlines()
            if said:
                print(f"  !! {smsc.proc.name} logged during {during}: {said[-1][:300]}")


def _print_daemon_run(run: DaemonRun, index: int, n: int) -> None:
    print(
        f"  daemon run {index + 1}: {run.row.rate:,.0f} msg/s, "
        f"{run.row.cpu_us:.1f} µs CPU/msg, peak RSS {run.row.peak_rss_kib / 1024:.1f} MiB, "
        f"redis {1e6 * run.redis_cpu_s / n:.1f} µs/msg; "
        f"enqueue {run.enqueue_s:.1f} s, start-up {run.startup_s:.2f} s; "
        f"events {run.counts}",
        flush=True,
    )
    if not run.ok:
        print(f"  !! daemon run {index + 1} incomplete: {run.why}")
    if run.errors:
        print(f"  !! error statuses: {run.errors}")
    if run.log_lines:
        print(f"  !! daemon logged {run.log_lines} line(s) at warning or above, e.g.:")
        for sample in run.log_sample:
            print(f"       {sample[:300]}")


def _print_baseline_run(name: str, result: dict[str, Any], index: int, n: int) -> None:
    print(
        f"  baseline {name} run {index + 1}: done {result.get('done')} of "
        f"{n} in {result.get('wall_s', 0):.2f} s, "
        f"cpu {result.get('cpu_s', 0):.2f} s {result.get('note', '')}",
        flush=True,
    )


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in args.baselines.split(",") if n and n != "none"]
    for name in names:
        if name not in baselines.NAMES:
            print(f"unknown baseline {name!r}; one of {', '.join(baselines.NAMES)}")
            return 2
    print(f"machine: {h.machine()}")
    print(f"bench_end_to_end: {describe(args)}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    failed = False
    with h.Stack(scratch) as stack:
        server = stack.redis()
        smscs: list[h.Simulator] = []
        if args.smsc is not None:
            host, _, port_text = args.smsc.rpartition(":")
            endpoints = [(host, int(port_text))] * args.carriers
        else:
            options: list[str] = []
            if not args.receipts:
                options.append("--no-receipts")
            if args.delay > 0:
                options += ["--response-delay", str(args.delay)]
            for k in range(args.carriers):
                smscs.append(stack.simulator(*options, name=f"simulator-{k}"))
            endpoints = [(s.host, s.port) for s in smscs]
        carriers = [
            h.Carrier(f"bench{k}", host, port, h.carrier_prefix(k))
            for k, (host, port) in enumerate(endpoints)
        ]
        config = h.daemon_config(
            scratch / "daemon.toml",
            server.url,
            carriers,
            binds=args.binds,
            window=args.window,
            tps=args.tps,
            tps_scope=args.tps_scope,
        )
        # Interleaved (daemon, then each baseline, run after run), so a machine whose speed
        # drifts during the benchmark drifts for everyone alike.
        runs: list[DaemonRun] = []
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        host, port = endpoints[0]
        for index in range(args.repeat):
            log = _SimulatorLog(smscs)
            run = run_daemon(stack, server, smscs, config, args, index)
            log.report("the daemon run")
            _print_daemon_run(run, index, args.messages)
            runs.append(run)
            failed = failed or not run.ok
            for name in names:
                done = results[name]
                if done and done[-1].get("done", 0) == 0:
                    continue  # it could not send at all: no point in running it again
                log = _SimulatorLog(smscs)
                result = run_baseline(stack, name, host, port, args, index)
                log.report(f"{name} run {index + 1}")
                _print_baseline_run(name, result, index, args.messages)
                done.append(result)
        ok_runs = [r for r in runs if r.ok] or runs
        daemon_row = Row(
            "smpp-connector daemon",
            args.messages,
            args.messages,
            ok_runs[0].row.parts,
            args.messages / h.median([r.row.rate for r in ok_runs]),
            h.median([r.row.cpu_s for r in ok_runs]),
            int(h.median([r.row.peak_rss_kib for r in ok_runs])),
        )
        redis_us = 1e6 * h.median([r.redis_cpu_s for r in ok_runs]) / args.messages
        smsc_us = 1e6 * h.median([r.smsc_cpu_s for r in ok_runs]) / args.messages if smscs else None
        if args.profile is not None:
            print()
            print(h.summarise_profile(args.profile))
        rows = [
            baseline_row(_ROW_NAMES.get(name, name), done, args.messages)
            for name, done in results.items()
        ]
    print()
    print_table(daemon_row, redis_us, smsc_us, rows)
    if args.keep or failed:
        print(f"\nprocess output kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
