"""Send permits drawn from a rate budget shared by every host (pure: times come in as arguments).

With `tps_scope = "global"` the hosts sending to one carrier account share one schedule kept in
Redis (`streams.budget`): a GCRA whose permits are `interval` apart, handed out in batches of
consecutive slots. This module is the host's side: it turns a granted batch into local send
times and decides which permit a send may use.

Why the limit holds across hosts. The shared schedule never puts two permits closer than
`interval = 1 / rate`, where ``rate = tps * (1 - margin)``. A permit is used at its time or
later, never earlier (the local time of a Redis timestamp is estimated from the moment the
reply arrived, which is after Redis read its clock, so the estimate errs late), and no later
than `slack` after it (a permit older than that is dropped, not used). Every send in a closed
one-second window then has its permit in a window of length ``1 + slack + rtt``, which holds at
most ``floor((1 + slack + rtt) * rate) + 1`` permits; `slack_for` picks the slack that keeps
this at ``floor(tps) + 1`` with two thirds of the allowance left for the round trip. The cost is the
margin: the hosts together send at ``tps * (1 - margin)``, 98 % of `tps` by default.
"""

from __future__ import annotations

import collections
import math

__all__ = ["MARGIN", "PermitReservoir", "budget_rate", "slack_for"]

MARGIN = 0.02  # the shared schedule runs this fraction under tps, to absorb late sends


def budget_rate(tps: float, margin: float = MARGIN) -> float:
    """The shared schedule's rate for a carrier's `tps`."""
    return tps * (1.0 - margin)


def slack_for(tps: float, margin: float = MARGIN) -> float:
    """How late (s) a permit may still be used: a third of the lateness the window allows, the
    rest left for the round trip to Redis and the carrier's own timestamps."""
    rate = budget_rate(tps, margin)
    # Window length beyond 1 s that stays legal. A closed window of length L holds
    # floor(L * rate) + 1 permits, so L * rate must stay strictly under floor(tps) + 1: at exactly
    # (floor(tps) + 1) / rate it would hold one permit too many (fix: the allowance used to be
    # that boundary itself). A microsecond (Redis time's resolution) below it is legal.
    allowance = (math.floor(tps) + 1) / rate - 1.0 - 1e-6
    return max(0.0, allowance / 3.0)


class PermitReservoir:
    """The permits this host holds, as local monotonic send times in increasing order."""

    __slots__ = ("_times", "expired", "granted", "slack", "used")

    def __init__(self, slack: float) -> None:
        self.slack = slack
        self._times: collections.deque[float] = collections.deque()
        self.granted = 0
        self.used = 0
        self.expired = 0  # permits dropped because this host could not use them in time

    def __len__(self) -> int:
        return len(self._times)

    def add(self, first: float, interval: float, count: int) -> None:
        """A granted batch: `count` permits at `first`, `first + interval`, ... (local clock)."""
        times = self._times
        last = times[-1] if times else -math.inf
        for k in range(count):
            at = first + k * interval
            if at > last:  # batches never overlap; keep the order even if a reply was odd
                times.append(at)
                last = at
        self.granted += count

    def _drop_late(self, now: float) -> None:
        times = self._times
        oldest = now - self.slack
        while times and times[0] < oldest:
            times.popleft()
            self.expired += 1

    def ready(self, now: float) -> bool:
        """Whether a permit may be used at `now` (drops the ones too late to use)."""
        self._drop_late(now)
        return bool(self._times) and self._times[0] <= now

    def take(self, now: float) -> bool:
        """Use the oldest permit that is due and not too late."""
        if not self.ready(now):
            return False
        self._times.popleft()
        self.used += 1
        return True

    def next_at(self, now: float) -> float | None:
        """When the next permit falls due (None: none held)."""
        self._drop_late(now)
        return self._times[0] if self._times else None

    def horizon(self) -> float:
        """The time of the last permit held (-inf: none)."""
        return self._times[-1] if self._times else -math.inf

    def clear(self) -> None:
        self.expired += len(self._times)
        self._times.clear()
