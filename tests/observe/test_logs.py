"""Logs: one JSON object per line, stdlib routed through, numbers masked, secrets never shown."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from connector.observe.logs import (
    configure_logging,
    get_logger,
    mask_number,
    mask_phone_numbers,
    redact_secrets,
)

pytestmark = pytest.mark.usefixtures("restore_logging")

PASSWORD = "hunter2-Sup3rS3cret"


def _configure(mask_numbers: bool = True, fmt: str = "json", level: str = "info") -> io.StringIO:
    out = io.StringIO()
    configure_logging(level, fmt, mask_numbers, stream=out)  # type: ignore[arg-type]
    return out


def _events(out: io.StringIO) -> list[dict[str, Any]]:
    lines = out.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def test_one_json_object_per_line_with_the_keys() -> None:
    out = _configure()
    log = get_logger("connector.app.dispatch", carrier="airtel-cd")
    log.info("bind up", bind="airtel-cd/tr0", message_id="507f1f77bcf86cd799439011")
    log.warning("throttled", bind="airtel-cd/tr1")
    events = _events(out)
    assert len(events) == 2
    first = events[0]
    assert list(first)[:3] == ["at", "level", "event"]
    assert first["level"] == "info"
    assert first["event"] == "bind up"
    assert first["carrier"] == "airtel-cd"
    assert first["bind"] == "airtel-cd/tr0"
    assert first["message_id"] == "507f1f77bcf86cd799439011"
    assert first["logger"] == "connector.app.dispatch"
    assert first["at"].endswith("Z")
    at = datetime.fromisoformat(first["at"])
    assert at.tzinfo is not None
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60
    assert events[1]["level"] == "warning"


def test_stdlib_logging_comes_out_as_the_same_json_lines() -> None:
    out = _configure()
    logging.getLogger("connector.app.daemon").warning(
        "daemon started: consumer %s, carriers %s", "host-1", "airtel-cd", extra={"bind": "b0"}
    )
    (event,) = _events(out)
    assert event["event"] == "daemon started: consumer host-1, carriers airtel-cd"
    assert event["level"] == "warning"
    assert event["logger"] == "connector.app.daemon"
    assert event["bind"] == "b0"
    assert event["at"].endswith("Z")


def test_context_bound_for_a_task_is_added_to_every_event() -> None:
    out = _configure()
    with structlog.contextvars.bound_contextvars(carrier="vodacom-cd"):
        get_logger("x").info("structlog event")
        logging.getLogger("y").info("stdlib event")
    get_logger("x").info("outside")
    events = _events(out)
    assert [e.get("carrier") for e in events] == ["vodacom-cd", "vodacom-cd", None]


def test_events_below_the_level_are_dropped() -> None:
    out = _configure(level="warning")
    get_logger("x").info("not shown")
    logging.getLogger("y").info("not shown either")
    get_logger("x").error("shown")
    assert [e["event"] for e in _events(out)] == ["shown"]


def test_an_exception_stays_on_one_line() -> None:
    out = _configure()
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        get_logger("x").exception("writing outcomes failed")
        logging.getLogger("y").exception("stdlib too")
    events = _events(out)
    assert len(events) == 2
    assert all("ValueError: broken" in e["exception"] for e in events)
    assert events[0]["level"] == "error"


def test_phone_numbers_are_masked_everywhere() -> None:
    out = _configure()
    log = get_logger("x")
    log.info("submit to +243998857000 failed", to="+243998857000")
    log.info("digits", destination="243998857000", source_addr=243998857001)
    log.info("nested", batch={"to": ["243998857002"], "note": "from +33612345678"})
    logging.getLogger("y").info("receipt for destination_addr='243998857003' ok")
    logging.getLogger("y").info("sending to=243998857004")
    text = out.getvalue()
    for number in ("998857000", "998857001", "998857002", "612345678", "998857003", "998857004"):
        assert number not in text
    events = _events(out)
    assert events[0]["event"] == "submit to +243998***000 failed"
    assert events[0]["to"] == "+243998***000"
    assert events[1]["destination"] == "243998***000"
    assert events[1]["source_addr"] == "243998***001"
    assert events[2]["batch"] == {"to": ["243998***002"], "note": "from +33612***678"}
    assert events[3]["event"] == "receipt for destination_addr='243998***003' ok"
    assert events[4]["event"] == "sending to=243998***004"


def test_ids_and_other_digits_are_not_masked() -> None:
    out = _configure()
    get_logger("x").info(
        "accepted 1795707491097-0", message_id="12345678901234", smsc_id="1a21881d303", parts=3
    )
    (event,) = _events(out)
    assert event["event"] == "accepted 1795707491097-0"
    assert event["message_id"] == "12345678901234"
    assert event["smsc_id"] == "1a21881d303"


def test_numbers_are_shown_when_masking_is_disabled() -> None:
    out = _configure(mask_numbers=False)
    get_logger("x").info("submit to +243998857000", to="243998857000")
    (event,) = _events(out)
    assert event["event"] == "submit to +243998857000"
    assert event["to"] == "243998857000"


def test_mask_number_keeps_the_prefix_and_the_last_three_digits() -> None:
    assert mask_number("243998857000") == "243998***000"
    assert mask_number("33612345678") == "33612***678"
    assert mask_number("3312345678") == "3312***678"
    assert mask_number("243998857000123") == "243998******123"
    assert mask_number("12345678") == "12***678"


@dataclass
class _BindSettings:  # the shape of connector.carrier.pool.BindSettings
    carrier: str
    system_id: str
    password: str


def test_passwords_and_credentials_are_never_printed() -> None:
    out = _configure()
    log = get_logger("x")
    log.info("bind", system_id="lisoloo", password=PASSWORD)
    log.info("config", carrier={"system_id": "lisoloo", "password": PASSWORD})
    log.info("redis", url=f"redis://app:{PASSWORD}@10.0.0.5:6379/0")
    log.info("redis", url=f"rediss://:{PASSWORD}@redis.internal:6380")
    log.info("tokens", api_token=PASSWORD, client_secret=PASSWORD, Credentials=[PASSWORD])
    log.info("settings", settings=repr(_BindSettings("airtel-cd", "lisoloo", PASSWORD)))
    log.info("json", payload=json.dumps({"password": PASSWORD, "system_id": "lisoloo"}))
    logging.getLogger("y").warning("connecting with password=%s", PASSWORD)
    logging.getLogger("y").warning("Redis at redis://u:%s@h:6379 not reachable", PASSWORD)
    logging.getLogger("y").info("settings %r", _BindSettings("airtel-cd", "lisoloo", PASSWORD))
    try:
        raise ConnectionError(f"cannot reach redis://app:{PASSWORD}@10.0.0.5:6379")
    except ConnectionError:
        log.exception("redis down")
    text = out.getvalue()
    assert PASSWORD not in text
    assert "Sup3r" not in text
    events = _events(out)
    assert len(events) == 11
    assert events[0]["password"] == "***"
    assert events[0]["system_id"] == "lisoloo"
    assert events[1]["carrier"] == {"system_id": "lisoloo", "password": "***"}
    assert events[2]["url"] == "redis://app:***@10.0.0.5:6379/0"
    assert events[3]["url"] == "rediss://:***@redis.internal:6380"
    assert "password='***'" in events[5]["settings"]
    assert "system_id='lisoloo'" in events[5]["settings"]
    assert events[7]["event"] == "connecting with password=***"


def test_a_password_containing_at_signs_is_hidden_whole() -> None:
    out = _configure()
    get_logger("x").info("redis", url="redis://app:p@ss@word@10.0.0.5:6379/0")
    (event,) = _events(out)
    assert event["url"] == "redis://app:***@10.0.0.5:6379/0"


def test_secrets_are_hidden_even_when_masking_is_disabled() -> None:
    out = _configure(mask_numbers=False)
    get_logger("x").info("bind", password=PASSWORD)
    assert PASSWORD not in out.getvalue()


def test_console_format_is_readable_and_filtered_too() -> None:
    out = _configure(fmt="console")
    get_logger("x").info("bind up", carrier="airtel-cd", to="+243998857000", password=PASSWORD)
    logging.getLogger("y").warning("stdlib %s", "line")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "bind up" in lines[0]
    assert "carrier=airtel-cd" in lines[0]
    assert "+243998***000" in lines[0]
    assert PASSWORD not in out.getvalue()
    assert "stdlib line" in lines[1]
    assert not lines[0].startswith("{")


def test_reconfiguring_replaces_the_handler() -> None:
    first = _configure()
    second = _configure()
    get_logger("x").info("once")
    assert first.getvalue() == ""
    assert len(_events(second)) == 1


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        configure_logging("loud", "json", True, stream=io.StringIO())
    with pytest.raises(ValueError, match="format"):
        configure_logging("info", "xml", True, stream=io.StringIO())  # type: ignore[arg-type]


def test_processors_work_on_their_own() -> None:
    event: dict[str, Any] = {"event": "to +243998857000", "token": "abc", "n": 1}
    redacted = redact_secrets(None, "info", event)
    masked = mask_phone_numbers(None, "info", redacted)
    assert masked == {"event": "to +243998***000", "token": "***", "n": 1}
