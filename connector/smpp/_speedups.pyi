"""Stubs of the optional C extension built from _speedups.c (see the end of codec.py)."""

from collections.abc import Callable

from connector.smpp.pdu import Pdu

def setup(
    submit_sm: type[Pdu],
    deliver_sm: type[Pdu],
    submit_sm_resp: type[Pdu],
    deliver_sm_resp: type[Pdu],
    tlv_types: dict[int, tuple[int | str, int]],
    decode_fallback: Callable[[bytes], Pdu],
    encode_fallback: Callable[[Pdu], bytes],
    /,
) -> None:
    """Bind the PDU classes, the TLV type table and the pure Python fallbacks."""

def decode_fast(frame: bytes, /) -> Pdu | None:
    """A well-formed submit_sm, deliver_sm or *_resp frame decoded; None for anything else."""

def encode_fast(pdu: Pdu, /) -> bytes | None:
    """A well-formed SubmitSm, DeliverSm or *SmResp encoded; None for anything else."""

def decode(frame: bytes) -> Pdu:
    """decode_fast(frame), or the pure Python decoder when that returns None."""

def encode(pdu: Pdu) -> bytes:
    """encode_fast(pdu), or the pure Python encoder when that returns None."""
