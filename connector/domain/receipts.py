"""SMSC delivery receipts: recognise them, parse them leniently, map them to contract statuses.

Recognition (SMPP 3.4 §5.2.12): the message-type bits of `esm_class` (mask 0x3C) say what a
deliver_sm / data_sm carries. 0x04 is an SMSC delivery receipt and 0x20 an intermediate
delivery notification; both are receipts. 0x08 / 0x10 (SME delivery / manual acknowledgement)
and 0x18 (conversation abort) are not. A PDU whose type bits are 0 (a plain message) is still a
receipt when it carries both the `receipted_message_id` and `message_state` TLVs.

Parsing: the TLVs win where present (`receipted_message_id` → id, `message_state` → stat,
`network_error_code` kept raw and used for `err` when the text has none). The text is the
SMPP 3.4 Appendix B form, read from `short_message` or, when that is empty, `message_payload`::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

read leniently, because every SMSC has its own dialect:

- keys in any case, in any order, any of them missing; `submit_date` / `done_date` with
  underscores; spaces (also newlines) between fields and after a colon;
- the first `text:` key ends the fields: whatever follows is the text, even if it contains
  `stat:` or `id:`. Only when no `stat` was found before it are keys after `text:` read as
  fields (receipts that put `text:` before `stat:`); the text is then what precedes them;
- a bare stat word where the `stat:` key was forgotten (`... done date:1809031208 DELIVRD ...`);
- dates as YYMMDDhhmm, YYMMDDhhmmss, YYYYMMDDhhmmss, the SMPP absolute time format
  (YYMMDDhhmmsstnnp, converted to UTC) or ISO 8601; they come out as `YYYY-MM-DDThh:mm:ssZ`
  (a date without a zone is taken as UTC), or None when unreadable — a bad date never fails a
  receipt;
- `err` kept as sent (`000`, `0`, `21`, `xxx`, `00A`), `sub` / `dlvrd` as numbers when numeric;
- stat words in any case, the seven-letter SMPP forms plus full words some SMSCs send
  (DELIVERED, UNDELIVERABLE, UNDELIVERED, REJECTED, ACCEPTED) and FAILED (Vonage / Nexmo),
  which reads as UNDELIV; a stat of several words (`DELIVERED TO CARRIER`) is unknown;
- text decoded as UTF-16-BE for data_coding 8 (or when it plainly is UCS-2), UTF-8 when valid,
  Latin-1 otherwise; NUL padding is dropped.

The standard layout above (keys in that order and in any ASCII case, `sub` / `dlvrd` / `text`
optional, one word per value right after its colon, fields separated by spaces) takes a fast
path: one full-match regex instead of the key scan, with exactly the same results; anything
else falls back to the lenient parser. Parsed dates are cached by their text.

A receipt that cannot be understood — no message id, no stat, an unknown stat word — is
returned as a `ReceiptParseError` value, never raised.

Statuses (CONTRACT.md §2): DELIVRD → delivered; UNDELIV, DELETED, UNKNOWN → undelivered;
EXPIRED → expired; REJECTD → rejected; ENROUTE and ACCEPTD are not final. A receipt carried as
an intermediate notification (esm_class 0x20) is never final, whatever its stat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import msgspec

from connector.smpp import constants as c
from connector.smpp.pdu import DataSm, DeliverSm, TlvValue

Stat: TypeAlias = Literal[
    "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE"
]
ReceiptStatus: TypeAlias = Literal["delivered", "undelivered", "expired", "rejected"]

# stat → contract status of a final receipt; None: not final.
STAT_STATUS: Final[dict[Stat, ReceiptStatus | None]] = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered",
    "DELETED": "undelivered",
    "UNKNOWN": "undelivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "ENROUTE": None,
    "ACCEPTD": None,
}

# message_state TLV value (SMPP 3.4 §5.2.28) → stat word.
MESSAGE_STATE_STAT: Final[dict[int, Stat]] = {
    c.MESSAGE_STATE_ENROUTE: "ENROUTE",
    c.MESSAGE_STATE_DELIVERED: "DELIVRD",
    c.MESSAGE_STATE_EXPIRED: "EXPIRED",
    c.MESSAGE_STATE_DELETED: "DELETED",
    c.MESSAGE_STATE_UNDELIVERABLE: "UNDELIV",
    c.MESSAGE_STATE_ACCEPTED: "ACCEPTD",
    c.MESSAGE_STATE_UNKNOWN: "UNKNOWN",
    c.MESSAGE_STATE_REJECTED: "REJECTD",
}

# Every stat word understood (upper case) → its seven-letter form.
STAT_WORDS: Final[dict[str, Stat]] = {
    "DELIVRD": "DELIVRD",
    "DELIVERED": "DELIVRD",
    "EXPIRED": "EXPIRED",
    "DELETED": "DELETED",
    "UNDELIV": "UNDELIV",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "FAILED": "UNDELIV",
    "ACCEPTD": "ACCEPTD",
    "ACCEPTED": "ACCEPTD",
    "UNKNOWN": "UNKNOWN",
    "REJECTD": "REJECTD",
    "REJECTED": "REJECTD",
    "ENROUTE": "ENROUTE",
}

_RECEIPT_TYPES: Final = frozenset(
    {c.ESM_CLASS_SMSC_DELIVERY_RECEIPT, c.ESM_CLASS_INTERMEDIATE_NOTIFICATION}
)
_NOT_RECEIPT_TYPES: Final = frozenset(
    {c.ESM_CLASS_SME_DELIVERY_ACK, c.ESM_CLASS_SME_MANUAL_ACK, c.ESM_CLASS_CONVERSATION_ABORT}
)


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """One parsed delivery receipt.

    `message_id` is the id as the SMSC sent it (TLV first, else text), only trimmed; match it
    with `connector.domain.message_ids.lookup_keys`. `stat` is the seven-letter form. Dates are
    `YYYY-MM-DDThh:mm:ssZ` or None. `intermediate` is True when the PDU was an intermediate
    delivery notification (esm_class 0x20).
    """

    message_id: str
    stat: Stat
    err: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    sub: int | None = None
    dlvrd: int | None = None
    text: str | None = None
    message_state: int | None = None
    network_error_code: bytes | None = None
    intermediate: bool = False

    @property
    def final(self) -> bool:
        """True when this receipt ends the part's life (a final stat, not an intermediate)."""
        return not self.intermediate and STAT_STATUS[self.stat] is not None

    @property
    def status(self) -> ReceiptStatus | None:
        """The contract status this receipt settles its part in, or None when not final."""
        return None if self.intermediate else STAT_STATUS[self.stat]

    def contract_receipt(self, fallback_done_at: str | None = None) -> dict[str, str | None]:
        """The contract's `receipt` object: `{"stat", "err", "done_at"}`.

        `fallback_done_at` (e.g. when the receipt was received) stands in for a missing or
        unreadable done date.
        """
        return {
            "stat": self.stat,
            "err": self.err,
            "done_at": self.done_date if self.done_date is not None else fallback_done_at,
        }


class ReceiptParseError(msgspec.Struct, frozen=True):
    """A PDU recognised as a receipt whose content could not be understood."""

    raw: str
    reason: str


# --- recognition -----------------------------------------------------------------------------


def message_type(esm_class: int) -> int:
    """The message-type bits of an esm_class (SMPP 3.4 §5.2.12, mask 0x3C)."""
    return esm_class & c.ESM_CLASS_MESSAGE_TYPE_MASK


def is_receipt(pdu: DeliverSm | DataSm) -> bool:
    """Whether a deliver_sm / data_sm is a delivery receipt (and not an MO message)."""
    kind = message_type(pdu.esm_class)
    if kind in _RECEIPT_TYPES:
        return True
    if kind in _NOT_RECEIPT_TYPES:
        return False
    return c.TAG_RECEIPTED_MESSAGE_ID in pdu.tlvs and c.TAG_MESSAGE_STATE in pdu.tlvs


def is_intermediate(esm_class: int) -> bool:
    """Whether the esm_class marks an intermediate delivery notification (0x20)."""
    return message_type(esm_class) == c.ESM_CLASS_INTERMEDIATE_NOTIFICATION


# --- statuses --------------------------------------------------------------------------------


def normalise_stat(word: str) -> Stat | None:
    """The seven-letter stat for a stat word in any case or spelling known, else None."""
    return STAT_WORDS.get(word.strip().upper())


def stat_status(stat: Stat) -> ReceiptStatus | None:
    """Contract status of a final stat (None for ENROUTE / ACCEPTD)."""
    return STAT_STATUS[stat]


def message_state_status(message_state: int) -> ReceiptStatus | None:
    """Contract status of a message_state TLV value (None: not final, or not a known state)."""
    stat = MESSAGE_STATE_STAT.get(message_state)
    return None if stat is None else STAT_STATUS[stat]


# --- parsing ---------------------------------------------------------------------------------


def parse_receipt(pdu: DeliverSm | DataSm) -> Receipt | ReceiptParseError:
    """Parse a deliver_sm / data_sm receipt; a PDU that is not a receipt is an error value."""
    body = pdu.short_message if isinstance(pdu, DeliverSm) else b""
    if not body:
        payload = pdu.tlvs.get(c.TAG_MESSAGE_PAYLOAD)
        if isinstance(payload, bytes | str):
            body = payload if isinstance(payload, bytes) else payload.encode("latin-1", "replace")
    text = decode_receipt_text(body, pdu.data_coding)
    if not is_receipt(pdu):
        return ReceiptParseError(
            raw=text, reason=f"not a delivery receipt (esm_class 0x{pdu.esm_class:02X})"
        )
    return parse_receipt_text(text, pdu.tlvs, intermediate=is_intermediate(pdu.esm_class))


def decode_receipt_text(body: bytes, data_coding: int = 0) -> str:
    """Receipt octets as text: UCS-2 when data_coding is 8 or the octets plainly are UCS-2,
    else UTF-8 when valid, else Latin-1 (every octet maps). NULs are dropped."""
    if data_coding == 0x08 or _looks_ucs2(body):
        text = body[: len(body) - len(body) % 2].decode("utf-16-be", "replace")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
    return text.replace("\x00", "")


def _looks_ucs2(body: bytes) -> bool:
    # "\x00i\x00d\x00:" and the like: ASCII text in UTF-16-BE has NULs in every even octet.
    head = body[:8]
    return len(head) >= 4 and not any(head[0::2]) and all(head[1::2])


def parse_receipt_text(
    text: str,
    tlvs: Mapping[int, TlvValue] | None = None,
    *,
    intermediate: bool = False,
) -> Receipt | ReceiptParseError:
    """Parse receipt text plus the PDU's TLVs (TLVs win); never raises on bad input."""
    text = text.replace("\x00", "")
    if not tlvs:
        tlvs = _NO_TLVS
    receipt = _parse_standard_text(text, tlvs, intermediate)
    if receipt is None:
        receipt = _parse_general_text(text, tlvs, intermediate)
    return receipt


_NO_TLVS: Final[Mapping[int, TlvValue]] = MappingProxyType({})


def _ascii_any_case(word: str) -> str:
    # `id` → `[iI][dD]`: the ASCII case variations only. re.IGNORECASE would also take the
    # Unicode folds (`ıd`, `ſtat`), which the general path matches but does not read as keys.
    return "".join(f"[{ch.lower()}{ch.upper()}]" for ch in word)


# The Appendix B layout exactly, keys in its order and in any ASCII case: `sub:`, `dlvrd:` and
# `text:` may be missing, the fields are separated by spaces, every value is one word right
# after its colon. Whitespace is the same for `\S` and str.split(), and no position inside a
# value follows whitespace, so the general path finds exactly these keys with these values.
_STANDARD_RE: Final = re.compile(
    rf"{_ascii_any_case('id')}:(\S+)"
    rf"(?: +{_ascii_any_case('sub')}:(\S+))?"
    rf"(?: +{_ascii_any_case('dlvrd')}:(\S+))?"
    rf" +{_ascii_any_case('submit')}[ _]?{_ascii_any_case('date')}:(\S+)"
    rf" +{_ascii_any_case('done')}[ _]?{_ascii_any_case('date')}:(\S+)"
    rf" +{_ascii_any_case('stat')}:(\S+)"
    rf" +{_ascii_any_case('err')}:(\S+)"
    rf"(?: +{_ascii_any_case('text')}:(.*)| *)",
    re.DOTALL,
)


def _parse_standard_text(
    text: str, tlvs: Mapping[int, TlvValue], intermediate: bool
) -> Receipt | ReceiptParseError | None:
    """The fast path: `text` (without NULs) in the standard layout, else None.

    Gives exactly what `_parse_general_text` gives for the same input: every field present
    is one non-empty word, and `stat:` comes before `text:`, so the id, the stat word and
    the err are the text's (unless a TLV wins) and the text runs to the end.
    """
    match = _STANDARD_RE.fullmatch(text)
    if match is None:
        return None
    text_id, sub, dlvrd, submit_date, done_date, word, err, body = match.groups()
    state = tlvs.get(c.TAG_MESSAGE_STATE)
    message_state = state if isinstance(state, int) else None
    stat = MESSAGE_STATE_STAT.get(message_state) if message_state is not None else None
    if stat is None:
        stat = STAT_WORDS.get(word.upper())
        if stat is None:
            return ReceiptParseError(raw=text, reason=f"unknown stat {word!r}")
    return Receipt(
        message_id=_tlv_str(tlvs.get(c.TAG_RECEIPTED_MESSAGE_ID)) or text_id,
        stat=stat,
        err=err,
        submit_date=parse_receipt_date(submit_date),
        done_date=parse_receipt_date(done_date),
        sub=_count(sub),
        dlvrd=_count(dlvrd),
        text=None if body is None else body.strip(),
        message_state=message_state,
        network_error_code=_network_error_code(tlvs),
        intermediate=intermediate,
    )


def _parse_general_text(
    text: str, tlvs: Mapping[int, TlvValue], intermediate: bool
) -> Receipt | ReceiptParseError:
    """Any layout: `text` (without NULs) read leniently, as the module docstring says."""
    state = tlvs.get(c.TAG_MESSAGE_STATE)
    message_state = state if isinstance(state, int) else None
    tlv_stat = MESSAGE_STATE_STAT.get(message_state) if message_state is not None else None

    fields, body_text, stray = _text_fields(text, need_stat=tlv_stat is None)

    message_id = _tlv_str(tlvs.get(c.TAG_RECEIPTED_MESSAGE_ID)) or fields.get("id", "")
    if not message_id:
        return ReceiptParseError(raw=text, reason="no message id (no receipted_message_id, no id:)")

    stat: Stat | None = tlv_stat
    if stat is None:
        word = fields.get("stat")
        if word is None:
            word = next((token for token in stray if normalise_stat(token)), None)
        if not word:
            return ReceiptParseError(raw=text, reason="no stat (no message_state, no stat:)")
        stat = normalise_stat(word)
        if stat is None:
            return ReceiptParseError(raw=text, reason=f"unknown stat {word!r}")

    network_error_code = _network_error_code(tlvs)
    err = fields.get("err") or None
    if err is None and network_error_code is not None and len(network_error_code) == 3:
        err = f"{int.from_bytes(network_error_code[1:], 'big'):03d}"

    return Receipt(
        message_id=message_id,
        stat=stat,
        err=err,
        submit_date=parse_receipt_date(fields.get("submit_date")),
        done_date=parse_receipt_date(fields.get("done_date")),
        sub=_count(fields.get("sub")),
        dlvrd=_count(fields.get("dlvrd")),
        text=body_text,
        message_state=message_state,
        network_error_code=network_error_code,
        intermediate=intermediate,
    )


def _network_error_code(tlvs: Mapping[int, TlvValue]) -> bytes | None:
    nec = tlvs.get(c.TAG_NETWORK_ERROR_CODE)
    if isinstance(nec, bytes):
        return nec
    return nec.encode("latin-1", "replace") if isinstance(nec, str) else None


_KEY_RE: Final = re.compile(
    r"(?<!\S)(?P<key>id|sub|dlvrd|submit[\s_]?date|done[\s_]?date|stat|err|text)[ \t]*:",
    re.IGNORECASE,
)
_DATE_KEYS: Final = frozenset({"submit_date", "done_date"})


def _canonical_key(key: str) -> str:
    key = key.lower()
    if key.startswith("submit"):
        return "submit_date"
    if key.startswith("done"):
        return "done_date"
    return key


def _text_fields(text: str, *, need_stat: bool) -> tuple[dict[str, str], str | None, list[str]]:
    """(fields, text after `text:` or None, stray tokens that belong to no key)."""
    matches = list(_KEY_RE.finditer(text))
    fields: dict[str, str] = {}
    stray: list[str] = text[: matches[0].start() if matches else len(text)].split()
    for i, match in enumerate(matches):
        key = _canonical_key(match["key"])
        if key == "text":
            return _text_tail(text, matches[i:], fields, stray, need_stat=need_stat)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        _add_field(fields, stray, key, text[match.end() : end])
    return fields, None, stray


def _text_tail(
    text: str,
    matches: list[re.Match[str]],
    fields: dict[str, str],
    stray: list[str],
    *,
    need_stat: bool,
) -> tuple[dict[str, str], str | None, list[str]]:
    # matches[0] is the first `text:` key. The text runs to the end unless the stat is still
    # missing and keys follow: then they are fields written after the text.
    tail = matches[1:]
    if "stat" in fields or not need_stat or not tail:
        return fields, text[matches[0].end() :].strip(), stray
    body = text[matches[0].end() : tail[0].start()].strip()
    for i, match in enumerate(tail):
        key = _canonical_key(match["key"])
        end = tail[i + 1].start() if i + 1 < len(tail) else len(text)
        if key != "text":
            _add_field(fields, stray, key, text[match.end() : end])
    return fields, body, stray


def _add_field(fields: dict[str, str], stray: list[str], key: str, segment: str) -> None:
    tokens = segment.split()
    if key in fields:  # a repeated key: the first one wins
        stray.extend(tokens)
        return
    if key in _DATE_KEYS and len(tokens) >= 2 and _parse_date(f"{tokens[0]} {tokens[1]}"):
        fields[key] = f"{tokens[0]} {tokens[1]}"  # ISO date and time separated by a space
        stray.extend(tokens[2:])
        return
    if key == "stat":  # the whole value: "DELIVERED TO CARRIER" must not read as DELIVERED
        fields[key] = " ".join(tokens)
        return
    fields[key] = tokens[0] if tokens else ""
    stray.extend(tokens[1:])


def _tlv_str(value: TlvValue | None) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


# --- dates -----------------------------------------------------------------------------------

_ABSOLUTE_RE: Final = re.compile(r"(\d{12})(\d)(\d{2})([+-])")


def parse_receipt_date(value: str | None) -> str | None:
    """A receipt date as `YYYY-MM-DDThh:mm:ssZ`, or None when missing or unreadable.

    YYMMDDhhmm, YYMMDDhhmmss and YYYYMMDDhhmmss are taken as UTC (receipts carry no zone);
    SMPP absolute times (YYMMDDhhmmsstnn±) and ISO 8601 with an offset are converted to UTC.
    """
    if not value:
        return None
    cached = _DATE_CACHE.get(value)
    if cached is not None:
        return cached or None
    iso = _iso_date(value.strip())
    if len(value) <= _DATE_CACHE_MAX_LEN:
        if len(_DATE_CACHE) >= _DATE_CACHE_SIZE:
            _DATE_CACHE.clear()
        _DATE_CACHE[value] = iso or ""
    return iso


# parse_receipt_date's answers by the value as given ("" for None): receipts of the same
# minutes come in together, and the answer depends on the value alone (a zone is converted to
# UTC, a date without one is taken as UTC). Bounded: emptied when full, only short values kept.
_DATE_CACHE: Final[dict[str, str]] = {}
_DATE_CACHE_SIZE: Final = 1024
_DATE_CACHE_MAX_LEN: Final = 32


def _iso_date(value: str) -> str | None:
    if len(value) in (10, 12) and value.isascii() and value.isdigit():
        # YYMMDDhhmm[ss], the common case: datetime checks it, its own digits write it out
        # (what formatting the datetime gives, at a third of the cost).
        seconds = value[10:12] or "00"
        try:
            datetime(
                2000 + int(value[0:2]),
                int(value[2:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(seconds),
            )
        except ValueError:
            return None
        return f"20{value[0:2]}-{value[2:4]}-{value[4:6]}T{value[6:8]}:{value[8:10]}:{seconds}Z"
    moment = _parse_date(value)
    if moment is None:
        return None
    # Formatted by hand: strftime was a visible share of the receipt path's CPU.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def _parse_date(value: str) -> datetime | None:
    try:
        if value.isascii() and value.isdigit():
            if len(value) in (10, 12):
                return datetime(
                    2000 + int(value[0:2]),
                    int(value[2:4]),
                    int(value[4:6]),
                    int(value[6:8]),
                    int(value[8:10]),
                    int(value[10:12] or 0),
                )
            if len(value) == 14:
                return datetime.strptime(value, "%Y%m%d%H%M%S")
            return None
        absolute = _ABSOLUTE_RE.fullmatch(value)
        if absolute is not None:
            local = _parse_date(absolute[1])
            if local is None:
                return None
            offset = timedelta(minutes=15 * int(absolute[3]))
            return local - offset if absolute[4] == "+" else local + offset
        if not value[:4].isdigit():
            return None
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
