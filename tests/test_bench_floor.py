"""The benchmarks' floor client (bench/baselines.py `floor`) against the simulator over real
TCP: it must finish every message, or the CPU reference bench_end_to_end prints is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import _harness as h
from bench import baselines


@pytest.mark.parametrize(
    ("options", "parts", "receipts"),
    [([], 200, 200), (["--no-receipts"], 200, 0), (["--mix"], 400, 400)],
    ids=["receipts", "no-receipts", "mix"],
)
def test_the_floor_client_completes_every_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    parts: int,
    receipts: int,
) -> None:
    with h.Stack(tmp_path) as stack:
        simulator = stack.simulator(*(["--no-receipts"] if "--no-receipts" in options else []))
        argv = ["floor", "--port", str(simulator.port), "--messages", "200", "--binds", "2"]
        argv += ["--window", "7", "--max-seconds", "30", *options]
        assert baselines.main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["complete"] is True, result
    assert result["done"] == 200
    assert result["parts"] == parts
    assert result["receipts"] == receipts
    assert result["cpu_s"] > 0
