"""`make demo`: the gateway's Quickstart, end to end, on this machine.

Starts a private redis-server (port 6399, nothing on disk), the SMSC simulator playing Airtel
on 127.0.0.1:2775 and the daemon with `configs/demo.toml`; enqueues the Quickstart's message
exactly as the gateway would and prints its life (`pending → processing → sent → delivered`);
then a long UCS-2 message and a burst of a few hundred messages with a progress line and a
throughput figure; then stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from connector.app.send_command import describe, send
from connector.config.load import load_config

CONFIG = Path("configs/demo.toml")
QUICKSTART: dict[str, Any] = {
    "message_id": "507f1f77bcf86cd799439011",
    "to": ["+243998857000"],
    "message": "Hello from Lisoloo!",
    "sender_id": "MYAPP",
}
LONG_UCS2 = (
    "Mbote! Boyei malamu na Lisoloo. Ozali kozwa maloba oyo na nzela ya SMS: "
    "merci d'avoir choisi notre service 🇨🇩✨ — ce message est long, il part en "
    "plusieurs morceaux UCS-2 et votre téléphone les recolle. Asante sana! 😊"
)
BURST = 300


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def _wait_port(port: int, process: asyncio.subprocess.Process, name: str) -> None:
    for _ in range(300):
        if process.returncode is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        if not _port_free(port):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port}")


async def _start(*args: str, log: Path) -> asyncio.subprocess.Process:
    handle = log.open("wb")
    return await asyncio.create_subprocess_exec(*args, stdout=handle, stderr=handle)


async def _stop(process: asyncio.subprocess.Process | None) -> int | None:
    if process is None or process.returncode is not None:
        return None if process is None else process.returncode
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        return await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()
        return await process.wait()


async def _burst(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        last: Any = await client.xrevrange(f"{prefix}:status", count=1)
        since: Any = last[0][0] if last else b"0-0"
        started = time.monotonic()
        pipe = client.pipeline(transaction=False)
        for n in range(BURST):
            data = {
                "message_id": f"burst-{n:04d}",
                "to": [f"+24399{n:07d}"],
                "message": f"Burst message {n} from Lisoloo",
                "sender_id": "MYAPP",
            }
            pipe.xadd(f"{prefix}:outbound", {"data": json.dumps(data)})
        await pipe.execute()
        counts = {"sent": 0, "delivered": 0}
        shown = 0.0
        for _ in range(3000):
            reply: Any = await client.xread({f"{prefix}:status": since}, count=1000, block=100)
            for _, items in reply or []:
                for item_id, fields in items:
                    since = item_id
                    status = json.loads(fields[b"data"]).get("status")
                    if status in counts:
                        counts[status] += 1
            elapsed = time.monotonic() - started
            if elapsed - shown < 0.25 and counts["delivered"] < BURST:
                continue
            shown = elapsed
            print(
                f"\r  burst: {counts['sent']:>4}/{BURST} sent, "
                f"{counts['delivered']:>4}/{BURST} delivered, {elapsed:5.1f} s",
                end="",
                flush=True,
            )
            if counts["delivered"] >= BURST:
                break
        elapsed = time.monotonic() - started
        print(
            f"\n  {counts['delivered']} delivered in {elapsed:.1f} s "
            f"({counts['delivered'] / elapsed:.0f} msg/s at the demo carrier's tps)"
        )
    finally:
        await client.aclose()


KEY_METRICS = (
    "smpp_connector_submits_total",
    "smpp_connector_status_events_total",
    "smpp_connector_receipts_total",
    "smpp_connector_tps_configured",
    "smpp_connector_tps_effective",
    "smpp_connector_binds",
    "smpp_connector_submit_response_seconds_count",
    "smpp_connector_submit_response_seconds_sum",
    "smpp_connector_dead_letters_total",
)


async def _key_metrics(host: str, port: int) -> list[str]:
    """The interesting non-zero samples of the daemon's /metrics."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    body = raw.decode().partition("\r\n\r\n")[2]
    return [
        line
        for line in body.splitlines()
        if line.startswith(KEY_METRICS) and not line.endswith(" 0.0")
    ]


async def _demo() -> int:
    config = load_config(CONFIG)
    url, prefix = config.redis.url, config.redis.prefix
    redis_port = int(url.rsplit(":", 1)[1].split("/")[0])
    carrier = config.carriers["airtel-cd"]
    ports = ((redis_port, "redis"), (carrier.port, "simulator"), (config.metrics.port, "metrics"))
    for port, what in ports:
        if not _port_free(port):
            print(f"port {port} ({what}) is taken; stop whatever uses it and try again")
            return 1
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        print("redis-server is not installed (make demo installs it)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="smpp-connector-demo-"))
    processes: list[asyncio.subprocess.Process] = []
    try:
        redis_proc = await _start(
            redis_binary,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
            log=work / "redis.log",
        )
        processes.append(redis_proc)
        await _wait_port(redis_port, redis_proc, "redis-server")
        print(f"[{_stamp()}] redis-server on 127.0.0.1:{redis_port}")
        simulator = await _start(
            sys.executable,
            "-m",
            "connector.cli",
            "simulate",
            "--port",
            str(carrier.port),
            "--system-id",
            carrier.system_id,
            "--password",
            carrier.password.reveal(),
            "--receipt-delay",
            "0.5",
            log=work / "simulator.log",
        )
        processes.append(simulator)
        await _wait_port(carrier.port, simulator, "simulator")
        print(f"[{_stamp()}] simulator (airtel-cd) on 127.0.0.1:{carrier.port}")
        daemon = await _start(
            sys.executable,
            "-m",
            "connector.cli",
            "run",
            "--config",
            str(CONFIG),
            log=work / "daemon.log",
        )
        processes.append(daemon)
        print(f"[{_stamp()}] daemon started (logs in {work})\n")

        print(
            "The Quickstart: POST /send {to: [+243998857000], message: "
            "'Hello from Lisoloo!', sender_id: MYAPP} → 201 pending"
        )
        code = await send(
            url,
            prefix,
            dict(QUICKSTART),
            wait=True,
            timeout_s=30,
            out=lambda line: print("  " + line),
        )
        if code != 0:
            print((work / "daemon.log").read_text()[-4000:])
            return code
        print("\nA long UCS-2 message (emoji and accents: several parts, one status)")
        long_message = {
            "message_id": "demo-long-ucs2",
            "to": ["+243970000001"],
            "message": LONG_UCS2,
            "sender_id": "MYAPP",
        }
        code = await send(
            url, prefix, long_message, wait=True, timeout_s=30, out=lambda line: print("  " + line)
        )
        if code != 0:
            return code
        print(f"\nA burst of {BURST} messages through one carrier at tps {carrier.tps:g}")
        await _burst(url, prefix)
        print(f"\nKey metrics (http://{config.metrics.listen}/metrics):")
        for line in await _key_metrics(config.metrics.host, config.metrics.port):
            print("  " + line)
        return 0
    finally:
        for process in reversed(processes):
            await _stop(process)
        print(f"[{_stamp()}] stopped everything the demo started")


def main() -> int:
    _ = describe  # the same one-line rendering `send --wait` prints
    return asyncio.run(_demo())


if __name__ == "__main__":
    sys.exit(main())
