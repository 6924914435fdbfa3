"""Exponential backoff with full jitter: reconnects, per-message retries, throttle pauses.

Pure: randomness comes in as ``rand``, a float in [0, 1) (``random.random()`` from the caller);
time comes in as arguments. "Full jitter" is the AWS Architecture Blog's scheme: the delay is
uniform in ``[0, min(max_s, initial_s * 2**attempt))``, which spreads a fleet of clients that
failed together over the whole window instead of letting them retry in lockstep.
"""

from __future__ import annotations

import math

__all__ = ["ReconnectBackoff", "RetrySchedule", "backoff_ceiling", "full_jitter"]

_MAX_EXPONENT = 1023  # 2.0 ** 1023 is the largest finite power of two


def _check_rand(rand: float) -> None:
    if not 0.0 <= rand <= 1.0:
        raise ValueError(f"rand must be in [0, 1], got {rand!r}")


def _check_durations(initial_s: float, max_s: float) -> None:
    if not (initial_s >= 0.0 and math.isfinite(initial_s)):
        raise ValueError(f"initial_s must be a finite number >= 0, got {initial_s!r}")
    if not (max_s >= 0.0 and math.isfinite(max_s)):
        raise ValueError(f"max_s must be a finite number >= 0, got {max_s!r}")


def backoff_ceiling(attempt: int, *, initial_s: float, max_s: float) -> float:
    """The upper end of the jitter window: min(max_s, initial_s * 2**attempt), attempt >= 0.

    Non-decreasing in `attempt` and never above `max_s` (no overflow for huge attempts).
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt!r}")
    _check_durations(initial_s, max_s)
    grown = initial_s * 2.0 ** min(attempt, _MAX_EXPONENT)  # inf on overflow, never an error
    return grown if grown < max_s else max_s


def full_jitter(attempt: int, *, initial_s: float, max_s: float, rand: float) -> float:
    """A delay uniform in [0, min(max_s, initial_s * 2**attempt)] for ``rand`` in [0, 1)."""
    _check_rand(rand)
    return rand * backoff_ceiling(attempt, initial_s=initial_s, max_s=max_s)


class ReconnectBackoff:
    """Delays between reconnect attempts of one bind; `reset()` after a successful bind.

    A transport failure waits ``full_jitter(attempt)``. An authentication failure (a bind
    rejected with ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL...) must never hammer the
    carrier: it waits ``auth_failure_s + full_jitter(attempt)``, so at least `auth_failure_s`,
    with jitter on top so a fleet does not re-bind in lockstep.
    """

    __slots__ = ("_attempt", "auth_failure_s", "initial_s", "max_s")

    def __init__(self, initial_s: float, max_s: float, auth_failure_s: float) -> None:
        _check_durations(initial_s, max_s)
        if max_s < initial_s:
            raise ValueError("max_s must be >= initial_s")
        if not (auth_failure_s >= 0.0 and math.isfinite(auth_failure_s)):
            raise ValueError(f"auth_failure_s must be a finite number >= 0, got {auth_failure_s!r}")
        self.initial_s = float(initial_s)
        self.max_s = float(max_s)
        self.auth_failure_s = float(auth_failure_s)
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Failed attempts since construction or the last `reset()`."""
        return self._attempt

    def ceiling(self) -> float:
        """The jitter window's upper end for the next failure."""
        return backoff_ceiling(self._attempt, initial_s=self.initial_s, max_s=self.max_s)

    def next_delay(self, rand: float, *, auth_failure: bool = False) -> float:
        """The delay before the next attempt, after a failed one; counts the failure."""
        delay = full_jitter(self._attempt, initial_s=self.initial_s, max_s=self.max_s, rand=rand)
        self._attempt += 1
        if auth_failure:
            delay += self.auth_failure_s
        return delay

    def reset(self) -> None:
        """A bind succeeded: the next failure starts from `initial_s` again."""
        self._attempt = 0


class RetrySchedule:
    """When to retry a message that failed transiently, within `deadline_s` of its first try.

    `next_retry_at` returns ``now + full_jitter(attempt - 1)``, or None when that time would be
    past the deadline (``first_at + deadline_s``) or past the message's own `expires_at`: the
    caller then gives up with `retries_exhausted`. A returned time is never past either bound.
    """

    __slots__ = ("deadline_s", "initial_s", "max_s")

    def __init__(self, deadline_s: float, initial_s: float, max_s: float) -> None:
        _check_durations(initial_s, max_s)
        if max_s < initial_s:
            raise ValueError("max_s must be >= initial_s")
        if not deadline_s >= 0.0:
            raise ValueError(f"deadline_s must be >= 0, got {deadline_s!r}")
        self.deadline_s = float(deadline_s)
        self.initial_s = float(initial_s)
        self.max_s = float(max_s)

    def deadline(self, first_at: float, *, expires_at: float | None = None) -> float:
        """The last time a retry may happen."""
        deadline = first_at + self.deadline_s
        if expires_at is not None and expires_at < deadline:
            return expires_at
        return deadline

    def next_retry_at(
        self,
        first_at: float,
        attempt: int,
        now: float,
        rand: float,
        *,
        expires_at: float | None = None,
    ) -> float | None:
        """The time of the next try after `attempt` failed tries (attempt >= 1), or None."""
        if attempt < 1:
            raise ValueError(f"attempt counts the tries made so far (>= 1), got {attempt!r}")
        delay = full_jitter(attempt - 1, initial_s=self.initial_s, max_s=self.max_s, rand=rand)
        at = now + delay
        if at > self.deadline(first_at, expires_at=expires_at):
            return None
        return at
