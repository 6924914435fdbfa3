"""Routing a recipient: a forced carrier if configured, else the longest matching prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.domain.routing import Router

DRC = {
    "vodacom-cd": ["+24381", "+24382", "+24383"],
    "airtel-cd": ["+24397", "+24398", "+24399"],
    "orange-cd": ["+24384", "+24385", "+24389", "+24380"],
    "africell-cd": ["+24390"],
}


def test_each_prefix_routes_to_its_carrier() -> None:
    router = Router(DRC)
    for carrier, prefixes in DRC.items():
        for prefix in prefixes:
            assert router.route(prefix + "1234567") == carrier


def test_longest_prefix_wins() -> None:
    router = Router({"default": ["+243"], "airtel-cd": ["+24399"], "special": ["+2439988"]})
    assert router.route("+243811234567") == "default"
    assert router.route("+243991234567") == "airtel-cd"
    assert router.route("+243998812345") == "special"
    assert router.prefix_of("+243998812345") == "+2439988"
    assert router.prefix_of("+243811234567") == "+243"


def test_unmatched_destination_has_no_route() -> None:
    router = Router(DRC)
    assert router.route("+243861234567") is None
    assert router.route("+33612345678") is None
    assert router.route("") is None
    assert router.route("+2438") is None
    assert router.prefix_of("+2438") is None


def test_forced_carrier_wins_when_configured() -> None:
    router = Router(DRC)
    assert router.route("+243991234567", forced_carrier="orange-cd") == "orange-cd"
    assert router.route("+33612345678", forced_carrier="africell-cd") == "africell-cd"


def test_unknown_forced_carrier_has_no_route() -> None:
    router = Router(DRC)
    assert router.route("+243991234567", forced_carrier="mtn-cd") is None


def test_carrier_without_prefixes_is_only_reachable_when_forced() -> None:
    router = Router({**DRC, "backup": []})
    assert "backup" in router.carriers
    assert router.route("+243991234567") == "airtel-cd"
    assert router.route("+243991234567", forced_carrier="backup") == "backup"
    assert router.carriers == frozenset({*DRC, "backup"})


def test_prefix_claimed_by_two_carriers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\+24397 claimed by both airtel-cd and other"):
        Router({"airtel-cd": ["+24397"], "other": ["+24397"]})


def test_prefix_repeated_by_one_carrier_is_harmless() -> None:
    assert Router({"a": ["+1", "+1"]}).route("+15551234567") == "a"


def test_empty_router_routes_nothing() -> None:
    router = Router({})
    assert router.route("+243991234567") is None
    assert router.carriers == frozenset()
    assert router.prefixes() == {}


def test_table_and_repr() -> None:
    router = Router({"a": ["+1"], "b": ["+44"]})
    assert router.prefixes() == {"+1": "a", "+44": "b"}
    assert repr(router) == "Router(2 prefixes, carriers=['a', 'b'])"


prefixes_st = st.dictionaries(
    st.from_regex(r"\+[0-9]{1,5}", fullmatch=True),
    st.sampled_from(["a", "b", "c"]),
    max_size=20,
)


@given(table=prefixes_st, destination=st.from_regex(r"\+[0-9]{8,15}", fullmatch=True))
def test_route_matches_the_longest_prefix_by_brute_force(
    table: dict[str, str], destination: str
) -> None:
    carriers: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    for prefix, carrier in table.items():
        carriers[carrier].append(prefix)
    matching = [prefix for prefix in table if destination.startswith(prefix)]
    expected = table[max(matching, key=len)] if matching else None
    assert Router(carriers).route(destination) == expected
