"""Prometheus alert rules and the Grafana dashboard: valid, tested, and naming real metrics.

`promtool check rules` and `promtool test rules` (each alert fires on a synthetic series and
stays silent on a healthy one: configs/prometheus/alerts_test.yml); every `smpp_connector_*`
name used by the rules or the dashboard is one that `Metrics` exports.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.observe.metrics import Metrics
from tests.observe.conftest import REPO

RULES = REPO / "configs" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "configs" / "prometheus" / "alerts_test.yml"
DASHBOARD = REPO / "configs" / "grafana" / "smpp-connector.json"
METRIC_NAME = re.compile(r"\bsmpp_connector_[a-z0-9_]+")
# what the issue asks alerts for, by alert name
REQUIRED_ALERTS = {
    "SmppCarrierUnreachable",  # a bind down for minutes (all of a carrier's)
    "SmppBindDown",  # some binds down for minutes
    "SmppThrottlingStorm",
    "SmppOutboundBacklogGrowing",
    "SmppCarrierBacklogGrowing",
    "SmppReceiptMatchRateLow",
    "SmppDeadLetters",
}


def _exported_names() -> set[str]:
    """Every sample name a scrape can show (counters with _total, histogram series)."""
    metrics = Metrics(process_metrics=False)
    names: set[str] = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _panel_exprs() -> dict[str, list[str]]:
    return {
        panel["title"]: [target["expr"] for target in panel.get("targets", [])]
        for panel in _dashboard()["panels"]
        if panel["type"] != "row"
    }


def test_promtool_check_rules(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules(promtool: str) -> None:
    result = _run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    alerts = set(re.findall(r"^\s*- alert: (\w+)", RULES.read_text(), re.MULTILINE))
    assert alerts >= REQUIRED_ALERTS
    tests = RULE_TESTS.read_text()
    for alert in alerts:
        blocks = re.findall(
            rf"alertname: {alert}\n\s*exp_alerts:(.*?)(?=\n\s*- eval_time|\n\s*- interval|\Z)",
            tests,
            re.DOTALL,
        )
        assert any(b.strip().startswith("[]") for b in blocks), (
            f"{alert}: no test where it stays silent"
        )
        assert any("exp_labels" in b for b in blocks), f"{alert}: no test where it fires"


def test_rules_use_only_exported_metrics() -> None:
    used = set(METRIC_NAME.findall(RULES.read_text()))
    assert used
    assert used <= _exported_names(), used - _exported_names()


def test_dashboard_is_valid_json_with_the_panels_asked_for() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "smpp-connector"
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"instance", "carrier"}
    exprs = _panel_exprs()
    all_exprs = " ".join(e for panel in exprs.values() for e in panel)
    for needed in (
        "smpp_connector_parts_sent_total",  # throughput per carrier
        "smpp_connector_tps_configured",  # TPS configured vs effective
        "smpp_connector_tps_effective",
        "smpp_connector_window_in_use",  # window use
        "smpp_connector_submit_response_seconds_bucket",  # latencies
        "smpp_connector_entry_to_sent_seconds_bucket",
        "smpp_connector_sent_to_receipt_seconds_bucket",
        "smpp_connector_receipts_total",  # receipts by state
        "smpp_connector_outbound_lag_entries",  # backlog
        "smpp_connector_work_pending_entries",
    ):
        assert needed in all_exprs, needed
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(exprs.values())


def test_dashboard_uses_only_exported_metrics() -> None:
    used = set(METRIC_NAME.findall(DASHBOARD.read_text()))
    assert used <= _exported_names(), used - _exported_names()


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each query, with Grafana's variables filled in, as a recording rule promtool parses."""
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    n = 0
    for exprs in _panel_exprs().values():
        for expr in exprs:
            promql = (
                expr.replace("$__rate_interval", "5m")
                .replace("$instance", ".*")
                .replace("$carrier", ".*")
            )
            assert "$" not in promql, promql
            n += 1
            lines += [f"      - record: dashboard:query{n}", f"        expr: {json.dumps(promql)}"]
    rules = tmp_path / "dashboard_rules.yml"
    rules.write_text("\n".join(lines) + "\n")
    result = _run(promtool, "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {n} rules found" in result.stdout


@pytest.mark.parametrize("path", [RULES, RULE_TESTS], ids=lambda p: p.name)
def test_rule_files_are_plain_yaml_without_tabs(path: Path) -> None:
    assert "\t" not in path.read_text()
