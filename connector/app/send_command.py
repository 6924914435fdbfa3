"""`smpp-connector send`: enqueue a message exactly as the gateway does, and follow its statuses.

The entry goes to `<prefix>:outbound` with one `data` field (CONTRACT §1); with `--wait` the
command reads `<prefix>:status` from the moment it enqueued and prints each transition of each
recipient until every one is final (or `sent` without a receipt request), or the timeout ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connector.config.load import load_config
from connector.config.schema import ConfigError

FINAL = frozenset({"delivered", "undelivered", "expired", "rejected", "failed"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="take redis.url and redis.prefix from it")
    parser.add_argument("--redis-url", help="overrides the config's redis.url")
    parser.add_argument("--prefix", help="overrides the config's redis.prefix (default sms)")
    parser.add_argument("--to", required=True, action="append", help="E.164; repeat for more")
    parser.add_argument("--message", required=True, help="the text; '-' reads standard input")
    parser.add_argument("--sender", required=True, help="sender id (MYAPP, 12345 or +243…)")
    parser.add_argument("--message-id", help="default: a fresh random id")
    parser.add_argument("--priority", choices=("high", "normal", "low"))
    parser.add_argument("--carrier", help="force a carrier by name")
    parser.add_argument("--no-receipt", action="store_true", help="do not ask for a receipt")
    parser.add_argument("--wait", action="store_true", help="follow the status events")
    parser.add_argument("--timeout", type=float, default=30.0, help="how long --wait waits (s)")


def entry(args: argparse.Namespace, message: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": args.message_id or uuid.uuid4().hex[:24],
        "to": list(args.to),
        "message": message,
        "sender_id": args.sender,
    }
    if args.priority:
        data["priority"] = args.priority
    if args.carrier:
        data["carrier"] = args.carrier
    if args.no_receipt:
        data["receipt"] = False
    return data


def describe(event: dict[str, Any]) -> str:
    """One line per status event, as the Quickstart tells the story."""
    parts = [f"{event.get('at', '')}  {event.get('to')}  {event.get('status')}"]
    if event.get("carrier"):
        parts.append(f"carrier={event['carrier']}")
    if event.get("smsc_ids"):
        parts.append("smsc_ids=" + ",".join(event["smsc_ids"]))
    if event.get("parts"):
        parts.append(f"parts={event['parts']}")
    if event.get("error"):
        error = event["error"]
        parts.append(f"error={error.get('code')} ({error.get('description')})")
    if event.get("receipt"):
        receipt = event["receipt"]
        parts.append(f"receipt={receipt.get('stat')} err={receipt.get('err')}")
    return "  ".join(parts)


async def send(
    url: str,
    prefix: str,
    data: dict[str, Any],
    *,
    wait: bool,
    timeout_s: float,
    out: Callable[[str], None] = print,
) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        last: Any = await client.xrevrange(f"{prefix}:status", count=1)
        since: Any = last[0][0] if last else b"0-0"
        entry_id = await client.xadd(f"{prefix}:outbound", {"data": json.dumps(data)})
        out(f"enqueued {data['message_id']} as {prefix}:outbound {_s(entry_id)} (pending)")
        if not wait:
            return 0
        return await _follow(client, prefix, data, since, timeout_s, out)
    except (RedisError, OSError) as error:
        print(f"error: Redis at {url}: {error}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()


async def _follow(
    client: aioredis.Redis,
    prefix: str,
    data: dict[str, Any],
    since: Any,
    timeout_s: float,
    out: Callable[[str], None],
) -> int:
    waiting = set(data["to"])
    want_receipt = data.get("receipt", True)
    deadline = time.monotonic() + timeout_s
    failed = False
    while waiting and time.monotonic() < deadline:
        reply: Any = await client.xread({f"{prefix}:status": since}, count=500, block=200)
        for _, items in reply or []:
            for item_id, fields in items:
                since = item_id
                event = json.loads(fields[b"data"])
                if event.get("message_id") != data["message_id"]:
                    continue
                out(describe(event))
                status = event.get("status")
                if status in FINAL or (status == "sent" and not want_receipt):
                    waiting.discard(event.get("to"))
                    failed = failed or status not in ("delivered", "sent")
    if waiting:
        out(f"timed out after {timeout_s:.0f} s waiting for {', '.join(sorted(waiting))}")
        return 1
    return 1 if failed else 0


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def run(args: argparse.Namespace) -> int:
    url, prefix = "redis://127.0.0.1:6379/0", "sms"
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            return 1
        url, prefix = config.redis.url, config.redis.prefix
    url = args.redis_url or url
    prefix = args.prefix or prefix
    message = sys.stdin.read() if args.message == "-" else args.message
    return asyncio.run(
        send(url, prefix, entry(args, message), wait=args.wait, timeout_s=args.timeout)
    )
