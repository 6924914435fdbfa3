"""MO reassembly: any order, duplicates, UDH 8/16-bit and SAR alike, expiry, bounded memory."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import constants as c
from connector.smpp.pdu import Tlvs
from connector.text import (
    Completed,
    Incomplete,
    Reassembler,
    ReassemblyState,
    concat_from_sar,
    decode_short_message,
    plan,
)

FROM = "+243998857000"
TO = "MYAPP"


def _add(r: Reassembler, seq: int, content: str | bytes, now: float = 0.0, **kw: object) -> object:
    fields: dict[str, object] = {
        "source": FROM,
        "destination": TO,
        "reference": 7,
        "total": 3,
        "seq": seq,
        "content": content,
        "now": now,
    }
    fields.update(kw)
    return r.add(**fields)  # type: ignore[arg-type]


def test_parts_out_of_order_complete_in_seq_order() -> None:
    r = Reassembler(timeout_s=300)
    assert _add(r, 3, "C", now=1.0) is None
    assert _add(r, 1, "A", now=2.0) is None
    done = _add(r, 2, "B", now=3.0)
    assert isinstance(done, Completed)
    assert (done.text, done.total, done.first_at, done.last_at) == ("ABC", 3, 1.0, 3.0)
    assert (done.source, done.destination, done.reference) == (FROM, TO, 7)
    assert len(r) == 0


@given(st.permutations([1, 2, 3, 4, 5]))
@settings(max_examples=120)
def test_every_arrival_order_gives_the_same_text(order: list[int]) -> None:
    r = Reassembler(timeout_s=300)
    results = [_add(r, seq, f"<{seq}>", total=5) for seq in order]
    assert results[:-1] == [None] * 4
    done = results[-1]
    assert isinstance(done, Completed)
    assert done.text == "<1><2><3><4><5>"


def test_duplicate_parts_are_ignored() -> None:
    r = Reassembler(timeout_s=300)
    assert _add(r, 1, "A") is None
    assert _add(r, 1, "A again") is None
    assert _add(r, 2, "B") is None
    assert _add(r, 2, "B") is None
    done = _add(r, 3, "C")
    assert isinstance(done, Completed)
    assert done.text == "ABC"
    assert _add(r, 3, "C") is None  # a late duplicate opens a new group, which expires later


def test_a_single_part_message_completes_at_once() -> None:
    done = _add(Reassembler(timeout_s=1), 1, "STOP", total=1)
    assert isinstance(done, Completed)
    assert done.text == "STOP"


def test_groups_are_kept_apart_by_source_destination_reference_and_total() -> None:
    r = Reassembler(timeout_s=300)
    assert _add(r, 1, "a", total=2) is None
    assert _add(r, 1, "b", total=2, source="+1") is None
    assert _add(r, 1, "c", total=2, reference=8) is None
    assert _add(r, 1, "d", total=2, destination="OTHER") is None
    assert _add(r, 1, "e", total=2, carrier="vodacom-cd") is None
    assert len(r) == 5
    done = _add(r, 2, "!", total=2, reference=8)
    assert isinstance(done, Completed)
    assert done.text == "c!"


def test_udh_8bit_16bit_and_sar_parts_reassemble_alike() -> None:
    r = Reassembler(timeout_s=300)
    text = "Mbote! Nalingi koyeba ntango nini magazini ekofungwama lelo na mpokwa? " * 4
    udh8 = plan(text, reference=200)
    udh16 = plan(text, reference=60_000, reference_16bit=True)
    sar = plan(text, concat="sar", reference=513, reference_16bit=True)
    results: list[object] = []
    for result in (udh8, udh16):
        for part in reversed(result.parts):
            decoded = decode_short_message(0x00, part.short_message, udhi=True)
            assert decoded.udh is not None
            info = decoded.udh.concat
            assert info is not None
            results.append(
                r.add(
                    source=FROM,
                    destination=TO,
                    reference=info.reference,
                    total=info.total,
                    seq=info.seq,
                    content=decoded.text,
                    now=0.0,
                )
            )
    for part in sar.parts:
        tlvs: Tlvs = dict(part.tlvs)
        info = concat_from_sar(tlvs)
        assert info is not None
        results.append(
            r.add(
                source=FROM,
                destination=TO,
                reference=info.reference,
                total=info.total,
                seq=info.seq,
                content=decode_short_message(0x00, part.short_message).text,
                now=0.0,
            )
        )
    completed = [x for x in results if isinstance(x, Completed)]
    assert [x.text for x in completed] == [text, text, text]
    assert [x.reference for x in completed] == [200, 60_000, 513]
    assert c.TAG_SAR_MSG_REF_NUM in sar.parts[0].tlvs


def test_binary_parts_join_their_octets() -> None:
    r = Reassembler(timeout_s=300)
    assert _add(r, 2, b"\x03\x04", total=2) is None
    done = _add(r, 1, b"\x01\x02", total=2)
    assert isinstance(done, Completed)
    assert (done.text, done.data) == ("", b"\x01\x02\x03\x04")


def test_incomplete_groups_expire_after_the_timeout_with_what_arrived() -> None:
    r = Reassembler(timeout_s=300)
    _add(r, 3, "C", now=100.0)
    _add(r, 1, "A", now=150.0)
    assert r.next_deadline() == 400.0
    assert r.expire(399.9) == []
    (gone,) = r.expire(400.0)
    assert isinstance(gone, Incomplete)
    assert (gone.seqs, gone.text, gone.reason) == ((1, 3), "AC", "timeout")
    assert (gone.first_at, gone.last_at, gone.total) == (100.0, 150.0, 3)
    assert len(r) == 0
    assert r.next_deadline() is None
    assert r.expire(10_000.0) == []


def test_expiry_returns_oldest_first() -> None:
    r = Reassembler(timeout_s=10)
    for reference, now in ((1, 0.0), (2, 1.0), (3, 50.0)):
        _add(r, 1, str(reference), now=now, reference=reference)
    gone = r.expire(20.0)
    assert [g.reference for g in gone] == [1, 2]
    assert len(r) == 1


def test_memory_is_bounded_and_the_oldest_group_is_given_up_as_incomplete() -> None:
    r = Reassembler(timeout_s=300, max_groups=2)
    _add(r, 1, "first", now=1.0, reference=1)
    _add(r, 1, "second", now=2.0, reference=2)
    assert r.next_deadline() == 301.0
    _add(r, 2, "third", now=3.0, reference=3)
    assert len(r) == 2
    assert r.next_deadline() == float("-inf")
    (gone,) = r.expire(3.0)
    assert (gone.reference, gone.text, gone.reason, gone.seqs) == (1, "first", "evicted", (1,))
    for reference in range(100):
        _add(r, 1, "x", now=4.0, reference=100 + reference)
    assert len(r) == 2
    assert len(r.expire(4.0)) == 100


def test_state_round_trips_through_json_and_carries_on() -> None:
    r = Reassembler(timeout_s=300, max_groups=2)
    _add(r, 2, "B", now=1.0)
    _add(r, 1, b"\x00\x01", now=2.0, reference=9, total=2)
    _add(r, 1, "evicts", now=3.0, reference=10, total=2)
    raw = msgspec.json.encode(r.to_state())
    restored = Reassembler.from_state(
        msgspec.json.decode(raw, type=ReassemblyState), timeout_s=300, max_groups=2
    )
    assert restored.to_state() == r.to_state()
    assert _add(restored, 1, "A", now=4.0) is None  # a new group: evicts ref 9, the oldest
    done = _add(restored, 2, "!", now=4.0, reference=10, total=2)
    assert isinstance(done, Completed)
    assert done.text == "evicts!"
    gone = restored.expire(4.0)
    assert [(g.reference, g.reason) for g in gone] == [(7, "evicted"), (9, "evicted")]
    assert gone[1].data == b"\x00\x01"


def test_restoring_into_a_smaller_bound_gives_up_the_oldest() -> None:
    r = Reassembler(timeout_s=300)
    for reference in range(5):
        _add(r, 1, "x", now=float(reference), reference=reference)
    small = Reassembler.from_state(r.to_state(), timeout_s=300, max_groups=2)
    assert len(small) == 2
    assert [g.reference for g in small.expire(0.0)] == [0, 1, 2]


def test_to_state_is_a_copy() -> None:
    r = Reassembler(timeout_s=300)
    _add(r, 1, "A")
    state = r.to_state()
    _add(r, 2, "B")
    assert [p.seq for p in state.groups[0].parts] == [1]


@pytest.mark.parametrize(("seq", "total"), [(0, 3), (4, 3), (1, 0)])
def test_parts_outside_their_total_are_refused(seq: int, total: int) -> None:
    with pytest.raises(ValueError, match="not a valid concatenation part"):
        _add(Reassembler(timeout_s=1), seq, "x", total=total)


@pytest.mark.parametrize(("timeout_s", "max_groups"), [(0.0, 1), (1.0, 0)])
def test_settings_must_be_positive(timeout_s: float, max_groups: int) -> None:
    with pytest.raises(ValueError):
        Reassembler(timeout_s, max_groups=max_groups)


def test_many_groups_interleaved_all_complete() -> None:
    r = Reassembler(timeout_s=300)
    done: list[str] = []
    order = list(itertools.product(range(1, 4), range(50)))  # seq-major: every group open
    for seq, reference in order:
        result = _add(r, seq, f"{reference}:{seq};", reference=reference)
        if isinstance(result, Completed):
            done.append(result.text)
    assert len(done) == 50
    assert done[0] == "0:1;0:2;0:3;"
    assert len(r) == 0
