"""connector.domain is pure: no I/O, no clock, no logging; time comes in as arguments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connector.domain

DOMAIN_ROOT = Path(connector.domain.__file__).parent
FORBIDDEN = {
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
    "os",
    "random",
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


def _clock_calls(path: Path) -> set[str]:
    """`datetime.now()`, `date.today()` and friends: reading the clock without importing time."""
    calls: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
            calls.add(node.attr)
    return calls


@pytest.mark.parametrize("path", sorted(DOMAIN_ROOT.glob("*.py")), ids=lambda path: path.name)
def test_domain_module_is_pure(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in FORBIDDEN)
    }
    assert bad == set()
    assert _clock_calls(path) == set()
