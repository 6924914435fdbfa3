"""connector.flow is pure: no I/O, no clock, no module-level randomness; time and rand are
arguments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connector.flow

FLOW_ROOT = Path(connector.flow.__file__).parent
FORBIDDEN = {
    "asyncio",
    "socket",
    "ssl",
    "time",
    "datetime",
    "random",
    "secrets",
    "selectors",
    "threading",
    "logging",
    "os",
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
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(FLOW_ROOT.glob("*.py")), ids=lambda path: path.name)
def test_flow_module_is_pure(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in FORBIDDEN)
    }
    assert bad == set()
