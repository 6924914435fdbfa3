"""Send permits drawn from a rate budget shared by every host (pure: times come in as arguments).

With `tps_scope = "global"` the hosts sending to one carrier account share one schedule kept in
Redis (`streams.budget`): a GCRA whose permits are `interval` apart, handed out in batches of
consecutive slots. This module is the host's side: it turns a granted batch into local send
times and decides which permit a send may use.

Why the limit holds across hosts. The shared schedule never puts two permits closer than
`interval = 1 / rate`, where ``rate = tps * (1 - margin)``. A permit is used at its time or
later, never earlier (the local time of a Redis timestamp is estimated from the moment the
reply is handled, read then from a precise clock, not a loop's cached time; that is after Redis
read its clock, so the estimate errs late), and no later than `slack` after it (a permit older
than that is dropped, not used). Every send in a closed one-second window then has its permit
in a window of length ``1 + slack + rtt``, which holds at most
``floor((1 + slack + rtt) * rate) + 1`` permits; `slack_for` picks the slack that keeps this at
``floor(tps) + 1`` with two thirds of the allowance left for the round trip. The cost is the
margin: the hosts together send at ``tps * (1 - margin)``, 98 % of `tps` by default.

The two thirds left for the round trip are a promise about each grant: the reply is mapped by
the moment it was handled, so its permits are placed late by at most the time between asking
and handling the reply. A reply handled later than that (a host whose event loop was busy, as
when several daemons start at once on a loaded machine) would put its permits next to another
host's. `GrantTiming` drops such a grant (its permits count as expired) and asks again, for a
smaller batch (`probe_size`) until a reply is fast; only when replies have come back that
slowly for two seconds in a row does it map them anyway, so that a host whose Redis is always
that far away still sends, and the dispatcher logs a warning.
"""

from __future__ import annotations

import collections
import math

__all__ = ["MARGIN", "GrantTiming", "PermitReservoir", "budget_rate", "probe_size", "slack_for"]

MARGIN = 0.02  # the shared schedule runs this fraction under tps, to absorb late sends
SLOW_GRANT_PATIENCE_S = 2.0  # slow budget replies for this long are mapped anyway


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


def probe_size(tps: float, margin: float = MARGIN) -> int:
    """Permits asked for at once while replies are slow (`GrantTiming.probing`): half a slack's
    worth. A slow reply takes more than two slacks, so dropping every one of them burns at most
    a quarter of the shared rate; at high rates a probe still carries a useful batch."""
    return max(1, int(budget_rate(tps, margin) * slack_for(tps, margin) / 2.0))


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

    def discard(self, count: int) -> None:
        """A granted batch that will not be used (GrantTiming): counted as granted and expired."""
        self.granted += count
        self.expired += count

    def clear(self) -> None:
        self.expired += len(self._times)
        self._times.clear()


class GrantTiming:
    """Whether a granted batch may be mapped to local time: only if its reply was handled within
    the round trip the bound allows (``2 * slack``), see the module docstring.

    After a slow grant is dropped the host asks for `probe_size` permits at a time (`probing`)
    until a reply is fast again, so that a busy host burns at most a quarter of the shared
    rate. Slow replies for longer than `patience` seconds in a row (Redis is that far away, not
    the loop busy for a moment) switch to mapping them anyway (`late`), until a reply is fast
    again."""

    __slots__ = ("_slow_since", "dropped", "late", "mapped_late", "patience")

    def __init__(self, patience: float = SLOW_GRANT_PATIENCE_S) -> None:
        self.patience = patience
        self.dropped = 0  # grants dropped for a slow reply, since start
        self.mapped_late = 0  # slow grants mapped anyway, since start
        self.late = False  # slow replies have lasted longer than `patience`
        self._slow_since: float | None = None

    @property
    def probing(self) -> bool:
        """The last reply was slow: ask for `probe_size` permits until one is fast."""
        return self._slow_since is not None and not self.late

    def accept(self, asked: float, handled: float, slack: float) -> bool:
        """True: map the grant (by `handled`); False: drop it and ask again.

        `asked`: when the request was made, `handled`: when its reply is being handled (local
        monotonic seconds). Redis read its clock in between, so the mapping errs late by at
        most ``handled - asked``."""
        if handled - asked <= 2.0 * slack:
            self._slow_since = None
            self.late = False
            return True
        if self._slow_since is None:
            self._slow_since = asked
        if self.late or handled - self._slow_since > self.patience:
            self.late = True
            self.mapped_late += 1
            return True
        self.dropped += 1
        return False
