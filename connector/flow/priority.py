"""Which priority lane of a carrier to serve next: "high", "normal" or "low".

- "high" is always served first when it has work (strict priority: OTPs and alerts).
- Between "normal" and "low", a smooth weighted round robin (the nginx scheme) with weights
  `normal_weight : low_weight` (9 : 1 by default: low gets 1 slot in 10 while both have work),
  so low never starves. Over any `normal_weight + low_weight` consecutive picks where both have
  work, each gets exactly its weight, and in every prefix each lane is within one pick of its
  exact share.
- Only picks where both normal and low have work advance the round robin: a lane that is idle
  earns no credit to burst with later.
- An empty lane is never picked.

Pure: the state is the round robin's two counters (and served counts for metrics).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["HIGH", "LANES", "LOW", "NORMAL", "Lane", "PriorityLanes"]

Lane = Literal["high", "normal", "low"]
HIGH: Final = "high"
NORMAL: Final = "normal"
LOW: Final = "low"
LANES: Final[tuple[Lane, Lane, Lane]] = (HIGH, NORMAL, LOW)


class PriorityLanes:
    """Lane selection for one carrier's queue."""

    __slots__ = ("_low_current", "_normal_current", "low_weight", "normal_weight", "served")

    def __init__(self, *, normal_weight: int = 9, low_weight: int = 1) -> None:
        if normal_weight < 1 or low_weight < 1:
            raise ValueError("lane weights must be >= 1")
        self.normal_weight = normal_weight
        self.low_weight = low_weight
        # Smooth WRR "current weights"; their sum is always 0, so one number would do.
        self._normal_current = 0
        self._low_current = 0
        self.served: dict[Lane, int] = {HIGH: 0, NORMAL: 0, LOW: 0}

    def _contended_lane(self) -> Lane:
        """The lane the next round-robin step between normal and low gives (both have work)."""
        normal = self._normal_current + self.normal_weight
        return NORMAL if normal >= self._low_current + self.low_weight else LOW

    def _contended(self) -> Lane:
        """One round-robin step between normal and low (both have work)."""
        lane = self._contended_lane()
        self._normal_current += self.normal_weight
        self._low_current += self.low_weight
        total = self.normal_weight + self.low_weight
        if lane == NORMAL:
            self._normal_current -= total
        else:
            self._low_current -= total
        return lane

    def peek(self, has_high: bool, has_normal: bool, has_low: bool) -> Lane | None:
        """The lane `pick` would return now, without taking its turn: a caller that may not be
        able to send the item (a pace, a window) picks only once it can."""
        if has_high:
            return HIGH
        if has_normal and has_low:
            return self._contended_lane()
        if has_normal:
            return NORMAL
        return LOW if has_low else None

    def pick(self, has_high: bool, has_normal: bool, has_low: bool) -> Lane | None:
        """The lane to take the next item from (the one `peek` names, its turn taken), or None
        when every lane is empty."""
        if not has_high and has_normal and has_low:
            lane: Lane | None = self._contended()
        else:
            lane = self.peek(has_high, has_normal, has_low)
        if lane is None:
            return None
        self.served[lane] += 1
        return lane

    def split(self, n: int, available: dict[Lane, int]) -> dict[Lane, int]:
        """How many items to take from each lane for a batch of up to `n`.

        Equivalent to `n` successive `pick` calls, each with the lanes that still have items
        (a lane missing from `available` has none); the result never exceeds what is available.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        high = available.get(HIGH, 0)
        normal = available.get(NORMAL, 0)
        low = available.get(LOW, 0)
        if high < 0 or normal < 0 or low < 0:
            raise ValueError("available counts must be >= 0")
        take_high = min(n, high)
        rest = n - take_high
        take_normal = take_low = 0
        # Whole round-robin periods: each takes exactly the weights and leaves the state as is,
        # provided both lanes still have work at every pick (so each keeps at least one item).
        total = self.normal_weight + self.low_weight
        periods = max(
            0,
            min(rest // total, (normal - 1) // self.normal_weight, (low - 1) // self.low_weight),
        )
        take_normal += periods * self.normal_weight
        take_low += periods * self.low_weight
        rest -= periods * total
        while rest > 0 and take_normal < normal and take_low < low:
            if self._contended() == NORMAL:
                take_normal += 1
            else:
                take_low += 1
            rest -= 1
        if rest > 0:  # at most one of normal and low still has items
            extra = min(rest, normal - take_normal)
            take_normal += extra
            take_low += min(rest - extra, low - take_low)
        self.served[HIGH] += take_high
        self.served[NORMAL] += take_normal
        self.served[LOW] += take_low
        return {HIGH: take_high, NORMAL: take_normal, LOW: take_low}
