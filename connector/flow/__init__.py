"""Pure flow-control primitives: pacing, adaptive rate, backoff, priority lanes.

Nothing here does I/O, reads a clock or owns a random generator: `now` (monotonic seconds) and
`rand` (a float in [0, 1)) come in as arguments, so every behaviour is testable in simulated
time.
"""

from connector.flow.adaptive import AdaptiveRate, AdaptiveSnapshot
from connector.flow.backoff import ReconnectBackoff, RetrySchedule, backoff_ceiling, full_jitter
from connector.flow.pacer import Pacer, guard_size
from connector.flow.priority import HIGH, LANES, LOW, NORMAL, Lane, PriorityLanes

__all__ = [
    "HIGH",
    "LANES",
    "LOW",
    "NORMAL",
    "AdaptiveRate",
    "AdaptiveSnapshot",
    "Lane",
    "Pacer",
    "PriorityLanes",
    "ReconnectBackoff",
    "RetrySchedule",
    "backoff_ceiling",
    "full_jitter",
    "guard_size",
]
