"""The per-recipient tracker and the receipt book: sequences, combinations, interleavings."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.message_ids import Mode, lookup_keys, receipt_keys
from connector.domain.receipts import Receipt, parse_receipt
from connector.domain.tracker import (
    ErrorInfo,
    HeldReceipt,
    PartRef,
    ReceiptBook,
    RecipientTracker,
    StatusChange,
    combine_receipts,
    receipt_error,
)
from connector.smpp.pdu import DeliverSm


def rc(stat: str, part: int = 0, *, done: str | None = None, intermediate: bool = False) -> Receipt:
    return Receipt(
        message_id=f"id{part}",
        stat=stat,  # type: ignore[arg-type]
        err="000" if stat == "DELIVRD" else "001",
        done_date=done,
        intermediate=intermediate,
    )


def statuses(changes: list[StatusChange]) -> list[str]:
    return [change.status for change in changes]


# --- sequences -------------------------------------------------------------------------------


def test_single_part_happy_path() -> None:
    tracker = RecipientTracker(parts=1)
    assert tracker.routed() == [StatusChange(status="processing")]
    assert tracker.routed() == []
    assert tracker.part_accepted(0, "5f1a9c") == [StatusChange(status="sent", smsc_ids=("5f1a9c",))]
    assert tracker.part_accepted(0, "other") == []  # a repeated response changes nothing
    receipt = rc("DELIVRD", done="2026-11-26T13:00:04Z")
    assert tracker.receipt(0, receipt) == [
        StatusChange(
            status="delivered",
            receipt={"stat": "DELIVRD", "err": "000", "done_at": "2026-11-26T13:00:04Z"},
            smsc_ids=("5f1a9c",),
        )
    ]
    assert tracker.is_final
    assert tracker.final_status == "delivered"
    assert tracker.receipt(0, rc("UNDELIV")) == []


def test_accept_without_routed_still_says_processing_first() -> None:
    tracker = RecipientTracker(parts=1)
    assert statuses(tracker.part_accepted(0, "a")) == ["processing", "sent"]


def test_multi_part_sent_once_every_part_is_accepted() -> None:
    tracker = RecipientTracker(parts=3)
    assert statuses(tracker.part_accepted(2, "c")) == ["processing"]
    assert tracker.part_accepted(0, "a") == []
    changes = tracker.part_accepted(1, "b")
    assert changes == [StatusChange(status="sent", smsc_ids=("a", "b", "c"))]
    assert [tracker.accepted(i) for i in range(3)] == [True, True, True]


def test_intermediate_receipts_change_and_consume_nothing() -> None:
    tracker = RecipientTracker(parts=1)
    tracker.part_accepted(0, "a")
    for receipt in (rc("ENROUTE"), rc("ACCEPTD"), rc("DELIVRD", intermediate=True)):
        assert tracker.receipt(0, receipt) == []
    assert statuses(tracker.receipt(0, rc("UNDELIV"))) == ["undelivered"]


def test_final_waits_for_every_part_and_takes_first_non_delivered_by_index() -> None:
    tracker = RecipientTracker(parts=3)
    for i in range(3):
        tracker.part_accepted(i, f"s{i}")
    assert tracker.receipt(2, rc("REJECTD", 2)) == []
    assert tracker.receipt(1, rc("EXPIRED", 1)) == []
    (change,) = tracker.receipt(0, rc("DELIVRD", 0))
    assert change.status == "expired"
    assert change.error == ErrorInfo(
        code="receipt", smpp_status=None, description="EXPIRED err:001"
    )
    assert change.receipt == {"stat": "EXPIRED", "err": "001", "done_at": None}
    assert change.smsc_ids == ("s0", "s1", "s2")


def test_duplicate_receipts_are_ignored_first_final_wins() -> None:
    tracker = RecipientTracker(parts=2)
    tracker.part_accepted(0, "a")
    tracker.part_accepted(1, "b")
    assert tracker.receipt(0, rc("DELIVRD")) == []
    assert tracker.receipt(0, rc("UNDELIV")) == []  # a second, different final for part 0
    assert tracker.receipt(0, rc("DELIVRD")) == []
    assert statuses(tracker.receipt(1, rc("DELIVRD", 1))) == ["delivered"]


def test_receipt_before_accept_is_held_and_order_holds() -> None:
    tracker = RecipientTracker(parts=2)
    assert statuses(tracker.routed()) == ["processing"]
    assert tracker.receipt(1, rc("DELIVRD", 1)) == []
    assert tracker.receipt(1, rc("UNDELIV", 1)) == []  # duplicate while held
    assert tracker.receipt(0, rc("DELIVRD", 0)) == []
    assert tracker.part_accepted(1, "b") == []
    assert statuses(tracker.part_accepted(0, "a")) == ["sent", "delivered"]


def test_delivered_carries_the_latest_receipt() -> None:
    tracker = RecipientTracker(parts=3)
    for i in range(3):
        tracker.part_accepted(i, f"s{i}")
    tracker.receipt(0, rc("DELIVRD", 0, done="2026-11-26T13:00:09Z"))
    tracker.receipt(1, rc("DELIVRD", 1, done="2026-11-26T13:00:04Z"))
    (change,) = tracker.receipt(2, rc("DELIVRD", 2, done=None))
    assert change.status == "delivered"
    assert change.error is None
    assert change.receipt is not None
    assert change.receipt["done_at"] == "2026-11-26T13:00:09Z"


def test_part_rejected() -> None:
    tracker = RecipientTracker(parts=2)
    tracker.routed()
    tracker.part_accepted(0, "a")
    assert tracker.part_rejected(0, 0x0B, "ESME_RINVDSTADR") == []  # already accepted
    (change,) = tracker.part_rejected(1, 0x0B, "ESME_RINVDSTADR")
    assert change == StatusChange(
        status="rejected",
        error=ErrorInfo(code="smsc_rejected", smpp_status=0x0B, description="ESME_RINVDSTADR"),
        smsc_ids=("a",),
    )
    assert tracker.part_accepted(1, "b") == []
    assert tracker.receipt(0, rc("DELIVRD")) == []


def test_final_first_skips_processing_and_sent() -> None:
    tracker = RecipientTracker(parts=1)
    assert statuses(tracker.part_failed(0, "no_route", "no carrier for +2439")) == ["failed"]
    assert tracker.routed() == []


def test_part_failed_after_some_parts_were_accepted() -> None:
    tracker = RecipientTracker(parts=2)
    tracker.part_accepted(0, "a")
    (change,) = tracker.part_failed(1, "retries_exhausted", "ESME_RTHROTTLED until deadline", 0x58)
    assert change.status == "failed"
    assert change.error == ErrorInfo(
        code="retries_exhausted", smpp_status=0x58, description="ESME_RTHROTTLED until deadline"
    )
    assert change.smsc_ids == ("a",)


def test_abort() -> None:
    tracker = RecipientTracker(parts=1)
    error = ErrorInfo(code="expired", description="expires_at passed before submission")
    assert tracker.abort("expired", error) == [StatusChange(status="expired", error=error)]
    assert tracker.abort("rejected", error) == []


def test_part_index_out_of_range_is_a_programming_error() -> None:
    tracker = RecipientTracker(parts=2)
    with pytest.raises(IndexError):
        tracker.part_accepted(2, "x")
    with pytest.raises(IndexError):
        tracker.receipt(-1, rc("DELIVRD"))


def test_invalid_trackers() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecipientTracker(parts=0)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"parts": 2, "smsc_ids": ["a"]}', type=RecipientTracker)


def test_tracker_serialises_mid_flight() -> None:
    tracker = RecipientTracker(parts=2)
    tracker.routed()
    tracker.receipt(1, rc("UNDELIV", 1))  # held
    tracker.part_accepted(0, "a")
    tracker.receipt(0, rc("DELIVRD", 0))
    copy = msgspec.json.decode(msgspec.json.encode(tracker), type=RecipientTracker)
    assert copy == tracker
    packed = msgspec.msgpack.decode(msgspec.msgpack.encode(tracker), type=RecipientTracker)
    assert packed == tracker
    assert copy.part_accepted(1, "b") == tracker.part_accepted(1, "b")
    assert copy == tracker
    assert tracker.final_status == "undelivered"


def test_combine_receipts() -> None:
    assert combine_receipts([rc("DELIVRD"), rc("DELETED"), rc("UNKNOWN")])[0] == "undelivered"
    assert combine_receipts([rc("REJECTD"), rc("EXPIRED")])[0] == "rejected"
    assert combine_receipts([rc("DELIVRD")])[0] == "delivered"
    with pytest.raises(ValueError, match="not final"):
        combine_receipts([rc("ENROUTE")])
    with pytest.raises(ValueError, match="no receipts"):
        combine_receipts([])
    assert receipt_error(Receipt(message_id="1", stat="UNKNOWN")).description == "UNKNOWN"


# --- interleavings ---------------------------------------------------------------------------

FINAL_STATS = ["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN"]
FINAL = st.sampled_from(FINAL_STATS)
RECEIPTS = st.one_of(
    st.sampled_from(FINAL_STATS).map(lambda stat: (stat, False)),
    st.sampled_from(["ENROUTE", "ACCEPTD"]).map(lambda stat: (stat, False)),
    st.sampled_from(FINAL_STATS).map(lambda stat: (stat, True)),  # intermediate notification
)


@dataclass(frozen=True)
class Event:
    kind: str  # routed | accept | reject | fail | receipt
    part: int = 0
    stat: str = ""
    intermediate: bool = False


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[Event]]:
    parts = draw(st.integers(1, 4))
    events: list[Event] = []
    if draw(st.booleans()):
        events.append(Event("routed"))
    for part in range(parts):
        fate = draw(st.sampled_from(["accept"] * 8 + ["reject", "fail", "none"]))
        if fate != "none":
            events.append(Event(fate, part))
        receipts = draw(st.lists(RECEIPTS, max_size=3))
        if draw(st.integers(0, 9)) < 8:  # most parts do get a final receipt
            receipts.insert(draw(st.integers(0, len(receipts))), (draw(FINAL), False))
        for stat, intermediate in receipts:
            events.append(Event("receipt", part, stat, intermediate))
    order = draw(st.permutations(range(len(events))))
    return parts, [events[i] for i in order]


def apply(tracker: RecipientTracker, event: Event) -> list[StatusChange]:
    if event.kind == "routed":
        return tracker.routed()
    if event.kind == "accept":
        return tracker.part_accepted(event.part, f"smsc{event.part}")
    if event.kind == "reject":
        return tracker.part_rejected(event.part, 0x0B, "ESME_RINVDSTADR")
    if event.kind == "fail":
        return tracker.part_failed(event.part, "retries_exhausted", "gave up")
    receipt = rc(event.stat, event.part, intermediate=event.intermediate)
    return tracker.receipt(event.part, receipt)


@settings(max_examples=500)
@given(scenario=scenarios(), cut=st.integers(0, 40))
def test_any_interleaving_keeps_the_contract_order(
    scenario: tuple[int, list[Event]], cut: int
) -> None:
    parts, events = scenario
    tracker = RecipientTracker(parts=parts)
    emitted: list[StatusChange] = []
    for i, event in enumerate(events):
        if i == cut:  # the daemon may park the tracker in Redis at any point
            tracker = msgspec.json.decode(msgspec.json.encode(tracker), type=RecipientTracker)
        emitted += apply(tracker, event)

    names = statuses(emitted)
    # processing → sent → one final, each at most once, in that order
    rank = {"processing": 0, "sent": 1}
    assert [rank.get(name, 2) for name in names] == sorted({rank.get(n, 2) for n in names})
    assert sum(name not in rank for name in names) <= 1

    # what the final status must be
    first_failure = next((e for e in events if e.kind in ("reject", "fail")), None)
    accepted = {e.part for e in events if e.kind == "accept"}
    first_final: dict[int, str] = {}
    for e in events:
        if e.kind == "receipt" and not e.intermediate and e.stat in FINAL_STATS:
            first_final.setdefault(e.part, e.stat)

    if first_failure is not None:
        assert names[-1] == ("rejected" if first_failure.kind == "reject" else "failed")
        assert "sent" not in names
    elif len(accepted) < parts:
        assert "sent" not in names
        assert names[-1:] in ([], ["processing"])
    elif len(first_final) < parts:
        assert names[-1] == "sent"
    else:
        expected, _ = combine_receipts([rc(first_final[i], i) for i in range(parts)])
        assert names[-2:] == ["sent", expected]
        final = emitted[-1]
        assert final.receipt is not None
        assert (final.error is None) == (expected == "delivered")

    # processing comes first unless a final status came before any routing or acceptance
    first_step = next((e for e in events if e.kind in ("routed", "accept", "reject", "fail")), None)
    if first_step is not None and first_step.kind in ("routed", "accept"):
        assert names[0] == "processing"
    else:
        assert "processing" not in names
    assert tracker.is_final == any(name not in rank for name in names)


# --- the receipt book ------------------------------------------------------------------------

REF = PartRef(message_key="507f1f77bcf86cd799439011", recipient="+243998857000", part=0)
REF2 = PartRef(message_key="507f1f77bcf86cd799439011", recipient="+243998857000", part=1)


def test_book_accept_then_match() -> None:
    book = ReceiptBook()
    assert book.accept(receipt_keys("5f1a9c", "hex_to_dec"), REF, now=0.0) is None
    assert book.match(lookup_keys("6232732", "hex_to_dec"), rc("DELIVRD"), now=1.0) == REF
    assert book.match(lookup_keys("6232733", "hex_to_dec"), rc("ENROUTE"), now=1.0) is None
    assert not book.held  # a non-final unknown receipt is not held


def test_book_auto_mode_both_keys() -> None:
    book = ReceiptBook()
    book.accept(receipt_keys("6232732", "auto"), REF, now=0.0)
    assert book.match(lookup_keys("5F1A9C", "auto"), rc("DELIVRD"), now=1.0) == REF
    assert book.match(lookup_keys("6232732", "auto"), rc("DELIVRD"), now=1.0) == REF


def test_book_holds_early_final_receipts() -> None:
    book = ReceiptBook(held_ttl=60.0)
    early = rc("UNDELIV")
    assert book.match(lookup_keys("6232732", "auto"), early, now=0.0) is None
    assert book.match(lookup_keys("6232732", "auto"), rc("DELIVRD"), now=1.0) is None  # dup
    assert len(book.held) == 1
    assert book.accept(receipt_keys("5f1a9c", "auto"), REF, now=2.0) == early
    assert not book.held
    assert not book.held_index
    assert book.accept(receipt_keys("5f1a9c", "auto"), REF, now=3.0) is None


def test_book_held_receipts_expire() -> None:
    book = ReceiptBook(held_ttl=60.0)
    book.match(["n:1"], rc("DELIVRD"), now=0.0)
    book.match(["n:2"], rc("DELIVRD"), now=30.0)
    book.expire(now=59.9)
    assert list(book.held) == ["n:1", "n:2"]
    book.expire(now=60.0)
    assert list(book.held) == ["n:2"]
    assert book.held_index == {"n:2": "n:2"}
    # past its time but not yet expired: never handed out, and a newer receipt replaces it
    assert book.accept(["n:2"], REF, now=90.0) is None
    book.match(["n:3"], rc("UNDELIV"), now=100.0)
    fresh = rc("DELIVRD")
    assert book.match(["n:3"], fresh, now=160.0) is None
    assert book.accept(["n:3"], REF2, now=161.0) == fresh


def test_book_holds_a_bounded_number() -> None:
    book = ReceiptBook(max_held=3)
    for i in range(5):
        book.match([f"n:{i}", f"n:{i + 100}"], rc("DELIVRD"), now=float(i))
    assert list(book.held) == ["n:2", "n:3", "n:4"]
    assert set(book.held_index) == {"n:2", "n:3", "n:4", "n:102", "n:103", "n:104"}
    assert book.accept(["n:100"], REF, now=5.0) is None  # evicted
    assert book.accept(["n:104"], REF2, now=5.0) is not None


def test_book_refs_expire_and_can_be_forgotten() -> None:
    book = ReceiptBook(ref_ttl=100.0)
    book.accept(["n:1"], REF, now=0.0)
    book.accept(["n:2", "n:3"], REF2, now=50.0)
    assert book.match(["n:1"], rc("DELIVRD"), now=99.0) == REF
    assert book.match(["n:1"], rc("ENROUTE"), now=100.0) is None  # expired, even unswept
    book.expire(now=100.0)
    assert set(book.refs) == {"n:2", "n:3"}
    book.accept(["n:2", "n:3"], REF2, now=120.0)  # accepted again: lives longer
    book.expire(now=160.0)
    assert set(book.refs) == {"n:2", "n:3"}
    book.forget(["n:2", "n:3", "n:404"])
    assert not book.refs


def test_book_validation_and_serialisation() -> None:
    with pytest.raises(ValueError, match="max_held"):
        ReceiptBook(max_held=0)
    with pytest.raises(ValueError, match="positive"):
        ReceiptBook(held_ttl=0)
    book = ReceiptBook()
    book.accept(["n:1"], REF, now=0.0)
    book.match(["n:2", "n:9"], rc("DELIVRD"), now=0.0)
    copy = msgspec.json.decode(msgspec.json.encode(book), type=ReceiptBook)
    assert copy == book
    assert isinstance(copy.held["n:2"], HeldReceipt)


def test_accept_releases_every_receipt_held_under_any_of_its_keys() -> None:
    # Found by test_book_invariants: two receipts held under the two keys of one id.
    book = ReceiptBook(max_held=2, held_ttl=3.0, ref_ttl=4.0)
    book.match(["n:0"], rc("DELIVRD"), now=0.0)
    book.match(["n:1"], rc("DELIVRD"), now=0.0)
    assert book.accept(["n:0", "n:1"], REF, now=0.0) is not None
    assert book.held_index == {}
    assert book.held == {}


@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["accept", "match", "match_final", "expire", "forget"]),
            st.lists(st.integers(0, 6).map(lambda i: f"n:{i}"), min_size=1, max_size=2),
            st.floats(0, 5),
        ),
        max_size=40,
    ),
    max_held=st.integers(1, 4),
)
def test_book_invariants(ops: list[tuple[str, list[str], float]], max_held: int) -> None:
    book = ReceiptBook(max_held=max_held, held_ttl=3.0, ref_ttl=4.0)
    now = 0.0
    for op, keys, step in ops:
        now += step
        if op == "accept":
            held = book.accept(keys, REF, now)
            assert held is None or held.final
            assert not any(key in book.held_index for key in keys)
        elif op in ("match", "match_final"):
            receipt = rc("DELIVRD" if op == "match_final" else "ENROUTE")
            ref = book.match(keys, receipt, now)
            if ref is not None:
                assert any(key in book.refs for key in keys)
        elif op == "expire":
            book.expire(now)
            assert all(entry.expires_at > now for entry in book.held.values())
            assert all(entry.expires_at > now for entry in book.refs.values())
        else:
            book.forget(keys)
        assert len(book.held) <= max_held
        for primary, entry in book.held.items():
            assert entry.keys[0] == primary
            assert entry.receipt.final
            assert all(book.held_index[key] == primary for key in entry.keys)
        assert all(primary in book.held for primary in book.held_index.values())


# --- the pieces together ---------------------------------------------------------------------


def test_daemon_flow_with_an_early_receipt() -> None:
    """Two parts; part 1's receipt overtakes its submit_sm_resp (hex ids, decimal receipts)."""
    mode: Mode = "hex_to_dec"
    book = ReceiptBook()
    tracker = RecipientTracker(parts=2)
    emitted = tracker.routed()

    def on_receipt(short_message: bytes, now: float) -> None:
        receipt = parse_receipt(DeliverSm(esm_class=4, short_message=short_message))
        assert isinstance(receipt, Receipt)
        ref = book.match(lookup_keys(receipt.message_id, mode), receipt, now)
        if ref is not None:
            emitted.extend(tracker.receipt(ref.part, receipt))

    def on_submit_sm_resp(part: int, smsc_id: str, now: float) -> None:
        ref = PartRef(message_key="m1", recipient="+243998857000", part=part)
        held = book.accept(receipt_keys(smsc_id, mode), ref, now)
        emitted.extend(tracker.part_accepted(part, smsc_id))
        if held is not None:
            emitted.extend(tracker.receipt(part, held))

    on_submit_sm_resp(0, "5F1A9C", now=0.0)
    on_receipt(
        b"id:6232733 sub:001 dlvrd:001 submit date:2611261300 done date:2611261300 "
        b"stat:DELIVRD err:000 text:",
        now=0.5,
    )  # part 1's receipt, id still unknown
    on_receipt(b"id:0006232732 stat:ENROUTE", now=0.7)
    on_submit_sm_resp(1, "5f1a9d", now=1.0)
    assert statuses(emitted) == ["processing", "sent"]
    on_receipt(
        b"id:6232732 sub:001 dlvrd:001 submit date:2611261300 done date:2611261301 "
        b"stat:DELIVRD err:000 text:",
        now=2.0,
    )
    assert statuses(emitted) == ["processing", "sent", "delivered"]
    assert emitted[1].smsc_ids == ("5F1A9C", "5f1a9d")
    assert emitted[-1].receipt == {
        "stat": "DELIVRD",
        "err": "000",
        "done_at": "2026-11-26T13:01:00Z",
    }
