"""On a Redis Cluster: copy events from the outboxes to the contract's streams, in order, once.

The scripts must stay in one slot (the outbound stream's), and `<p>:status`, `<p>:dead` and
`<p>:mo` hash elsewhere, so there the scripts append events to outboxes in their own slot and
this relay moves them. Each event is added to its stream under the outbox entry's own id
(`XADD <stream> <id>`), so:

- a repeat is refused by Redis (an id not above the stream's last one), so an event crosses
  once even when several daemons relay at the same time or one dies between adding an event
  and deleting it from the outbox;
- the stream keeps the outbox's order, which is the order the scripts emitted events in.

Several relays cannot lose an event either: each reads its outbox from the head and adds in
order, so an id is refused only when a later one from the same outbox is already in the
stream, which its relay added only after adding (or seeing refused) every earlier id.
The outbox entry is deleted once the stream has it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError, ResponseError

_log = logging.getLogger(__name__)

_REFUSED = "equal or smaller"  # Redis: "The ID specified in XADD is equal or smaller than ..."


class Relay:
    """Moves outbox entries to their streams; `run()` until cancelled."""

    def __init__(
        self,
        client: Any,
        pairs: Sequence[tuple[str, str, int]],
        *,
        batch: int = 500,
        block_ms: int = 1000,
    ) -> None:
        self.client = client
        self.pairs = list(pairs)  # (outbox, stream, maxlen; 0: never trim)
        self.batch = batch
        self.block_ms = block_ms
        self.moved = 0
        self.refused = 0  # already in the stream (another relay, or a retry)

    async def step(self) -> int:
        """One pass over every outbox; how many entries it moved."""
        moved = 0
        for outbox, stream, maxlen in self.pairs:
            entries: Any = await self.client.xrange(outbox, count=self.batch)
            if not entries:
                continue
            pipe = self.client.pipeline(transaction=False)
            for entry_id, fields in entries:
                pipe.xadd(stream, fields, id=entry_id, maxlen=maxlen or None, approximate=True)
            results = await pipe.execute(raise_on_error=False)
            for result in results:
                if isinstance(result, ResponseError):
                    if _REFUSED not in str(result):
                        raise result
                    self.refused += 1
                elif isinstance(result, Exception):
                    raise result
            await self.client.xdel(outbox, *[entry_id for entry_id, _ in entries])
            moved += len(entries)
        self.moved += moved
        return moved

    async def run(self) -> None:
        backoff = 0.05
        outboxes = [outbox for outbox, _, _ in self.pairs]
        while True:
            try:
                if await self.step() == 0:
                    # Wake up as soon as any outbox has an entry (they are emptied above).
                    await self.client.xread(
                        dict.fromkeys(outboxes, "0-0"), count=1, block=self.block_ms
                    )
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                _log.warning("relay: Redis error, retrying in %.2f s: %s", backoff, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
