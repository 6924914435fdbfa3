"""Per-recipient status tracking (CONTRACT.md §2) and the receipt book that feeds it.

`RecipientTracker` is the status machine of one recipient of one message, sent in `parts`
SMS parts. Every method returns the status changes to emit (usually none or one), so the
contract's order holds by construction: `processing` → `sent` → one final status, each at most
once; `processing` and `sent` are skipped where a final status comes first.

- `routed()`: `processing`.
- `part_accepted(i, smsc_id)`: once every part is accepted, `sent` with every smsc id. A change
  that needs `processing` first emits it first when `routed()` was never called.
- `part_rejected(i, smpp_status, status_name)`: final `rejected`, error `smsc_rejected`.
- `part_failed(i, code, description)`: final `failed` (`retries_exhausted`, `no_route`).
- `abort(status, error)`: a final status that is no part's doing (a recipient breaking the
  contract, `expires_at` passing before submission).
- `receipt(i, receipt)`: final receipts only; intermediate ones (ENROUTE, ACCEPTD, esm_class
  0x20) change and consume nothing, and a part's first final receipt is the one that counts
  (later ones are duplicates). A receipt for a part not yet accepted is held and applied when
  the part is accepted, so `sent` still comes first. Once every part has its final receipt:
  `delivered` when all are DELIVRD, else the status of the first part (by index) that is not,
  with error `receipt`; both carry the contract `receipt` object.

After a final status nothing changes any more. Part indexes out of range raise IndexError
(a programming error, not bad input).

`ReceiptBook` maps normalised receipt keys (`connector.domain.message_ids`) to the part they
belong to, and holds final receipts whose id is not known yet (a receipt overtaking its
submit_sm_resp) until the part is accepted or the hold expires. Time is the caller's `now`
(seconds on a non-decreasing clock). Both classes are plain msgspec data so that the daemon can
keep them in Redis; they define the semantics its Redis-backed version implements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

import msgspec

from connector.domain.receipts import Receipt, ReceiptStatus

Status: TypeAlias = Literal[
    "processing", "sent", "delivered", "undelivered", "expired", "rejected", "failed"
]
FinalStatus: TypeAlias = Literal["delivered", "undelivered", "expired", "rejected", "failed"]
ErrorCode: TypeAlias = Literal[
    "invalid_message",
    "invalid_destination",
    "invalid_sender",
    "empty_message",
    "message_too_long",
    "no_route",
    "expired",
    "smsc_rejected",
    "retries_exhausted",
    "receipt",
]
Stage: TypeAlias = Literal["new", "processing", "sent", "final"]
ContractReceipt: TypeAlias = dict[str, str | None]

FINAL_STATUSES: Final[frozenset[str]] = frozenset(
    {"delivered", "undelivered", "expired", "rejected", "failed"}
)


class ErrorInfo(msgspec.Struct, frozen=True):
    """The contract's `error` object."""

    code: ErrorCode
    smpp_status: int | None = None
    description: str = ""


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    """One status event to emit for the recipient."""

    status: Status
    error: ErrorInfo | None = None
    receipt: ContractReceipt | None = None
    smsc_ids: tuple[str, ...] = ()


def combine_receipts(receipts: Sequence[Receipt]) -> tuple[ReceiptStatus, Receipt]:
    """The final status of a recipient whose parts all have a final receipt, in part order.

    `delivered` when every part is; else the status of the first part that is not. The receipt
    returned is that first non-delivered part's, or for `delivered` the one with the latest done
    date (the last part on a tie or when no part has one).
    """
    if not receipts:
        raise ValueError("no receipts to combine")
    for receipt in receipts:
        status = receipt.status
        if status is None:
            raise ValueError(f"receipt {receipt.message_id!r} ({receipt.stat}) is not final")
        if status != "delivered":
            return status, receipt
    last = max(range(len(receipts)), key=lambda i: (receipts[i].done_date or "", i))
    return "delivered", receipts[last]


def receipt_error(receipt: Receipt) -> ErrorInfo:
    """The contract error of a recipient settled by a receipt other than DELIVRD."""
    description = receipt.stat if receipt.err is None else f"{receipt.stat} err:{receipt.err}"
    return ErrorInfo(code="receipt", smpp_status=None, description=description)


class RecipientTracker(msgspec.Struct, kw_only=True):
    """Status of one recipient of one message sent in `parts` parts (see module docstring)."""

    parts: int
    stage: Stage = "new"
    final_status: FinalStatus | None = None
    smsc_ids: list[str | None] = msgspec.field(default_factory=list)
    receipts: list[Receipt | None] = msgspec.field(default_factory=list)
    held: list[Receipt | None] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.parts < 1:
            raise ValueError(f"parts must be at least 1, not {self.parts}")
        for name in ("smsc_ids", "receipts", "held"):
            values: list[object] = getattr(self, name)
            if not values:
                values.extend([None] * self.parts)
            elif len(values) != self.parts:
                raise ValueError(f"{name} has {len(values)} entries for {self.parts} parts")

    # --- queries ---------------------------------------------------------------------------

    @property
    def is_final(self) -> bool:
        return self.stage == "final"

    def accepted(self, index: int) -> bool:
        return self.smsc_ids[self._check(index)] is not None

    # --- events ----------------------------------------------------------------------------

    def routed(self) -> list[StatusChange]:
        """The recipient was routed to a carrier and will be submitted: `processing`."""
        if self.stage != "new":
            return []
        self.stage = "processing"
        return [StatusChange(status="processing")]

    def part_accepted(self, index: int, smsc_id: str) -> list[StatusChange]:
        """submit_sm_resp ESME_ROK for a part; `sent` once every part is accepted."""
        self._check(index)
        if self.stage == "final" or self.smsc_ids[index] is not None:
            return []
        self.smsc_ids[index] = smsc_id
        held, self.held[index] = self.held[index], None
        if held is not None:
            self.receipts[index] = held
        if any(smsc is None for smsc in self.smsc_ids):
            return self.routed()
        changes = self.routed()
        self.stage = "sent"
        changes.append(StatusChange(status="sent", smsc_ids=self._accepted_ids()))
        return changes + self._settle()

    def part_rejected(self, index: int, smpp_status: int, status_name: str) -> list[StatusChange]:
        """The carrier refused a part with a permanent error: final `rejected`."""
        self._check(index)
        if self.stage == "final" or self.smsc_ids[index] is not None:
            return []
        error = ErrorInfo(code="smsc_rejected", smpp_status=smpp_status, description=status_name)
        return self._finish("rejected", error)

    def part_failed(
        self,
        index: int,
        code: Literal["retries_exhausted", "no_route"],
        description: str,
        smpp_status: int | None = None,
    ) -> list[StatusChange]:
        """A part could not be accepted (retries exhausted, no route, no bind): final `failed`."""
        self._check(index)
        if self.stage == "final" or self.smsc_ids[index] is not None:
            return []
        error = ErrorInfo(code=code, smpp_status=smpp_status, description=description)
        return self._finish("failed", error)

    def abort(
        self, status: Literal["rejected", "expired", "failed"], error: ErrorInfo
    ) -> list[StatusChange]:
        """A final status that no part decided (invalid recipient, expiry before submission)."""
        if self.stage == "final":
            return []
        return self._finish(status, error)

    def receipt(self, index: int, receipt: Receipt) -> list[StatusChange]:
        """A receipt for a part; final once every part has a final receipt."""
        self._check(index)
        if self.stage == "final" or not receipt.final or self.receipts[index] is not None:
            return []
        if self.smsc_ids[index] is None:
            if self.held[index] is None:
                self.held[index] = receipt
            return []
        self.receipts[index] = receipt
        return self._settle()

    # --- internals -------------------------------------------------------------------------

    def _check(self, index: int) -> int:
        if not 0 <= index < self.parts:
            raise IndexError(f"part {index} of a {self.parts}-part message")
        return index

    def _accepted_ids(self) -> tuple[str, ...]:
        return tuple(smsc for smsc in self.smsc_ids if smsc is not None)

    def _settle(self) -> list[StatusChange]:
        if self.stage != "sent":
            return []
        receipts = [r for r in self.receipts if r is not None]
        if len(receipts) < self.parts:
            return []
        status, receipt = combine_receipts(receipts)
        error = None if status == "delivered" else receipt_error(receipt)
        return self._finish(status, error, receipt.contract_receipt())

    def _finish(
        self,
        status: FinalStatus,
        error: ErrorInfo | None,
        receipt: ContractReceipt | None = None,
    ) -> list[StatusChange]:
        self.stage = "final"
        self.final_status = status
        self.held = [None] * self.parts
        change = StatusChange(
            status=status, error=error, receipt=receipt, smsc_ids=self._accepted_ids()
        )
        return [change]


# --- the receipt book ------------------------------------------------------------------------


class PartRef(msgspec.Struct, frozen=True):
    """Which part a receipt id belongs to."""

    message_key: str
    recipient: str
    part: int


class _Ref(msgspec.Struct, frozen=True):
    ref: PartRef
    expires_at: float


class HeldReceipt(msgspec.Struct, frozen=True):
    """A final receipt whose id was unknown when it arrived."""

    keys: tuple[str, ...]
    receipt: Receipt
    expires_at: float


DEFAULT_REF_TTL_S: Final = 7 * 86400.0
DEFAULT_HELD_TTL_S: Final = 600.0
DEFAULT_MAX_HELD: Final = 100_000


class ReceiptBook(msgspec.Struct, kw_only=True):
    """Normalised receipt keys → part, plus receipts that arrived before their part's id.

    - `accept(keys, ref, now)`: the part's id is known (its `receipt_keys`); stored until
      `now + ref_ttl`. Returns the final receipt held for it, if one arrived early (and removes
      it from the hold), else None.
    - `match(keys, receipt, now)`: a receipt arrived (its `lookup_keys`, tried in order):
      the first known key's part. Unknown: a final receipt is held under those keys until
      `now + held_ttl` (a later one for the same keys is a duplicate and dropped), a non-final
      one is dropped — it would change nothing anyway; None either way.
    - `expire(now)`: drops refs and held receipts whose time is up.
    - `forget(keys)`: drops refs (a recipient that reached its final status).

    At most `max_held` receipts are held: holding one more evicts the oldest. Refs are bounded
    by their time to live only: they are live state, not guesses. Expiry is `expires_at <= now`
    everywhere, and relies on `now` never going backwards (a monotonic or wall clock that is not
    stepped back).
    """

    ref_ttl: float = DEFAULT_REF_TTL_S
    held_ttl: float = DEFAULT_HELD_TTL_S
    max_held: int = DEFAULT_MAX_HELD
    refs: dict[str, _Ref] = msgspec.field(default_factory=dict)
    held: dict[str, HeldReceipt] = msgspec.field(default_factory=dict)  # by first lookup key
    held_index: dict[str, str] = msgspec.field(default_factory=dict)  # any lookup key → first

    def __post_init__(self) -> None:
        if self.max_held < 1:
            raise ValueError(f"max_held must be at least 1, not {self.max_held}")
        if self.ref_ttl <= 0 or self.held_ttl <= 0:
            raise ValueError("ref_ttl and held_ttl must be positive")

    def accept(self, keys: Sequence[str], ref: PartRef, now: float) -> Receipt | None:
        entry = _Ref(ref=ref, expires_at=now + self.ref_ttl)
        for key in keys:
            self.refs.pop(key, None)  # re-insert at the end: insertion order is expiry order
            self.refs[key] = entry
        found: Receipt | None = None
        for key in keys:  # release every receipt held under one of these keys
            primary = self.held_index.get(key)
            if primary is None:
                continue
            held = self._unhold(primary)
            if found is None and held.expires_at > now:
                found = held.receipt
        return found

    def match(self, keys: Sequence[str], receipt: Receipt, now: float) -> PartRef | None:
        for key in keys:
            entry = self.refs.get(key)
            if entry is not None and entry.expires_at > now:
                return entry.ref
        if not keys or not receipt.final:
            return None
        for key in keys:
            primary = self.held_index.get(key)
            if primary is not None:
                if self.held[primary].expires_at > now:
                    return None  # already holding a final receipt for this id
                self._unhold(primary)
        while len(self.held) >= self.max_held:
            self._unhold(next(iter(self.held)))
        keys = tuple(keys)
        self.held[keys[0]] = HeldReceipt(keys=keys, receipt=receipt, expires_at=now + self.held_ttl)
        for key in keys:
            self.held_index[key] = keys[0]
        return None

    def expire(self, now: float) -> None:
        while self.refs:
            key = next(iter(self.refs))
            if self.refs[key].expires_at > now:
                break
            del self.refs[key]
        while self.held:
            primary = next(iter(self.held))
            if self.held[primary].expires_at > now:
                break
            self._unhold(primary)

    def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.refs.pop(key, None)

    def _unhold(self, primary: str) -> HeldReceipt:
        held = self.held.pop(primary)
        for key in held.keys:
            if self.held_index.get(key) == primary:
                del self.held_index[key]
        return held
