"""Concatenation references: distinct per destination while in flight, bounded memory."""

from __future__ import annotations

import pytest

from connector.text import ReferenceAllocator


def test_255_consecutive_references_for_one_destination_are_distinct() -> None:
    allocator = ReferenceAllocator()
    refs = [allocator.allocate("+243998857000") for _ in range(255)]
    assert len(set(refs)) == 255
    assert all(0 <= ref <= 255 for ref in refs)


def test_references_roll_over_after_256() -> None:
    allocator = ReferenceAllocator()
    refs = [allocator.allocate("+243998857000") for _ in range(257)]
    assert len(set(refs[:256])) == 256
    assert refs[256] == refs[0]


def test_references_are_a_counter_not_random() -> None:
    first = ReferenceAllocator()
    second = ReferenceAllocator()
    sequence = ["+1", "+2", "+1", "+3", "+1"]
    assert [first.allocate(d) for d in sequence] == [second.allocate(d) for d in sequence]
    allocator = ReferenceAllocator()
    start = allocator.allocate("+1")
    assert [allocator.allocate("+1") for _ in range(3)] == [start + 1, start + 2, start + 3]


def test_each_destination_has_its_own_counter() -> None:
    allocator = ReferenceAllocator()
    a = [allocator.allocate("+1") for _ in range(3)]
    allocator.allocate("+2")
    assert allocator.allocate("+1") == a[-1] + 1


def test_16bit_references_cover_0_to_65535() -> None:
    allocator = ReferenceAllocator(ref_16bit=True)
    assert allocator.ref_16bit
    refs = [allocator.allocate("+1") for _ in range(65536)]
    assert sorted(refs) == list(range(65536))


def test_memory_is_bounded_least_recently_used_evicted() -> None:
    allocator = ReferenceAllocator(max_destinations=3)
    for destination in ("+1", "+2", "+3"):
        allocator.allocate(destination)
    after_one = allocator.allocate("+1")  # +1 is now the most recently used
    allocator.allocate("+4")  # evicts +2
    assert len(allocator) == 3
    assert allocator.allocate("+1") == after_one + 1  # +1 kept its counter
    for _ in range(10_000):
        allocator.allocate(f"+{_}")
    assert len(allocator) == 3


def test_a_returning_destination_does_not_restart_at_zero() -> None:
    allocator = ReferenceAllocator(max_destinations=1)
    first = allocator.allocate("+1")
    allocator.allocate("+2")  # evicts +1
    assert allocator.allocate("+1") != first


def test_max_destinations_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_destinations"):
        ReferenceAllocator(max_destinations=0)


def test_many_evictions_keep_the_most_recent_destinations_and_their_counters() -> None:
    """A long run of new destinations (each evicting one) keeps exactly the last
    `max_destinations` used, a re-used one moving to the back, its counter intact."""
    allocator = ReferenceAllocator(max_destinations=3)
    assert allocator.allocate("+243990000000") == 0
    for n in range(1, 1000):
        allocator.allocate(f"+24399{n:07d}")
        if n % 2 == 0:
            allocator.allocate("+243990000000")  # used again: never the least recent
    assert len(allocator) == 3
    kept = list(allocator._counters)
    assert kept == ["+243990000998", "+243990000000", "+243990000999"]
    assert allocator._counters["+243990000000"] == 500 % 256  # 1 + 499 re-uses, never reset
