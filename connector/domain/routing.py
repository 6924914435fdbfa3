"""Which carrier a recipient goes to: its forced carrier, else the longest matching prefix.

Called once per recipient on the hot path, so the table is a dict of prefix -> carrier plus
the distinct prefix lengths, longest first: a route is at most one dict lookup per length
(three or four in practice), whatever the number of prefixes.

Prefixes are E.164 prefixes as configured (`+` and digits); destinations are E.164 numbers
(`+` and 8-15 digits, CONTRACT.md §1). Validation of either is the caller's business (the
configuration loader and the outbound entry parser); a destination that matches nothing routes
nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class Router:
    """An immutable routing table built from `{carrier name: its prefixes}`.

    A prefix listed by two carriers is a ValueError (the configuration reports it first).
    A carrier with no prefixes is reachable only when a message forces it by name.
    """

    __slots__ = ("_by_prefix", "_lengths", "carriers")

    def __init__(self, carriers: Mapping[str, Iterable[str]]) -> None:
        by_prefix: dict[str, str] = {}
        for name, prefixes in carriers.items():
            for prefix in prefixes:
                owner = by_prefix.setdefault(prefix, name)
                if owner != name:
                    raise ValueError(f"prefix {prefix} claimed by both {owner} and {name}")
        self._by_prefix = by_prefix
        self._lengths = tuple(sorted({len(prefix) for prefix in by_prefix}, reverse=True))
        self.carriers: frozenset[str] = frozenset(carriers)
        """Every configured carrier, prefixes or not: the names a message may force."""

    def route(self, destination_e164: str, forced_carrier: str | None = None) -> str | None:
        """The carrier for `destination_e164`, or None (no route: unknown forced carrier, or
        no prefix matches).

        A forced carrier wins over the prefixes, if it is configured.
        """
        if forced_carrier is not None:
            return forced_carrier if forced_carrier in self.carriers else None
        by_prefix = self._by_prefix
        for length in self._lengths:
            carrier = by_prefix.get(destination_e164[:length])
            if carrier is not None:
                return carrier
        return None

    def prefix_of(self, destination_e164: str) -> str | None:
        """The longest configured prefix matching `destination_e164` (for logs), or None."""
        for length in self._lengths:
            prefix = destination_e164[:length]
            if len(prefix) == length and prefix in self._by_prefix:
                return prefix
        return None

    def prefixes(self) -> dict[str, str]:
        """A copy of the table: prefix -> carrier."""
        return dict(self._by_prefix)

    def __repr__(self) -> str:
        return f"Router({len(self._by_prefix)} prefixes, carriers={sorted(self.carriers)})"
