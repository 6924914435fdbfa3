"""The simulator and the daemon as real subprocesses (`python -m connector.cli ...`).

For tests that must kill a process the way a crash does (SIGKILL) and start it again. Each
process writes its stdout and stderr to files beside the test's other files, so a failing test
can show what the process said (`Process.output()`). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_LISTENING = re.compile(r"simulator listening on (\S+):(\d+)")
_CONTROL = re.compile(r"simulator control on (\S+):(\d+)")


class Process:
    """One subprocess whose output goes to `<directory>/<name>.stdout` and `.stderr`."""

    def __init__(self, name: str, args: list[str], directory: Path) -> None:
        self.name = name
        self.args = args
        directory.mkdir(parents=True, exist_ok=True)
        self.stdout_path = directory / f"{name}.stdout"
        self.stderr_path = directory / f"{name}.stderr"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """None while running."""
        return self.process.poll()

    def kill(self, timeout_s: float = 10.0) -> int:
        """SIGKILL, as a crash would, and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout_s)

    def terminate(self, timeout_s: float) -> int:
        """SIGTERM and wait; past `timeout_s` SIGKILL it and raise TimeoutError."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(
                f"{self.name} did not exit within {timeout_s} s of SIGTERM\n{self.output()}"
            ) from None

    def close(self) -> None:
        """Make sure it is gone (cleanup after a failure)."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.kill()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def output(self, tail_chars: int = 4000) -> str:
        """The end of what it wrote, for assertion messages."""
        parts = [f"--- {self.name} (pid {self.pid}, returncode {self.process.poll()})"]
        for label, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(
                f"--- {self.name} {label} (last {tail_chars} chars):\n{text[-tail_chars:]}"
            )
        return "\n".join(parts)


class Simulator(Process):
    """`smpp-connector simulate`, listening on `host:port` once `start_simulator` returns."""

    host: str = "127.0.0.1"
    port: int = 0


def cli(*args: str) -> list[str]:
    """The command line of `smpp-connector ARGS...` with this interpreter."""
    return [sys.executable, "-m", "connector.cli", *args]


def start_simulator(
    directory: Path, *options: str, name: str = "simulator", timeout_s: float = 15.0
) -> Simulator:
    """Start the simulator on a free port (`--port 0`) and wait for its listening line."""
    simulator = Simulator(name, cli("simulate", "--port", "0", *options), directory)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = _LISTENING.search(simulator.stdout())
        if match is not None:
            simulator.host, simulator.port = match.group(1), int(match.group(2))
            return simulator
        if simulator.returncode is not None:
            raise RuntimeError(f"the simulator exited before listening\n{simulator.output()}")
        time.sleep(0.02)
    simulator.close()
    raise RuntimeError(f"the simulator did not listen within {timeout_s} s\n{simulator.output()}")


def start_daemon(config: Path, directory: Path, *, name: str = "daemon") -> Process:
    """Start `smpp-connector run --config CONFIG` (it logs to stdout)."""
    return Process(name, cli("run", "--config", str(config)), directory)


def _toml(value: Any) -> str:
    """A TOML value for the few types a config needs (JSON's strings, numbers, lists, bools)."""
    return json.dumps(value)


def daemon_config(
    redis_url: str,
    carrier_port: int,
    *,
    carrier: str = "airtel-cd",
    prefixes: tuple[str, ...] = ("+24397", "+24398", "+24399"),
    consumer: str = "crash-host",
    block_ms: int = 50,
    batch_size: int = 256,
    claim_idle_s: float = 60.0,
    shutdown_timeout_s: float = 5.0,
    tps: float = 300,
    window: int = 20,
    binds: int = 2,
    **carrier_options: Any,
) -> str:
    """A daemon configuration with one carrier at the simulator's port; fixed consumer name,
    so that a restarted daemon replays its own pending entries."""
    extra = "".join(f"{key} = {_toml(value)}\n" for key, value in carrier_options.items())
    return f"""\
[redis]
url = {_toml(redis_url)}
consumer = {_toml(consumer)}
block_ms = {block_ms}
batch_size = {batch_size}
claim_idle_s = {claim_idle_s}

[daemon]
shutdown_timeout_s = {shutdown_timeout_s}

[log]
level = "info"
format = "console"

[carriers.{carrier}]
host = "127.0.0.1"
port = {carrier_port}
system_id = "lisoloo"
password = "pw"
binds = {binds}
tps = {tps}
window = {window}
prefixes = {_toml(list(prefixes))}
reconnect_initial_s = 0.1
reconnect_max_s = 0.5
retry_initial_s = 0.05
retry_max_s = 0.2
{extra}"""


def wait_for(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    processes: list[Process],
    *,
    interval_s: float = 0.01,
    poll: Callable[[], object] | None = None,
    detail: Callable[[], str] | None = None,
) -> None:
    """Poll until `condition()`; fail with the processes' output past `timeout_s` or when one
    of them exits. `poll` runs before each check (e.g. to read new events); `detail` adds a
    line of state to the timeout message."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if poll is not None:
            poll()
        if condition():
            return
        for process in processes:
            if process.returncode is not None:
                raise AssertionError(
                    f"{process.name} exited ({process.returncode}) while waiting for {what}\n"
                    + "\n".join(p.output() for p in processes)
                )
        time.sleep(interval_s)
    extra = f"; {detail()}" if detail is not None else ""
    raise AssertionError(
        f"timed out after {timeout_s} s waiting for {what}{extra}\n"
        + "\n".join(p.output() for p in processes)
    )


def control_address(simulator: Simulator, timeout_s: float = 5.0) -> tuple[str, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = _CONTROL.search(simulator.stdout())
        if match is not None:
            return match.group(1), int(match.group(2))
        time.sleep(0.02)
    raise AssertionError(f"no control port line\n{simulator.output()}")


def simulator_stats(address: tuple[str, int]) -> dict[str, int]:
    """The live simulator's counters and gauges, over its control port."""
    with socket.create_connection(address, timeout=2.0) as sock:
        sock.sendall(b'{"cmd": "stats"}\n')
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    answer = json.loads(reply)
    assert answer["ok"], answer
    stats: dict[str, int] = answer["stats"]
    return stats
