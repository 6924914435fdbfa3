"""bench/_harness.py's reading of two /metrics scrapes (the benches themselves never run in
`make test`)."""

from __future__ import annotations

import pytest

from bench import _harness as h

SUBMIT = "smpp_connector_submit_response_seconds_count"


def _samples(**values: float) -> h.Samples:
    out: h.Samples = {(SUBMIT, (("carrier", name),)): value for name, value in values.items()}
    out["smpp_connector_redis_script_seconds_count", (("script", "intake"),)] = 3.0
    return out


def test_moved_is_one_samples_change() -> None:
    before, after = _samples(a=1, b=10), _samples(a=5, b=30)
    assert h.moved(before, after, SUBMIT, carrier="a") == 4
    assert h.moved(before, after, SUBMIT, carrier="c") == 0


def test_moved_over_every_carrier_sums_them_and_counts_a_new_one_from_zero() -> None:
    before, after = _samples(a=1, b=10), _samples(a=5, b=30, c=7)
    assert h.moved(before, after, SUBMIT, carrier="*") == 4 + 20 + 7
    # Other labels still have to match; samples without a carrier label are not summed.
    assert h.moved(before, after, SUBMIT, carrier="*", le="0.001") == 0
    assert h.moved(before, after, "smpp_connector_redis_script_seconds_count", carrier="*") == 0


def test_the_daemon_view_reports_the_smsc_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    name = "smpp_connector_submit_response_seconds"
    after: h.Samples = {
        (f"{name}_count", (("carrier", "a"),)): 4.0,
        (f"{name}_sum", (("carrier", "a"),)): 0.008,
        (f"{name}_bucket", (("carrier", "a"), ("le", "0.001"))): 1.0,
        (f"{name}_bucket", (("carrier", "a"), ("le", "0.005"))): 4.0,
        (f"{name}_bucket", (("carrier", "a"), ("le", "0.01"))): 4.0,
        (f"{name}_bucket", (("carrier", "a"), ("le", "0.025"))): 4.0,
    }
    h.report_daemon_view({}, after)
    row = next(line for line in capsys.readouterr().out.splitlines() if "submit_sm -> resp" in line)
    assert row.split()[-6:] == ["4", "2.00", "25.0%", "100.0%", "100.0%", "100.0%"]
