"""Shared pieces of the process-level benchmarks (bench_end_to_end, _latency, _backlog, ...).

Everything runs on loopback: a private `redis-server` (free port, no persistence), the SMSC
simulator and the daemon as separate processes (`python -m connector.cli ...`), each writing
its output to files in a scratch directory. CPU time and memory come from /proc:
`utime + stime` of /proc/<pid>/stat (every thread of the process) and `VmHWM` / `VmRSS` of
/proc/<pid>/status. Every wait is bounded; `Stack` stops what it started, last first, even on
an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec
import redis
from prometheus_client.parser import text_string_to_metric_families

PREFIX = "sms"
SENDER = "Lisoloo"
SHORT_TEXT = "Your verification code is 482913. It expires in 10 minutes."  # GSM-7, 1 part
LONG_TEXT = "Привет! Ваш заказ №48291 отправлен и прибудет завтра. " * 3  # UCS-2, 3 parts
LONG_PARTS = 3

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_LISTENING = re.compile(r"simulator listening on (\S+):(\d+)")
_CONTROL = re.compile(r"simulator control on (\S+):(\d+)")
_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


# ------------------------------------------------------------------------------ machine, /proc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds; 0.0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            stat = file.read()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    # After the command name: state is field 3, utime field 14 and stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def system_seconds(pid: int) -> float:
    """stime alone: the kernel's share (socket reads and writes, mostly)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            stat = file.read()
    except OSError:
        return 0.0
    return int(stat.rpartition(")")[2].split()[12]) / _CLK_TCK


def memory_kib(pid: int, key: str = "VmHWM") -> int:
    """A /proc/<pid>/status figure in KiB (VmHWM: peak RSS, VmRSS: current RSS); 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as file:
            for line in file:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as file:
        for line in file:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def parse_at(text: str) -> float:
    """An RFC 3339 `at` of a status event as epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


# ------------------------------------------------------------------------------ processes


class Proc:
    """One subprocess whose stdout/stderr go to `<directory>/<name>.stdout|.stderr`."""

    def __init__(
        self, name: str, args: list[str], directory: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.args = args
        directory.mkdir(parents=True, exist_ok=True)
        self.stdout_path = directory / f"{name}.stdout"
        self.stderr_path = directory / f"{name}.stderr"
        full_env = dict(os.environ, PYTHONUNBUFFERED="1")
        if env:
            full_env.update(env)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 15.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal (SIGTERM by default), wait, SIGKILL past the timeout; the return code."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                return self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.process.wait(10)
        return None

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def tail(self, chars: int = 2000) -> str:
        return (
            f"--- {self.name} (pid {self.pid}, rc {self.process.poll()})\n"
            f"stdout: {self.stdout()[-chars:]}\nstderr: {self.stderr()[-chars:]}"
        )


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "connector.cli", *args]


class Stack:
    """The processes of one benchmark: stopped in reverse order on exit, whatever happened."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[Proc] = []

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop_all()

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            with contextlib.suppress(Exception):
                proc.stop(timeout_s=15.0)
        self.processes.clear()

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, args, self.directory, env)
        self.processes.append(proc)
        return proc

    def stop(self, proc: Proc, timeout_s: float = 15.0, sig: int = signal.SIGTERM) -> int | None:
        rc = proc.stop(timeout_s, sig)
        with contextlib.suppress(ValueError):
            self.processes.remove(proc)
        return rc

    # -------------------------------------------------------------- redis

    def redis(self, name: str = "redis", timeout_s: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (make redis-server installs it)")
        port = free_port()
        data = self.directory / name
        data.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(data / "redis.log"),
        ]
        proc = self.start(name, args)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not proc.alive:
                raise RuntimeError(f"redis-server exited\n{proc.tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(proc, port)
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {port}")

    # -------------------------------------------------------------- simulator

    def simulator(
        self, *options: str, name: str = "simulator", control: bool = False, timeout_s: float = 20
    ) -> Simulator:
        args = cli("simulate", "--port", "0", *options)
        if control:
            args += ["--control-port", "0"]
        proc = self.start(name, args)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = proc.stdout()
            match = _LISTENING.search(out)
            control_match = _CONTROL.search(out)
            if match is not None and (not control or control_match is not None):
                control_port = int(control_match.group(2)) if control_match else None
                return Simulator(proc, match.group(1), int(match.group(2)), control_port)
            if not proc.alive:
                raise RuntimeError(f"the simulator exited before listening\n{proc.tail()}")
            time.sleep(0.02)
        raise RuntimeError(f"the simulator did not listen within {timeout_s} s\n{proc.tail()}")

    # -------------------------------------------------------------- daemon

    def daemon(self, config: Path, name: str = "daemon") -> Proc:
        return self.start(name, cli("run", "--config", str(config)))


@dataclass
class RedisServer:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=60)


@dataclass
class Simulator:
    proc: Proc
    host: str
    port: int
    control_port: int | None = None

    def stats(self) -> dict[str, int]:
        """The simulator's counters over its control port (started with `control=True`)."""
        if self.control_port is None:
            raise RuntimeError("the simulator was started without a control port")
        with socket.create_connection((self.host, self.control_port), timeout=5) as sock:
            sock.sendall(b'{"cmd": "stats"}\n')
            data = b""
            for _ in range(1000):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\n"):
                    break
        reply = json.loads(data)
        stats: dict[str, int] = reply["stats"]
        return stats


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Carrier:
    name: str
    host: str
    port: int
    prefix: str  # E.164 prefix routed to it, e.g. "+155500"


def carrier_prefix(index: int) -> str:
    return f"+1555{index:02d}"


def recipient(carrier_index: int, i: int) -> str:
    """A distinct E.164 number routed to carrier `carrier_index` (+1555CC + 7 digits)."""
    return f"{carrier_prefix(carrier_index)}{i % 10_000_000:07d}"


def daemon_config(
    path: Path,
    redis_url: str,
    carriers: Sequence[Carrier],
    *,
    binds: int,
    window: int,
    tps: float,
    batch_size: int = 256,
    max_parts: int = 10,
    consumer: str = "bench",
    log_level: str = "warning",
    tps_scope: str = "host",
) -> Path:
    """Write a daemon configuration: one [carriers.X] per SMSC, logs at `log_level`."""
    lines = [
        "[redis]",
        f"url = {json.dumps(redis_url)}",
        f'prefix = "{PREFIX}"',
        f"consumer = {json.dumps(consumer)}",
        f"batch_size = {batch_size}",
        "block_ms = 1000",
        # Large enough never to trim: the benchmark reads every event afterwards.
        "status_maxlen = 100000000",
        "",
        "[daemon]",
        "shutdown_timeout_s = 5",
        "",
        "[metrics]",
        f'listen = "127.0.0.1:{free_port()}"',
        "",
        "[log]",
        f"level = {json.dumps(log_level)}",
        'format = "json"',
        "",
    ]
    for carrier in carriers:
        lines += [
            f"[carriers.{carrier.name}]",
            f"host = {json.dumps(carrier.host)}",
            f"port = {carrier.port}",
            'system_id = "lisoloo"',
            'password = "bench"',
            f"binds = {binds}",
            f"window = {window}",
            f"tps = {tps}",
            f"tps_scope = {json.dumps(tps_scope)}",
            f"max_parts = {max_parts}",
            f"prefixes = [{json.dumps(carrier.prefix)}]",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the gateway side


def entry(
    i: int,
    carriers: int,
    *,
    mix: bool = False,
    meta: dict[str, Any] | None = None,
    tag: str = "b",
    recipients: int = 1,
    first: int | None = None,
) -> bytes:
    """Outbound entry `i` (CONTRACT §1): `recipients` numbers (from number `first`, else `i`),
    all routed to carrier i % carriers; with `mix`, odd entries long UCS-2."""
    start = i if first is None else first
    data: dict[str, Any] = {
        "message_id": f"{tag}{i:09d}",
        "to": [recipient(i % carriers, start + k) for k in range(recipients)],
        "message": LONG_TEXT if mix and i % 2 else SHORT_TEXT,
        "sender_id": SENDER,
    }
    if meta is not None:
        data["meta"] = meta
    return _encode_json(data)


def parts_of(i: int, mix: bool) -> int:
    return LONG_PARTS if mix and i % 2 else 1


def entry_sizes(n: int, recipients: int) -> list[int]:
    """The recipients of each entry when `n` recipients go `recipients` to an entry."""
    full, rest = divmod(n, recipients)
    return [recipients] * full + ([rest] if rest else [])


def parts_total(n: int, mix: bool, recipients: int = 1) -> int:
    """The parts `enqueue(n, mix=mix, recipients=recipients)` asks for."""
    return sum(size * parts_of(i, mix) for i, size in enumerate(entry_sizes(n, recipients)))


def enqueue(
    client: redis.Redis,
    n: int,
    carriers: int,
    *,
    mix: bool = False,
    start: int = 0,
    chunk: int = 5000,
    tag: str = "b",
    progress: bool = False,
    recipients: int = 1,
) -> float:
    """XADD entries for `n` recipients, `recipients` to an entry (entry `start + k` holds the
    numbers that follow the previous entry's), to <prefix>:outbound in pipelines of `chunk`
    entries; returns the seconds."""
    stream = f"{PREFIX}:outbound"
    sizes = entry_sizes(n, recipients)
    began = time.perf_counter()
    number = start
    for first in range(0, len(sizes), chunk):
        pipe = client.pipeline(transaction=False)
        for k in range(first, min(first + chunk, len(sizes))):
            data = entry(start + k, carriers, mix=mix, tag=tag, recipients=sizes[k], first=number)
            pipe.xadd(stream, {"data": data})
            number += sizes[k]
        pipe.execute()
        if progress and first % (chunk * 40) == 0 and first > 0:
            print(f"  enqueued {first:,} ...", flush=True)
    return time.perf_counter() - began


def status_events(client: redis.Redis, after: str = "-", page: int = 10_000) -> Iterator[Any]:
    """Every <prefix>:status event (decoded JSON) after the id `after` ("-": all)."""
    stream = f"{PREFIX}:status"
    start = after if after == "-" else f"({after}"
    for _ in range(100_000_000 // page):
        reply: Any = client.xrange(stream, start, "+", page)
        if not reply:
            return
        for _id, fields in reply:
            yield _decode_json(fields[b"data"])
        start = "(" + reply[-1][0].decode()
        if len(reply) < page:
            return


def last_status_id(client: redis.Redis) -> str:
    reply: Any = client.xrevrange(f"{PREFIX}:status", count=1)
    return str(reply[0][0].decode()) if reply else "0-0"


@dataclass
class Outcome:
    """What the status stream says about one run."""

    counts: Counter[str] = field(default_factory=Counter)
    reached: int = 0  # recipients that reached the target status
    first_at: float = float("inf")  # earliest `processing`
    last_at: float = 0.0  # the latest first-arrival at the target status
    errors: Counter[str] = field(default_factory=Counter)


def read_outcome(client: redis.Redis, target: str, after: str = "-") -> Outcome:
    outcome = Outcome()
    seen: set[tuple[str, str]] = set()
    for event in status_events(client, after):
        status = event["status"]
        outcome.counts[status] += 1
        at = parse_at(event["at"])
        if status == "processing":
            outcome.first_at = min(outcome.first_at, at)
        if status == target:
            key = (event["message_id"], event["to"])
            if key not in seen:
                seen.add(key)
                outcome.last_at = max(outcome.last_at, at)
        elif event.get("error"):
            outcome.errors[f"{status}:{event['error'].get('code')}"] += 1
    outcome.reached = len(seen)
    return outcome


def wait_for_events(
    client: redis.Redis,
    expected: int,
    watched: Sequence[Proc],
    *,
    timeout_s: float,
    stall_s: float = 30.0,
    poll_s: float = 0.05,
    on_first: Any = None,
) -> tuple[bool, str]:
    """Poll XLEN <prefix>:status until it reaches `expected` (cheap: the run is not disturbed).

    Returns (reached, why-not). `on_first` is called once when the first event appears.
    Gives up after `timeout_s`, or when the count has not moved for `stall_s`.
    """
    stream = f"{PREFIX}:status"
    deadline = time.monotonic() + timeout_s
    last_count, last_move = -1, time.monotonic()
    first_seen = False
    for _ in range(int(timeout_s / poll_s) + 10):
        count = int(client.xlen(stream))
        now = time.monotonic()
        if count and not first_seen:
            first_seen = True
            if on_first is not None:
                on_first()
        if count >= expected:
            return True, ""
        if count != last_count:
            last_count, last_move = count, now
        elif now - last_move > stall_s:
            return False, f"stalled at {count} of {expected} events for {stall_s:.0f} s"
        for proc in watched:
            if not proc.alive:
                return False, f"{proc.name} exited\n{proc.tail()}"
        if now > deadline:
            return False, f"timed out at {count} of {expected} events after {timeout_s:.0f} s"
        time.sleep(poll_s)
    return False, "poll budget exhausted"


# ------------------------------------------------------------------------------ daemon metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metrics_address(config: Path) -> tuple[str, int]:
    """The daemon's /metrics address, as its configuration file says."""
    host, _, port = tomllib.loads(config.read_text())["metrics"]["listen"].rpartition(":")
    return host, int(port)


def scrape(address: tuple[str, int], timeout_s: float = 5.0) -> Samples:
    """Every sample of the daemon's /metrics, keyed by (name, sorted labels)."""
    url = f"http://{address[0]}:{address[1]}/metrics"
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        text = response.read().decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far one sample moved; a label given as "*" takes every value (the moves summed)."""
    if "*" not in labels.values():
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)
    total = 0.0
    for (sample, pairs), value in after.items():
        got = dict(pairs)
        if (
            sample == name
            and got.keys() == labels.keys()
            and all(want in ("*", got[label]) for label, want in labels.items())
        ):
            total += value - before.get((sample, pairs), 0.0)
    return total


def report_daemon_view(before: Samples, after: Samples) -> None:
    """What the daemon's own histograms saw between two scrapes: its batched Redis script
    calls (count, mean batch, mean time, share within a few bounds) and its event loop's lag.
    Bucket shares are exact at the bucket bounds; means come from the histograms' sums."""
    bounds = ("0.001", "0.005", "0.01", "0.025")
    print("the daemon's own view of the load (its /metrics, before → after):")
    header = f"  {'what':<22} {'count':>8} {'mean ops':>9} {'mean ms':>8} " + " ".join(
        f"{'≤' + str(int(float(b) * 1000)) + ' ms':>8}" for b in bounds
    )
    print(header)
    rows: list[tuple[str, str, dict[str, str]]] = [
        (f"redis script {name}", "smpp_connector_redis_script_seconds", {"script": name})
        for name in ("intake", "outcomes", "receipts")
    ]
    rows += [
        ("submit_sm -> resp", "smpp_connector_submit_response_seconds", {"carrier": "*"}),
        ("deliver_sm -> answer", "smpp_connector_deliver_sm_answer_seconds", {"carrier": "*"}),
        ("event loop lag", "smpp_connector_event_loop_lag_seconds", {}),
    ]
    for label, name, labels in rows:
        count = moved(before, after, f"{name}_count", **labels)
        if count <= 0:
            print(f"  {label:<22} {0:>8}")
            continue
        total = moved(before, after, f"{name}_sum", **labels)
        scripted = "script" in labels
        ops = (
            moved(before, after, "smpp_connector_redis_script_ops_total", **labels) / count
            if scripted
            else float("nan")
        )
        shares = " ".join(
            f"{100 * moved(before, after, f'{name}_bucket', le=b, **labels) / count:>7.1f}%"
            for b in bounds
        )
        mean_ops = f"{ops:>9.1f}" if scripted else f"{'':>9}"
        print(f"  {label:<22} {count:>8,.0f} {mean_ops} {1000 * total / count:>8.2f} {shares}")
    print(
        "  (script: written → reply, its wait behind other commands included; submit_sm -> "
        "resp: the SMSC's round trip as the daemon sees it; deliver_sm -> answer: a receipt "
        "held until its script call is back; loop lag: how late a 50 ms timer ran, below 1 ms "
        "timer resolution)"
    )


def log_problems(proc: Proc, limit: int = 5) -> tuple[int, list[str]]:
    """Lines the daemon logged (it runs at level warning, so each is a warning or worse)."""
    lines = [line for line in proc.stdout().splitlines() if line.strip()]
    lines += [line for line in proc.stderr().splitlines() if line.strip()]
    return len(lines), lines[:limit]


# ------------------------------------------------------------------------------ py-spy


def start_profiler(stack: Stack, pid: int, output: Path, rate: int = 200) -> Proc | None:
    """Attach `py-spy record` (raw collapsed stacks) to a running process, if py-spy exists."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        print("py-spy not found: no profile", file=sys.stderr)
        return None
    args = [binary, "record", "--pid", str(pid), "-o", str(output), "-f", "raw", "-r", str(rate)]
    args.append("--gil")  # only samples holding the GIL: CPU, not waiting in the event loop
    return stack.start("py-spy", args)


def stop_profiler(stack: Stack, proc: Proc | None) -> None:
    if proc is not None:
        stack.stop(proc, timeout_s=30.0, sig=signal.SIGINT)


def summarise_profile(path: Path, top: int = 15) -> str:
    """Top self-time frames of a py-spy raw (collapsed) profile: by function and by line."""
    by_function: Counter[str] = Counter()
    by_line: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        by_line[_short(leaf)] += count
        by_function[_short(_strip_line(leaf))] += count
        for name in {_short(_strip_line(frame)) for frame in frames}:
            inclusive[name] += count
    if total == 0:
        return f"{path}: no samples"
    out = [f"{path}: {total} samples (idle excluded)"]
    for title, counter in (
        ("self time by function", by_function),
        ("self time by line", by_line),
        ("inclusive time by function (frames on every sample left out)", inclusive),
    ):
        out.append(f"\n{title}:")
        shown = [(n, c) for n, c in counter.most_common() if c < total or counter is not inclusive]
        for name, count in shown[:top]:
            out.append(f"  {100 * count / total:5.1f}%  {name}")
    return "\n".join(out)


def _strip_line(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (path/to/file.py)"
    return re.sub(r":\d+\)$", ")", frame)


def _short(frame: str) -> str:
    frame = re.sub(r"\(/[^)]*?/site-packages/", "(", frame)
    frame = re.sub(r"\(/[^)]*?/lib/python3\.\d+/", "(stdlib/", frame)
    return re.sub(r"\(/work/main/", "(", frame)
