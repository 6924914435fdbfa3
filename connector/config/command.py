"""`smpp-connector check-config --config FILE`: validate the file the daemon would load.

Exit 0 with `ok: N carriers (names)` on stdout, or exit 1 with every problem on its own line
on stderr, each as `key.path: message`. Secrets are resolved (a missing `env:` variable or an
unreadable `file:` credential is reported) but never printed.
"""

from __future__ import annotations

import argparse
import sys

from connector.config.load import load_config
from connector.config.schema import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `check-config` options."""
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="the TOML configuration file"
    )


def run(args: argparse.Namespace) -> int:
    """Load the file; print `ok: ...` and return 0, or print every problem and return 1."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    names = ", ".join(config.carriers)
    print(f"ok: {len(config.carriers)} carriers ({names})")
    return 0
