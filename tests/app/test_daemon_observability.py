"""A running daemon's /metrics, /healthz, /readyz and its sd_notify messages."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from connector.app.daemon import Daemon
from connector.config.load import parse_config
from tests.support.daemon_harness import (
    CarrierUnderTest,
    DaemonHarness,
    config_text,
    start_smsc,
)
from tests.support.redis_server import free_port


async def _get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_move_as_traffic_flows_and_readiness_follows_binds(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)

    smsc = await start_smsc(receipt_delay_s=0.02)
    down = CarrierUnderTest("orange-cd", port=free_port(), prefixes=("+24384",))
    port = free_port()
    text = config_text(redis_url, [CarrierUnderTest(smsc=smsc), down])
    daemon = Daemon.build(parse_config(text + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n'))
    task = asyncio.ensure_future(daemon.run())
    client = aioredis.Redis.from_url(redis_url)
    h = DaemonHarness(daemon, task, client, "sms")
    try:
        await h.wait_ready(["airtel-cd"])
        assert (await _get(port, "/healthz"))[0] == 200
        status, reason = await _get(port, "/readyz")
        assert status == 503
        assert "orange-cd" in reason

        _, before = await _get(port, "/metrics")
        numbers = [f"+24399{n:07d}" for n in range(20)]
        for n, number in enumerate(numbers):
            await h.send(message_id=f"m{n}", to=[number])
        await h.send_raw("not json")
        await h.wait_final(numbers)
        _, after = await _get(port, "/metrics")

        def moved(name: str, **labels: str) -> float:
            return _value(after, name, **labels) - _value(before, name, **labels)

        carrier = {"carrier": "airtel-cd"}
        assert moved("smpp_connector_submits_total", result="ok", **carrier) == 20
        assert moved("smpp_connector_parts_sent_total", **carrier) == 20
        assert moved("smpp_connector_status_events_total", status="processing", **carrier) == 20
        assert moved("smpp_connector_status_events_total", status="sent", **carrier) == 20
        assert moved("smpp_connector_status_events_total", status="delivered", **carrier) == 20
        assert (
            moved("smpp_connector_receipts_total", state="DELIVRD", match="matched", **carrier)
            == 20
        )
        assert (
            moved("smpp_connector_deliver_sm_responses_total", status="ESME_ROK", **carrier) == 20
        )
        assert moved("smpp_connector_dead_letters_total") == 1
        assert moved("smpp_connector_submit_response_seconds_count", **carrier) == 20
        assert moved("smpp_connector_sent_to_receipt_seconds_count", **carrier) == 20
        assert moved("smpp_connector_deliver_sm_answer_seconds_count", **carrier) == 20
        assert moved("smpp_connector_entry_to_sent_seconds_count", **carrier) == 20
        # Every entry went through one intake call, every part through one outcomes op and
        # every receipt through one receipts op (the dead letter is an entry too).
        assert moved("smpp_connector_redis_script_ops_total", script="intake") == 21
        assert moved("smpp_connector_redis_script_ops_total", script="outcomes") == 20
        assert moved("smpp_connector_redis_script_ops_total", script="receipts") == 20
        for script in ("intake", "outcomes", "receipts"):
            assert moved("smpp_connector_redis_script_seconds_count", script=script) >= 1
        assert _value(after, "smpp_connector_binds", state="bound", **carrier) == 1
        assert _value(after, "smpp_connector_binds", state="bound", carrier="orange-cd") == 0
        assert _value(after, "smpp_connector_tps_configured", **carrier) == 500
        assert _value(after, "smpp_connector_redis_up") == 1
        await asyncio.sleep(0.25)  # WATCHDOG_USEC 200 ms: the loop pings every 100 ms
        # The loop's timer lateness is sampled every 50 ms while the daemon runs.
        _, later = await _get(port, "/metrics")
        assert _value(later, "smpp_connector_event_loop_lag_seconds_count") > _value(
            after, "smpp_connector_event_loop_lag_seconds_count"
        )
    finally:
        daemon.stop()
        assert await asyncio.wait_for(task, 20) == 0
        await smsc.stop()
        await client.aclose()

    messages: list[bytes] = []
    for _ in range(1000):
        try:
            messages.append(notify.recv(4096))
        except BlockingIOError:
            break
    notify.close()
    lines = b"\n".join(messages).decode().splitlines()
    assert "READY=1" in lines
    assert "WATCHDOG=1" in lines
    assert "STOPPING=1" in lines
    assert lines.index("READY=1") < lines.index("STOPPING=1")
