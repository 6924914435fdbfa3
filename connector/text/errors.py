"""Why a text cannot be sent as asked, each error carrying its contract code (CONTRACT.md §1-2).

None of them is worth a retry: the same text gives the same answer, so the recipient is
`rejected` with the code, never sent truncated or altered.
"""

from __future__ import annotations

from typing import ClassVar


class TextError(Exception):
    """Base of the text layer's errors: `code` is the status event's `error.code`."""

    retryable: ClassVar[bool] = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class EmptyMessage(TextError):
    """The text is empty (or nothing is left of it once smart encoding removed invisibles)."""

    def __init__(self, message: str = "the message is empty") -> None:
        super().__init__("empty_message", message)


class MessageTooLong(TextError):
    """The text needs more parts than the carrier's `max_parts` allows."""

    def __init__(self, parts: int, max_parts: int) -> None:
        super().__init__(
            "message_too_long",
            f"the message needs {parts} parts, more than the {max_parts} allowed",
        )
        self.parts = parts
        self.max_parts = max_parts


class UnencodableText(TextError):
    """The text cannot be carried in the encoding asked (or in any: lone surrogates)."""

    def __init__(self, message: str, characters: tuple[str, ...] = ()) -> None:
        super().__init__("invalid_message", message)
        self.characters = characters
