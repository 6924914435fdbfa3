"""`smpp-connector submit`: bind to an SMSC, submit one message, optionally await its receipt.

A diagnostic for operators ("can this host reach the carrier, do the credentials work?") and
the first step of the demo. The daemon's own path goes through Redis; this does not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from connector.carrier.client import BindRefused, SmppClient
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.errors import SmppError

# SMPP 3.4 §5.2.5: type of number for the source address.
_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5
_NPI_ISDN = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="lisoloo")
    parser.add_argument("--password", default="")
    parser.add_argument("--to", required=True, help="destination, E.164 (+243998857000)")
    parser.add_argument("--sender", default="MYAPP", help="source address (sender id)")
    parser.add_argument("--message", required=True)
    parser.add_argument(
        "--wait-receipt",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for the delivery receipt",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="connect and response timeout")


def source_address(sender: str) -> tuple[int, int, str]:
    """(ton, npi, addr) for a sender id: alphanumeric, short code or E.164."""
    if sender.startswith("+") and sender[1:].isdigit():
        return _TON_INTERNATIONAL, _NPI_ISDN, sender[1:]
    if sender.isdigit():
        return 0, _NPI_ISDN, sender
    return _TON_ALPHANUMERIC, 0, sender


def encode_text(text: str) -> tuple[int, bytes]:
    """(data_coding, octets): IA5 for ASCII, UCS-2 otherwise (the daemon uses GSM-7 planning)."""
    if text.isascii():
        return 0x01, text.encode("ascii")
    return 0x08, text.encode("utf-16-be")


async def submit_one(args: argparse.Namespace) -> int:
    receipt: asyncio.Future[p.Pdu] = asyncio.get_running_loop().create_future()

    def on_deliver(pdu: p.Pdu) -> int:
        is_receipt = isinstance(pdu, p.DeliverSm) and bool(
            pdu.esm_class & c.ESM_CLASS_SMSC_DELIVERY_RECEIPT
        )
        if is_receipt and not receipt.done():
            receipt.set_result(pdu)
        return c.ESME_ROK

    client = SmppClient(
        system_id=args.system_id,
        password=args.password,
        bind="transceiver",
        response_timeout_s=args.timeout,
        on_deliver=on_deliver,
    )
    ton, npi, source = source_address(args.sender)
    data_coding, octets = encode_text(args.message)
    if len(octets) > 254:
        print("message too long for one submit_sm (254 octets)", file=sys.stderr)
        return 2
    destination = args.to[1:] if args.to.startswith("+") else args.to
    try:
        await client.connect(args.host, args.port, timeout_s=args.timeout)
        await client.bind()
        started = time.monotonic()
        response = await client.submit(
            p.SubmitSm(
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=source,
                dest_addr_ton=_TON_INTERNATIONAL,
                dest_addr_npi=_NPI_ISDN,
                destination_addr=destination,
                registered_delivery=1 if args.wait_receipt > 0 else 0,
                data_coding=data_coding,
                short_message=octets,
            )
        )
        elapsed_ms = (time.monotonic() - started) * 1000
        status = response.command_status
        if status != c.ESME_ROK:
            print(f"submit_sm refused: {c.status_name(status)} ({c.status_description(status)})")
            return 1
        message_id = getattr(response, "message_id", "")
        print(f"submit_sm accepted: message_id={message_id} in {elapsed_ms:.1f} ms")
        if args.wait_receipt > 0:
            try:
                deliver = await asyncio.wait_for(receipt, args.wait_receipt)
            except TimeoutError:
                print(f"no receipt within {args.wait_receipt} s")
                return 1
            assert isinstance(deliver, p.DeliverSm)
            print(f"receipt: {deliver.short_message.decode('latin-1')}")
        return 0
    except BindRefused as error:
        print(str(error), file=sys.stderr)
        return 1
    except (OSError, TimeoutError, SmppError) as error:
        print(f"error: {error or type(error).__name__}", file=sys.stderr)
        return 1
    finally:
        await client.unbind()


def run(args: argparse.Namespace) -> int:
    return asyncio.run(submit_one(args))
