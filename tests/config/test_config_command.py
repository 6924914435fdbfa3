"""`smpp-connector check-config --config FILE`: `ok: ...` and exit 0, or every problem and 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "demo.toml"
EXAMPLE = ROOT / "configs" / "connector.example.toml"

BROKEN = """\
bogus = 1
[log]
format = "xml"
[carriers.airtel-cd]
host = "127.0.0.1"
system_id = "lisoloo"
password = "env:CHECK_CONFIG_TEST_PW"
tps = 0
prefixes = ["+24397", "24398"]
"""
BROKEN_PROBLEMS = [
    "bogus: unknown key",
    'log.format: must be one of "json", "console"',
    "carriers.airtel-cd.password: environment variable CHECK_CONFIG_TEST_PW is not set",
    "carriers.airtel-cd.tps: must be > 0",
    'carriers.airtel-cd.prefixes[1]: "24398" must be "+" followed by 1 to 15 digits',
]


def test_valid_file_prints_ok_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(DEMO)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "ok: 1 carriers (airtel-cd)\n"
    assert captured.err == ""


def test_example_file_names_every_carrier(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("VODACOM", "AIRTEL", "ORANGE", "AFRICELL"):
        monkeypatch.setenv(f"{name}_CD_SMPP_PASSWORD", "pw")
    assert main(["check-config", "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        "ok: 4 carriers (vodacom-cd, airtel-cd, orange-cd, africell-cd)\n"
    )


def test_broken_file_prints_every_problem_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHECK_CONFIG_TEST_PW", raising=False)
    path = tmp_path / "connector.toml"
    path.write_text(BROKEN)
    assert main(["check-config", "--config", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == BROKEN_PROBLEMS


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.toml"
    assert main(["check-config", "--config", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}: cannot read: No such file or directory\n"


def test_config_option_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check-config"])
    assert info.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_secrets_are_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "connector.toml"
    path.write_text(BROKEN.replace("tps = 0", "tps = 10").replace('"24398"', '"+24398"'))
    monkeypatch.setenv("CHECK_CONFIG_TEST_PW", "Pw-Much-Too-Long-9")
    assert main(["check-config", "--config", str(path)]) == 1
    captured = capsys.readouterr()
    assert "carriers.airtel-cd.password: must be at most 8 characters (SMPP 3.4)" in captured.err
    assert "Pw-Much" not in captured.out + captured.err
    path.write_text(
        BROKEN.replace("bogus = 1\n", "")
        .replace('"xml"', '"json"')
        .replace("tps = 0", "tps = 10")
        .replace('"24398"', '"+24398"')
    )
    monkeypatch.setenv("CHECK_CONFIG_TEST_PW", "Qx81Lm")
    assert main(["check-config", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "ok: 1 carriers (airtel-cd)\n"
    assert "Qx81Lm" not in captured.out + captured.err


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", "check-config", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def test_subprocess_exit_codes_and_streams(tmp_path: Path) -> None:
    ok = _run("--config", str(DEMO))
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "ok: 1 carriers (airtel-cd)\n", "")
    path = tmp_path / "connector.toml"
    path.write_text(BROKEN)
    env = {key: value for key, value in os.environ.items() if key != "CHECK_CONFIG_TEST_PW"}
    broken = _run("--config", str(path), env=env)
    assert broken.returncode == 1
    assert broken.stdout == ""
    assert broken.stderr.splitlines() == BROKEN_PROBLEMS
