"""The connector's configuration: one TOML file, validated whole before anything starts.

- `connector.config.schema`: the frozen msgspec Structs of every table, with their defaults.
- `connector.config.load`: `load_config(path)` / `parse_config(text)`, raising `ConfigError`
  whose `problems` list every problem as `key.path: message`.
- `connector.config.secrets`: `env:NAME` / `file:/path` / literal secret references.
- `connector.config.command`: `smpp-connector check-config --config FILE`.
"""

from connector.config.load import load_config, parse_config
from connector.config.schema import (
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
from connector.config.secrets import resolve_secret

__all__ = [
    "CarrierConfig",
    "Config",
    "ConfigError",
    "DaemonConfig",
    "LogConfig",
    "MetricsConfig",
    "MoConfig",
    "RedisConfig",
    "Secret",
    "load_config",
    "parse_config",
    "resolve_secret",
]
