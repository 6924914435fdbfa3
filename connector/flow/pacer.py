"""Smooth submit pacing with a hard sliding-window guard (pure: `now` comes in as an argument).

Two mechanisms, both checked on every grant:

1. **The ideal schedule.** Slot ``k`` is due at ``t0 + k / rate``; a grant at ``now`` consumes
   the next slot if it is due (``<= now``). Consuming slots, not wall-clock gaps, means a caller
   that wakes up late does not lose throughput: the slots that fell due while it slept are still
   there, so the long-run average is exactly ``rate``. The schedule may lag ``now`` by at most
   the *catch-up horizon* ``H = max(catchup_s, catchup_slots / rate)``: after an idle gap (no
   demand) it restarts at ``now - H`` instead of granting a burst of every "missed" slot. A
   fresh pacer starts at its first grant (there is nothing to catch up on).

2. **The guard.** A ring of the last ``N = floor(limit) + 1`` send times (``limit`` is the
   configured tps, fixed even while the adaptive rate is lower). A send at ``now`` is allowed only
   if the N-th most recent send is strictly more than one second older
   (``now - ring[oldest] > 1.0``, evaluated in floating point, which implies the exact
   inequality because rounding is monotone and 1.0 is representable). Hence every closed
   one-second window holds at most ``N = floor(limit) + 1`` sends, whatever the caller does:
   late or early wake-ups, bursts of demand, rate changes, ``set_rate`` above the limit.

Guarantees (``r`` the highest rate set, ``H`` the largest horizon in effect):

- ``#sends in any closed window [a, a + 1.0] <= floor(limit) + 1`` (the guard).
- ``#sends in any closed window of length W <= floor((W + H) * r) + 1``: every grant consumes a
  distinct slot no older than ``H`` at the time of the grant, and slots are at least ``1 / r``
  apart. So no cluster at second boundaries (nothing is counted per calendar second), and any
  burst is bounded by the catch-up horizon.
- With enough demand and a caller that asks `next_send_at` and wakes up at most ``H`` late, no
  slot is lost: ``count(T) = rate * T +- (H * rate + 1)``.

Time is a float of monotonic seconds; it must not go backwards (an earlier ``now`` than the
last grant is treated as the last grant's time, which keeps the ring ordered).

Cost: one ring store per granted send, a handful of attribute reads per call, no allocation
(the ring is a preallocated list used as a circular buffer).
"""

from __future__ import annotations

import math

__all__ = ["Pacer", "guard_size"]

_NEG_INF = -math.inf


def guard_size(limit: float) -> int:
    """Sends allowed in any closed one-second window for a configured limit: floor(limit) + 1."""
    return math.floor(limit) + 1


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


class Pacer:
    """Paces sends at `rate` per second, never more than floor(limit) + 1 in any 1 s window.

    `tps` is both the initial pace and (unless `limit_per_second` is given) the guard's limit.
    `set_rate` changes the pace (adaptive decrease and recovery, reload); `set_limit` changes the
    guard. `hold_until` keeps the pacer silent until a time (a throttle pause) and restarts the
    schedule there.
    """

    __slots__ = (
        "_catchup_s",
        "_catchup_slots",
        "_fresh",
        "_hold",
        "_horizon",
        "_idx",
        "_interval",
        "_k",
        "_last_slot",
        "_limit",
        "_n",
        "_next_t",
        "_rate",
        "_ring",
        "_sent",
        "_t0",
    )

    def __init__(
        self,
        tps: float,
        *,
        limit_per_second: int | None = None,
        catchup_s: float = 0.01,
        catchup_slots: float = 2.0,
    ) -> None:
        rate = _check_positive("tps", tps)
        if not (catchup_s >= 0.0 and catchup_slots >= 0.0):
            raise ValueError("catchup_s and catchup_slots must be >= 0")
        self._catchup_s = float(catchup_s)
        self._catchup_slots = float(catchup_slots)
        self._rate = rate
        self._interval = 1.0 / rate
        self._horizon = max(self._catchup_s, self._catchup_slots * self._interval)
        self._t0 = _NEG_INF
        self._k = 0
        self._next_t = _NEG_INF  # due time of the next slot (t0 + k * interval)
        self._last_slot = _NEG_INF  # last consumed slot before the latest rebase
        self._hold = _NEG_INF
        self._fresh = True  # no grant yet: the schedule starts at the first grant
        self._sent = 0
        limit = rate if limit_per_second is None else limit_per_second
        self._limit = _check_positive("limit_per_second", limit)
        self._n = guard_size(self._limit)
        self._ring: list[float] = [_NEG_INF] * self._n
        self._idx = 0  # index of the oldest entry (the N-th most recent send); idx - 1: newest

    # -- read-only state -------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """The current pace (sends per second)."""
        return self._rate

    @property
    def limit(self) -> float:
        """The guard's configured limit (tps)."""
        return self._limit

    @property
    def window_max(self) -> int:
        """Most sends any closed one-second window can hold: floor(limit) + 1."""
        return self._n

    @property
    def horizon_s(self) -> float:
        """How far the schedule may lag `now` (catch-up after a late wake-up)."""
        return self._horizon

    @property
    def sent(self) -> int:
        """Sends granted since construction."""
        return self._sent

    # -- the hot path ----------------------------------------------------------------------

    def next_send_at(self, now: float) -> float:
        """Earliest time a send is allowed; `now` itself when a send is allowed right now.

        Sleeping until the returned time and calling `try_acquire` with it succeeds (unless the
        rate, limit or hold changed in between).
        """
        ring = self._ring
        i = self._idx
        last = ring[i - 1]
        now = now if now >= last else last
        oldest = ring[i]
        if now - oldest > 1.0:
            at = self._next_t
        else:
            guard = oldest + 1.0
            while not guard - oldest > 1.0:  # the first float strictly more than 1 s later
                guard = math.nextafter(guard, math.inf)
            at = guard if guard > self._next_t else self._next_t
        return at if at > now else now

    def try_acquire(self, now: float) -> bool:
        """Grant and record one send at `now` if both the schedule and the guard allow it."""
        ring = self._ring
        i = self._idx
        last = ring[i - 1]  # the newest entry: the last grant
        now = now if now >= last else last
        nt = self._next_t
        if nt > now or not now - ring[i] > 1.0:
            return False
        if nt < now - self._horizon:
            self._restart(now)
        ring[i] = now
        i += 1
        self._idx = 0 if i == self._n else i
        k = self._k + 1
        self._k = k
        self._next_t = self._t0 + k * self._interval
        self._sent += 1
        return True

    def acquire_many(self, now: float, n: int) -> int:
        """Grant up to `n` sends at `now` (recorded at `now`); returns how many were granted.

        Grants exactly what `n` successive `try_acquire(now)` calls would.
        """
        if n <= 0:
            return 0
        ring = self._ring
        i = self._idx
        last = ring[i - 1]
        now = now if now >= last else last
        nt = self._next_t
        if nt > now or not now - ring[i] > 1.0:
            return 0
        if nt < now - self._horizon:
            nt = self._restart(now)
        # Slots due at `now`: the largest j with t0 + j * interval <= now (monotone in j).
        t0 = self._t0
        interval = self._interval
        k = self._k
        j = k + int((now - nt) / interval)
        while t0 + (j + 1) * interval <= now:
            j += 1
        while j > k and t0 + j * interval > now:
            j -= 1
        due = j - k + 1
        m = n if n < due else due
        size = self._n
        granted = 0
        while granted < m and now - ring[i] > 1.0:
            ring[i] = now
            i += 1
            if i == size:
                i = 0
            granted += 1
        self._idx = i
        k += granted
        self._k = k
        self._next_t = t0 + k * interval
        self._sent += granted
        return granted

    def departed(self, count: int, at: float) -> None:
        """The last `count` grants left at `at` (written to the socket then, after they were
        granted at an earlier `now`): the guard counts them from `at`, so that every closed
        second of departures holds at most floor(limit) + 1, however long the caller took
        between granting and writing. `at` later than every grant keeps the ring ordered."""
        ring = self._ring
        size = self._n
        i = self._idx
        for _ in range(count if count < size else size):
            i = i - 1 if i else size - 1
            if ring[i] >= at or ring[i] == _NEG_INF:  # (no earlier grant there)
                break
            ring[i] = at

    def _rebase(self, start: float) -> None:
        """Restart the schedule at `start` (slot 0), remembering the last consumed slot."""
        if self._k:
            self._last_slot = self._t0 + (self._k - 1) * self._interval
        self._fresh = False
        self._t0 = start
        self._k = 0
        self._next_t = start

    def _restart(self, now: float) -> float:
        """The schedule lags more than the horizon (idle gap or first grant): restart it."""
        start = now if self._fresh else now - self._horizon
        self._rebase(start)
        return start

    # -- control -----------------------------------------------------------------------------

    def set_rate(self, rate: float, now: float) -> None:
        """Change the pace from `now` on (adaptive decrease/recovery, reload).

        Ahead of schedule, the next slot is re-spaced from the last consumed one at the new
        interval, and no earlier than `now`: slots the old rate did not have are no debt to
        catch up on. Behind schedule, the due slots (missed by a late caller) stay due. The
        guard is unchanged: a rate above the limit is allowed and simply runs into the guard.
        """
        rate = _check_positive("rate", rate)
        if rate == self._rate:
            return
        if self._fresh:
            self._set_interval(rate)
            return
        self._rebase(self._next_t)  # records the last consumed slot at the old interval
        self._set_interval(rate)
        last = self._ring[self._idx - 1]
        now = now if now >= last else last
        nt = self._next_t
        if nt > now:
            self._rebase(max(self._last_slot + self._interval, self._hold, now))

    def _set_interval(self, rate: float) -> None:
        self._rate = rate
        self._interval = interval = 1.0 / rate
        self._horizon = max(self._catchup_s, self._catchup_slots * interval)

    def set_limit(self, limit: float) -> None:
        """Change the guard's limit; the most recent sends are kept (newest N of them)."""
        limit = _check_positive("limit", limit)
        size = guard_size(limit)
        history = self._ring[self._idx :] + self._ring[: self._idx]  # oldest first
        if size <= self._n:
            ring = history[self._n - size :]
        else:
            ring = [_NEG_INF] * (size - self._n) + history
        self._limit = limit
        self._n = size
        self._ring = ring
        self._idx = 0

    def hold_until(self, until: float) -> None:
        """No send before `until` (e.g. a throttle pause); the schedule restarts there.

        A hold earlier than the next due slot changes nothing.
        """
        if until <= self._next_t:
            return
        self._hold = until
        self._rebase(until)
