"""The `smpp-connector` command line: the one place that wires the packages together."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from connector import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smpp-connector",
        description="Carrier-facing SMPP 3.4 dispatch daemon of the Lisoloo SMS API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from connector.app import run_command

    run = sub.add_parser("run", help="the daemon, in the foreground (systemd Type=notify)")
    run_command.add_arguments(run)
    run.set_defaults(handler=run_command.run)

    from connector.app import send_command

    send = sub.add_parser("send", help="enqueue a message as the gateway would; --wait follows it")
    send_command.add_arguments(send)
    send.set_defaults(handler=send_command.run)

    from connector.simulator import command as simulate_command

    simulate = sub.add_parser("simulate", help="run a local SMSC for demos, tests and benchmarks")
    simulate_command.add_arguments(simulate)
    simulate.set_defaults(handler=simulate_command.run)

    from connector.text import segments_command

    segments = sub.add_parser("segments", help="the encoding and parts a text will be sent as")
    segments_command.add_arguments(segments)
    segments.set_defaults(handler=segments_command.run)

    from connector.carrier import submit_command

    submit = sub.add_parser("submit", help="bind to an SMSC and submit one message (diagnostics)")
    submit_command.add_arguments(submit)
    submit.set_defaults(handler=submit_command.run)

    from connector.config import command as check_config_command

    check = sub.add_parser("check-config", help="validate the configuration file, every error")
    check_config_command.add_arguments(check)
    check.set_defaults(handler=check_config_command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    result = handler(args)
    assert isinstance(result, int)
    return result


if __name__ == "__main__":
    sys.exit(main())
