"""sd_notify against a fake service manager: a real AF_UNIX datagram socket (path or abstract)."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.observe.systemd import Notifier


class FakeManager:
    """The receiving end of NOTIFY_SOCKET; a thread stamps each datagram as it arrives."""

    def __init__(self, address: str) -> None:
        self.address = address  # NOTIFY_SOCKET's value
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bind_to = "\0" + address[1:] if address.startswith("@") else address
        self.socket.bind(bind_to)
        self.socket.settimeout(0.05)
        self.received: list[tuple[float, dict[str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().split("\n"))
            self.received.append((time.monotonic(), fields))

    def messages(self, count: int, timeout_s: float = 2.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return [fields for _, fields in self.received]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.socket.close()


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[FakeManager]:
    path = tmp_path / "notify"
    if len(str(path)) > 100:  # sun_path holds 108 bytes
        path = Path("/tmp") / f"notify-{uuid.uuid4().hex[:12]}"
    fake = FakeManager(str(path))
    try:
        yield fake
    finally:
        fake.close()
        path.unlink(missing_ok=True)


@pytest.fixture
def abstract_manager() -> Iterator[FakeManager]:
    fake = FakeManager(f"@smpp-connector-test-{uuid.uuid4().hex}")
    try:
        yield fake
    finally:
        fake.close()


def test_lifecycle_messages_reach_the_manager(manager: FakeManager) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": manager.address})
    assert notifier.enabled
    before = time.monotonic_ns() // 1000
    assert notifier.ready("carriers: airtel-cd")
    assert notifier.reloading()
    after = time.monotonic_ns() // 1000
    assert notifier.ready()
    assert notifier.status("draining 3 submits\nsecond line dropped")
    assert notifier.watchdog()
    assert notifier.stopping()
    messages = manager.messages(6)
    assert messages[0] == {"READY": "1", "STATUS": "carriers: airtel-cd"}
    assert messages[1]["RELOADING"] == "1"
    assert before <= int(messages[1]["MONOTONIC_USEC"]) <= after
    assert messages[2:] == [
        {"READY": "1"},
        {"STATUS": "draining 3 submits"},
        {"WATCHDOG": "1"},
        {"STOPPING": "1"},
    ]
    notifier.close()


def test_an_abstract_namespace_socket_works(abstract_manager: FakeManager) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": abstract_manager.address})
    assert notifier.ready()
    assert notifier.watchdog()
    assert notifier.stopping()
    assert abstract_manager.messages(3) == [{"READY": "1"}, {"WATCHDOG": "1"}, {"STOPPING": "1"}]
    notifier.close()


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.reloading()
    assert not notifier.stopping()
    assert not notifier.watchdog()
    assert notifier.watchdog_interval_s() is None


def test_an_unsupported_socket_kind_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert not notifier.ready()
    assert "not supported" in caplog.text


def test_a_manager_gone_away_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert notifier.enabled
    assert not notifier.ready()
    notifier.close()


def test_watchdog_interval_is_half_the_timeout_for_this_process_only() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_env(env).watchdog_interval_s() == 15.0
    mine = {**env, "WATCHDOG_PID": str(os.getpid())}
    assert Notifier.from_env(mine).watchdog_interval_s() == 15.0
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_env(other).watchdog_interval_s() is None
    assert Notifier.from_env({"WATCHDOG_USEC": "30000000"}).watchdog_interval_s() is None
    assert Notifier.from_env({**env, "WATCHDOG_USEC": "zero"}).watchdog_interval_s() is None
    assert Notifier.from_env({**env, "WATCHDOG_USEC": "0"}).watchdog_interval_s() is None


async def test_watchdog_pings_at_half_the_interval_until_stopped(manager: FakeManager) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "200000"})
    assert notifier.watchdog_interval_s() == pytest.approx(0.1)
    stop = asyncio.Event()
    task = asyncio.ensure_future(notifier.run_watchdog(stop))
    await asyncio.sleep(0.55)
    stop.set()
    await asyncio.wait_for(task, 1)
    pings = len(manager.messages(1))
    assert 3 <= pings <= 8  # one at once, then every 0.1 s
    assert all(fields == {"WATCHDOG": "1"} for _, fields in manager.received)
    stamps = [at for at, _ in manager.received]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(0.05 <= gap <= 0.5 for gap in gaps), gaps
    await asyncio.sleep(0.25)
    assert len(manager.received) == pings  # no ping after stop
    notifier.close()


async def test_a_wedged_event_loop_stops_the_pings(manager: FakeManager) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "100000"})
    stop = asyncio.Event()
    task = asyncio.ensure_future(notifier.run_watchdog(stop))
    await asyncio.sleep(0.2)
    time.sleep(0.5)  # the loop is stuck: nothing pings meanwhile
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 1)
    stamps = [at for at, _ in manager.received]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) >= 0.45
    notifier.close()


async def test_watchdog_skips_pings_while_unhealthy(manager: FakeManager) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "100000"})
    healthy = [False]
    stop = asyncio.Event()
    task = asyncio.ensure_future(notifier.run_watchdog(stop, healthy=lambda: healthy[0]))
    await asyncio.sleep(0.2)
    assert manager.received == []
    healthy[0] = True
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert len(manager.messages(1)) >= 1
    notifier.close()


async def test_watchdog_returns_at_once_when_not_armed() -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "@unused"})
    await asyncio.wait_for(notifier.run_watchdog(asyncio.Event()), 0.5)
