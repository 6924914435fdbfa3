"""A carrier's rate budget shared by every host: a GCRA schedule in one Redis key.

`grant` asks for up to `want` consecutive permits in one script call (one round trip per
batch, not per part). The key holds the schedule's next free slot in microseconds of Redis
time; the script reads Redis's clock (TIME), so hosts with skewed clocks still share one
timeline. Slots are `interval` apart; a grant never reaches further than `horizon` ahead of
now, so one host cannot hoard the budget and a host that dies loses at most that much of it.
After an idle spell the schedule restarts at now: no burst of slots nobody used.
"""

from __future__ import annotations

from typing import Any, Final

from msgspec import Struct

GCRA: Final = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local n = math.floor((now + horizon - tat) / interval) + 1
if n > want then n = want end
if n < 0 then n = 0 end
if n > 0 then
  local next_free = math.ceil(tat + n * interval)
  local keep_ms = math.ceil((next_free - now) / 1000) + 60000
  redis.call('SET', KEYS[1], string.format('%.0f', next_free), 'PX', keep_ms)
end
return {n, string.format('%.0f', tat), string.format('%.0f', now)}
"""


class Grant(Struct, frozen=True):
    """`count` permits at `first_us`, `first_us + interval_us`, ... (Redis time, µs)."""

    count: int
    first_us: int
    now_us: int
    interval_us: float


class RateBudget:
    """The Redis side of `tps_scope = "global"`: one key per carrier."""

    def __init__(self, client: Any, key: str, *, horizon_s: float = 0.25) -> None:
        self.key = key
        self.horizon_us = horizon_s * 1e6
        self._script = client.register_script(GCRA)

    async def grant(self, rate: float, want: int) -> Grant:
        interval_us = 1e6 / rate
        reply = await self._script(
            keys=[self.key], args=[repr(interval_us), want, repr(self.horizon_us)]
        )
        count, first, now = reply
        return Grant(int(count), int(first), int(now), interval_us)
