"""Pure message layer: GSM-7 / UCS-2 encoding, segmentation, UDH, MO decoding and reassembly.

Nothing here does I/O or reads a clock; the gateway imports `plan` / `count_parts` to price
exactly what the connector sends (CONTRACT.md §6).
"""

from connector.text.decode import DecodedMessage, decode_short_message
from connector.text.errors import EmptyMessage, MessageTooLong, TextError, UnencodableText
from connector.text.reassembly import Completed, Incomplete, Reassembler, ReassemblyState
from connector.text.references import ReferenceAllocator
from connector.text.segment import Part, Plan, count_parts, plan
from connector.text.udh import ConcatInfo, UdhError, UserDataHeader, concat_from_sar, parse_udh

__all__ = [
    "Completed",
    "ConcatInfo",
    "DecodedMessage",
    "EmptyMessage",
    "Incomplete",
    "MessageTooLong",
    "Part",
    "Plan",
    "Reassembler",
    "ReassemblyState",
    "ReferenceAllocator",
    "TextError",
    "UdhError",
    "UnencodableText",
    "UserDataHeader",
    "concat_from_sar",
    "count_parts",
    "decode_short_message",
    "parse_udh",
    "plan",
]
