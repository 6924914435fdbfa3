"""The `smpp-connector` command line: the one place that wires the packages together."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Protocol

from connector import __version__


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


def _commands() -> list[tuple[str, _Command, str]]:
    """Each subcommand's module: `add_arguments(parser)` and `run(args) -> int`."""
    from connector.app import run_command, send_command
    from connector.carrier import submit_command
    from connector.config import command as check_config_command
    from connector.simulator import command as simulate_command
    from connector.text import segments_command

    return [
        ("run", run_command, "the daemon, in the foreground (systemd Type=notify)"),
        ("send", send_command, "enqueue a message as the gateway would; --wait follows it"),
        ("simulate", simulate_command, "run a local SMSC for demos, tests and benchmarks"),
        ("segments", segments_command, "the encoding and parts a text will be sent as"),
        ("submit", submit_command, "bind to an SMSC and submit one message (diagnostics)"),
        ("check-config", check_config_command, "validate the configuration file, every error"),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smpp-connector",
        description="Carrier-facing SMPP 3.4 dispatch daemon of the Lisoloo SMS API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_text in _commands():
        command = sub.add_parser(name, help=help_text)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    result = handler(args)
    assert isinstance(result, int)
    return result


def _stopped_while_starting(signum: int, frame: object) -> None:
    """Exit 0 at once, by `os._exit`, not by raising SystemExit.

    A signal handler runs wherever the main thread happens to be. When that is a weakref
    callback or a `__del__` (CI caught one in the import system's module-lock callback), an
    exception raised there is printed as "Exception ignored" and dropped: the stop was lost
    and the daemon went on to start. Nothing is held yet that an orderly exit would release
    (no entry read, no bind up), so the only thing worth doing first is flushing output.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to save
            stream.flush()
    os._exit(0)


def entry() -> None:
    """The process entry point (`smpp-connector`, `python -m connector.cli`).

    Until the daemon's event loop installs its own handlers, SIGTERM means "stopped while
    starting": nothing has been read from Redis or sent to a carrier yet, so the process exits
    0 instead of dying by the signal (systemd may stop a unit that is still starting). Only
    the interpreter's own start-up, before this line, is left uncovered.
    """
    signal.signal(signal.SIGTERM, _stopped_while_starting)
    sys.exit(main())


if __name__ == "__main__":
    entry()
