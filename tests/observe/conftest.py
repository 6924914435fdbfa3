"""Fixtures of the observability tests: the operator tools, found or skipped with a reason.

`make ops-tools` installs them (Debian's systemd, and promtool from Debian's prometheus
package); tests that need one skip, saying which and how to get it, when it is absent.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str, env: str, hint: str) -> str:
    path = os.environ.get(env) or shutil.which(name)
    if not path:
        pytest.skip(f"{name} not installed ({hint}; or set {env})")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "PROMTOOL", "make ops-tools: Debian package prometheus")


@pytest.fixture(scope="session")
def systemd_analyze() -> str:
    return _tool("systemd-analyze", "SYSTEMD_ANALYZE", "make ops-tools: Debian package systemd")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and structlog back as they were after a test configures them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            if handler not in handlers:
                handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
