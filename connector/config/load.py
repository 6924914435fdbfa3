"""Read the TOML file into a `Config`, or report every problem in it as `key.path: message`.

msgspec stops at the first error of a `convert` call, so each key is converted on its own
against its field's type; what types cannot say (E.164 prefixes, URLs, `host:port`, SMPP field
lengths, one value against another, a prefix claimed by two carriers) is checked here too.
Everything wrong with a file is reported at once, in file order, with operator wording:

    carriers.airtel-cd.tps: must be > 0
    carriers.airtel-cd.bogus: unknown key
    redis.url: must start with redis:// or rediss://
    log.format: must be one of "json", "console"

Secrets are resolved here, so a missing variable or an unreadable credentials file is a problem
of the file like any other; no message ever contains a secret's value.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import os
import re
import socket
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
import msgspec.inspect as mi

from connector.config.schema import (
    CARRIER_NAME_PATTERN,
    CarrierConfig,
    Config,
    ConfigError,
    DaemonConfig,
    LogConfig,
    MetricsConfig,
    MoConfig,
    RedisConfig,
    Secret,
)
from connector.config.secrets import is_reference, load_secret, resolve_secret

__all__ = ["ConfigError", "default_consumer", "load_config", "parse_config"]

T = TypeVar("T", bound=msgspec.Struct)

SECTIONS: Final[dict[str, type[msgspec.Struct]]] = {
    "redis": RedisConfig,
    "daemon": DaemonConfig,
    "mo": MoConfig,
    "metrics": MetricsConfig,
    "log": LogConfig,
}
PREFIX_PATTERN: Final = re.compile(r"\+[0-9]{1,15}")
_CARRIER_NAME: Final = re.compile(CARRIER_NAME_PATTERN)
_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_AT: Final = re.compile(r"(?s)(.*?) - at `\$(.*)`")
_TYPE_MISMATCH: Final = re.compile(r"Expected `([^`]*)`, got `([^`]*)`")
_BOUND: Final = re.compile(r"Expected `[^`]*` (>=|>|<=|<) (\S+)")
_TOML_POSITION: Final = re.compile(r"(?s)(.*) \(at line (\d+), column (\d+)\)")
_TOML_EOF: Final = re.compile(r"(?s)(.*) \(at end of document\)")

# SMPP 3.4 C-Octet String limits, NUL excluded (connector.smpp.codec enforces the same).
MAX_SYSTEM_ID: Final = 15
MAX_PASSWORD: Final = 8
MAX_SYSTEM_TYPE: Final = 12
MAX_SERVICE_TYPE: Final = 5

_EXPECTED_WORDS: Final = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "a table",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}
_GOT_WORDS: Final = {**_EXPECTED_WORDS, "bool": "a boolean", "float": "a decimal number"}

Problem = tuple[str, str]
"""(path suffix such as "" or "[2]", message) from a field check."""
FieldCheck = Callable[[Any], Iterable[Problem]]
Values = Mapping[str, Any]
"""A table's valid values by key (see TABLE_CHECKS)."""
TableCheck = Callable[[Values], Iterable[str]]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the TOML file at `path`; ConfigError lists every problem."""
    source = os.fspath(path)
    try:
        raw = Path(source).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{source}: cannot read: {reason}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: not UTF-8 (invalid byte at offset {exc.start})", source=source
        ) from None
    return parse_config(text, source=source)


def parse_config(text: str, *, source: str = "<string>") -> Config:
    """Validate TOML text; ConfigError lists every problem (`source` names it in the error)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_problem(exc, text), source=source) from None
    problems: list[str] = []
    config = _build(data, problems)
    if problems or config is None:
        raise ConfigError(problems, source=source)
    return config


def default_consumer() -> str:
    """The consumer name used when `redis.consumer` is "": the host name.

    Stable across restarts, so a restarted daemon replays its own pending entries at once
    (CONTRACT §4); several daemons on one host must each set their own `redis.consumer`.
    """
    return socket.gethostname()


# ---------------------------------------------------------------------------------------- tables


def _build(data: dict[str, Any], problems: list[str]) -> Config | None:
    known = [*SECTIONS, "carriers"]
    for key in data:
        if key not in known:
            problems.append(f"{_key(key)}: unknown key{_did_you_mean(key, known)}")
    redis = _section(data, "redis", RedisConfig, problems)
    daemon = _section(data, "daemon", DaemonConfig, problems)
    mo = _section(data, "mo", MoConfig, problems)
    metrics = _section(data, "metrics", MetricsConfig, problems)
    log = _section(data, "log", LogConfig, problems)
    carriers = _build_carriers(data.get("carriers"), problems)
    if (
        problems
        or redis is None
        or daemon is None
        or mo is None
        or metrics is None
        or log is None
        or carriers is None
    ):
        return None
    if not redis.consumer:
        redis = msgspec.structs.replace(redis, consumer=default_consumer())
    return Config(redis=redis, daemon=daemon, mo=mo, metrics=metrics, log=log, carriers=carriers)


def _section(data: Mapping[str, Any], name: str, cls: type[T], problems: list[str]) -> T | None:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        problems.append(f"{name}: must be a table ([{name}])")
        return None
    return _convert_table(raw, cls, name, problems)[0]


def _build_carriers(raw: object, problems: list[str]) -> dict[str, CarrierConfig] | None:
    if raw is None or raw == {}:
        problems.append("carriers: no carrier configured; add a [carriers.NAME] table")
        return None
    if not isinstance(raw, dict):
        problems.append("carriers: must be a table of [carriers.NAME] tables")
        return None
    carriers: dict[str, CarrierConfig] = {}
    claimed: dict[str, str] = {}  # prefix -> the first carrier listing it
    complete = True
    for name, table in raw.items():
        path = f"carriers.{_key(name)}"
        if not _CARRIER_NAME.fullmatch(name):
            problems.append(
                f"{path}: carrier names are lower-case letters, digits, _ and -, "
                "starting with a letter or digit"
            )
            complete = False
        if not isinstance(table, dict):
            problems.append(f"{path}: must be a table ([{path}])")
            complete = False
            continue
        carrier, values = _convert_table(table, CarrierConfig, path, problems)
        prefixes = values.get("prefixes", ())
        for index, prefix in enumerate(prefixes):
            if not PREFIX_PATTERN.fullmatch(prefix):
                continue
            owner = claimed.setdefault(prefix, name)
            if owner != name:
                other = f"carriers.{_key(owner)}"
                problems.append(f"{path}.prefixes[{index}]: {prefix} is also claimed by {other}")
        if carrier is None:
            complete = False
        else:
            carriers[name] = carrier
    return carriers if complete else None


def _convert_table(
    raw: Mapping[str, Any], cls: type[T], path: str, problems: list[str]
) -> tuple[T | None, dict[str, Any]]:
    """The Struct for one table, or None; also the keys that converted (for cross-checks)."""
    fields = {field.encode_name: field for field in msgspec.structs.fields(cls)}
    values: dict[str, Any] = {}
    failed = False
    for key, value in raw.items():
        key_path = f"{path}.{_key(key)}"
        field = fields.get(key)
        if field is None:
            problems.append(f"{key_path}: unknown key{_did_you_mean(key, fields)}")
            failed = True
            continue
        try:
            converted = _convert_value(value, field.type, key_path, (cls, key))
        except ConfigError as exc:
            problems.extend(exc.problems)
            failed = True
            continue
        check: FieldCheck = FIELD_CHECKS.get((cls, key), _no_check)
        found = [f"{key_path}{suffix}: {message}" for suffix, message in check(converted)]
        if found:
            problems.extend(found)
            failed = True
            if key != "prefixes":  # prefixes stay for the claimed-by-two-carriers check
                continue
        values[key] = converted
    for field in fields.values():
        if field.required and field.encode_name not in raw:
            problems.append(f"{path}.{field.encode_name}: missing (required)")
            failed = True
    # Values against each other: every key that converted, defaults for the keys not given.
    effective = {
        field.encode_name: field.default
        for field in fields.values()
        if field.encode_name not in raw and field.default is not msgspec.NODEFAULT
    }
    effective.update(values)
    table_check: TableCheck = TABLE_CHECKS.get(cls, _no_check)
    found = [f"{path}.{problem}" for problem in table_check(effective)]
    problems.extend(found)
    if failed or found:
        return None, values
    return cls(**values), values


def _convert_value(value: object, tp: Any, path: str, where: tuple[type, str]) -> Any:
    """`value` as type `tp`, secrets resolved; ConfigError with the operator's wording."""
    if tp is Secret:
        if not isinstance(value, str):
            got = _GOT_WORDS.get(_toml_type(value), "something else")
            raise ConfigError(f"{path}: must be a string, got {got} (put it in quotes)")
        return load_secret(value, path=path)
    if where in REFERENCE_FIELDS and isinstance(value, str) and is_reference(value):
        value = resolve_secret(value, path=path)
    try:
        converted = msgspec.convert(value, tp)
    except msgspec.ValidationError as exc:
        raise ConfigError(_translate(str(exc), tp, path)) from None
    if isinstance(converted, float) and not math.isfinite(converted):
        raise ConfigError(f"{path}: must be a finite number")
    return converted


REFERENCE_FIELDS: Final = {(RedisConfig, "url")}
"""str fields that may also be written as a secret reference (`env:NAME`, `file:/path`)."""


# ------------------------------------------------------------------------------------ wording


def _translate(message: str, tp: Any, path: str) -> str:
    """msgspec's `Expected `int`, got `str` - at `$.x`` as `path.x: must be an integer, ...`."""
    where = ""
    match = _AT.fullmatch(message)
    if match:
        message, where = match.group(1), match.group(2)
    full = path + where
    if not where:
        info = mi.type_info(tp)
        choices = _literal_values(tp)
        if choices:
            return f"{full}: must be one of {', '.join(json.dumps(v) for v in choices)}"
        number = _find(info, (mi.IntType, mi.FloatType))
        if number is not None and _BOUND.match(message):
            return f"{full}: must be {_bounds(number)}"
    mismatch = _TYPE_MISMATCH.fullmatch(message)
    if mismatch:
        expected = _words(mismatch.group(1), _EXPECTED_WORDS)
        return f"{full}: must be {expected}, got {_words(mismatch.group(2), _GOT_WORDS)}"
    bound = _BOUND.match(message)
    if bound:
        return f"{full}: must be {bound.group(1)} {bound.group(2)}"
    return f"{full}: {message[:1].lower()}{message[1:]}"


def _literal_values(tp: Any) -> tuple[Any, ...]:
    """The values of a Literal type (in declaration order), also inside Annotated / unions."""
    if get_origin(tp) is Literal:
        return get_args(tp)
    for arg in get_args(tp):
        values = _literal_values(arg)
        if values:
            return values
    return ()


def _find(info: mi.Type, kinds: type | tuple[type, ...]) -> Any:
    if isinstance(info, kinds):
        return info
    if isinstance(info, mi.UnionType):
        for member in info.types:
            if isinstance(member, kinds):
                return member
    return None


def _bounds(info: mi.IntType | mi.FloatType) -> str:
    if info.ge is not None and info.le is not None:
        return f"within {_num(info.ge)}..{_num(info.le)}"
    parts = [
        f"{op} {_num(bound)}"
        for op, bound in ((">", info.gt), (">=", info.ge), ("<", info.lt), ("<=", info.le))
        if bound is not None
    ]
    return " and ".join(parts)


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _words(types: str, vocabulary: Mapping[str, str]) -> str:
    names = [name for name in types.split(" | ") if name != "null"] or ["null"]
    return " or ".join(vocabulary.get(name, f"`{name}`") for name in names)


def _toml_type(value: object) -> str:
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "object" if isinstance(value, dict) else type(value).__name__


def _key(key: str) -> str:
    """A key as it is written in a dotted TOML path: bare, or quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.66)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    message = str(exc)
    match = _TOML_POSITION.fullmatch(message)
    if match:
        text, line, column = match.groups()
        return f"line {line}, column {column}: invalid TOML: {text[:1].lower()}{text[1:]}"
    match = _TOML_EOF.fullmatch(message)
    if match:
        line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        message = match.group(1)
        return f"line {line}: invalid TOML at end of file: {message[:1].lower()}{message[1:]}"
    return f"invalid TOML: {message}"


# ------------------------------------------------------------------------------- field checks


def _no_check(_value: object) -> Iterable[Any]:
    return ()


def _non_blank(value: str) -> Iterable[Problem]:
    if not value:
        yield "", "must not be empty"
    elif any(ch.isspace() for ch in value):
        yield "", "must not contain spaces"


def _no_spaces(value: str) -> Iterable[Problem]:
    if any(ch.isspace() for ch in value):
        yield "", "must not contain spaces"


def _c_octet(limit: int, *, required: bool) -> FieldCheck:
    def check(value: str) -> Iterable[Problem]:
        if required and not value:
            yield "", "must not be empty"
        elif len(value) > limit:
            yield "", f"must be at most {limit} characters (SMPP 3.4)"
        elif "\0" in value or any(ord(ch) > 0xFF for ch in value):
            yield "", "must be Latin-1 text without NUL characters (SMPP 3.4)"

    return check


def _password(secret: Secret) -> Iterable[Problem]:
    value = secret.reveal()
    if len(value) > MAX_PASSWORD:
        yield "", f"must be at most {MAX_PASSWORD} characters (SMPP 3.4)"
    elif "\0" in value or any(ord(ch) > 0xFF for ch in value):
        yield "", "must be Latin-1 text without NUL characters (SMPP 3.4)"


def _redis_url(url: str) -> Iterable[Problem]:
    if not url.startswith(("redis://", "rediss://")):
        yield "", "must start with redis:// or rediss://"
        return
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when out of range
    except ValueError:
        yield "", "port must be within 1..65535"
        return
    if not parts.hostname:
        yield "", "names no host, as in redis://127.0.0.1:6379/0"
    database = parts.path.strip("/")
    if database and not (database.isascii() and database.isdigit()):
        yield "", "database must be a number, as in redis://127.0.0.1:6379/0"


def _listen(value: str) -> Iterable[Problem]:
    host, colon, port = value.rpartition(":")
    if not colon or not host or any(ch.isspace() for ch in value):
        yield "", 'must be host:port, e.g. "127.0.0.1:9464"'
        return
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        yield "", "port must be within 1..65535"
        return
    if host.startswith("[") or ":" in host:
        try:
            if not (host.startswith("[") and host.endswith("]")):
                raise ValueError(host)
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            yield "", 'IPv6 addresses go in brackets, e.g. "[::1]:9464"'


def _prefixes(prefixes: tuple[str, ...]) -> Iterable[Problem]:
    seen: set[str] = set()
    for index, prefix in enumerate(prefixes):
        if not PREFIX_PATTERN.fullmatch(prefix):
            yield f"[{index}]", f'{json.dumps(prefix)} must be "+" followed by 1 to 15 digits'
        elif prefix in seen:
            yield f"[{index}]", f"{prefix} is listed twice"
        seen.add(prefix)


def _readable_file(file: str) -> Iterable[Problem]:
    if file and not (os.path.isfile(file) and os.access(file, os.R_OK)):
        yield "", f"cannot read {file}"


FIELD_CHECKS: Final[dict[tuple[type, str], FieldCheck]] = {
    (RedisConfig, "url"): _redis_url,
    (RedisConfig, "prefix"): _non_blank,
    (RedisConfig, "group"): _non_blank,
    (RedisConfig, "consumer"): _no_spaces,
    (MetricsConfig, "listen"): _listen,
    (CarrierConfig, "host"): _non_blank,
    (CarrierConfig, "system_id"): _c_octet(MAX_SYSTEM_ID, required=True),
    (CarrierConfig, "password"): _password,
    (CarrierConfig, "system_type"): _c_octet(MAX_SYSTEM_TYPE, required=False),
    (CarrierConfig, "service_type"): _c_octet(MAX_SERVICE_TYPE, required=False),
    (CarrierConfig, "prefixes"): _prefixes,
    (CarrierConfig, "tls_ca_file"): _readable_file,
}
"""Checks of one converted value: (path suffix, message) per problem."""


# ------------------------------------------------------------------------------- table checks


# Each sees the table's valid values (defaults for keys not given; keys that failed their own
# checks are absent, and the checks that need them are skipped).


def _at_most(values: Values, low: str, high: str) -> Iterable[str]:
    if low in values and high in values and values[low] > values[high]:
        yield f"{low}: must be <= {high} ({_num(values[high])})"


def _redis_table(values: Values) -> Iterable[str]:
    yield from _at_most(values, "reconnect_initial_s", "reconnect_max_s")


def _carrier_table(values: Values) -> Iterable[str]:
    yield from _at_most(values, "reconnect_initial_s", "reconnect_max_s")
    yield from _at_most(values, "retry_initial_s", "retry_max_s")
    yield from _at_most(values, "throttle_backoff_initial_s", "throttle_backoff_max_s")
    bind = values.get("bind")
    if values.get("receiver_binds") is not None and bind == "transceiver":
        yield 'receiver_binds: only used with bind = "transmitter"'
    max_binds, binds = values.get("max_binds"), values.get("binds")
    if max_binds is not None and binds is not None and max_binds < binds:
        yield f"max_binds: must be >= binds ({binds})"
    if values.get("tls_ca_file") and values.get("tls") is False:
        yield "tls_ca_file: only used with tls = true"


TABLE_CHECKS: Final[dict[type, TableCheck]] = {
    RedisConfig: _redis_table,
    CarrierConfig: _carrier_table,
}
"""Checks of one table's values against each other: `key: message` per problem."""
