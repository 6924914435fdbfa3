"""A private three-master Redis Cluster on loopback, started and killed by the tests.

Each node is a `redis-server --cluster-enabled yes` in its own subdirectory of the given
directory; `redis-cli --cluster create` assigns the 16384 slots across them (no replicas).
A cluster node also listens on its cluster-bus port (client port + 10000), so every client port
is chosen with that bus port free as well. Every wait is bounded; a failed start kills whatever
it had started.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from tests.support.redis_server import free_port

CLUSTER_BUS_OFFSET = 10000
"""Redis listens for the cluster bus on the client port + 10000."""

_HIGHEST_PORT = 65535
_SLOTS = 16384


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port(taken: set[int], attempts: int = 200) -> int:
    """A free loopback port whose cluster-bus port (+10000) is free too, both outside `taken`."""
    for _ in range(attempts):
        port = free_port()
        bus = port + CLUSTER_BUS_OFFSET
        if bus > _HIGHEST_PORT or port in taken or bus in taken:
            continue
        if _port_is_free(bus):
            return port
    raise RuntimeError(f"no free port with a free cluster-bus port in {attempts} attempts")


def _cluster_ports(count: int) -> list[int]:
    ports: list[int] = []
    taken: set[int] = set()
    for _ in range(count):
        port = free_cluster_port(taken)
        ports.append(port)
        taken.update((port, port + CLUSTER_BUS_OFFSET))
    return ports


def _client(port: int) -> redis.Redis:
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        decode_responses=True,
    )


def _process_id(port: int) -> int | None:
    """The pid of the redis-server answering on `port`; None when none answers."""
    client = _client(port)
    try:
        info = client.info("server")
    except redis.RedisError:
        return None
    finally:
        client.close()
    pid = info.get("process_id")
    return int(pid) if pid is not None else None


def _cluster_info(port: int) -> dict[str, str]:
    """`CLUSTER INFO` of one node as text fields; empty when the node does not answer."""
    client = _client(port)
    try:
        raw = client.cluster("INFO")
    except redis.RedisError:
        return {}
    finally:
        client.close()
    if isinstance(raw, dict):
        return {str(key): str(value) for key, value in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


class RedisClusterProcess:
    """Three (or more) cluster-enabled redis-server masters on loopback, one cluster.

    `start()`/`stop()`/`kill()` may be called repeatedly: the first `start()` creates the
    cluster; a later one restarts the same nodes on the same ports, and they rejoin from their
    `nodes-<port>.conf` (their data is gone: no RDB, no AOF).
    """

    def __init__(
        self,
        directory: Path,
        *,
        masters: int = 3,
        node_timeout_ms: int = 2000,
    ) -> None:
        if masters < 3:
            raise ValueError("redis-cli --cluster create needs at least 3 masters")
        server = shutil.which("redis-server")
        cli = shutil.which("redis-cli")
        if server is None or cli is None:
            raise RuntimeError("redis-server and redis-cli are not installed")
        self.server_binary = server
        self.cli_binary = cli
        self.directory = directory
        self.masters = masters
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = _cluster_ports(masters)
        self.processes: list[subprocess.Popen[bytes]] = []
        self._created = False

    @property
    def url(self) -> str:
        """A startup node; `RedisCluster.from_url` discovers the others (db 0 is the only db)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    def node_directory(self, port: int) -> Path:
        return self.directory / f"node-{port}"

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> None:
        """Start every node, create the cluster the first time, wait for `cluster_state:ok`."""
        if self.processes:
            raise RuntimeError("the cluster is already started (stop() or kill() it first)")
        deadline = time.monotonic() + timeout_s
        attempts = 1 if self._created else 3
        for attempt in range(attempts):
            try:
                self._start_nodes(deadline)
            except _NodeExited:
                self.kill()
                if attempt + 1 == attempts:
                    raise
                # Probably a port taken between choosing it and binding it: choose again.
                self.ports = _cluster_ports(self.masters)
                continue
            except BaseException:
                self.kill()
                raise
            break
        try:
            if not self._created:
                self._create(deadline)
                self._created = True
            self._wait_ok(deadline)
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL every node, as a crash would."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self.processes = []

    def stop(self) -> None:
        """SIGTERM every node; SIGKILL the ones that have not exited after 10 s."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10.0
        for process in self.processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
        self.processes = []

    def flushall(self) -> None:
        """FLUSHALL on every master (each holds only its own slots)."""
        for port in self.ports:
            client = _client(port)
            try:
                client.flushall()
            finally:
                client.close()

    def __enter__(self) -> RedisClusterProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps ----------------------------------------------------------------------------------

    def _start_nodes(self, deadline: float) -> None:
        for port in self.ports:
            directory = self.node_directory(port)
            directory.mkdir(parents=True, exist_ok=True)
            args = [
                self.server_binary,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                str(self.node_timeout_ms),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                str(directory / "redis.log"),
            ]
            self.processes.append(
                subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port, process in zip(self.ports, self.processes, strict=True):
            self._wait_answer(port, process, deadline)

    def _wait_answer(self, port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
        """Until the node answers on `port`, and it is this process (not a stranger on the port)."""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise _NodeExited(
                    f"redis-server on port {port} exited with {process.returncode}"
                    f" (see {self.node_directory(port) / 'redis.log'})"
                )
            if _process_id(port) == process.pid:
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {port}")

    def _create(self, deadline: float) -> None:
        args = [
            self.cli_binary,
            "--cluster",
            "create",
            *self.addresses,
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ]
        remaining = max(1.0, deadline - time.monotonic())
        try:
            done = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=remaining,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"redis-cli --cluster create took over {remaining:.0f} s") from exc
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        (self.directory / "cluster-create.log").write_text(output)
        if done.returncode != 0 or f"All {_SLOTS} slots covered" not in output:
            raise RuntimeError(
                f"redis-cli --cluster create failed ({done.returncode}):\n{output[-2000:]}"
            )

    def _wait_ok(self, deadline: float) -> None:
        """Until every node reports `cluster_state:ok`, all slots assigned, every node known."""
        last: dict[int, dict[str, str]] = {}
        while time.monotonic() < deadline:
            for port, process in zip(self.ports, self.processes, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {port} exited")
                last[port] = _cluster_info(port)
            if all(
                info.get("cluster_state") == "ok"
                and info.get("cluster_slots_assigned") == str(_SLOTS)
                and info.get("cluster_known_nodes") == str(self.masters)
                for info in last.values()
            ):
                return
            time.sleep(0.05)
        states = {port: info.get("cluster_state", "?") for port, info in last.items()}
        raise RuntimeError(f"the cluster did not reach cluster_state:ok: {states}")


class _NodeExited(RuntimeError):
    """A node exited before answering PING (its port was probably taken meanwhile)."""
