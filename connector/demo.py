"""`make demo`: the Quickstart's message through a real SMPP link to the local simulator.

Until the Redis daemon lands this shows the carrier side only: the simulator starts as its
own process, our client binds, submits "Hello from Lisoloo!" to +243998857000 as MYAPP, and
prints the carrier's message id and the delivery receipt; then everything stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time

from connector.carrier.submit_command import submit_one


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _demo() -> int:
    port = _free_port()
    simulator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connector.cli",
        "simulate",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--system-id",
        "lisoloo",
        "--password",
        "demo",
        "--receipt-delay",
        "0.5",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert simulator.stdout is not None
        line = await asyncio.wait_for(simulator.stdout.readline(), 15)
        print(f"[{time.strftime('%H:%M:%S')}] {line.decode().strip()}")
        args = argparse.Namespace(
            host="127.0.0.1",
            port=port,
            system_id="lisoloo",
            password="demo",
            to="+243998857000",
            sender="MYAPP",
            message="Hello from Lisoloo!",
            wait_receipt=10.0,
            timeout=10.0,
        )
        print(f"[{time.strftime('%H:%M:%S')}] submitting {args.message!r} to {args.to}")
        return await submit_one(args)
    finally:
        with contextlib.suppress(ProcessLookupError):
            simulator.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(simulator.wait(), 10)


def main() -> int:
    return asyncio.run(_demo())


if __name__ == "__main__":
    sys.exit(main())
