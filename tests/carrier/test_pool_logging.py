"""Bind state changes are logged once, as JSON lines carrying `carrier` and `bind`."""

from __future__ import annotations

import io
import json
import logging

from connector.carrier.pool import BindPool, BindSettings
from connector.observe.logs import configure_logging


async def test_credential_refusal_is_one_error_line_with_carrier_and_bind() -> None:
    out = io.StringIO()
    configure_logging("info", "json", True, stream=out)
    try:
        settings = BindSettings(
            carrier="airtel-cd", host="127.0.0.1", port=1, system_id="lisoloo", password="hunter2"
        )
        pool = BindPool(settings)
        bind = pool.transmitters[0]
        bind._failed("bind refused: ESME_RINVPASWD (Invalid Password)", loud=True)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(lines) == 1
        event = lines[0]
        assert event["level"] == "error"
        assert event["carrier"] == "airtel-cd"
        assert event["bind"] == bind.name
        assert "ESME_RINVPASWD" in event["event"]
        assert "hunter2" not in out.getvalue()
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
