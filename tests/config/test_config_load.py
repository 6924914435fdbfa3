"""Loading the TOML file: example and demo files load, defaults are documented, and every
problem of a broken file comes out as one exact `key.path: message` line."""

from __future__ import annotations

import ast
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest

from connector.config import (
    CarrierConfig,
    Config,
    ConfigError,
    DaemonConfig,
    LogConfig,
    MetricsConfig,
    MoConfig,
    RedisConfig,
    Secret,
    load_config,
    parse_config,
    resolve_secret,
)
from connector.config import schema as schema_module
from connector.config.load import default_consumer
from connector.domain.routing import Router

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "connector.example.toml"
DEMO = ROOT / "configs" / "demo.toml"
EXAMPLE_ENV = {
    "VODACOM_CD_SMPP_PASSWORD": "vo-pw",
    "AIRTEL_CD_SMPP_PASSWORD": "ai-pw",
    "ORANGE_CD_SMPP_PASSWORD": "or-pw",
    "AFRICELL_CD_SMPP_PASSWORD": "af-pw",
}
SECTIONS: dict[str, type[msgspec.Struct]] = {
    "redis": RedisConfig,
    "daemon": DaemonConfig,
    "mo": MoConfig,
    "metrics": MetricsConfig,
    "log": LogConfig,
}
AIRTEL: dict[str, str] = {
    "host": '"127.0.0.1"',
    "system_id": '"lisoloo"',
    "password": '"demo"',
    "tps": "50",
    "prefixes": '["+24397", "+24398", "+24399"]',
}


def carrier(name: str = "airtel-cd", **keys: str | None) -> str:
    """A [carriers.NAME] table: AIRTEL's keys, overridden (None drops one); values are TOML."""
    table = {**AIRTEL, **keys}
    lines = [f"{key} = {value}" for key, value in table.items() if value is not None]
    return f"\n[carriers.{name}]\n" + "\n".join(lines) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def defaults(cls: type[msgspec.Struct]) -> dict[str, Any]:
    return {
        field.name: field.default
        for field in msgspec.structs.fields(cls)
        if field.default is not msgspec.NODEFAULT
    }


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> Mapping[str, str]:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    return EXAMPLE_ENV


# ------------------------------------------------------------------------ shipped files


def test_example_config_loads_with_the_four_drc_carriers(example_env: Mapping[str, str]) -> None:
    config = load_config(EXAMPLE)
    assert list(config.carriers) == ["vodacom-cd", "airtel-cd", "orange-cd", "africell-cd"]
    assert config.carriers["vodacom-cd"].prefixes == ("+24381", "+24382", "+24383")
    assert config.carriers["airtel-cd"].prefixes == ("+24397", "+24398", "+24399")
    assert config.carriers["orange-cd"].prefixes == ("+24384", "+24385", "+24389", "+24380")
    assert config.carriers["africell-cd"].prefixes == ("+24390",)
    for name, carrier_config in config.carriers.items():
        assert 50 <= carrier_config.tps <= 200
        assert 10 <= carrier_config.window <= 50
        assert carrier_config.password.source.startswith("env:")
        env_name = carrier_config.password.source.removeprefix("env:")
        assert carrier_config.password.reveal() == example_env[env_name], name
    assert config.carriers["africell-cd"].receiver_bind_count == 1
    assert config.carriers["airtel-cd"].receiver_bind_count == 0
    assert config.carriers["orange-cd"].tls


def test_example_config_routes_congolese_numbers(example_env: Mapping[str, str]) -> None:
    config = load_config(EXAMPLE)
    router = Router({name: c.prefixes for name, c in config.carriers.items()})
    assert router.route("+243812345678") == "vodacom-cd"
    assert router.route("+243998857000") == "airtel-cd"
    assert router.route("+243891234567") == "orange-cd"
    assert router.route("+243801234567") == "orange-cd"
    assert router.route("+243901234567") == "africell-cd"
    assert router.route("+243861234567") is None
    assert router.route("+243861234567", forced_carrier="orange-cd") == "orange-cd"


def test_demo_config_loads_for_the_local_simulator() -> None:
    config = load_config(DEMO)
    assert list(config.carriers) == ["airtel-cd"]
    airtel = config.carriers["airtel-cd"]
    assert (airtel.host, airtel.port, airtel.system_id) == ("127.0.0.1", 2775, "lisoloo")
    assert airtel.password.reveal() == "demo"
    assert airtel.prefixes == ("+24397", "+24398", "+24399")
    assert config.redis.url == "redis://127.0.0.1:6399/0"
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9464)


def test_example_file_lists_every_key_with_its_default() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    for name, cls in SECTIONS.items():
        assert raw[name] == defaults(cls), name
    vodacom = raw["carriers"]["vodacom-cd"]
    fields = {field.name: field for field in msgspec.structs.fields(CarrierConfig)}
    unset = {name for name, field in fields.items() if field.default is None}
    assert set(vodacom) == set(fields) - unset
    text = EXAMPLE.read_text()
    for name in unset:
        assert f"\n# {name} = " in text, name
    tuned = {"host", "system_id", "password", "binds", "tps", "window", "prefixes"}
    for key, value in vodacom.items():
        if key not in tuned:
            assert value == fields[key].default, key


def test_example_file_comments_every_key() -> None:
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"line {number} has no comment: {line}"


def test_every_schema_field_has_a_docstring() -> None:
    tree = ast.parse(Path(schema_module.__file__).read_text())
    tables = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "_Table" for base in node.bases)
    ]
    assert {table.name for table in tables} == {
        "RedisConfig",
        "DaemonConfig",
        "MoConfig",
        "MetricsConfig",
        "LogConfig",
        "CarrierConfig",
        "Config",
    }
    for table in tables:
        body = table.body
        for index, statement in enumerate(body):
            if isinstance(statement, ast.AnnAssign):
                following = body[index + 1] if index + 1 < len(body) else None
                assert isinstance(following, ast.Expr), (table.name, ast.unparse(statement))
                assert isinstance(following.value, ast.Constant)
                assert isinstance(following.value.value, str)


# ----------------------------------------------------------------------------- defaults


def test_minimal_file_gets_the_documented_defaults() -> None:
    config = parse_config(carrier())
    assert config.redis.url == "redis://127.0.0.1:6379/0"
    assert (config.redis.prefix, config.redis.group) == ("sms", "connector")
    assert config.redis.claim_idle_s == 60
    assert config.redis.receipt_ttl_s == 7 * 24 * 3600
    assert config.daemon.shutdown_timeout_s == 10
    assert config.mo.reassembly_timeout_s == 300
    assert config.metrics.listen == "127.0.0.1:9464"
    assert (config.log.level, config.log.format, config.log.mask_numbers) == ("info", "json", True)
    airtel = config.carriers["airtel-cd"]
    assert (airtel.port, airtel.bind, airtel.binds, airtel.window) == (2775, "transceiver", 2, 10)
    assert (airtel.max_parts, airtel.smart_encoding, airtel.receipt_id) == (10, False, "auto")
    assert (airtel.encoding, airtel.gsm7_form, airtel.concat) == ("auto", "unpacked", "udh")
    assert (airtel.tls, airtel.tls_verify, airtel.tps_scope) == (False, True, "host")
    assert (airtel.dest_ton, airtel.dest_npi, airtel.registered_delivery) == (1, 1, 1)
    assert airtel.max_command_length == 65536
    assert airtel.receiver_binds is None
    assert airtel.max_binds is None
    for name, cls in SECTIONS.items():
        section = getattr(config, name)
        for key, value in defaults(cls).items():
            if (name, key) != ("redis", "consumer"):
                assert getattr(section, key) == value, (name, key)


def test_global_tps_scope_and_max_binds_are_accepted() -> None:
    config = parse_config(carrier(tps_scope='"global"', max_binds="4", binds="2"))
    airtel = config.carriers["airtel-cd"]
    assert (airtel.tps_scope, airtel.max_binds, airtel.binds) == ("global", 4, 2)
    assert (config.redis.cluster, config.redis.bind_lease_s) == (False, 10.0)


def test_empty_consumer_becomes_the_stable_host_name() -> None:
    config = parse_config(carrier())
    assert config.redis.consumer == default_consumer() == socket.gethostname()
    named = parse_config('[redis]\nconsumer = "host-a"\n' + carrier())
    assert named.redis.consumer == "host-a"


def test_transmitter_receiver_binds_default_to_binds() -> None:
    config = parse_config(carrier(bind='"transmitter"', binds="3"))
    assert config.carriers["airtel-cd"].receiver_bind_count == 3
    config = parse_config(carrier(bind='"transmitter"', receiver_binds="0"))
    assert config.carriers["airtel-cd"].receiver_bind_count == 0


def test_integer_seconds_are_floats_and_the_config_is_frozen() -> None:
    config = parse_config(carrier(tps="75"))
    airtel = config.carriers["airtel-cd"]
    assert isinstance(airtel.tps, float)
    assert airtel.tps == 75.0
    with pytest.raises(AttributeError):
        airtel.tps = 1.0  # type: ignore[misc]
    assert isinstance(config, Config)


def test_prefix_overlap_across_carriers_is_fine_longest_wins() -> None:
    text = carrier(prefixes='["+243"]') + carrier("vodacom-cd", prefixes='["+24381"]')
    config = parse_config(text)
    assert config.carriers["airtel-cd"].prefixes == ("+243",)


def test_carrier_reachable_only_when_forced_has_empty_prefixes() -> None:
    config = parse_config(carrier() + carrier("backup", prefixes="[]"))
    assert config.carriers["backup"].prefixes == ()


# ------------------------------------------------------------------------- broken files

BROKEN: list[tuple[str, str, str]] = [
    ("unknown top-level key", "bogus = 1\n" + carrier(), "bogus: unknown key"),
    ("unknown key in a section", "[redis]\nbogus = 1\n" + carrier(), "redis.bogus: unknown key"),
    ("unknown key in a carrier", carrier(bogus="1"), "carriers.airtel-cd.bogus: unknown key"),
    (
        "misspelt key gets a suggestion",
        carrier(tsp="50"),
        'carriers.airtel-cd.tsp: unknown key (did you mean "tps"?)',
    ),
    (
        "string for a number",
        carrier(tps='"fifty"'),
        "carriers.airtel-cd.tps: must be a number, got a string",
    ),
    (
        "decimal for an integer",
        carrier(binds="2.5"),
        "carriers.airtel-cd.binds: must be an integer, got a decimal number",
    ),
    (
        "string for a boolean",
        '[log]\nmask_numbers = "yes"\n' + carrier(),
        "log.mask_numbers: must be true or false, got a string",
    ),
    (
        "string for a list",
        carrier(prefixes='"+24397"'),
        "carriers.airtel-cd.prefixes: must be a list, got a string",
    ),
    (
        "number in a list of strings",
        carrier(prefixes="[24397]"),
        "carriers.airtel-cd.prefixes[0]: must be a string, got an integer",
    ),
    ("section that is no table", 'redis = "x"\n' + carrier(), "redis: must be a table ([redis])"),
    ("tps of zero", carrier(tps="0"), "carriers.airtel-cd.tps: must be > 0"),
    ("negative tps", carrier(tps="-5"), "carriers.airtel-cd.tps: must be > 0"),
    ("infinite tps", carrier(tps="inf"), "carriers.airtel-cd.tps: must be a finite number"),
    ("window of zero", carrier(window="0"), "carriers.airtel-cd.window: must be within 1..1000"),
    ("no binds", carrier(binds="0"), "carriers.airtel-cd.binds: must be within 1..64"),
    ("port zero", carrier(port="0"), "carriers.airtel-cd.port: must be within 1..65535"),
    ("port too big", carrier(port="70000"), "carriers.airtel-cd.port: must be within 1..65535"),
    (
        "max_parts over 255",
        carrier(max_parts="256"),
        "carriers.airtel-cd.max_parts: must be within 1..255",
    ),
    (
        "min_tps_fraction of zero",
        carrier(min_tps_fraction="0"),
        "carriers.airtel-cd.min_tps_fraction: must be > 0 and <= 1",
    ),
    (
        "unknown bind mode",
        carrier(bind='"receiver"'),
        'carriers.airtel-cd.bind: must be one of "transceiver", "transmitter"',
    ),
    (
        "unknown receipt_id mode",
        carrier(receipt_id='"hex"'),
        'carriers.airtel-cd.receipt_id: must be one of "as_is", "hex_to_dec", "dec_to_hex", "auto"',
    ),
    (
        "unknown log format",
        '[log]\nformat = "xml"\n' + carrier(),
        'log.format: must be one of "json", "console"',
    ),
    (
        "unknown log level",
        '[log]\nlevel = "verbose"\n' + carrier(),
        'log.level: must be one of "debug", "info", "warning", "error"',
    ),
    (
        "prefix without +",
        carrier(prefixes='["+24397", "24398"]'),
        'carriers.airtel-cd.prefixes[1]: "24398" must be "+" followed by 1 to 15 digits',
    ),
    (
        "prefix too long",
        carrier(prefixes='["+2439712345678901"]'),
        'carriers.airtel-cd.prefixes[0]: "+2439712345678901" must be "+" followed by 1 to 15'
        " digits",
    ),
    (
        "prefix listed twice by one carrier",
        carrier(prefixes='["+24397", "+24397"]'),
        "carriers.airtel-cd.prefixes[1]: +24397 is listed twice",
    ),
    (
        "prefix claimed by two carriers",
        carrier() + carrier("vodacom-cd", prefixes='["+24381", "+24398"]'),
        "carriers.vodacom-cd.prefixes[1]: +24398 is also claimed by carriers.airtel-cd",
    ),
    (
        "url of another scheme",
        '[redis]\nurl = "http://127.0.0.1:6379/0"\n' + carrier(),
        "redis.url: must start with redis:// or rediss://",
    ),
    (
        "url with a bad port",
        '[redis]\nurl = "redis://127.0.0.1:99999/0"\n' + carrier(),
        "redis.url: port must be within 1..65535",
    ),
    (
        "url with a bad database",
        '[redis]\nurl = "redis://127.0.0.1:6379/zero"\n' + carrier(),
        "redis.url: database must be a number, as in redis://127.0.0.1:6379/0",
    ),
    (
        "listen without a port",
        '[metrics]\nlisten = "9464"\n' + carrier(),
        'metrics.listen: must be host:port, e.g. "127.0.0.1:9464"',
    ),
    (
        "listen with a bad port",
        '[metrics]\nlisten = "127.0.0.1:0"\n' + carrier(),
        "metrics.listen: port must be within 1..65535",
    ),
    (
        "listen with a bare IPv6 address",
        '[metrics]\nlisten = "::1:9464"\n' + carrier(),
        'metrics.listen: IPv6 addresses go in brackets, e.g. "[::1]:9464"',
    ),
    (
        "reconnect initial above max",
        carrier(reconnect_initial_s="120"),
        "carriers.airtel-cd.reconnect_initial_s: must be <= reconnect_max_s (60)",
    ),
    (
        "redis reconnect initial above max",
        "[redis]\nreconnect_initial_s = 5\nreconnect_max_s = 1\n" + carrier(),
        "redis.reconnect_initial_s: must be <= reconnect_max_s (1)",
    ),
    (
        "receiver binds on transceivers",
        carrier(receiver_binds="2"),
        'carriers.airtel-cd.receiver_binds: only used with bind = "transmitter"',
    ),
    (
        "max_binds below binds",
        carrier(binds="4", max_binds="2"),
        "carriers.airtel-cd.max_binds: must be >= binds (4)",
    ),
    (
        "unknown tps scope",
        carrier(tps_scope='"cluster"'),
        'carriers.airtel-cd.tps_scope: must be one of "host", "global"',
    ),
    ("missing host", carrier(host=None), "carriers.airtel-cd.host: missing (required)"),
    ("missing tps", carrier(tps=None), "carriers.airtel-cd.tps: missing (required)"),
    (
        "system_id too long",
        carrier(system_id='"a-very-long-system-id"'),
        "carriers.airtel-cd.system_id: must be at most 15 characters (SMPP 3.4)",
    ),
    (
        "numeric password not quoted",
        carrier(password="1234"),
        "carriers.airtel-cd.password: must be a string, got an integer (put it in quotes)",
    ),
    (
        "no carriers",
        '[log]\nlevel = "info"\n',
        "carriers: no carrier configured; add a [carriers.NAME] table",
    ),
    (
        "carrier name with capitals",
        carrier("Airtel"),
        "carriers.Airtel: carrier names are lower-case letters, digits, _ and -, starting with a"
        " letter or digit",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_file_reports_the_exact_problem(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_toml_syntax_error_names_the_line() -> None:
    text = '[redis]\nurl = "redis://127.0.0.1:6379/0"\nprefix = sms\n'
    (problem,) = problems(text)
    assert problem.startswith("line 3, column 10: invalid TOML: ")


def test_toml_error_at_the_end_names_the_last_line() -> None:
    (problem,) = problems('[redis]\nurl = "redis://x')
    assert problem.startswith("line 2: invalid TOML")


def test_every_problem_of_a_file_is_reported_in_file_order() -> None:
    text = (
        "bogus = 1\n"
        '[redis]\nurl = "http://x"\nclaim_idle_s = "60"\n'
        '[log]\nformat = "xml"\n'
        + carrier(tps="0", window="0", bogus="1", prefixes='["+24397", "2439"]')
        + carrier("vodacom-cd", port="0", prefixes='["+24397"]')
    )
    assert problems(text) == [
        "bogus: unknown key",
        "redis.url: must start with redis:// or rediss://",
        "redis.claim_idle_s: must be a number, got a string",
        'log.format: must be one of "json", "console"',
        "carriers.airtel-cd.tps: must be > 0",
        'carriers.airtel-cd.prefixes[1]: "2439" must be "+" followed by 1 to 15 digits',
        "carriers.airtel-cd.window: must be within 1..1000",
        "carriers.airtel-cd.bogus: unknown key",
        "carriers.vodacom-cd.port: must be within 1..65535",
        "carriers.vodacom-cd.prefixes[0]: +24397 is also claimed by carriers.airtel-cd",
    ]


def test_config_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(carrier(tps="0", window="0"), source="x.toml")
    assert info.value.source == "x.toml"
    assert str(info.value) == "\n".join(info.value.problems)
    assert len(info.value.problems) == 2


def test_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [f"{path}: cannot read: No such file or directory"]


# ------------------------------------------------------------------------------ secrets


def test_env_secret_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRTEL_TEST_PW", "s3cr3t")
    config = parse_config(carrier(password='"env:AIRTEL_TEST_PW"'))
    password = config.carriers["airtel-cd"].password
    assert password.reveal() == "s3cr3t"
    assert password.source == "env:AIRTEL_TEST_PW"


def test_missing_env_secret_names_key_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRTEL_TEST_PW", raising=False)
    assert problems(carrier(password='"env:AIRTEL_TEST_PW"')) == [
        "carriers.airtel-cd.password: environment variable AIRTEL_TEST_PW is not set"
    ]


def test_empty_env_secret_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRTEL_TEST_PW", "")
    assert problems(carrier(password='"env:AIRTEL_TEST_PW"')) == [
        "carriers.airtel-cd.password: environment variable AIRTEL_TEST_PW is empty"
    ]


def test_file_secret_drops_one_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "airtel-cd"
    secret.write_text("s3cr3t\n")
    config = parse_config(carrier(password=f'"file:{secret}"'))
    assert config.carriers["airtel-cd"].password.reveal() == "s3cr3t"
    secret.write_text("two\n\n")
    assert resolve_secret(f"file:{secret}") == "two\n"
    secret.write_text("none")
    assert resolve_secret(f"file:{secret}") == "none"


def test_unreadable_file_secret_is_a_problem(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    assert problems(carrier(password=f'"file:{absent}"')) == [
        f"carriers.airtel-cd.password: cannot read secret file {absent}: No such file or directory"
    ]
    assert problems(carrier(password=f'"file:{tmp_path}"')) == [
        f"carriers.airtel-cd.password: cannot read secret file {tmp_path}: Is a directory"
    ]


def test_literal_secret_is_the_value_itself() -> None:
    assert resolve_secret("demo") == "demo"
    assert resolve_secret("") == ""


def test_resolve_secret_errors_name_the_given_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_THERE_PW", raising=False)
    with pytest.raises(ConfigError) as info:
        resolve_secret("env:NOT_THERE_PW", path="carriers.x.password")
    assert info.value.problems == [
        "carriers.x.password: environment variable NOT_THERE_PW is not set"
    ]


def test_secret_value_never_appears_in_repr_or_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRTEL_TEST_PW", "Zq7wX9")
    secret_file = tmp_path / "pw"
    secret_file.write_text("Kp3mN8\n")
    config = parse_config(
        carrier(password='"env:AIRTEL_TEST_PW"')
        + carrier("vodacom-cd", password=f'"file:{secret_file}"', prefixes='["+24381"]')
        + carrier("orange-cd", password='"Lt5vR2"', prefixes='["+24384"]')
    )
    shown = repr(config) + str(config) + repr(config.carriers) + str(config.carriers["orange-cd"])
    for value in ("Zq7wX9", "Kp3mN8", "Lt5vR2"):
        assert value not in shown
    assert "Secret(env:AIRTEL_TEST_PW)" in shown
    assert f"Secret(file:{secret_file})" in shown
    assert "Secret(literal, redacted)" in shown
    # A password the SMSC cannot take is reported without its value.
    monkeypatch.setenv("AIRTEL_TEST_PW", "Way-Too-Long-Password")
    found = problems(carrier(password='"env:AIRTEL_TEST_PW"'))
    assert found == ["carriers.airtel-cd.password: must be at most 8 characters (SMPP 3.4)"]
    assert "Way-Too-Long" not in "\n".join(found)


def test_secrets_compare_by_value() -> None:
    assert Secret("a", source="env:X") == Secret("a")
    assert Secret("a") != Secret("b")
    assert hash(Secret("a")) == hash(Secret("a", source="file:/x"))


def test_redis_url_password_is_redacted_and_may_be_a_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_TEST_URL", "rediss://:Hu4kP1@redis.example:6380/2")
    config = parse_config('[redis]\nurl = "env:REDIS_TEST_URL"\n' + carrier())
    assert config.redis.url == "rediss://:Hu4kP1@redis.example:6380/2"
    assert "Hu4kP1" not in repr(config)
    assert "rediss://:***@redis.example:6380/2" in repr(config.redis)
    monkeypatch.setenv("REDIS_TEST_URL", "http://:Hu4kP1@x")
    found = problems('[redis]\nurl = "env:REDIS_TEST_URL"\n' + carrier())
    assert found == ["redis.url: must start with redis:// or rediss://"]
