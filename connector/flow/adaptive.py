"""The effective submit rate of one carrier: multiplicative decrease, additive recovery.

Pure: `now` (monotonic seconds) and `rand` (a float in [0, 1)) come in as arguments.

- On ESME_RTHROTTLED / ESME_RMSGQFUL (`on_throttled`), the effective rate is multiplied by
  `decrease_factor` (never below `min_fraction * configured`) and the carrier is paused for a
  full-jitter backoff that grows with consecutive throttle events. Responses already in flight
  when the carrier started throttling arrive together: every throttled response within
  `dedupe_s` of the last *counted* event belongs to that event (the window does not slide, so
  a carrier that keeps throttling keeps counting, once per `dedupe_s`).
- After the pause the rate recovers linearly, `recovery_per_s * configured` per second, up to
  `configured` and never above it.
- An episode ends when the rate is fully recovered: the next throttle starts again from the
  smallest pause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from connector.flow.backoff import backoff_ceiling, full_jitter

__all__ = ["AdaptiveRate", "AdaptiveSnapshot"]

_NEG_INF = -math.inf


@dataclass(frozen=True, slots=True)
class AdaptiveSnapshot:
    """Metrics view of an `AdaptiveRate` at one instant."""

    configured_tps: float
    effective_tps: float
    paused_until: float
    paused: bool
    throttle_events: int
    throttled_responses: int
    successes: int
    consecutive_throttles: int


class AdaptiveRate:
    """Adaptive effective rate of one carrier (shared by all its binds)."""

    __slots__ = (
        "_base",
        "_configured",
        "_consecutive",
        "_floor",
        "_last_event_at",
        "_paused_until",
        "_recover_from",
        "_slope",
        "decrease_factor",
        "dedupe_s",
        "min_fraction",
        "recovery_per_s",
        "successes",
        "throttle_backoff_initial_s",
        "throttle_backoff_max_s",
        "throttle_events",
        "throttled_responses",
    )

    def __init__(
        self,
        configured_tps: float,
        *,
        min_fraction: float = 0.1,
        decrease_factor: float = 0.5,
        recovery_per_s: float = 0.1,
        dedupe_s: float = 0.25,
        throttle_backoff_initial_s: float = 0.25,
        throttle_backoff_max_s: float = 10.0,
    ) -> None:
        """`recovery_per_s` is a fraction of `configured_tps` regained per second."""
        if not 0.0 < min_fraction <= 1.0:
            raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction!r}")
        if not 0.0 < decrease_factor < 1.0:
            raise ValueError(f"decrease_factor must be in (0, 1), got {decrease_factor!r}")
        if not (recovery_per_s > 0.0 and math.isfinite(recovery_per_s)):
            raise ValueError(f"recovery_per_s must be > 0, got {recovery_per_s!r}")
        if not dedupe_s >= 0.0:
            raise ValueError(f"dedupe_s must be >= 0, got {dedupe_s!r}")
        # Validates the backoff bounds.
        backoff_ceiling(0, initial_s=throttle_backoff_initial_s, max_s=throttle_backoff_max_s)
        if throttle_backoff_max_s < throttle_backoff_initial_s:
            raise ValueError("throttle_backoff_max_s must be >= throttle_backoff_initial_s")
        self.min_fraction = float(min_fraction)
        self.decrease_factor = float(decrease_factor)
        self.recovery_per_s = float(recovery_per_s)
        self.dedupe_s = float(dedupe_s)
        self.throttle_backoff_initial_s = float(throttle_backoff_initial_s)
        self.throttle_backoff_max_s = float(throttle_backoff_max_s)
        self._configured = 0.0
        self._floor = 0.0
        self._slope = 0.0
        self._set_configured(configured_tps)
        self._base = self._configured  # effective rate when recovery (re)starts
        self._recover_from = _NEG_INF  # recovery starts here (the end of the last pause)
        self._last_event_at = _NEG_INF  # time of the last counted throttle event
        self._paused_until = _NEG_INF
        self._consecutive = 0
        self.throttle_events = 0  # counted (deduplicated) throttle events
        self.throttled_responses = 0  # every throttled response
        self.successes = 0

    def _set_configured(self, tps: float) -> None:
        tps = float(tps)
        if not (tps > 0.0 and math.isfinite(tps)):
            raise ValueError(f"configured tps must be a positive finite number, got {tps!r}")
        self._configured = tps
        self._floor = self.min_fraction * tps
        self._slope = self.recovery_per_s * tps

    # -- state -------------------------------------------------------------------------------

    @property
    def configured_tps(self) -> float:
        return self._configured

    @property
    def min_rate(self) -> float:
        """The floor: `min_fraction * configured_tps`."""
        return self._floor

    @property
    def paused_until(self) -> float:
        """No submits before this time (-inf when never paused)."""
        return self._paused_until

    @property
    def consecutive_throttles(self) -> int:
        """Counted throttle events in the current episode (0 once fully recovered)."""
        return self._consecutive

    def paused(self, now: float) -> bool:
        return now < self._paused_until

    def rate(self, now: float) -> float:
        """The effective rate at `now`: in [min_rate, configured_tps]."""
        elapsed = now - self._recover_from
        if elapsed <= 0.0:
            return self._base
        rate = self._base + self._slope * elapsed
        return rate if rate < self._configured else self._configured

    def snapshot(self, now: float) -> AdaptiveSnapshot:
        return AdaptiveSnapshot(
            configured_tps=self._configured,
            effective_tps=self.rate(now),
            paused_until=self._paused_until,
            paused=self.paused(now),
            throttle_events=self.throttle_events,
            throttled_responses=self.throttled_responses,
            successes=self.successes,
            consecutive_throttles=self._consecutive,
        )

    # -- events ------------------------------------------------------------------------------

    def on_throttled(self, now: float, rand: float) -> float:
        """A throttled response (ESME_RTHROTTLED / ESME_RMSGQFUL): returns `paused_until`."""
        self.throttled_responses += 1
        if now - self._last_event_at < self.dedupe_s:
            return self._paused_until  # the same event: responses that were already in flight
        current = self.rate(now)
        if current >= self._configured:
            self._consecutive = 0  # fully recovered since the last event: a new episode
        self._consecutive += 1
        self.throttle_events += 1
        self._last_event_at = now
        pause = full_jitter(
            self._consecutive - 1,
            initial_s=self.throttle_backoff_initial_s,
            max_s=self.throttle_backoff_max_s,
            rand=rand,
        )
        decreased = current * self.decrease_factor
        self._base = decreased if decreased > self._floor else self._floor
        self._paused_until = max(self._paused_until, now + pause)
        self._recover_from = self._paused_until if self._paused_until > now else now
        return self._paused_until

    def on_success(self, now: float) -> None:
        """An accepted submit; ends the throttle episode once the rate is fully recovered."""
        self.successes += 1
        if self._consecutive and self.rate(now) >= self._configured:
            self._consecutive = 0

    def set_configured(self, tps: float, now: float) -> None:
        """Reload: a new configured tps. At full rate, jump to it; recovering, keep the current
        absolute rate (capped by the new tps) and recover towards the new tps."""
        current = self.rate(now)
        full = now >= self._recover_from and current >= self._configured
        self._set_configured(tps)
        if full:
            self._base = self._configured
        elif now < self._recover_from:  # paused: recovery still starts at the pause's end
            self._base = min(self._base, self._configured)
        else:
            self._base = min(current, self._configured)
            self._recover_from = now
        self._base = max(self._base, self._floor)
