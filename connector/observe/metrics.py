"""Every Prometheus family the connector exposes, in one object with its own registry.

Wiring (the daemon does this once, at start):

    metrics = Metrics(version=connector.__version__)
    cm = metrics.for_carrier("airtel-cd")      # pre-bound children: no label lookup per message
    cm.parts_sent.inc()                        # a submit_sm written
    cm.submits_ok.inc()                        # its submit_sm_resp: ok/throttled/temporary/...
    cm.submit_response_seconds.observe(now - part.submitted_at)
    cm.status_event("sent").inc()              # second-level labels: cached per value
    cm.receipt("DELIVRD", "matched").inc()

    def sample_carrier() -> None:              # state-shaped gauges: read on each scrape
        snap = dispatcher.adaptive.snapshot(loop.time())
        cm.tps_configured.set(snap.configured_tps)
        cm.tps_effective.set(snap.effective_tps)
        cm.throttle_paused.set(snap.paused)
        cm.window_in_use.set(pool.window_in_use())
        cm.window_size.set(pool.window_size())
        cm.set_bind_states(bind.state.value for bind in pool.binds)

    async def sample_backlog() -> None:        # Redis: awaited, with a timeout, per scrape
        groups = await redis.xinfo_groups(f"{prefix}:outbound")   # entries' "lag", "pending"
        metrics.outbound_lag.set(...); metrics.outbound_pending.set(...)
        cm.set_work_backlog("normal", lag, pending)               # per carrier work stream/lane

    metrics.add_collector(sample_carrier)       # sync: run by render() on every scrape
    metrics.add_async_collector(sample_backlog)  # async: run by render_async() (HTTP server)

Event counters the app increments where things happen: `cm.retries`, `cm.possible_duplicates`
(a ResponseTimeout), `cm.mo_messages`, `cm.deliver_sm_response("ESME_ROK")`,
`cm.entry_to_sent_seconds` / `cm.sent_to_receipt_seconds` (wall-clock seconds),
`cm.deliver_sm_answer_seconds` (a receipt or MO received → its answer, after Redis),
`metrics.dead_letters`, `metrics.intake_entries`, `metrics.redis_error("outcomes")`,
`metrics.redis_reconnects` and `metrics.redis_up` (first success after a failure),
`metrics.reloads.labels("ok" | "refused")`, `metrics.status_event(status)` for events intake
decides before any carrier (carrier="none"), `metrics.script_call("outcomes", ops, seconds)`
(each batched Redis script call) and `metrics.event_loop_lag_seconds` (observe/loop_lag.py).

A collector that raises is counted in `smpp_connector_collector_errors_total{collector}` and
logged once until it succeeds again; the scrape still answers with everything else. Families
labelled by `carrier` get all their fixed children at 0 as soon as `for_carrier` is called, so
`rate()` and `increase()` see the first event. `remove_carrier(name)` drops a carrier's series
when a reload removes it. Counters' `_created` series are left out of the text format
(Prometheus does not read them from it).

This module imports nothing of `connector`: the app maps its own state onto these families.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator
from math import isnan
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector


class _LocklessValue:
    """prometheus-client's value without its mutex.

    The daemon is one thread: the event loop updates every metric and serves `/metrics` itself
    (`observe.http`), so the lock prometheus-client takes on every `inc`/`observe` (0.4 µs of
    the 0.6 µs an `inc` costs, about a dozen per message) protects nothing. Installed before
    any metric is created; a process that scrapes from another thread must not import this.
    """

    __slots__ = ("_value",)

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self._value = 0.0

    def inc(self, amount: float) -> None:
        self._value += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self._value = value

    def set_exemplar(self, exemplar: object) -> None:
        pass

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> None:
        return None


prometheus_values.ValueClass = _LocklessValue


class _Counter(Counter):
    """A Counter whose `inc` goes straight to its value.

    prometheus-client's `inc` checks observability and exemplars on each call (about half of
    its cost, and the daemon makes about ten updates per message). A labelled parent has no
    value and falls back to the library's own `inc`, which raises as it always did.
    """

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        if amount >= 0 and exemplar is None:
            try:
                value = self._value
            except AttributeError:
                pass
            else:
                value.inc(amount)
                return
        super().inc(amount, exemplar)


class _Histogram(Histogram):
    """A Histogram whose `observe` finds its bucket by bisection.

    The library scans the bounds one by one and checks observability first; the result is
    the same: the first bucket whose upper bound is ≥ the amount (the last bound is +Inf).
    """

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if exemplar is None and not isnan(amount):  # NaN: the library's own path
            try:
                buckets = self._buckets
            except AttributeError:
                pass
            else:
                self._sum.inc(amount)
                buckets[bisect_left(self._upper_bounds, amount)].inc(1)
                return
        super().observe(amount, exemplar)


__all__ = [
    "BIND_STATES",
    "CONTENT_TYPE",
    "END_TO_END_BUCKETS",
    "LOOP_LAG_BUCKETS",
    "NAMESPACE",
    "NO_CARRIER",
    "REDIS_SCRIPT_BUCKETS",
    "SCRIPTS",
    "SMPP_LATENCY_BUCKETS",
    "SUBMIT_RESULTS",
    "CarrierMetrics",
    "Metrics",
]

_log = logging.getLogger("connector.observe.metrics")

NAMESPACE: Final = "smpp_connector"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format that `render()` produces."""

NO_CARRIER: Final = "none"
"""`carrier` label value of events that have no carrier (intake: rejected, no route)."""

SUBMIT_RESULTS: Final = ("ok", "throttled", "temporary", "permanent", "timeout")
"""`result` values of `submits_total`: how each submit_sm ended (timeout: no submit_sm_resp)."""

BIND_STATES: Final = ("connecting", "bound", "backing_off", "waiting_for_slot", "stopped")
"""`state` values of the `binds` gauge that are always exported (0 when no bind is in them)."""

SMPP_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""submit_sm → submit_sm_resp: 1 ms … 30 s (the response timeout's order of magnitude)."""

END_TO_END_BUCKETS: Final = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
)  # fmt: skip
"""Stream entry → `sent`, and `sent` → final receipt: 10 ms … 1 h (longer lands in +Inf)."""

LOOP_LAG_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""How late the event loop runs a timer: 1 ms (uvloop's timer resolution) … 5 s."""

REDIS_SCRIPT_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""One batched script call, written → reply: 0.5 ms … 5 s (past the socket timeout's order)."""

SCRIPTS: Final = ("intake", "outcomes", "receipts")
"""`script` values of `redis_script_seconds` / `redis_script_ops_total`: the hot path's calls."""

SyncCollector = Callable[[], None]
_F = TypeVar("_F", Counter, Gauge, Histogram)
AsyncCollector = Callable[[], Awaitable[None]]


class CarrierMetrics:
    """One carrier's children of every `carrier`-labelled family, bound once.

    Plain attributes for the hot path (`cm.submits_ok.inc()`), cached lookups for the families
    with a second label (`cm.status_event("sent").inc()`). Obtain it with
    `Metrics.for_carrier(name)`, never construct it directly.
    """

    __slots__ = (
        "_deliver_sm",
        "_metrics",
        "_receipts",
        "_statuses",
        "_submits",
        "_touched",
        "_work_lag",
        "_work_pending",
        "carrier",
        "deliver_sm_answer_seconds",
        "entry_to_sent_seconds",
        "mo_messages",
        "parts_sent",
        "permits_expired",
        "possible_duplicates",
        "queued_parts",
        "retries",
        "sent_to_receipt_seconds",
        "submit_response_seconds",
        "submits_ok",
        "submits_permanent",
        "submits_temporary",
        "submits_throttled",
        "submits_timeout",
        "throttle_paused",
        "tps_configured",
        "tps_effective",
        "window_in_use",
        "window_size",
        "work_in_flight",
    )

    def __init__(self, metrics: Metrics, carrier: str) -> None:
        self._metrics = metrics
        self.carrier = carrier
        # Every (family, label values) child this object created, for remove_carrier().
        self._touched: set[tuple[Counter | Gauge | Histogram, tuple[str, ...]]] = set()
        m = metrics
        self._submits = {result: self._child(m.submits, result) for result in SUBMIT_RESULTS}
        self.submits_ok = self._submits["ok"]
        self.submits_throttled = self._submits["throttled"]
        self.submits_temporary = self._submits["temporary"]
        self.submits_permanent = self._submits["permanent"]
        self.submits_timeout = self._submits["timeout"]
        self.parts_sent = self._child(m.parts_sent)
        self.retries = self._child(m.retries)
        self.permits_expired = self._child(m.permits_expired)
        self.possible_duplicates = self._child(m.possible_duplicates)
        self.mo_messages = self._child(m.mo_messages)
        self.submit_response_seconds = self._child(m.submit_response_seconds)
        self.entry_to_sent_seconds = self._child(m.entry_to_sent_seconds)
        self.sent_to_receipt_seconds = self._child(m.sent_to_receipt_seconds)
        self.deliver_sm_answer_seconds = self._child(m.deliver_sm_answer_seconds)
        self.window_in_use = self._child(m.window_in_use)
        self.window_size = self._child(m.window_size)
        self.tps_configured = self._child(m.tps_configured)
        self.tps_effective = self._child(m.tps_effective)
        self.throttle_paused = self._child(m.throttle_paused)
        self.work_in_flight = self._child(m.work_in_flight)
        self.queued_parts = self._child(m.queued_parts)
        self._statuses: dict[str, Counter] = {}
        self._receipts: dict[tuple[str, str], Counter] = {}
        self._deliver_sm: dict[str, Counter] = {}
        self._work_lag: dict[str, Gauge] = {}
        self._work_pending: dict[str, Gauge] = {}
        for state in BIND_STATES:
            self._child(m.binds, state)

    def _child(self, family: _F, *rest: str) -> _F:
        values = (self.carrier, *rest)
        self._touched.add((family, values))
        return family.labels(*values)

    def submit_result(self, result: str) -> Counter:
        """The `submits_total` child for `result` (one of SUBMIT_RESULTS)."""
        child = self._submits.get(result)
        if child is None:
            child = self._submits[result] = self._child(self._metrics.submits, result)
        return child

    def status_event(self, status: str) -> Counter:
        """`status_events_total{carrier, status}`: a status event written for this carrier."""
        child = self._statuses.get(status)
        if child is None:
            child = self._statuses[status] = self._child(self._metrics.status_events, status)
        return child

    def receipt(self, state: str, match: str) -> Counter:
        """`receipts_total{carrier, state, match}`.

        `state`: the receipt's stat (DELIVRD, UNDELIV, …, or "intermediate"/"unparseable");
        `match`: matched, held (arrived before its submit_sm_resp was stored), unmatched,
        duplicate, or "none" when it was not matched at all (unparseable, intermediate).
        """
        key = (state, match)
        child = self._receipts.get(key)
        if child is None:
            child = self._receipts[key] = self._child(self._metrics.receipts, state, match)
        return child

    def deliver_sm_response(self, status: str) -> Counter:
        """`deliver_sm_responses_total{carrier, status}`: status name we answered with."""
        child = self._deliver_sm.get(status)
        if child is None:
            child = self._deliver_sm[status] = self._child(
                self._metrics.deliver_sm_responses, status
            )
        return child

    def set_bind_states(self, states: Iterable[str]) -> None:
        """Set `binds{carrier, state}` from every bind's current state (one string per bind).

        States in BIND_STATES that no bind is in are set to 0; so is any other state seen before.
        """
        tally = Tally(states)
        gauge = self._metrics.binds
        for family, values in list(self._touched):
            if family is gauge and values[1] not in tally:
                gauge.labels(*values).set(0)
        for state, count in tally.items():
            self._child(gauge, state).set(count)

    def set_work_backlog(self, lane: str, lag: int | None, pending: int) -> None:
        """The carrier's work stream for `lane`: consumer-group lag and pending entries.

        `lag` is None when Redis cannot tell (XINFO GROUPS `lag` is nil after some deletions):
        the gauge is then left as it was.
        """
        if lag is not None:
            child = self._work_lag.get(lane)
            if child is None:
                child = self._work_lag[lane] = self._child(self._metrics.work_lag, lane)
            child.set(lag)
        child = self._work_pending.get(lane)
        if child is None:
            child = self._work_pending[lane] = self._child(self._metrics.work_pending, lane)
        child.set(pending)

    def _remove(self) -> None:
        for family, values in self._touched:
            with contextlib.suppress(KeyError):  # already gone
                family.remove(*values)
        self._touched.clear()


class _Exposition:
    """The registry as the text format shows it: without the `_created` samples."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            created = family.name + "_created"
            if any(sample.name == created for sample in family.samples):
                trimmed = Metric(family.name, family.documentation, family.type, family.unit)
                trimmed.samples = [s for s in family.samples if s.name != created]
                yield trimmed
            else:
                yield family


class Metrics:
    """Every family, registered in a registry of its own (several daemons in one process,
    tests, never the global default registry)."""

    def __init__(self, *, version: str = "", process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry()
        self._exposition = _Exposition(self.registry)
        self._carriers: dict[str, CarrierMetrics] = {}
        self._collectors: list[tuple[str, SyncCollector]] = []
        self._async_collectors: list[tuple[str, AsyncCollector, float]] = []
        self._failing: set[str] = set()
        self._collect_lock = asyncio.Lock()
        self._redis_errors: dict[str, Counter] = {}
        self._no_carrier_statuses: dict[str, Counter] = {}
        r = self.registry
        ns = NAMESPACE

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return _Counter(name, doc, labels, namespace=ns, registry=r)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, namespace=ns, registry=r)

        carrier = ("carrier",)
        # ---------------------------------------------------------------- submits and parts
        self.submits = counter(
            "submits_total",
            "submit_sm PDUs by how they ended: ok, throttled (ESME_RTHROTTLED/ESME_RMSGQFUL), "
            "temporary (retried), permanent (refused), timeout (no submit_sm_resp).",
            ("carrier", "result"),
        )
        self.parts_sent = counter(
            "parts_sent_total",
            "submit_sm PDUs written to a carrier (one per message part).",
            carrier,
        )
        self.retries = counter(
            "retries_total", "Parts scheduled for another submit_sm after a failure.", carrier
        )
        self.permits_expired = counter(
            "permits_expired_total",
            'tps_scope = "global": permits of the shared budget this host dropped: not used in '
            "time, or granted by a reply handled too late to place them safely (capacity lost, "
            "never the limit exceeded).",
            carrier,
        )
        self.possible_duplicates = counter(
            "possible_duplicates_total",
            "submit_sm without submit_sm_resp in time, submitted again: the carrier may "
            "deliver twice.",
            carrier,
        )
        # ---------------------------------------------------------------- events and receipts
        self.status_events = counter(
            "status_events_total",
            f"Status events written to the status stream, by status ({NO_CARRIER!r} carrier "
            "when none was chosen).",
            ("carrier", "status"),
        )
        self.receipts = counter(
            "receipts_total",
            "Delivery receipts by receipt state and match result (matched, held, unmatched, "
            "duplicate, none).",
            ("carrier", "state", "match"),
        )
        self.deliver_sm_responses = counter(
            "deliver_sm_responses_total",
            "deliver_sm/data_sm answered, by the command_status we answered with.",
            ("carrier", "status"),
        )
        self.mo_messages = counter(
            "mo_messages_total", "Mobile-originated messages stored (after reassembly).", carrier
        )
        self.dead_letters = counter(
            "dead_letters_total", "Outbound entries moved to the dead-letter stream."
        )
        self.intake_entries = counter(
            "intake_entries_total", "Entries read from the outbound stream."
        )
        # ---------------------------------------------------------------- Redis and lifecycle
        self.redis_errors = counter(
            "redis_errors_total", "Redis commands that failed, by operation.", ("operation",)
        )
        self.redis_reconnects = counter(
            "redis_reconnects_total", "Times Redis answered again after failing."
        )
        self.redis_up = gauge("redis_up", "1 when the last Redis command succeeded, else 0.")
        self.reloads = counter(
            "reloads_total", "SIGHUP configuration reloads, by result (ok, refused).", ("result",)
        )
        for result in ("ok", "refused"):
            self.reloads.labels(result)
        self.collector_errors = counter(
            "collector_errors_total",
            "Scrape-time collectors that raised or timed out.",
            ("collector",),
        )
        self.build_info = gauge("build_info", "Always 1; the running version.", ("version",))
        self.build_info.labels(version or "unknown").set(1)
        # ---------------------------------------------------------------- binds and flow
        self.binds = gauge("binds", "SMPP sessions by state.", ("carrier", "state"))
        self.window_in_use = gauge(
            "window_in_use", "submit_sm awaiting submit_sm_resp, all bound sessions.", carrier
        )
        self.window_size = gauge(
            "window_size", "Window of all bound sessions (window x bound transmitters).", carrier
        )
        self.tps_configured = gauge(
            "tps_configured", "Configured submit_sm per second (all binds together).", carrier
        )
        self.tps_effective = gauge(
            "tps_effective", "Effective submit_sm per second after throttling (adaptive).", carrier
        )
        self.throttle_paused = gauge(
            "throttle_paused", "1 while submits are paused after the carrier throttled.", carrier
        )
        self.work_in_flight = gauge(
            "work_in_flight", "Work items taken from Redis and not finished.", carrier
        )
        self.queued_parts = gauge("queued_parts", "Parts waiting for a send slot.", carrier)
        # ---------------------------------------------------------------- backlog
        self.outbound_lag = gauge(
            "outbound_lag_entries", "Outbound stream entries not yet read by the consumer group."
        )
        self.outbound_pending = gauge(
            "outbound_pending_entries", "Outbound stream entries read and not acknowledged."
        )
        self.work_lag = gauge(
            "work_lag_entries", "Carrier work stream entries not yet read.", ("carrier", "lane")
        )
        self.work_pending = gauge(
            "work_pending_entries",
            "Carrier work stream entries read and not acknowledged.",
            ("carrier", "lane"),
        )
        # ---------------------------------------------------------------- latencies
        self.submit_response_seconds = _Histogram(
            "submit_response_seconds",
            "submit_sm written → submit_sm_resp received.",
            carrier,
            namespace=ns,
            registry=r,
            buckets=SMPP_LATENCY_BUCKETS,
        )
        self.entry_to_sent_seconds = _Histogram(
            "entry_to_sent_seconds",
            "Outbound stream entry → the recipient's `sent` status (every part accepted).",
            carrier,
            namespace=ns,
            registry=r,
            buckets=END_TO_END_BUCKETS,
        )
        self.sent_to_receipt_seconds = _Histogram(
            "sent_to_receipt_seconds",
            "`sent` → final delivery receipt matched.",
            carrier,
            namespace=ns,
            registry=r,
            buckets=END_TO_END_BUCKETS,
        )
        self.deliver_sm_answer_seconds = _Histogram(
            "deliver_sm_answer_seconds",
            "deliver_sm / data_sm received → answered, for those whose answer waits for Redis "
            "(receipts and MO messages): how long each holds a slot of the carrier's window.",
            carrier,
            namespace=ns,
            registry=r,
            buckets=SMPP_LATENCY_BUCKETS,
        )
        self.redis_script_seconds = _Histogram(
            "redis_script_seconds",
            "One batched script call (intake, outcomes, receipts) written → its reply: the "
            "script's own run plus its wait behind other commands in Redis and in the daemon.",
            ("script",),
            namespace=ns,
            registry=r,
            buckets=REDIS_SCRIPT_BUCKETS,
        )
        self.redis_script_ops = counter(
            "redis_script_ops_total",
            "Entries (intake) or ops (outcomes, receipts) the script calls carried: divided by "
            "redis_script_seconds_count, the mean batch.",
            ("script",),
        )
        self._script_children: dict[str, tuple[Histogram, Counter]] = {}
        for name in SCRIPTS:  # exported at 0 from the start
            self._script(name)
        self.event_loop_lag_seconds = _Histogram(
            "event_loop_lag_seconds",
            "How late the event loop ran a timer set every 50 ms: the time it spent on other "
            "work first, which every latency here includes. Below 1 ms: timer resolution.",
            namespace=ns,
            registry=r,
            buckets=LOOP_LAG_BUCKETS,
        )
        if process_metrics:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    def script_call(self, script: str, ops: int, seconds: float) -> None:
        """A batched script call of `ops` entries or ops took `seconds` (written → reply)."""
        seconds_child, ops_child = self._script(script)
        seconds_child.observe(seconds)
        ops_child.inc(ops)

    def _script(self, script: str) -> tuple[Histogram, Counter]:
        children = self._script_children.get(script)
        if children is None:
            children = self._script_children[script] = (
                self.redis_script_seconds.labels(script),
                self.redis_script_ops.labels(script),
            )
        return children

    # -------------------------------------------------------------------- per-carrier children

    def for_carrier(self, carrier: str) -> CarrierMetrics:
        """The carrier's pre-bound children (created, at 0, on the first call; then cached)."""
        cm = self._carriers.get(carrier)
        if cm is None:
            cm = self._carriers[carrier] = CarrierMetrics(self, carrier)
        return cm

    def carriers(self) -> list[str]:
        return list(self._carriers)

    def remove_carrier(self, carrier: str) -> None:
        """Drop every series of a carrier no longer configured (after a reload)."""
        cm = self._carriers.pop(carrier, None)
        if cm is not None:
            cm._remove()

    def status_event(self, status: str, carrier: str = NO_CARRIER) -> Counter:
        """`status_events_total` for events decided before a carrier was chosen (intake)."""
        if carrier != NO_CARRIER:
            return self.for_carrier(carrier).status_event(status)
        child = self._no_carrier_statuses.get(status)
        if child is None:
            child = self._no_carrier_statuses[status] = self.status_events.labels(
                NO_CARRIER, status
            )
        return child

    def redis_error(self, operation: str) -> Counter:
        """`redis_errors_total{operation}` (a short fixed name: read, outcomes, receipts, …)."""
        child = self._redis_errors.get(operation)
        if child is None:
            child = self._redis_errors[operation] = self.redis_errors.labels(operation)
        return child

    # -------------------------------------------------------------------- scrape-time collectors

    def add_collector(self, collector: SyncCollector, name: str = "") -> None:
        """Run `collector()` before each render: it sets gauges from live state (no I/O)."""
        self._collectors.append((name or _name_of(collector), collector))

    def add_async_collector(
        self, collector: AsyncCollector, name: str = "", timeout_s: float = 2.0
    ) -> None:
        """Await `collector()` (e.g. Redis XINFO GROUPS) before each `render_async`.

        All async collectors of one scrape run concurrently, each cut at `timeout_s`; a scrape
        arriving while another is collecting waits for it, so Redis never sees two scrapes'
        queries at once.
        """
        self._async_collectors.append((name or _name_of(collector), collector, timeout_s))

    def remove_collector(self, collector: SyncCollector | AsyncCollector) -> None:
        self._collectors = [(n, c) for n, c in self._collectors if c is not collector]
        self._async_collectors = [e for e in self._async_collectors if e[1] is not collector]

    def refresh(self) -> None:
        """Run the sync collectors (render() does it)."""
        for name, collector in self._collectors:
            try:
                collector()
            except Exception as error:
                self._collector_failed(name, error)
            else:
                self._collector_ok(name)

    async def refresh_async(self) -> None:
        """Run the async collectors concurrently, each within its timeout."""
        if not self._async_collectors:
            return
        async with self._collect_lock:
            entries = list(self._async_collectors)
            results = await asyncio.gather(
                *(asyncio.wait_for(collector(), timeout_s) for _, collector, timeout_s in entries),
                return_exceptions=True,
            )
            for (name, _, _), result in zip(entries, results, strict=True):
                if isinstance(result, BaseException):
                    if isinstance(result, asyncio.CancelledError):
                        raise result
                    self._collector_failed(name, result)
                else:
                    self._collector_ok(name)

    def _collector_failed(self, name: str, error: BaseException) -> None:
        self.collector_errors.labels(name).inc()
        if name not in self._failing:  # once per failure streak, not once per scrape
            self._failing.add(name)
            _log.warning("metrics collector %s failed: %s: %s", name, type(error).__name__, error)

    def _collector_ok(self, name: str) -> None:
        if name in self._failing:
            self._failing.discard(name)
            _log.info("metrics collector %s recovered", name)

    # -------------------------------------------------------------------- exposition

    def render(self) -> bytes:
        """The Prometheus text format (CONTENT_TYPE), after running the sync collectors."""
        self.refresh()
        return generate_latest(self._exposition)

    async def render_async(self) -> bytes:
        """`render()` after the async collectors (what GET /metrics answers)."""
        await self.refresh_async()
        return self.render()


def _name_of(collector: object) -> str:
    name = getattr(collector, "__qualname__", None) or getattr(collector, "__name__", None)
    return str(name or type(collector).__name__)
