"""Metrics: every family the issue lists, its type and help, children that move, collectors."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from connector.observe.metrics import (
    BIND_STATES,
    CONTENT_TYPE,
    END_TO_END_BUCKETS,
    NO_CARRIER,
    SMPP_LATENCY_BUCKETS,
    SUBMIT_RESULTS,
    Metrics,
    _Counter,
    _Histogram,
)

# family name (as the parser reports it: counters without _total) → (type, label names)
FAMILIES: dict[str, tuple[str, set[str]]] = {
    "smpp_connector_submits": ("counter", {"carrier", "result"}),
    "smpp_connector_parts_sent": ("counter", {"carrier"}),
    "smpp_connector_status_events": ("counter", {"carrier", "status"}),
    "smpp_connector_receipts": ("counter", {"carrier", "state", "match"}),
    "smpp_connector_deliver_sm_responses": ("counter", {"carrier", "status"}),
    "smpp_connector_mo_messages": ("counter", {"carrier"}),
    "smpp_connector_binds": ("gauge", {"carrier", "state"}),
    "smpp_connector_window_in_use": ("gauge", {"carrier"}),
    "smpp_connector_window_size": ("gauge", {"carrier"}),
    "smpp_connector_tps_configured": ("gauge", {"carrier"}),
    "smpp_connector_tps_effective": ("gauge", {"carrier"}),
    "smpp_connector_throttle_paused": ("gauge", {"carrier"}),
    "smpp_connector_work_in_flight": ("gauge", {"carrier"}),
    "smpp_connector_queued_parts": ("gauge", {"carrier"}),
    "smpp_connector_retries": ("counter", {"carrier"}),
    "smpp_connector_permits_expired": ("counter", {"carrier"}),
    "smpp_connector_possible_duplicates": ("counter", {"carrier"}),
    "smpp_connector_dead_letters": ("counter", set()),
    "smpp_connector_intake_entries": ("counter", set()),
    "smpp_connector_redis_errors": ("counter", {"operation"}),
    "smpp_connector_redis_reconnects": ("counter", set()),
    "smpp_connector_redis_up": ("gauge", set()),
    "smpp_connector_reloads": ("counter", {"result"}),
    "smpp_connector_collector_errors": ("counter", {"collector"}),
    "smpp_connector_build_info": ("gauge", {"version"}),
    "smpp_connector_submit_response_seconds": ("histogram", {"carrier"}),
    "smpp_connector_entry_to_sent_seconds": ("histogram", {"carrier"}),
    "smpp_connector_sent_to_receipt_seconds": ("histogram", {"carrier"}),
    "smpp_connector_deliver_sm_answer_seconds": ("histogram", {"carrier"}),
    "smpp_connector_redis_script_seconds": ("histogram", {"script"}),
    "smpp_connector_redis_script_ops": ("counter", {"script"}),
    "smpp_connector_event_loop_lag_seconds": ("histogram", set()),
    "smpp_connector_outbound_lag_entries": ("gauge", set()),
    "smpp_connector_outbound_pending_entries": ("gauge", set()),
    "smpp_connector_work_lag_entries": ("gauge", {"carrier", "lane"}),
    "smpp_connector_work_pending_entries": ("gauge", {"carrier", "lane"}),
}


def _touch_everything(metrics: Metrics) -> None:
    """Give every labelled family at least one child, so each shows up in the output."""
    cm = metrics.for_carrier("airtel-cd")
    cm.status_event("sent").inc()
    cm.receipt("DELIVRD", "matched").inc()
    cm.deliver_sm_response("ESME_ROK").inc()
    cm.set_work_backlog("normal", 3, 1)
    metrics.redis_error("read").inc()
    metrics.collector_errors.labels("x").inc(0)


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_every_family_exists_with_its_type_labels_and_help() -> None:
    metrics = Metrics(version="1.2.3")
    _touch_everything(metrics)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    for name, (kind, labels) in FAMILIES.items():
        assert name in families, name
        family = families[name]
        assert family.type == kind, name
        assert len(family.documentation) > 15, name
        seen = {k for s in family.samples for k in s.labels if k != "le"}
        assert seen == labels, name


def test_render_parses_as_the_text_format_without_created_series() -> None:
    metrics = Metrics()
    _touch_everything(metrics)
    text = metrics.render().decode()
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    assert "_created" not in text
    names = [f.name for f in text_string_to_metric_families(text)]
    assert len(names) == len(set(names))
    assert all(n.startswith(("smpp_connector_", "process_", "python_")) for n in names)
    assert "process_resident_memory_bytes" in text


def test_process_metrics_can_be_left_out() -> None:
    text = Metrics(process_metrics=False).render().decode()
    assert "process_" not in text
    assert "python_gc" not in text


def test_counter_families_follow_prometheus_naming() -> None:
    text = Metrics().render().decode()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("smpp_connector_"):
            continue
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
            if family.type == "histogram":
                assert family.name.endswith("_seconds"), family.name


def test_carrier_children_are_bound_once_and_start_at_zero() -> None:
    metrics = Metrics()
    cm = metrics.for_carrier("airtel-cd")
    assert metrics.for_carrier("airtel-cd") is cm
    for result in SUBMIT_RESULTS:
        assert (
            _value(metrics, "smpp_connector_submits_total", carrier="airtel-cd", result=result) == 0
        )
    for state in BIND_STATES:
        assert _value(metrics, "smpp_connector_binds", carrier="airtel-cd", state=state) == 0
    assert _value(metrics, "smpp_connector_parts_sent_total", carrier="airtel-cd") == 0
    assert _value(metrics, "smpp_connector_submit_response_seconds_count", carrier="airtel-cd") == 0
    assert metrics.carriers() == ["airtel-cd"]


def test_children_move_when_incremented() -> None:
    metrics = Metrics()
    cm = metrics.for_carrier("airtel-cd")
    cm.submits_ok.inc()
    cm.submits_ok.inc()
    cm.submits_throttled.inc()
    cm.submits_temporary.inc()
    cm.submits_permanent.inc()
    cm.submits_timeout.inc()
    cm.submit_result("ok").inc()
    cm.parts_sent.inc(4)
    cm.retries.inc()
    cm.possible_duplicates.inc()
    cm.mo_messages.inc()
    cm.status_event("sent").inc()
    cm.status_event("sent").inc()
    cm.receipt("DELIVRD", "held").inc()
    cm.deliver_sm_response("ESME_RX_T_APPN").inc()
    cm.submit_response_seconds.observe(0.004)
    cm.entry_to_sent_seconds.observe(0.2)
    cm.sent_to_receipt_seconds.observe(42.0)
    cm.window_in_use.set(7)
    cm.window_size.set(20)
    cm.tps_configured.set(50)
    cm.tps_effective.set(25)
    cm.throttle_paused.set(1)
    metrics.dead_letters.inc()
    metrics.redis_error("outcomes").inc()
    metrics.redis_reconnects.inc()
    metrics.status_event("rejected").inc()
    metrics.outbound_lag.set(12)
    metrics.outbound_pending.set(3)

    def value(name: str, **labels: str) -> float | None:
        return _value(metrics, name, **labels)

    car = {"carrier": "airtel-cd"}
    assert value("smpp_connector_submits_total", **car, result="ok") == 3
    for result in ("throttled", "temporary", "permanent", "timeout"):
        assert value("smpp_connector_submits_total", **car, result=result) == 1
    assert value("smpp_connector_parts_sent_total", **car) == 4
    assert value("smpp_connector_retries_total", **car) == 1
    assert value("smpp_connector_possible_duplicates_total", **car) == 1
    assert value("smpp_connector_mo_messages_total", **car) == 1
    assert value("smpp_connector_status_events_total", **car, status="sent") == 2
    assert value("smpp_connector_status_events_total", carrier=NO_CARRIER, status="rejected") == 1
    assert value("smpp_connector_receipts_total", **car, state="DELIVRD", match="held") == 1
    assert value("smpp_connector_deliver_sm_responses_total", **car, status="ESME_RX_T_APPN") == 1
    assert value("smpp_connector_submit_response_seconds_bucket", **car, le="0.005") == 1
    assert value("smpp_connector_submit_response_seconds_bucket", **car, le="0.0025") == 0
    assert value("smpp_connector_entry_to_sent_seconds_sum", **car) == pytest.approx(0.2)
    assert value("smpp_connector_sent_to_receipt_seconds_bucket", **car, le="60.0") == 1
    assert value("smpp_connector_window_in_use", **car) == 7
    assert value("smpp_connector_window_size", **car) == 20
    assert value("smpp_connector_tps_configured", **car) == 50
    assert value("smpp_connector_tps_effective", **car) == 25
    assert value("smpp_connector_throttle_paused", **car) == 1
    assert value("smpp_connector_dead_letters_total") == 1
    assert value("smpp_connector_redis_errors_total", operation="outcomes") == 1
    assert value("smpp_connector_redis_reconnects_total") == 1
    assert value("smpp_connector_outbound_lag_entries") == 12
    assert value("smpp_connector_outbound_pending_entries") == 3
    assert value("smpp_connector_reloads_total", result="refused") == 0


def test_latency_buckets_span_smpp_and_end_to_end_ranges() -> None:
    assert SMPP_LATENCY_BUCKETS[0] == 0.001
    assert SMPP_LATENCY_BUCKETS[-1] == 30.0
    assert END_TO_END_BUCKETS[0] == 0.01
    assert END_TO_END_BUCKETS[-1] == 3600.0
    for buckets in (SMPP_LATENCY_BUCKETS, END_TO_END_BUCKETS):
        assert list(buckets) == sorted(set(buckets))


def test_bind_states_count_each_bind_and_zero_the_states_no_bind_is_in() -> None:
    metrics = Metrics()
    cm = metrics.for_carrier("airtel-cd")
    cm.set_bind_states(["bound", "bound", "connecting", "quarantined"])

    def binds(state: str) -> float | None:
        return _value(metrics, "smpp_connector_binds", carrier="airtel-cd", state=state)

    assert (binds("bound"), binds("connecting"), binds("quarantined")) == (2, 1, 1)
    assert binds("backing_off") == 0
    cm.set_bind_states(["backing_off", "backing_off"])
    assert (binds("bound"), binds("connecting"), binds("quarantined")) == (0, 0, 0)
    assert binds("backing_off") == 2


def test_work_backlog_keeps_the_last_lag_when_redis_cannot_tell() -> None:
    metrics = Metrics()
    cm = metrics.for_carrier("airtel-cd")
    cm.set_work_backlog("normal", 10, 4)
    cm.set_work_backlog("normal", None, 5)
    labels = {"carrier": "airtel-cd", "lane": "normal"}
    assert _value(metrics, "smpp_connector_work_lag_entries", **labels) == 10
    assert _value(metrics, "smpp_connector_work_pending_entries", **labels) == 5


def test_remove_carrier_drops_its_series_only() -> None:
    metrics = Metrics()
    metrics.for_carrier("airtel-cd").status_event("sent").inc()
    metrics.for_carrier("airtel-cd").set_work_backlog("high", 1, 1)
    metrics.for_carrier("orange-cd").submits_ok.inc()
    metrics.remove_carrier("airtel-cd")
    metrics.remove_carrier("never-configured")
    text = metrics.render().decode()
    assert "airtel-cd" not in text
    assert 'carrier="orange-cd",result="ok"} 1.0' in text
    assert metrics.carriers() == ["orange-cd"]
    # coming back (a later reload) starts from zero
    metrics.for_carrier("airtel-cd")
    assert _value(metrics, "smpp_connector_submits_total", carrier="airtel-cd", result="ok") == 0


def test_two_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.for_carrier("airtel-cd").submits_ok.inc()
    assert (
        second.registry.get_sample_value(
            "smpp_connector_submits_total", {"carrier": "airtel-cd", "result": "ok"}
        )
        is None
    )


def test_sync_collectors_run_on_each_render() -> None:
    metrics = Metrics()
    cm = metrics.for_carrier("airtel-cd")
    calls: list[int] = []

    def sample() -> None:
        calls.append(1)
        cm.window_in_use.set(len(calls))

    metrics.add_collector(sample)
    metrics.render()
    text = metrics.render().decode()
    assert 'smpp_connector_window_in_use{carrier="airtel-cd"} 2.0' in text
    metrics.remove_collector(sample)
    metrics.render()
    assert len(calls) == 2


def test_a_failing_collector_is_counted_logged_once_and_does_not_break_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    healthy: list[int] = []
    broken = [True]

    def flaky() -> None:
        if broken[0]:
            raise RuntimeError("state unavailable")

    metrics.add_collector(flaky, name="flaky")
    metrics.add_collector(lambda: healthy.append(1), name="healthy")
    with caplog.at_level(logging.INFO, logger="connector.observe.metrics"):
        for _ in range(3):
            text = metrics.render().decode()
        broken[0] = False
        metrics.render()
    assert 'smpp_connector_collector_errors_total{collector="flaky"} 3.0' in text
    assert len(healthy) == 4
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1
    assert "state unavailable" in failures[0].getMessage()
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_async_collectors_run_concurrently_each_within_its_timeout() -> None:
    metrics = Metrics()
    started: list[str] = []

    async def backlog() -> None:
        started.append("backlog")
        await asyncio.sleep(0.05)
        metrics.outbound_lag.set(99)

    async def pending() -> None:
        started.append("pending")
        await asyncio.sleep(0.05)
        metrics.outbound_pending.set(7)

    async def stuck() -> None:
        await asyncio.sleep(60)

    metrics.add_async_collector(backlog)
    metrics.add_async_collector(pending)
    metrics.add_async_collector(stuck, name="stuck", timeout_s=0.2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    text = (await asyncio.wait_for(metrics.render_async(), 5)).decode()
    assert loop.time() - began < 1.0
    assert sorted(started) == ["backlog", "pending"]
    assert "smpp_connector_outbound_lag_entries 99.0" in text
    assert "smpp_connector_outbound_pending_entries 7.0" in text
    assert 'smpp_connector_collector_errors_total{collector="stuck"} 1.0' in text


async def test_overlapping_scrapes_do_not_query_twice_at_once() -> None:
    metrics = Metrics()
    running = [0]
    peak = [0]

    async def backlog() -> None:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.02)
        running[0] -= 1

    metrics.add_async_collector(backlog)
    await asyncio.wait_for(asyncio.gather(*(metrics.render_async() for _ in range(3))), 5)
    assert peak[0] == 1


# ------------------------------------------------------------------ the fast inc / observe


@given(
    amounts=st.lists(
        st.one_of(
            st.floats(min_value=-1.0, max_value=10_000.0, allow_nan=False),
            st.sampled_from([*SMPP_LATENCY_BUCKETS, float("inf"), 0.0]),
        ),
        max_size=40,
    )
)
@settings(max_examples=150, deadline=None)
def test_fast_observe_and_inc_count_exactly_as_prometheus_client_does(
    amounts: list[float],
) -> None:
    """The daemon's histograms bisect for their bucket and its counters skip the library's
    checks: the exposition must be the library's own for the same updates (bounds included)."""
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    fast = _Histogram("h", "h", ("carrier",), registry=ours, buckets=SMPP_LATENCY_BUCKETS)
    plain = Histogram("h", "h", ("carrier",), registry=theirs, buckets=SMPP_LATENCY_BUCKETS)
    fast_count = _Counter("c", "c", ("carrier",), registry=ours)
    plain_count = Counter("c", "c", ("carrier",), registry=theirs)
    for amount in amounts:
        fast.labels("a").observe(amount)
        plain.labels("a").observe(amount)
        if amount >= 0:
            fast_count.labels("a").inc(amount)
            plain_count.labels("a").inc(amount)
    assert _samples(ours) == _samples(theirs)


def test_fast_counter_and_histogram_keep_the_library_errors() -> None:
    registry = CollectorRegistry()
    counter = _Counter("c", "c", ("carrier",), registry=registry)
    histogram = _Histogram("h", "h", ("carrier",), registry=registry)
    with pytest.raises(ValueError, match="missing label values"):
        counter.inc()  # a labelled parent has no value of its own
    with pytest.raises(ValueError, match="missing label values"):
        histogram.observe(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        counter.labels("a").inc(-1)
    histogram.labels("a").observe(float("nan"))  # the library's path: counted in no bucket
    assert registry.get_sample_value("h_count", {"carrier": "a"}) == 0.0


def _samples(registry: CollectorRegistry) -> list[tuple[str, list[tuple[str, str]], float]]:
    return sorted(
        (s.name, sorted(s.labels.items()), s.value)
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    )


def test_script_calls_are_timed_and_counted_per_script() -> None:
    metrics = Metrics(process_metrics=False)
    # The three hot scripts are exported from the start, at 0.
    for script in ("intake", "outcomes", "receipts"):
        assert _value(metrics, "smpp_connector_redis_script_seconds_count", script=script) == 0
        assert _value(metrics, "smpp_connector_redis_script_ops_total", script=script) == 0
    metrics.script_call("outcomes", 40, 0.003)
    metrics.script_call("outcomes", 10, 0.0004)
    metrics.script_call("mo", 2, 0.02)  # another name gets its own children
    seconds = "smpp_connector_redis_script_seconds"
    assert _value(metrics, f"{seconds}_count", script="outcomes") == 2
    assert _value(metrics, f"{seconds}_sum", script="outcomes") == pytest.approx(0.0034)
    assert _value(metrics, f"{seconds}_bucket", script="outcomes", le="0.0005") == 1
    assert _value(metrics, f"{seconds}_bucket", script="outcomes", le="0.0025") == 1
    assert _value(metrics, f"{seconds}_bucket", script="outcomes", le="0.005") == 2
    assert _value(metrics, "smpp_connector_redis_script_ops_total", script="outcomes") == 50
    assert _value(metrics, "smpp_connector_redis_script_ops_total", script="mo") == 2
    assert _value(metrics, f"{seconds}_count", script="intake") == 0


def test_event_loop_lag_lands_in_its_buckets() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.event_loop_lag_seconds.observe(0.0002)
    metrics.event_loop_lag_seconds.observe(0.03)
    name = "smpp_connector_event_loop_lag_seconds"
    assert _value(metrics, f"{name}_bucket", le="0.001") == 1
    assert _value(metrics, f"{name}_bucket", le="0.025") == 1
    assert _value(metrics, f"{name}_bucket", le="0.05") == 2
    assert _value(metrics, f"{name}_count") == 2
