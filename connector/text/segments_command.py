"""`smpp-connector segments TEXT`: the encoding and parts a text will be sent as.

The gateway's price check from a shell: the same `plan()` the daemon runs. TEXT `-` reads
standard input as UTF-8 (one trailing newline dropped), for characters a shell would mangle.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import msgspec

from connector.text.errors import TextError, UnencodableText
from connector.text.segment import (
    CONCAT_MODES,
    DEFAULT_MAX_PARTS,
    ENCODING_CHOICES,
    GSM7_FORMS,
    MAX_PARTS_CEILING,
    Plan,
    plan,
)


def _max_parts(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_PARTS_CEILING:
        raise argparse.ArgumentTypeError(f"must be within 1..{MAX_PARTS_CEILING}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `segments` options."""
    parser.add_argument("text", metavar="TEXT", help="the message text, or - to read stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--smart", action="store_true", help="replace look-alikes (curly quotes, ...) first"
    )
    parser.add_argument("--encoding", choices=ENCODING_CHOICES, default="auto")
    parser.add_argument(
        "--max-parts",
        type=_max_parts,
        default=DEFAULT_MAX_PARTS,
        help=f"reject longer texts (default {DEFAULT_MAX_PARTS})",
    )
    parser.add_argument(
        "--concat", choices=CONCAT_MODES, default="udh", help="carrier's concatenation mode"
    )
    parser.add_argument(
        "--gsm7-form", choices=GSM7_FORMS, default="unpacked", help="carrier's GSM-7 form"
    )


def _read_stdin(stdin: TextIO) -> str:
    raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnencodableText(f"standard input is not UTF-8: {exc.reason} at {exc.start}") from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _report(result: Plan) -> dict[str, Any]:
    return {
        "encoding": result.encoding,
        "data_coding": result.data_coding,
        "esm_class": result.esm_class,
        "parts": result.billed_parts,
        "part_lengths": list(result.part_lengths),
        "units": result.units,
        "unit": "septets" if result.encoding == "gsm7" else "utf16_units",
        "ucs2_forced_by": list(result.ucs2_forced_by),
        "submit_sm": len(result.parts),
        "text": result.text,
    }


def _print_human(result: Plan, out: TextIO) -> None:
    name = "GSM-7" if result.encoding == "gsm7" else "UCS-2"
    unit = "septets" if result.encoding == "gsm7" else "UTF-16 units"
    print(f"encoding: {name} (data_coding 0x{result.data_coding:02X})", file=out)
    print(f"parts: {result.billed_parts}", file=out)
    lengths = ", ".join(str(n) for n in result.part_lengths)
    print(f"characters per part: {lengths}", file=out)
    print(f"size: {result.units} {unit}", file=out)
    if len(result.parts) != result.billed_parts:
        print(f"submit_sm PDUs: {len(result.parts)} (message_payload)", file=out)
    if result.ucs2_forced_by:
        forced = ", ".join(f"{ch!r} U+{ord(ch):04X}" for ch in result.ucs2_forced_by)
        print(f"forced UCS-2: {forced}", file=out)


def run(args: argparse.Namespace) -> int:
    """Plan the text; print the result; exit 1 on a TextError."""
    try:
        text = _read_stdin(sys.stdin) if args.text == "-" else args.text
        result = plan(
            text,
            encoding=args.encoding,
            smart=args.smart,
            concat=args.concat,
            max_parts=args.max_parts,
            gsm7_form=args.gsm7_form,
        )
    except TextError as exc:
        if args.json:
            error = {"error": exc.code, "message": exc.message}
            print(msgspec.json.encode(error).decode(), file=sys.stdout)
        else:
            print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        print(msgspec.json.encode(_report(result)).decode(), file=sys.stdout)
    else:
        _print_human(result, sys.stdout)
    return 0
