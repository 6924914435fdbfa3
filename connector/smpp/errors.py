"""The SMPP core's errors, split as h11 splits them: the peer broke the protocol, or we did.

Peer errors carry the command_status to answer with, the command_id and sequence_number
when the header could be read (so a generic_nack or a `*_resp` can echo them), and whether
the byte stream can still be trusted (`fatal`: framing is lost, the connection must go).
"""

from __future__ import annotations

from connector.smpp.constants import ESME_RSYSERR, status_name


class SmppError(Exception):
    """Base of every error the SMPP core raises."""

    command_status: int = ESME_RSYSERR


class PduError(SmppError):
    """The peer sent bytes that are not a valid SMPP 3.4 PDU.

    Raised only by the framer and the decoder, the one place where peer bytes enter.
    """

    def __init__(
        self,
        message: str,
        command_status: int,
        *,
        command_id: int | None = None,
        sequence_number: int = 0,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.command_status = command_status
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.fatal = fatal

    def __str__(self) -> str:
        return f"{self.message} ({status_name(self.command_status)})"


class EncodeError(SmppError):
    """A PDU we were asked to send cannot be encoded (a field too long, a value out of range)."""

    def __init__(self, message: str, command_status: int = ESME_RSYSERR) -> None:
        super().__init__(message)
        self.command_status = command_status


class LocalProtocolError(SmppError):
    """We tried something the session state does not allow (submit before bind, window full)."""


class WindowFullError(LocalProtocolError):
    """Every window slot already has a request awaiting its response."""
