"""Secret references in the configuration: `env:NAME`, `file:/path`, or the literal value.

Resolved when the file is loaded, so `check-config` reports a missing variable or an unreadable
credentials file. Error messages name the key and the reference, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from connector.config.schema import ConfigError, Secret

ENV_PREFIX: Final = "env:"
FILE_PREFIX: Final = "file:"


def is_reference(ref: str) -> bool:
    """Whether `ref` points elsewhere (`env:` / `file:`) rather than being the value itself."""
    return ref.startswith((ENV_PREFIX, FILE_PREFIX))


def resolve_secret(ref: str, *, path: str = "password") -> str:
    """The value `ref` stands for; ConfigError (one `path: message` problem) if unavailable.

    - `env:NAME`: the environment variable NAME, which must be set and not empty;
    - `file:/path`: the file's content (UTF-8), one trailing newline removed (systemd
      `LoadCredential=` files, `$CREDENTIALS_DIRECTORY/...`), which must not be empty;
    - anything else: `ref` itself.
    """
    if ref.startswith(ENV_PREFIX):
        name = ref.removeprefix(ENV_PREFIX)
        if not name:
            raise ConfigError(f"{path}: {ref!r} names no environment variable")
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        if not value:
            raise ConfigError(f"{path}: environment variable {name} is empty")
        return value
    if ref.startswith(FILE_PREFIX):
        file = ref.removeprefix(FILE_PREFIX)
        if not file:
            raise ConfigError(f"{path}: {ref!r} names no file")
        try:
            raw = Path(file).read_bytes()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(f"{path}: cannot read secret file {file}: {reason}") from None
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: secret file {file} is not UTF-8 text") from None
        value = value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value
        if not value:
            raise ConfigError(f"{path}: secret file {file} is empty")
        return value
    return ref


def load_secret(ref: str, *, path: str = "password") -> Secret:
    """`resolve_secret` wrapped in a `Secret` that remembers the reference (never the value)."""
    value = resolve_secret(ref, path=path)
    return Secret(value, source=ref if is_reference(ref) else "literal")
