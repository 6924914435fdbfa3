"""systemd/smpp-connector.service: what it must say, `systemd-analyze verify` and `security`.

`verify` checks that every Exec*= binary exists and is executable, and on a build host
/opt/smpp-connector is not installed: the tool runs on a copy whose smpp-connector path points
at this checkout's console script (everything else unchanged), so a typo in any directive,
a wrong section or an unknown option still fails the test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector.config.schema import DaemonConfig
from tests.observe.conftest import REPO

UNIT = REPO / "systemd" / "smpp-connector.service"
INSTALLED_BINARY = "/opt/smpp-connector/.venv/bin/smpp-connector"
MAX_EXPOSURE = 2.0


def _directives() -> dict[str, dict[str, list[str]]]:
    """section → key → every value (keys may repeat), comments and blank lines skipped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _one(section: str, key: str) -> str:
    values = _directives()[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}= set {len(values)} times"
    return values[0]


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit or "s"]
    return total


def _console_script() -> str:
    candidate = Path(sys.executable).parent / "smpp-connector"
    found = str(candidate) if candidate.exists() else shutil.which("smpp-connector")
    if not found:
        pytest.skip("the smpp-connector console script is not installed (pip install -e .)")
    return found


@pytest.fixture
def checkable_unit(tmp_path: Path) -> Path:
    copy = tmp_path / "smpp-connector.service"
    copy.write_text(UNIT.read_text().replace(INSTALLED_BINARY, _console_script()))
    return copy


def test_notify_service_with_watchdog_reload_and_restart() -> None:
    assert _one("Service", "Type") == "notify"
    assert _one("Service", "NotifyAccess") == "main"
    assert _seconds(_one("Service", "WatchdogSec")) == 30
    assert _one("Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert _one("Service", "Restart") == "on-failure"
    start = _one("Service", "ExecStart")
    assert start == f"{INSTALLED_BINARY} run --config /etc/smpp-connector/connector.toml"
    assert _one("Install", "WantedBy") == "multi-user.target"


def test_stop_timeout_leaves_room_for_the_drain_and_the_unbind() -> None:
    drain_s = DaemonConfig().shutdown_timeout_s
    assert _seconds(_one("Service", "TimeoutStopSec")) > drain_s + 5


def test_the_daemon_runs_ahead_of_batch_jobs_for_the_cpu() -> None:
    # A cgroup weight above the default (100), which fails nowhere; not a negative Nice= (an
    # unprivileged container refuses it and the service would not start), nor a real-time
    # policy.
    assert 100 < int(_one("Service", "CPUWeight")) <= 1000
    service = _directives()["Service"]
    assert "Nice" not in service
    assert "CPUSchedulingPolicy" not in service


def test_passwords_come_as_credentials_not_environment() -> None:
    service = _directives()["Service"]
    assert service["LoadCredential"] == [
        "airtel-cd-password:/etc/smpp-connector/credentials/airtel-cd"
    ]
    assert "EnvironmentFile" not in service
    assert not any("PASSWORD" in env.upper() for env in service.get("Environment", []))
    text = UNIT.read_text()
    assert 'password = "file:/run/credentials/smpp-connector.service/airtel-cd-password"' in text


def test_hardening_options_are_set() -> None:
    service = _directives()["Service"]
    expected = {
        "DynamicUser": "yes",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
    }
    for key, value in expected.items():
        assert service.get(key) == [value], key
    assert "@system-service" in service["SystemCallFilter"]
    assert int(_one("Service", "LimitNOFILE")) >= 4096
    # stdout is a pipe to journald: unbuffered, or log lines arrive late and in bursts
    assert "PYTHONUNBUFFERED=1" in " ".join(service["Environment"])


def test_systemd_analyze_verify_passes(systemd_analyze: str, checkable_unit: Path) -> None:
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(checkable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "smpp-connector.service" not in result.stderr, result.stderr


def test_systemd_analyze_verify_catches_a_broken_unit(
    systemd_analyze: str, checkable_unit: Path
) -> None:
    checkable_unit.write_text(checkable_unit.read_text().replace("Type=notify", "Type=notifyy"))
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(checkable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "notifyy" in result.stderr


def test_security_exposure_is_low(systemd_analyze: str, checkable_unit: Path) -> None:
    result = subprocess.run(
        [
            systemd_analyze,
            "security",
            "--offline=yes",
            f"--threshold={round(MAX_EXPOSURE * 10)}",  # the tool counts in tenths
            "--no-pager",
            str(checkable_unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd >= 250")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE
    assert result.returncode == 0, result.stdout[-2000:]
