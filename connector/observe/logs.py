"""Structured logs: one JSON object per line on stdout (journald, Loki) or a readable console.

Both structlog loggers and the stdlib `logging` records of every module (`%`-style messages
included) go through one handler on the root logger and come out the same way:

    {"at": "2026-11-26T15:38:11.335371Z", "level": "warning", "event": "bind down: timeout",
     "logger": "connector.carrier.pool", "carrier": "airtel-cd", "bind": "airtel-cd/tr0"}

Context: `log = get_logger(__name__).bind(carrier=name, bind=bind_name)`, or
`structlog.contextvars.bind_contextvars(carrier=...)` for everything a task logs, or (stdlib)
`_log.warning("...", extra={"carrier": name})`.

Before rendering, every event passes two filters:
- secrets: values of keys named like password/passwd/secret/token/credential/api_key become
  `***`, as do `user:pass@` in URLs (`redis://app:***@host`) and `password=…` inside text;
- phone numbers (when `mask_numbers`): E.164 numbers anywhere in text (`+243998857000` →
  `+243998***000`), and digits-only MSISDNs of 10–15 digits under keys such as `to`,
  `destination`, `source`, `destination_addr` (or written `to=243998857000` in text).

Wiring (once, first thing in `run_daemon`, replacing the daemon's own formatter):

    configure_logging(config.log.level, config.log.format, config.log.mask_numbers)
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "mask_number",
    "mask_phone_numbers",
    "redact_secrets",
]

LogFormat = Literal["json", "console"]
REDACTED: Final = "***"

# ------------------------------------------------------------------------ secrets

_SECRET_KEY = re.compile(
    r"password|passwd|passphrase|pwd|secret|token|credential|api_?key|private_?key|auth_?key",
    re.IGNORECASE,
)
# scheme://user:password@  (the user part may be empty: redis://:password@host)
# (greedy up to the authority's last "@": a password may contain "@")
_URL_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*):[^/?#\s]*@")
_SECRET_WORDS = r"(?:password|passwd|passphrase|pwd|secret|token|credentials?|api_?key)"
# password=hunter2, password='hunter 2' (reprs), "password": "hunter2" (JSON, dict reprs)
_INLINE_SECRET = re.compile(
    rf"(?P<key>\b\w*{_SECRET_WORDS}\w*=)(?:(?P<q>['\"]).*?(?P=q)|[^\s,;&)}}]*)",
    re.IGNORECASE,
)
_QUOTED_SECRET = re.compile(
    rf"(?P<key>(?P<kq>['\"])\w*{_SECRET_WORDS}\w*(?P=kq)\s*:\s*)(?P<q>['\"]).*?(?P=q)",
    re.IGNORECASE,
)


def _hide_value(match: re.Match[str]) -> str:
    quote = match.group("q") or ""
    return f"{match.group('key')}{quote}{REDACTED}{quote}"


def _redact_text(text: str) -> str:
    if "@" in text:
        text = _URL_USERINFO.sub(rf"\g<head>:{REDACTED}@", text)
    if "=" in text:
        text = _INLINE_SECRET.sub(_hide_value, text)
    if ":" in text:
        text = _QUOTED_SECRET.sub(_hide_value, text)
    return text


def _redact(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _redact_text(value)
    if depth <= 0:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else _redact(v, depth - 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v, depth - 1) for v in value)
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no password, secret, token or URL credential reaches the output."""
    for key, value in event_dict.items():
        if _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
        elif isinstance(value, (str, Mapping, list, tuple)):
            event_dict[key] = _redact(value, 4)
    return event_dict


# ------------------------------------------------------------------------ phone numbers

# "+" then 8-15 digits (E.164 allows at most 15), not glued to other digits or word characters
_E164 = re.compile(r"(?<![\w+])\+(\d{8,15})(?!\d)")
_NUMBER_KEYS: Final = frozenset(
    {
        "to", "from", "destination", "source", "destination_addr", "source_addr",
        "dest_addr", "recipient", "msisdn", "sender", "phone", "number",
    }
)  # fmt: skip
_KEYED_DIGITS = re.compile(
    r"(?P<key>\b(?:to|from|destination|source|destination_addr|source_addr|dest_addr|"
    r"recipient|msisdn)\s*[=:]\s*['\"]?\+?)(?P<digits>\d{10,15})(?!\d)",
    re.IGNORECASE,
)
_DIGITS_ONLY = re.compile(r"\+?\d{10,15}")


def mask_number(digits: str) -> str:
    """`243998857000` → `243998***000`: the country and network prefix and the last three
    digits stay (enough to tell numbers apart in an incident), at least three are hidden."""
    n = len(digits)
    head = max(0, min(6, n - 6))
    tail = min(3, n - head - 3) if n > 3 else 0
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail :]


def _mask_text(text: str) -> str:
    if "+" in text:
        text = _E164.sub(lambda m: "+" + mask_number(m.group(1)), text)
    return _KEYED_DIGITS.sub(lambda m: m.group("key") + mask_number(m.group("digits")), text)


def _mask(value: Any, depth: int, *, keyed: bool = False) -> Any:
    if isinstance(value, str):
        if keyed and _DIGITS_ONLY.fullmatch(value):
            plus = "+" if value.startswith("+") else ""
            return plus + mask_number(value.removeprefix("+"))
        return _mask_text(value)
    if keyed and isinstance(value, int) and not isinstance(value, bool):
        return _mask(str(value), depth, keyed=True)
    if depth <= 0:
        return value
    if isinstance(value, Mapping):
        return {
            k: _mask(v, depth - 1, keyed=isinstance(k, str) and k.lower() in _NUMBER_KEYS)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v, depth - 1, keyed=keyed) for v in value)
    return value


def mask_phone_numbers(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: phone numbers in every string value show only their ends."""
    for key, value in event_dict.items():
        event_dict[key] = _mask(value, 4, keyed=key.lower() in _NUMBER_KEYS)
    return event_dict


# ------------------------------------------------------------------------ shape of an event


def _timestamper(key: str) -> Processor:
    """ISO-8601 UTC with microseconds and `Z`, from the record's own creation time."""

    def add_timestamp(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        record = event_dict.get("_record")
        created = record.created if isinstance(record, logging.LogRecord) else None
        at = datetime.now(UTC) if created is None else datetime.fromtimestamp(created, UTC)
        event_dict[key] = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return event_dict

    return add_timestamp


def _leading(*keys: str) -> Processor:
    """Put the timestamp, level and event first: the line reads left to right."""

    def reorder(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        ordered: dict[str, Any] = {k: event_dict.pop(k) for k in keys if k in event_dict}
        ordered.update(event_dict)
        return ordered

    return reorder


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed (so reconfiguring replaces only it)."""


def configure_logging(
    level: str | int = "info",
    fmt: LogFormat = "json",
    mask_numbers: bool = True,
    *,
    stream: TextIO | None = None,
    timestamp_key: str = "at",
    colors: bool | None = None,
) -> None:
    """Route structlog and stdlib logging to `stream` (stdout) as JSON lines or console text.

    Replaces every handler on the root logger (so calling it again, e.g. after a reload that
    changed `[log]`, reconfigures cleanly). `colors` (console only) defaults to whether the
    stream is a terminal.
    """
    out = sys.stdout if stream is None else stream
    level_no = _level_number(level)
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    elif fmt == "console":
        use_colors = colors if colors is not None else bool(getattr(out, "isatty", bool)())
        renderer = structlog.dev.ConsoleRenderer(
            colors=use_colors, timestamp_key=timestamp_key, pad_event_to=40
        )
    else:
        raise ValueError(f"unknown log format {fmt!r} (json or console)")
    processors: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _timestamper(timestamp_key),
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    if mask_numbers:
        processors.append(mask_phone_numbers)
    processors += [_leading(timestamp_key, "level", "event"), renderer]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.ExtraAdder(),
        ],
        processors=processors,
    )
    handler = _Handler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, _Handler):
            old.close()
    root.addHandler(handler)
    root.setLevel(level_no)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named `name` (its stdlib logger's name), with `context` bound."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger
