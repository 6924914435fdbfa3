"""Reassembly of concatenated mobile-originated messages (UDH 8/16-bit or SAR alike).

Pure: the caller passes `now` (seconds on one clock; a wall clock if the state is persisted)
and calls `expire(now)` on a timer (`next_deadline()` says when). The state is plain msgspec
Structs, so `to_state()` / `from_state()` can round-trip it through Redis (CONTRACT.md §3:
parts that never complete are written with complete=false).
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

DEFAULT_MAX_GROUPS: Final = 10_000

GroupKey = tuple[str, str, str, int, int]


class PendingPart(msgspec.Struct, frozen=True, gc=False):
    """One received part: its text, and its octets when it was binary data."""

    seq: int
    text: str = ""
    data: bytes | None = None


class PendingGroup(msgspec.Struct, gc=False):
    """Parts received so far of one concatenated message, kept sorted by seq."""

    source: str
    destination: str
    reference: int
    total: int
    first_at: float
    last_at: float
    carrier: str = ""
    parts: list[PendingPart] = msgspec.field(default_factory=list)


class Completed(msgspec.Struct, frozen=True, gc=False):
    """Every part arrived: the message, joined in seq order."""

    source: str
    destination: str
    reference: int
    total: int
    text: str
    data: bytes | None
    first_at: float
    last_at: float
    carrier: str = ""


class Incomplete(msgspec.Struct, frozen=True, gc=False):
    """A message given up on: what arrived, in seq order (`seqs` says which parts)."""

    source: str
    destination: str
    reference: int
    total: int
    seqs: tuple[int, ...]
    text: str
    data: bytes | None
    first_at: float
    last_at: float
    reason: Literal["timeout", "evicted"]
    carrier: str = ""


class ReassemblyState(msgspec.Struct, gc=False):
    """Everything a Reassembler holds, as plain data."""

    groups: list[PendingGroup] = msgspec.field(default_factory=list)
    given_up: list[Incomplete] = msgspec.field(default_factory=list)


def _joined(parts: list[PendingPart]) -> tuple[str, bytes | None]:
    text = "".join(part.text for part in parts)
    chunks = [part.data for part in parts if part.data is not None]
    return text, (b"".join(chunks) if chunks else None)


def _incomplete(group: PendingGroup, reason: Literal["timeout", "evicted"]) -> Incomplete:
    text, data = _joined(group.parts)
    return Incomplete(
        source=group.source,
        destination=group.destination,
        reference=group.reference,
        total=group.total,
        seqs=tuple(part.seq for part in group.parts),
        text=text,
        data=data,
        first_at=group.first_at,
        last_at=group.last_at,
        reason=reason,
        carrier=group.carrier,
    )


def _key(group: PendingGroup) -> GroupKey:
    return (group.carrier, group.source, group.destination, group.reference, group.total)


class Reassembler:
    """Joins concatenated parts by (carrier, source, destination, reference, total).

    Parts may come in any order; a repeated seq is ignored (the first copy is kept). A group
    still incomplete `timeout_s` after its first part is given up on; beyond `max_groups`
    pending groups the oldest is given up on at once. Both come out of `expire()`.
    """

    def __init__(self, timeout_s: float, *, max_groups: int = DEFAULT_MAX_GROUPS) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if max_groups < 1:
            raise ValueError("max_groups must be at least 1")
        self.timeout_s = timeout_s
        self.max_groups = max_groups
        self._groups: dict[GroupKey, PendingGroup] = {}
        self._given_up: list[Incomplete] = []

    def __len__(self) -> int:
        """Pending groups."""
        return len(self._groups)

    def add(
        self,
        *,
        source: str,
        destination: str,
        reference: int,
        total: int,
        seq: int,
        content: str | bytes,
        now: float,
        carrier: str = "",
    ) -> Completed | None:
        """Add one part; the whole message once its last missing part arrives, else None.

        `content` is the part's decoded text, or its octets for binary data. `seq` must be
        within 1..total (`udh.parse_udh` and `udh.concat_from_sar` only report such parts).
        """
        if total < 1 or not 1 <= seq <= total:
            raise ValueError(f"part {seq} of {total} is not a valid concatenation part")
        part = (
            PendingPart(seq=seq, data=content)
            if isinstance(content, bytes)
            else PendingPart(seq=seq, text=content)
        )
        if total == 1:
            text, data = _joined([part])
            return Completed(source, destination, reference, total, text, data, now, now, carrier)
        key: GroupKey = (carrier, source, destination, reference, total)
        group = self._groups.get(key)
        if group is None:
            while len(self._groups) >= self.max_groups:
                oldest = next(iter(self._groups))
                self._given_up.append(_incomplete(self._groups.pop(oldest), "evicted"))
            group = PendingGroup(source, destination, reference, total, now, now, carrier)
            self._groups[key] = group
        parts = group.parts
        index = len(parts)
        while index and parts[index - 1].seq > seq:
            index -= 1
        if index and parts[index - 1].seq == seq:
            return None  # duplicate
        parts.insert(index, part)
        group.last_at = max(group.last_at, now)
        if len(parts) < total:
            return None
        del self._groups[key]
        text, data = _joined(parts)
        return Completed(
            source,
            destination,
            reference,
            total,
            text,
            data,
            group.first_at,
            group.last_at,
            carrier,
        )

    def expire(self, now: float) -> list[Incomplete]:
        """Groups given up on: evicted ones, then those older than timeout_s, oldest first."""
        out = self._given_up
        self._given_up = []
        deadline = now - self.timeout_s
        expired = [key for key, group in self._groups.items() if group.first_at <= deadline]
        for key in expired:
            out.append(_incomplete(self._groups.pop(key), "timeout"))
        return out

    def next_deadline(self) -> float | None:
        """When `expire()` next has something to return (now if some group was evicted)."""
        if self._given_up:
            return float("-inf")
        if not self._groups:
            return None
        return min(group.first_at for group in self._groups.values()) + self.timeout_s

    def to_state(self) -> ReassemblyState:
        """A copy of the state as plain Structs (`msgspec.json.encode` / `msgpack` it)."""
        return ReassemblyState(
            groups=[msgspec.structs.replace(g, parts=list(g.parts)) for g in self._groups.values()],
            given_up=list(self._given_up),
        )

    @classmethod
    def from_state(
        cls,
        state: ReassemblyState,
        timeout_s: float,
        *,
        max_groups: int = DEFAULT_MAX_GROUPS,
    ) -> Reassembler:
        """A reassembler holding `state` (e.g. `msgspec.json.decode(raw, type=ReassemblyState)`).

        Groups beyond `max_groups` are given up on, oldest first, as `add` would.
        """
        reassembler = cls(timeout_s, max_groups=max_groups)
        reassembler._given_up = list(state.given_up)
        for group in sorted(state.groups, key=lambda g: g.first_at):
            copy = msgspec.structs.replace(group, parts=sorted(group.parts, key=lambda p: p.seq))
            reassembler._groups[_key(copy)] = copy
        while len(reassembler._groups) > max_groups:
            oldest = next(iter(reassembler._groups))
            reassembler._given_up.append(_incomplete(reassembler._groups.pop(oldest), "evicted"))
        return reassembler
