"""The sans-I/O boundary: the protocol core imports nothing that does I/O or reads a clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connector

PACKAGE_ROOT = Path(connector.__file__).parent
FORBIDDEN_IN_CORE = {
    "asyncio",
    "socket",
    "ssl",
    "time",
    "selectors",
    "threading",
    "logging",
    "redis",
    "structlog",
    "prometheus_client",
    "uvloop",
    "connector.transport",
    "connector.carrier",
    "connector.simulator",
    "connector.cli",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IN_CORE)
    }


CORE_PACKAGES = ("smpp", "text")
CORE_MODULES = sorted(path for pkg in CORE_PACKAGES for path in (PACKAGE_ROOT / pkg).glob("*.py"))


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_smpp_core_module_does_no_io(path: Path) -> None:
    assert _violations(_imports(path)) == set()


def test_boundary_check_detects_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom time import monotonic\nfrom redis import Redis\n")
    assert _violations(_imports(bad)) == {"asyncio", "time", "redis"}
