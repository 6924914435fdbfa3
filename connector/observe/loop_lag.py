"""How late the event loop runs a timer: the time it spent on other work first.

Everything the daemon does shares one event loop, so a read that takes 5 ms to handle delays
every other read, timer and answer by as much. The lateness of a timer set every `interval_s`
shows that without a profiler: lags of tens of milliseconds, sustained, mean the daemon is
short of CPU (or one step ran too long), and every latency it reports grows by as much. Below
about a millisecond it is the loop's timer resolution (uvloop rounds timers to 1 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class LoopLagProbe:
    """Calls `observe(seconds late)` for a timer it re-arms every `interval_s`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        observe: Callable[[float], None],
        interval_s: float = 0.05,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._loop = loop
        self._observe = observe
        self.interval_s = interval_s
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        if self._handle is None:
            self._arm(self._loop.time())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, now: float) -> None:
        # From now, not from the last due time: a long stall gives one late sample, not a
        # burst of catch-up samples that would each look on time.
        self._due = now + self.interval_s
        self._handle = self._loop.call_at(self._due, self._fire)

    def _fire(self) -> None:
        now = self._loop.time()
        self._observe(max(0.0, now - self._due))
        self._arm(now)
