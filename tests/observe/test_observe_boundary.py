"""`connector.observe` stands alone: it imports nothing of `connector` but itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connector.observe

PACKAGE = Path(connector.observe.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def _connector_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("." * node.level + (node.module or ""))
    return {n for n in names if n == "connector" or n.startswith(("connector.", "."))}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_observe_imports_only_itself(path: Path) -> None:
    outside = {n for n in _connector_imports(path) if not n.startswith("connector.observe")}
    assert outside == set()


def test_the_package_exports_the_wiring_api() -> None:
    for name in ("Metrics", "Notifier", "configure_logging", "start_http", "readiness"):
        assert name in connector.observe.__all__
        assert getattr(connector.observe, name) is not None
