"""`smpp-connector simulate`: run the SMSC simulator until SIGINT or SIGTERM.

Prints `simulator listening on HOST:PORT` once listening (and `simulator control on
HOST:PORT` when a control port is asked for), then serves; on the signal it unbinds every
session, flushes the record, prints the final stats as one JSON line on stderr, exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Sequence

import msgspec

from connector.simulator.smsc import (
    SimulatorConfig,
    Smsc,
    parse_outcome,
    parse_status,
)


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {text} out of range")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _status(text: str) -> int:
    try:
        return parse_status(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `simulate` options."""
    net = parser.add_argument_group("listening")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    net.add_argument("--port", type=_port, default=2775, help="SMPP port (2775; 0 picks one)")
    net.add_argument(
        "--control-port",
        type=_port,
        default=None,
        help="line-based JSON control port on the same host (mo, stats); 0 picks one",
    )
    auth = parser.add_argument_group("binds")
    auth.add_argument("--system-id", default=None, help="required system_id (default: any)")
    auth.add_argument("--password", default=None, help="required password (default: any)")
    auth.add_argument(
        "--enquire-link-interval",
        type=_positive_float,
        default=None,
        metavar="S",
        help="send enquire_link after S idle seconds (default: never)",
    )
    auth.add_argument(
        "--window", type=_count, default=64, help="outstanding deliver_sm per session (64)"
    )
    ids = parser.add_argument_group("message ids and receipts")
    ids.add_argument("--message-id-format", choices=("hex", "dec"), default="hex")
    ids.add_argument(
        "--receipt-id-format",
        choices=("same", "hex", "dec"),
        default="same",
        help="id form in receipts: same as submit_sm_resp, or forced hex / dec",
    )
    ids.add_argument(
        "--receipts",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send delivery receipts when registered_delivery asks (default: yes)",
    )
    ids.add_argument(
        "--receipt-delay", type=_positive_float, default=0.0, metavar="S", help="seconds (0)"
    )
    ids.add_argument(
        "--outcome",
        action="append",
        default=[],
        metavar="PATTERN=STAT[:ERR]",
        help="receipt stat for destinations matching the regex; first match wins, "
        "default DELIVRD (repeatable)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--response-delay", type=_positive_float, default=0.0, metavar="S", help="seconds (0)"
    )
    faults.add_argument(
        "--throttle-tps",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="ESME_RTHROTTLED above N submits per second per system_id",
    )
    faults.add_argument(
        "--reject-pattern", default=None, metavar="RE", help="reject matching destinations"
    )
    faults.add_argument(
        "--reject-status",
        type=_status,
        default="ESME_RINVDSTADR",
        metavar="NAME_OR_INT",
        help="status for rejected destinations (ESME_RINVDSTADR)",
    )
    faults.add_argument(
        "--drop-after",
        type=_count,
        default=None,
        metavar="N",
        help="close the TCP connection abruptly on the N-th submit_sm, before answering it",
    )
    faults.add_argument(
        "--drop-scope",
        choices=("connection", "global"),
        default="connection",
        help="count --drop-after per connection (default) or across all connections",
    )
    rec = parser.add_argument_group("record")
    rec.add_argument(
        "--record",
        default=None,
        metavar="FILE",
        help="append one JSON line per submit answered ESME_ROK",
    )


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """The SimulatorConfig the parsed options describe."""
    try:
        outcomes = [parse_outcome(spec) for spec in args.outcome]
    except ValueError as exc:
        raise SystemExit(f"smpp-connector simulate: {exc}") from None
    return SimulatorConfig(
        system_id=args.system_id,
        password=args.password,
        message_id_format=args.message_id_format,
        receipt_id_format=args.receipt_id_format,
        receipts=args.receipts,
        receipt_delay_s=args.receipt_delay,
        outcomes=outcomes,
        response_delay_s=args.response_delay,
        throttle_tps=args.throttle_tps,
        reject_pattern=args.reject_pattern,
        reject_status=args.reject_status,
        drop_after_submits=args.drop_after,
        drop_scope=args.drop_scope,
        window=args.window,
        enquire_link_interval_s=args.enquire_link_interval,
        record_path=args.record,
    )


async def serve(args: argparse.Namespace) -> int:
    """Run the simulator until SIGINT / SIGTERM."""
    try:
        smsc = Smsc(config_from_args(args))
    except (ValueError, re.error) as exc:
        print(f"smpp-connector simulate: {exc}", file=sys.stderr)
        return 2
    try:
        host, port = await smsc.start(args.host, args.port)
    except OSError as exc:
        print(
            f"smpp-connector simulate: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        print(f"simulator listening on {host}:{port}", flush=True)
        if args.control_port is not None:
            chost, cport = await smsc.start_control(args.host, args.control_port)
            print(f"simulator control on {chost}:{cport}", flush=True)
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await smsc.stop()
    sys.stderr.write(msgspec.json.encode(smsc.stats_dict()).decode() + "\n")
    sys.stderr.flush()
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of `smpp-connector simulate`; uses uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(serve(args))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve(args))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m connector.simulator.command`: the same command without the main CLI."""
    parser = argparse.ArgumentParser(
        prog="smpp-connector simulate", description="Run a local SMSC simulator."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
