"""Imports point inwards: the pure packages do no I/O and read no clock.

`smpp`, `text`, `domain` and `flow` never import asyncio, sockets, time, Redis, logging or
metrics, nor the packages that do (transport, carrier, streams, app, simulator, cli); time
comes in as an argument. `streams` is the only package that imports redis.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connector

PACKAGE_ROOT = Path(connector.__file__).parent
PURE_PACKAGES = ("smpp", "text", "domain", "flow")
FORBIDDEN_IN_PURE = {
    "asyncio", "socket", "ssl", "time", "selectors", "threading", "logging", "random",
    "redis", "structlog", "prometheus_client", "uvloop",
    "connector.transport", "connector.carrier", "connector.streams", "connector.app",
    "connector.simulator", "connector.config", "connector.cli",
}  # fmt: skip
CLOCK_READS = {"now", "utcnow", "today", "monotonic", "perf_counter"}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(names: set[str], forbidden: set[str]) -> set[str]:
    return {
        name
        for name in names
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    }


def _clock_reads(path: Path) -> set[str]:
    """`datetime.now()` and friends: reading the clock without importing time."""
    return {
        node.attr
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_READS
    }


PURE_MODULES = sorted(
    path for package in PURE_PACKAGES for path in (PACKAGE_ROOT / package).glob("*.py")
)
ALL_MODULES = sorted(PACKAGE_ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_pure_module_does_no_io(path: Path) -> None:
    assert _violations(_imports(path), FORBIDDEN_IN_PURE) == set()


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_pure_module_reads_no_clock(path: Path) -> None:
    assert _clock_reads(path) == set()


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_only_streams_and_app_import_redis(path: Path) -> None:
    if path.parent.name in ("streams", "app"):
        return
    assert _violations(_imports(path), {"redis"}) == set()


def test_boundary_check_detects_a_forbidden_import_and_a_clock_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import asyncio\nfrom time import monotonic\nfrom redis import Redis\n"
        "import datetime\nx = datetime.datetime.now()\n"
    )
    assert _violations(_imports(bad), FORBIDDEN_IN_PURE) == {"asyncio", "time", "redis"}
    assert _clock_reads(bad) == {"now"}
