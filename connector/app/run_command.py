"""`smpp-connector run --config FILE`: the daemon in the foreground."""

from __future__ import annotations

import argparse
import sys

from connector.config.load import load_config
from connector.config.schema import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML configuration")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    from connector.app.daemon import run_daemon

    return run_daemon(config, args.config)
