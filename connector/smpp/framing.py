"""Cut a TCP byte stream into whole PDUs, whatever the chunking (SMPP 3.4 §3.1).

A command_length outside 16..max means the stream can no longer be framed: that raises a
fatal PduError and the connection must be closed. Everything else is the decoder's job.
"""

from __future__ import annotations

from typing import Final

from connector.smpp.codec import DEFAULT_MAX_COMMAND_LENGTH, HEADER_SIZE
from connector.smpp.constants import ESME_RINVCMDLEN
from connector.smpp.errors import PduError

_FROM_BYTES: Final = int.from_bytes


class Framer:
    """Buffer of received bytes that hands out complete frames."""

    __slots__ = ("_buffer", "error", "max_command_length")

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < HEADER_SIZE:
            raise ValueError("max_command_length must be at least 16")
        self.max_command_length = max_command_length
        self._buffer = b""
        self.error: PduError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet part of a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame now complete, in order.

        A command_length out of range raises a fatal PduError; when whole frames preceded
        it in the same chunk they are returned first, the error is kept in `error` and
        raised by every later call.
        """
        if self.error is not None:
            raise self.error
        buf = self._buffer + data if self._buffer else data
        frames: list[bytes] = []
        pos = 0
        n = len(buf)
        limit = self.max_command_length
        while n - pos >= 4:
            length = _FROM_BYTES(buf[pos : pos + 4], "big")
            if length < HEADER_SIZE or length > limit:
                self._buffer = b""
                seq = _FROM_BYTES(buf[pos + 12 : pos + 16], "big") if n - pos >= 16 else 0
                cid = _FROM_BYTES(buf[pos + 4 : pos + 8], "big") if n - pos >= 8 else None
                self.error = PduError(
                    f"command_length {length} outside {HEADER_SIZE}..{limit}",
                    ESME_RINVCMDLEN,
                    command_id=cid,
                    sequence_number=seq,
                    fatal=True,
                )
                if frames:
                    return frames
                raise self.error
            if n - pos < length:
                break
            frames.append(buf[pos : pos + length] if (pos or length != n) else buf)
            pos += length
        self._buffer = buf[pos:] if pos < n else b""
        return frames
