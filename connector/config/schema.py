"""The configuration file's shape: one frozen msgspec Struct per TOML table, every default here.

The core keys (CONFIG.md) keep their names and meanings; the rest is what the daemon needs to run
a carrier link. Each field carries its default and a docstring, and `configs/connector.example.toml`
lists every key with that default. Numeric bounds live in the annotations (`msgspec.Meta`); the
checks that need more than one value, or wording of their own (prefixes, URLs, `host:port`), are
in `connector.config.load`, which also turns every problem into an operator-facing
`path: message` line.

Secrets (`env:NAME`, `file:/path`, or a literal) are resolved when the file is loaded and held in a
`Secret`, whose `repr` and `str` never show the value: a Config can be logged whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import msgspec

from connector.domain.message_ids import Mode as ReceiptIdMode
from connector.smpp.codec import DEFAULT_MAX_COMMAND_LENGTH
from connector.text.reassembly import DEFAULT_MAX_GROUPS
from connector.text.segment import DEFAULT_MAX_PARTS, MAX_PARTS_CEILING, Gsm7Form
from connector.text.segment import Concat as ConcatMode
from connector.text.segment import EncodingChoice as EncodingMode

__all__ = [
    "CARRIER_NAME_PATTERN",
    "BindMode",
    "CarrierConfig",
    "ConcatMode",
    "Config",
    "ConfigError",
    "DaemonConfig",
    "EncodingMode",
    "Gsm7Form",
    "LogConfig",
    "LogFormat",
    "LogLevel",
    "MetricsConfig",
    "MoConfig",
    "ReceiptIdMode",
    "RedisConfig",
    "Secret",
    "TpsScope",
]

CARRIER_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]*$"
"""Carrier names (the `NAME` of `[carriers.NAME]`): they appear in metrics labels and events."""

BindMode: TypeAlias = Literal["transceiver", "transmitter"]
LogLevel: TypeAlias = Literal["debug", "info", "warning", "error"]
LogFormat: TypeAlias = Literal["json", "console"]
TpsScope: TypeAlias = Literal["host", "global"]

# Bounds shared by several fields.
PositiveSeconds: TypeAlias = Annotated[float, msgspec.Meta(gt=0)]
Count: TypeAlias = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeCount: TypeAlias = Annotated[int, msgspec.Meta(ge=0)]
Port: TypeAlias = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Ton: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=6)]
"""SMPP 3.4 §5.2.5 type of number: 0 unknown, 1 international, 2 national, 3 network specific,
4 subscriber number, 5 alphanumeric, 6 abbreviated."""
Npi: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=18)]
"""SMPP 3.4 §5.2.6 numbering plan indicator: 0 unknown, 1 ISDN (E.164), ... 18 WAP."""


class ConfigError(Exception):
    """The configuration does not validate: `problems` holds one `key.path: message` per problem.

    Messages never contain a secret's value (only its reference: `env:NAME`, `file:/path`).
    """

    def __init__(self, problems: str | Sequence[str], *, source: str = "<string>") -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


class Secret:
    """A resolved secret: `reveal()` gives the value; `repr`/`str` show only where it came from.

    `source` is the reference as written (`env:NAME`, `file:/path`) or `literal`.
    """

    __slots__ = ("_value", "source")

    def __init__(self, value: str, *, source: str = "literal") -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        """The secret itself: only for the bind PDU."""
        return self._value

    def __repr__(self) -> str:
        where = "literal, redacted" if self.source == "literal" else self.source
        return f"Secret({where})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))


class _Table(
    msgspec.Struct,
    forbid_unknown_fields=True,
    kw_only=True,
    frozen=True,
):
    """Policy of every table: unknown keys are errors and values are frozen.

    (msgspec applies `kw_only` to the fields of the class that sets it, so each table repeats
    `kw_only=True`: keys are keywords, and required keys may follow defaulted ones.)
    """


class RedisConfig(_Table, kw_only=True, frozen=True):
    """`[redis]`: where the streams of CONTRACT.md live and how they are consumed."""

    url: str = "redis://127.0.0.1:6379/0"
    """`redis://` or `rediss://` (TLS), with AUTH in the URL if needed (`redis://:pw@host/0`);
    may itself be a secret reference (`env:NAME`, `file:/path`). Shown redacted in `repr`."""
    prefix: str = "sms"
    """Key prefix of every stream: `<prefix>:outbound`, `<prefix>:status`, `<prefix>:mo`, ..."""
    group: str = "connector"
    """Consumer group on `<prefix>:outbound` (created at start id 0 if missing)."""
    consumer: str = ""
    """This process's consumer name in the group; "" means the host name, filled in at load.

    Keep it stable across restarts; give each daemon on one host its own."""
    claim_idle_s: PositiveSeconds = 60.0
    """Entries pending this long on a silent consumer are taken over (XAUTOCLAIM)."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    """Entries asked for per XREADGROUP / XAUTOCLAIM call."""
    block_ms: Annotated[int, msgspec.Meta(ge=1, le=60_000)] = 1000
    """How long one XREADGROUP waits for new entries (also bounds how fast shutdown is noticed)."""
    status_maxlen: NonNegativeCount = 1_000_000
    """Approximate MAXLEN (`~`) of `<prefix>:status`; 0 never trims."""
    dead_maxlen: NonNegativeCount = 100_000
    """Approximate MAXLEN of `<prefix>:dead`; 0 never trims."""
    mo_maxlen: NonNegativeCount = 1_000_000
    """Approximate MAXLEN of `<prefix>:mo`; 0 never trims."""
    receipt_ttl_s: Count = 604_800
    """How long accepted parts' SMSC ids are kept to match receipts (7 days)."""
    cluster: bool = False
    """true when `url` is a node of a Redis Cluster: the daemon then uses the cluster client, and
    its events reach `<prefix>:status`, `:dead` and `:mo` through outboxes in the outbound
    stream's slot (README, "Several hosts")."""
    bind_lease_s: Annotated[float, msgspec.Meta(ge=3, le=300)] = 10.0
    """With a carrier's `max_binds`: a host's lease on a bind slot, renewed every third of this;
    a slot whose host died is free for another host this long after its last renewal."""
    socket_timeout_s: PositiveSeconds = 5.0
    """Timeout of one Redis command, connecting included (a blocking read adds `block_ms`)."""
    reconnect_initial_s: PositiveSeconds = 0.5
    """First wait before reconnecting to Redis; doubles per failure, with jitter."""
    reconnect_max_s: PositiveSeconds = 30.0
    """Longest wait between Redis reconnection attempts."""

    def __repr__(self) -> str:
        return _repr(self, url=repr(redact_url(self.url)))


class DaemonConfig(_Table, kw_only=True, frozen=True):
    """`[daemon]`: the process as a whole."""

    shutdown_timeout_s: PositiveSeconds = 10.0
    """SIGTERM: time to drain submits awaiting submit_sm_resp before unbinding."""
    max_in_flight_entries: Count = 10_000
    """Outbound entries read but not yet acknowledged; reading pauses beyond (memory bound)."""


class MoConfig(_Table, kw_only=True, frozen=True):
    """`[mo]`: messages from subscribers."""

    reassembly_timeout_s: PositiveSeconds = 300.0
    """Concatenated MO parts still incomplete after this go out with `complete=false`."""
    max_pending: Count = DEFAULT_MAX_GROUPS
    """Incomplete concatenated MO messages held at once; beyond, the oldest goes out incomplete."""


class MetricsConfig(_Table, kw_only=True, frozen=True):
    """`[metrics]`: the HTTP endpoint for Prometheus and health checks."""

    listen: str = "127.0.0.1:9464"
    """`host:port` (IPv6 as `[::1]:9464`) serving GET /metrics, /healthz, /readyz."""

    @property
    def host(self) -> str:
        """The host part of `listen`, IPv6 brackets removed."""
        return self.listen.rpartition(":")[0].removeprefix("[").removesuffix("]")

    @property
    def port(self) -> int:
        """The port part of `listen`."""
        return int(self.listen.rpartition(":")[2])


class LogConfig(_Table, kw_only=True, frozen=True):
    """`[log]`: structured logging to stderr (journald)."""

    level: LogLevel = "info"
    """Lowest level written."""
    format: LogFormat = "json"
    """"json" for journald/Loki, "console" for a terminal."""
    mask_numbers: bool = True
    """Show phone numbers in logs as `+243998***000` (the first and last digits only)."""


class CarrierConfig(_Table, kw_only=True, frozen=True):
    """`[carriers.NAME]`: one SMSC, its binds, rate, routing and message conventions."""

    # --- the link
    host: str
    """SMSC host name or address. Required."""
    port: Port = 2775
    """SMSC TCP port."""
    system_id: str
    """SMPP system_id (at most 15 characters). Required."""
    password: Secret
    """`env:NAME`, `file:/path` (systemd credentials; one trailing newline dropped) or a literal
    (at most 8 characters, SMPP 3.4). Required; "" for carriers that want none."""
    system_type: str = ""
    """SMPP system_type sent in the bind (at most 12 characters)."""
    tls: bool = False
    """Connect over TLS."""
    tls_verify: bool = True
    """With `tls`: verify the SMSC's certificate and host name."""
    tls_ca_file: str = ""
    """With `tls`: PEM file of the CAs to trust; "" uses the system's trust store."""

    # --- binds
    bind: BindMode = "transceiver"
    """"transceiver", or "transmitter" (receipts and MO then come on separate receiver binds)."""
    binds: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    """SMPP sessions submitting to this carrier (transceiver or transmitter binds)."""
    receiver_binds: Annotated[int, msgspec.Meta(ge=0, le=64)] | None = None
    """With `bind = "transmitter"`: receiver binds to open; unset means as many as `binds`,
    0 none (no receipts or MO from this carrier)."""
    max_binds: Annotated[int, msgspec.Meta(ge=1, le=64)] | None = None
    """The carrier's limit of sessions for this system_id across every connector host; each bind
    then holds a lease on a slot in Redis, and a host without one waits (`binds{state=
    "waiting_for_slot"}`, `/readyz`). Unset: no limit known. Must be at least `binds`."""

    # --- rate and window
    tps: PositiveSeconds
    """submit_sm PDUs per second to this carrier, all binds together: never more than tps + 1 in
    any sliding one-second window. Required (the carrier's contracted rate)."""
    tps_scope: TpsScope = "host"
    """What `tps` applies to: "host" (this process), or "global": every connector process draws
    from one budget in Redis, so all hosts together stay within tps + 1 in any sliding second
    (they run at 98 % of `tps` to absorb late sends; README, "Several hosts")."""
    min_tps_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.1
    """Floor of the adaptive rate after throttling (ESME_RTHROTTLED), as a fraction of `tps`."""
    window: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    """submit_sm awaiting submit_sm_resp, per bind."""

    # --- routing
    prefixes: tuple[str, ...]
    """E.164 prefixes (`+` and 1-15 digits) routed here; the longest matching prefix wins.
    Required: `[]` makes a carrier reachable only by a message's forced `carrier`."""

    # --- message conventions
    max_parts: Annotated[int, msgspec.Meta(ge=1, le=MAX_PARTS_CEILING)] = DEFAULT_MAX_PARTS
    """Longer messages are rejected (message_too_long), never truncated."""
    smart_encoding: bool = False
    """Default for messages that do not say: replace look-alikes (curly quotes, ...) first."""
    encoding: EncodingMode = "auto"
    """Default for messages that do not say: "auto" (GSM-7 when possible), "gsm7" or "ucs2"."""
    gsm7_form: Gsm7Form = "unpacked"
    """How GSM-7 goes on the wire: "unpacked" (data_coding 0), "packed" (data_coding 0, 7-bit
    packed) or "latin1" (data_coding 3; the SMSC converts)."""
    concat: ConcatMode = "udh"
    """Concatenation: "udh" (header in short_message), "sar" (sar_* TLVs) or "payload" (one
    submit_sm with message_payload; the SMSC splits)."""
    reference_16bit: bool = False
    """16-bit concatenation references (152/66 characters per part instead of 153/67)."""
    receipt_id: ReceiptIdMode = "auto"
    """How receipt ids match submit_sm_resp ids: "as_is", "hex_to_dec", "dec_to_hex" or "auto"."""
    registered_delivery: Annotated[int, msgspec.Meta(ge=0, le=31)] = 1
    """registered_delivery of messages that ask for a receipt (1: final receipt); 0 otherwise."""
    service_type: str = ""
    """SMPP service_type of every submit_sm (at most 5 characters)."""

    # --- addresses
    source_ton_alphanumeric: Ton = 5
    """source_addr_ton for alphanumeric senders ("MYAPP")."""
    source_npi_alphanumeric: Npi = 0
    """source_addr_npi for alphanumeric senders."""
    source_ton_shortcode: Ton = 3
    """source_addr_ton for short codes (3-8 digits)."""
    source_npi_shortcode: Npi = 0
    """source_addr_npi for short codes."""
    source_ton_international: Ton = 1
    """source_addr_ton for E.164 senders (sent without the `+`)."""
    source_npi_international: Npi = 1
    """source_addr_npi for E.164 senders."""
    dest_ton: Ton = 1
    """dest_addr_ton (recipients are E.164, sent without the `+`)."""
    dest_npi: Npi = 1
    """dest_addr_npi."""

    # --- timers
    connect_timeout_s: PositiveSeconds = 10.0
    """TCP (and TLS) connect plus bind must succeed within this."""
    response_timeout_s: PositiveSeconds = 30.0
    """A request without its response after this fails (the submit is retried; the bind is
    dropped once several time out)."""
    enquire_link_interval_s: PositiveSeconds = 30.0
    """enquire_link sent after this much silence on a bind."""
    reconnect_initial_s: PositiveSeconds = 1.0
    """First wait before re-binding a lost bind; doubles per failure, with jitter."""
    reconnect_max_s: PositiveSeconds = 60.0
    """Longest wait between re-bind attempts."""
    auth_failure_backoff_s: PositiveSeconds = 300.0
    """Wait after a bind refused with ESME_RINVPASWD / ESME_RINVSYSID (no hammering, no lockout)."""
    retry_deadline_s: PositiveSeconds = 600.0
    """Temporary errors are retried for this long after the first attempt, then `failed`."""
    retry_initial_s: PositiveSeconds = 1.0
    """First wait before retrying a part after a temporary error; doubles per attempt."""
    retry_max_s: PositiveSeconds = 60.0
    """Longest wait between retries of a part."""
    throttle_backoff_initial_s: PositiveSeconds = 1.0
    """Pause after ESME_RTHROTTLED / ESME_RMSGQFUL before the rate is raised again; doubles."""
    throttle_backoff_max_s: PositiveSeconds = 30.0
    """Longest throttling pause."""
    max_command_length: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = (
        DEFAULT_MAX_COMMAND_LENGTH
    )
    """Largest PDU accepted from the SMSC, in octets; a larger one drops the bind."""

    @property
    def receiver_bind_count(self) -> int:
        """Receiver binds to open: 0 with transceivers, else `receiver_binds` (default `binds`)."""
        if self.bind == "transceiver":
            return 0
        return self.binds if self.receiver_binds is None else self.receiver_binds


class Config(_Table, kw_only=True, frozen=True):
    """The whole file."""

    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    """`[redis]`."""
    daemon: DaemonConfig = msgspec.field(default_factory=DaemonConfig)
    """`[daemon]`."""
    mo: MoConfig = msgspec.field(default_factory=MoConfig)
    """`[mo]`."""
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    """`[metrics]`."""
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    """`[log]`."""
    carriers: dict[str, CarrierConfig]
    """`[carriers.NAME]` tables, in file order. Required: at least one."""


def redact_url(url: str) -> str:
    """`url` with the password of its user-info (if any) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _repr(struct: msgspec.Struct, **override: str) -> str:
    fields = ", ".join(
        f"{name}={override[name] if name in override else repr(getattr(struct, name))}"
        for name in struct.__struct_fields__
    )
    return f"{type(struct).__name__}({fields})"
