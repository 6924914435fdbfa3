"""Framer: any chunking of a PDU stream yields the same frames; bad lengths are fatal."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.smpp.codec import DEFAULT_MAX_COMMAND_LENGTH, encode
from connector.smpp.errors import PduError
from connector.smpp.framing import Framer

SEQUENCES = st.integers(1, 0x7FFFFFFF)
ADDRESSES = st.text(st.characters(min_codepoint=0x30, max_codepoint=0x39), max_size=20)

PDUS: st.SearchStrategy[p.Pdu] = st.one_of(
    st.builds(p.EnquireLink, sequence_number=SEQUENCES),
    st.builds(p.EnquireLinkResp, sequence_number=SEQUENCES),
    st.builds(
        p.SubmitSm,
        sequence_number=SEQUENCES,
        source_addr=ADDRESSES,
        destination_addr=ADDRESSES,
        short_message=st.binary(max_size=254),
    ),
    st.builds(
        p.DeliverSm,
        sequence_number=SEQUENCES,
        short_message=st.binary(max_size=40),
        tlvs=st.builds(lambda payload: {c.TAG_MESSAGE_PAYLOAD: payload}, st.binary(max_size=1500)),
    ),
    st.builds(p.SubmitSmResp, sequence_number=SEQUENCES, message_id=ADDRESSES),
)
FRAMES = PDUS.map(encode)


def _header(length: int, command_id: int = c.ENQUIRE_LINK, seq: int = 9) -> bytes:
    return struct.pack(">IIII", length, command_id, 0, seq)


def _frame(seq: int, body: bytes = b"", command_id: int = c.ENQUIRE_LINK) -> bytes:
    return _header(16 + len(body), command_id, seq) + body


def _feed_all(framer: Framer, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out


# --------------------------------------------------------------------------------- chunking


@settings(max_examples=25)
@given(st.lists(FRAMES, min_size=1, max_size=6))
def test_stream_fed_one_byte_at_a_time_yields_every_frame_in_order(frames: list[bytes]) -> None:
    stream = b"".join(frames)
    framer = Framer()
    got = _feed_all(framer, [stream[i : i + 1] for i in range(len(stream))])
    assert got == frames
    assert framer.buffered == 0
    assert framer.error is None


@settings(max_examples=150)
@given(frames=st.lists(FRAMES, min_size=1, max_size=20), data=st.data())
def test_stream_split_at_random_points_yields_every_frame_in_order(
    frames: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=40)))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    framer = Framer()
    assert _feed_all(framer, chunks) == frames
    assert framer.buffered == 0


@settings(max_examples=50)
@given(st.lists(FRAMES, min_size=1, max_size=30))
def test_whole_stream_in_one_chunk_yields_every_frame_in_order(frames: list[bytes]) -> None:
    framer = Framer()
    got = framer.feed(b"".join(frames))
    assert got == frames
    assert all(type(frame) is bytes for frame in got)
    assert framer.buffered == 0


def test_many_pdus_per_chunk_with_a_frame_straddling_chunks() -> None:
    frames = [_frame(seq, bytes([seq]) * seq) for seq in range(1, 8)]
    stream = b"".join(frames)
    cut = len(b"".join(frames[:3])) + 5  # three whole frames and 5 octets of the fourth
    framer = Framer()
    assert framer.feed(stream[:cut]) == frames[:3]
    assert framer.buffered == 5
    assert framer.feed(stream[cut:]) == frames[3:]
    assert framer.buffered == 0


def test_empty_chunk_yields_nothing_and_keeps_the_buffer() -> None:
    framer = Framer()
    assert framer.feed(b"") == []
    assert framer.feed(b"\x00\x00") == []
    assert framer.feed(b"") == []
    assert framer.buffered == 2


@pytest.mark.parametrize("held", [1, 3, 4, 15, 16, 20])
def test_partial_frame_stays_buffered_until_complete(held: int) -> None:
    frame = _frame(3, b"x" * 8)
    framer = Framer()
    assert framer.feed(frame[:held]) == []
    assert framer.buffered == held
    assert framer.feed(frame[held:]) == [frame]
    assert framer.buffered == 0


def test_header_only_frame_is_a_whole_frame() -> None:
    framer = Framer()
    assert framer.feed(_frame(1) + _frame(2)) == [_frame(1), _frame(2)]


# --------------------------------------------------------------------------- bad lengths


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_16_raises_fatal_error_as_soon_as_it_is_read(length: int) -> None:
    framer = Framer()
    with pytest.raises(PduError) as info:
        framer.feed(struct.pack(">I", length))
    assert info.value.fatal
    assert info.value.command_status == c.ESME_RINVCMDLEN
    assert framer.error is info.value


@pytest.mark.parametrize(
    "length", [DEFAULT_MAX_COMMAND_LENGTH + 1, 0x7FFFFFFF, 0xFFFFFFFF], ids=hex
)
def test_command_length_above_max_raises_fatal_error_without_waiting_for_the_body(
    length: int,
) -> None:
    framer = Framer()
    with pytest.raises(PduError) as info:
        framer.feed(struct.pack(">I", length))  # a "4 GiB" PDU is refused on its first 4 octets
    assert info.value.fatal
    assert info.value.command_status == c.ESME_RINVCMDLEN
    assert framer.buffered == 0


def test_command_length_of_exactly_the_default_max_is_accepted() -> None:
    frame = _frame(5, b"\x00" * (DEFAULT_MAX_COMMAND_LENGTH - 16))
    framer = Framer()
    assert framer.feed(frame[:100]) == []
    assert framer.feed(frame[100:]) == [frame]


def test_bad_length_error_carries_command_id_and_sequence_number_when_read() -> None:
    framer = Framer()
    with pytest.raises(PduError) as info:
        framer.feed(_header(0xFFFFFFFF, c.SUBMIT_SM, 4242))
    assert info.value.command_id == c.SUBMIT_SM
    assert info.value.sequence_number == 4242


@pytest.mark.parametrize("bad", [_header(8), _header(0xFFFFFFFF), struct.pack(">I", 3)])
def test_frames_before_a_bad_length_in_the_same_chunk_are_returned_first(bad: bytes) -> None:
    good = [_frame(1), _frame(2, b"abc")]
    framer = Framer()
    assert framer.feed(b"".join(good) + bad) == good
    assert framer.error is not None
    assert framer.error.fatal
    assert framer.error.command_status == c.ESME_RINVCMDLEN


def test_frame_completed_by_the_chunk_holding_a_bad_length_is_returned_first() -> None:
    good = _frame(1, b"hello")
    framer = Framer()
    assert framer.feed(good[:7]) == []
    assert framer.feed(good[7:] + _header(2)) == [good]
    assert framer.error is not None


@pytest.mark.parametrize("first_returned_frames", [True, False])
def test_every_feed_after_a_bad_length_re_raises_the_error(first_returned_frames: bool) -> None:
    framer = Framer()
    prefix = _frame(1) if first_returned_frames else b""
    if first_returned_frames:
        assert framer.feed(prefix + _header(0xFFFFFFFF)) == [prefix]
    else:
        with pytest.raises(PduError):
            framer.feed(_header(0xFFFFFFFF))
    error = framer.error
    assert error is not None
    for chunk in (b"", _frame(2), _frame(3) + _frame(4)):
        with pytest.raises(PduError) as info:
            framer.feed(chunk)
        assert info.value is error


def test_custom_max_command_length_is_honoured() -> None:
    framer = Framer(max_command_length=100)
    ok = _frame(1, b"a" * 84)
    assert framer.feed(ok) == [ok]
    with pytest.raises(PduError) as info:
        framer.feed(_frame(2, b"a" * 85))
    assert info.value.fatal
    assert info.value.command_status == c.ESME_RINVCMDLEN


def test_custom_max_command_length_above_the_default_is_honoured() -> None:
    frame = _frame(1, b"a" * DEFAULT_MAX_COMMAND_LENGTH)
    assert Framer(max_command_length=200_000).feed(frame) == [frame]
    with pytest.raises(PduError):
        Framer().feed(frame)


def test_max_command_length_below_the_header_size_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Framer(max_command_length=15)
    assert Framer(max_command_length=16).feed(_frame(1)) == [_frame(1)]


# ---------------------------------------------------------------------------------- fuzzing


@settings(max_examples=300)
@given(
    stream=st.binary(max_size=600),
    data=st.data(),
    limit=st.sampled_from([16, 64, 300, DEFAULT_MAX_COMMAND_LENGTH]),
)
def test_random_bytes_in_random_chunks_raise_only_fatal_pdu_error(
    stream: bytes, data: st.DataObject, limit: int
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    bounds = [0, *cuts, len(stream)]
    framer = Framer(max_command_length=limit)
    frames: list[bytes] = []
    errors: list[PduError] = []
    for a, b in itertools.pairwise(bounds):
        try:
            frames += framer.feed(stream[a:b])
        except PduError as exc:
            errors.append(exc)
    for error in errors:
        assert error.fatal
        assert error.command_status == c.ESME_RINVCMDLEN
        assert error is framer.error
    failed = bool(errors)
    joined = b"".join(frames)
    assert stream.startswith(joined)
    for frame in frames:
        assert 16 <= len(frame) <= limit
        assert int.from_bytes(frame[:4], "big") == len(frame)
    if not failed:
        assert len(joined) + framer.buffered == len(stream)
