"""Bind slots as leases in Redis: at most `max_binds` holders per carrier across every host.

One sorted set per carrier: member = holder (`<consumer>/<carrier>/<bind>`), score = when its
lease ends, in milliseconds of Redis time (TIME, so host clocks do not matter). `acquire`
renews a lease its holder still has, or takes a free slot after dropping expired ones; a dead
host's slots come free `ttl_s` after its last renewal. The holder names are stable across
restarts, so a restarted daemon gets its own slots back at once.
"""

from __future__ import annotations

from typing import Any, Final

ACQUIRE: Final = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or
    redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], until_ms, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
"""


class RedisBindSlots:
    """`carrier.pool.BindSlots` over one Redis sorted set."""

    def __init__(
        self,
        client: Any,
        key: str,
        max_binds: int,
        *,
        ttl_s: float = 10.0,
        renew_s: float = 3.0,
        retry_s: float = 1.0,
    ) -> None:
        self.client = client
        self.key = key
        self.max_binds = max_binds
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.retry_s = retry_s
        self._acquire = client.register_script(ACQUIRE)

    async def acquire(self, holder: str) -> bool:
        reply = await self._acquire(
            keys=[self.key], args=[holder, self.max_binds, int(self.ttl_s * 1000)]
        )
        return int(reply) == 1

    async def release(self, holder: str) -> None:
        await self.client.zrem(self.key, holder)

    async def holders(self) -> list[str]:
        """The holders of unexpired leases (for tests and operators)."""
        seconds, micros = await self.client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        raw: list[bytes] = await self.client.zrangebyscore(self.key, f"({now_ms}", "+inf")
        return [item.decode() if isinstance(item, bytes) else item for item in raw]
