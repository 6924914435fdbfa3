"""Smart encoding: look-alike characters replaced by GSM-7 ones, so a text keeps GSM-7.

Only punctuation, spaces and symbols that read the same are replaced (curly quotes, dashes,
ellipsis, exotic spaces, fullwidth ASCII, ...); letters are never stripped of their accents,
which would change words. Decomposed text (NFD, as some keyboards and macOS produce) is first
recomposed (NFC), so `e` + combining acute becomes the GSM-7 `é`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_QUOTES_SINGLE: Final = "‘’‚‛′‵ʹʻʼʽˈ´`‹›❛❜＇｀"
_QUOTES_DOUBLE: Final = "“”„‟″‶ʺ˝«»❝❞〝〞〟＂"
_DASHES: Final = "‐‑‒–—―⁃−﹘﹣－⸺⸻"
_SPACES: Final = (
    "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
# Invisible: zero-width space/joiners, word joiner, BOM, soft hyphen, Mongolian vowel separator.
_REMOVED: Final = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"

_OTHERS: Final[dict[str, str]] = {
    "…": "...",
    "‥": "..",
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    "•": "-",
    "◦": "-",
    "‣": "-",
    "∙": "-",
    "⁄": "/",
    "∕": "/",
    "×": "x",
    "‴": "'''",
    "¦": "|",
    "˜": "~",
    "ˆ": "^",
}


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    table.update({ord(ch): "'" for ch in _QUOTES_SINGLE})
    table.update({ord(ch): '"' for ch in _QUOTES_DOUBLE})
    table.update({ord(ch): "-" for ch in _DASHES})
    table.update({ord(ch): " " for ch in _SPACES})
    table.update({ord(ch): None for ch in _REMOVED})
    table.update({ord(ch): to for ch, to in _OTHERS.items()})
    # Fullwidth ASCII forms U+FF01..U+FF5E are ASCII 0x21..0x7E shifted by 0xFEE0; the
    # grave accent has no GSM-7 form, so it (like the ASCII one) becomes an apostrophe.
    for code in range(0xFF01, 0xFF5F):
        table.setdefault(code, chr(code - 0xFEE0))
    table[0x60] = "'"
    return table


LOOKALIKES: Final[dict[int, str | None]] = _build_table()
"""str.translate table: look-alike code point -> GSM-7 replacement (None removes it)."""

# The same table for re.sub: in a typical text few characters are look-alikes, and a regex
# scan plus one call per match beats str.translate's dictionary lookup for every character.
_REPLACEMENTS: Final[dict[str, str]] = {chr(k): v or "" for k, v in LOOKALIKES.items()}
_PATTERN: Final = re.compile("[" + "".join(re.escape(ch) for ch in sorted(_REPLACEMENTS)) + "]")


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS[match.group()]


def smart_map(text: str) -> str:
    """`text` with look-alikes replaced by GSM-7 characters (NFC first, invisibles removed)."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _PATTERN.search(text) is None:
        return text
    return _PATTERN.sub(_replace, text)
