"""Scheduled messages: held in Redis until `send_at`, then queued for their carrier.

Intake puts a scheduled recipient's work item into the sorted set `<prefix>:sched` (score =
`send_at`); every daemon runs this loop, and the release script moves what is due atomically,
so whichever host is alive releases it, to the quarter second, and never twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from connector.streams.store import Store

_log = logging.getLogger(__name__)


async def release_scheduled_forever(
    store: Store,
    stop: asyncio.Event,
    wall: Callable[[], float] = time.time,
    interval_s: float = 0.25,
) -> None:
    """Move scheduled messages to their carrier's queue when `send_at` comes (any host)."""
    while not stop.is_set():
        try:
            for _ in range(1000):  # a large due batch drains in slices of 500
                if await store.release_scheduled(wall()) < 500:
                    break
        except (RedisError, OSError) as error:
            _log.debug("scheduler skipped: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
