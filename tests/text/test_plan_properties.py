"""Segmentation properties over texts from many alphabets (hypothesis).

For every text: the parts decode and join back to the planned text, each part is within its
limit, no escape sequence or surrogate pair is split, the part count is the minimum an exact
dynamic programme finds, and GSM-7 septets agree with the `gsm0338` codec from PyPI.
"""

from __future__ import annotations

import codecs
import importlib
import itertools
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import constants as c
from connector.text import count_parts, decode_short_message, plan
from connector.text.gsm7 import (
    ESC,
    EXTENSION_CHARACTERS,
    GSM7_CHARACTERS,
    LATIN1_GSM7_CHARACTERS,
    encode_septets,
    pack_septets,
    unpack_septets,
)
from connector.text.lookalikes import smart_map
from connector.text.segment import Plan, split_septets, split_utf16
from connector.text.udh import UserDataHeader, parse_udh

importlib.import_module("gsm0338")  # registers the "gsm03.38" codec

GSM7 = "".join(sorted(GSM7_CHARACTERS))
EXTENSION = "".join(sorted(EXTENSION_CHARACTERS))
FRENCH = "abcdefghijklmnopqrstuvwxyz ,.'!?àâæçéèêëîïôœùûüÿÀÂÇÉÈÊËÎÏÔŒÙÛÜ«»’“”–—…\u00a0\u202f"
LINGALA = "abdefgikmnoprstuwyzɛɔƐƆáéíóúɛ́ɔ́âêîôû ,.'"
SWAHILI = "abcdefghijklmnoprstuvwyz ,.’'?!ng’"
LATIN = "".join(chr(i) for i in range(0xA0, 0x180))
ARABIC = "".join(chr(i) for i in range(0x0621, 0x064B)) + " ،؟"
CJK = "".join(chr(i) for i in range(0x4E00, 0x4E00 + 300)) + "，。"
EMOJI = "😀😂🥰👍🏽🇨🇩❤️‍🔥👨‍👩‍👧✅🎉" + "".join(chr(i) for i in range(0x1F300, 0x1F340))

ALPHABETS = {
    "gsm7": GSM7,
    "gsm7_escapes": "ab " + EXTENSION,
    "french": FRENCH,
    "lingala": LINGALA,
    "swahili": SWAHILI,
    "latin": LATIN,
    "arabic": ARABIC,
    "cjk": CJK,
    "emoji": EMOJI,
}


@st.composite
def texts(draw: st.DrawFn, max_size: int = 2000) -> str:
    """A text of 0..max_size characters from one to three of the alphabets above."""
    names = draw(st.lists(st.sampled_from(sorted(ALPHABETS)), min_size=1, max_size=3))
    alphabet = "".join(ALPHABETS[name] for name in names)
    size = draw(st.one_of(st.integers(0, 40), st.integers(0, max_size)))
    return draw(st.text(st.sampled_from(alphabet), min_size=size, max_size=size))


def nonempty_texts(max_size: int = 2000) -> st.SearchStrategy[str]:
    """Texts with something left once smart encoding drops invisibles (else: empty_message)."""
    return texts(max_size).filter(lambda text: bool(smart_map(text)))


OPTIONS = st.fixed_dictionaries(
    {
        "concat": st.sampled_from(["udh", "sar", "payload"]),
        "gsm7_form": st.sampled_from(["unpacked", "packed", "latin1"]),
        "reference_16bit": st.booleans(),
        "smart": st.booleans(),
    }
)


def _limits(result: Plan) -> tuple[int, int]:
    if result.encoding == "gsm7":
        return 160, 152 if result.reference_16bit else 153
    return 70, 66 if result.reference_16bit else 67


def _weights(result: Plan) -> list[int]:
    """Units each character of the planned text costs: septets or UTF-16 units."""
    if result.encoding == "gsm7":
        return [2 if ch in EXTENSION_CHARACTERS else 1 for ch in result.text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in result.text]


def minimum_parts(weights: list[int], single: int, limit: int) -> int:
    """Exact fewest parts: dp[i] = 1 + min dp[j] over j whose run (j, i] fits `limit`.

    The window of valid j only moves right as i grows, so a monotone deque gives its minimum.
    """
    if sum(weights) <= single:
        return 1
    dp = [0] * (len(weights) + 1)
    window: deque[int] = deque([0])
    lo = 0
    run = 0
    for i in range(1, len(weights) + 1):
        run += weights[i - 1]
        while run > limit:
            run -= weights[lo]
            lo += 1
        while window and window[0] < lo:
            window.popleft()
        dp[i] = 1 + dp[window[0]]
        while window and dp[window[-1]] >= dp[i]:
            window.pop()
        window.append(i)
    return dp[-1]


def _decode_part(result: Plan, payload: bytes, udhi: bool) -> str:
    if result.gsm7_form == "latin1" and result.encoding == "gsm7":
        return decode_short_message(0x03, payload, udhi=udhi).text
    packed = result.gsm7_form == "packed"
    return decode_short_message(
        result.data_coding, payload, udhi=udhi, gsm7_packed=packed and result.encoding == "gsm7"
    ).text


def _body(result: Plan, short_message: bytes) -> bytes:
    """The part's octets after its UDH, if any."""
    if result.esm_class & c.ESM_CLASS_UDHI:
        header, rest = parse_udh(short_message)
        assert isinstance(header, UserDataHeader), header
        return rest
    return short_message


@given(text=nonempty_texts(), options=OPTIONS)
@settings(max_examples=600)
def test_parts_decode_and_join_back_to_the_planned_text(
    text: str, options: dict[str, object]
) -> None:
    result = plan(text, max_parts=255, **options)  # type: ignore[arg-type]
    packed = result.gsm7_form == "packed" and result.encoding == "gsm7"
    if result.concat == "payload" and result.billed_parts > 1:
        (part,) = result.parts
        assert part.short_message == b""
        payload = part.tlvs[c.TAG_MESSAGE_PAYLOAD]
        assert isinstance(payload, bytes)
        decoded = _decode_part(result, payload, udhi=False)
        if packed:
            expected = _packed_reading(result.text, result.units, 0, None)
            assert decoded == expected
        else:
            assert decoded == result.text
    else:
        udhi = bool(result.esm_class & c.ESM_CLASS_UDHI)
        for n, part in enumerate(result.parts, start=1):
            decoded = _decode_part(result, part.short_message, udhi)
            if packed:
                fill, room = _packed_layout(result)
                last = n == len(result.parts)
                expected = _packed_reading(part.text, part.units, fill, room, last=last)
                assert decoded == expected
            else:
                assert decoded == part.text
    assert "".join(part.text for part in result.parts) == result.text


def _packed_layout(result: Plan) -> tuple[int, int]:
    """Fill bits before a part's packed septets and the septets it may hold."""
    single, limit = _limits(result)
    if result.billed_parts == 1:
        return 0, single
    if result.concat == "udh":
        return (0 if result.reference_16bit else 1), limit
    return 0, limit


def _packed_reading(
    text: str, septets: int, fill: int, room: int | None, *, last: bool = True
) -> str:
    """What a receiver reads of packed GSM-7 `text` (23.038 §6.1.2.3.1): a CR ending exactly
    on an octet boundary would pass for the padding of 7 spare bits, so the sender adds a
    second CR when the part has room; a full last part has none and its CR is lost (any other
    part ending like that is a splitting bug)."""
    if not (text.endswith("\r") and (fill + 7 * septets) % 8 == 0):
        return text
    if room is None or septets < room:
        return text + "\r"
    assert last, "a full part that is not the last ends on a CR at an octet boundary"
    return text[:-1]


@given(
    text=st.text(st.sampled_from("a\r€"), min_size=1, max_size=700),
    concat=st.sampled_from(["udh", "sar", "payload"]),
    reference_16bit=st.booleans(),
)
@settings(max_examples=400)
def test_packed_parts_keep_every_cr_and_count_as_priced(
    text: str, concat: str, reference_16bit: bool
) -> None:
    """Texts dense in CRs and escapes, packed: every CR is read back (doubled where the spec
    adds one), part by part, and the price is the plan's part count."""
    options: dict[str, object] = {
        "gsm7_form": "packed",
        "concat": concat,
        "reference_16bit": reference_16bit,
    }
    result = plan(text, max_parts=255, **options)  # type: ignore[arg-type]
    assert count_parts(text, max_parts=255, **options) == result.billed_parts  # type: ignore[arg-type]
    if concat == "payload" and result.billed_parts > 1:
        payload = result.parts[0].tlvs[c.TAG_MESSAGE_PAYLOAD]
        assert isinstance(payload, bytes)
        decoded = _decode_part(result, payload, udhi=False)
        assert decoded == _packed_reading(text, result.units, 0, None)
        return
    fill, room = _packed_layout(result)
    udhi = bool(result.esm_class & c.ESM_CLASS_UDHI)
    for n, part in enumerate(result.parts, start=1):
        assert len(part.short_message) <= 140
        decoded = _decode_part(result, part.short_message, udhi)
        last = n == len(result.parts)
        assert decoded == _packed_reading(part.text, part.units, fill, room, last=last)


@given(text=nonempty_texts(), options=OPTIONS)
@settings(max_examples=600)
def test_each_part_is_within_its_limit_and_splits_no_character(
    text: str, options: dict[str, object]
) -> None:
    result = plan(text, max_parts=255, **options)  # type: ignore[arg-type]
    single, limit = _limits(result)
    if result.billed_parts == 1:
        assert result.units <= single
        assert result.part_lengths == (len(result.text),)
    assert sum(result.part_lengths) == len(result.text)
    assert len(result.part_lengths) == result.billed_parts
    if result.concat == "payload" and result.billed_parts > 1:
        return
    for part in result.parts:
        assert part.units <= (single if result.billed_parts == 1 else limit)
        body = _body(result, part.short_message)
        if result.encoding == "ucs2":
            assert len(body) == 2 * part.units
            assert body == part.text.encode("utf-16-be")  # no half surrogate pair either side
            assert len(part.short_message) <= 140
        elif result.gsm7_form == "unpacked":
            assert body == encode_septets(part.text)
            assert body[-1] != ESC
        elif result.gsm7_form == "packed":
            assert len(part.short_message) <= 140
        else:
            assert body == part.text.encode("latin-1")
        # The septet/unit cost of the part's own characters is what it reports.
        weights = [2 if ch in EXTENSION_CHARACTERS else 1 for ch in part.text]
        if result.encoding == "ucs2":
            weights = [2 if ord(ch) > 0xFFFF else 1 for ch in part.text]
        assert sum(weights) == part.units


@given(text=nonempty_texts(), ref_16bit=st.booleans(), smart=st.booleans())
@settings(max_examples=800)
def test_part_count_is_the_minimum_possible(text: str, ref_16bit: bool, smart: bool) -> None:
    result = plan(text, max_parts=255, reference_16bit=ref_16bit, smart=smart)
    single, limit = _limits(result)
    assert result.billed_parts == minimum_parts(_weights(result), single, limit)
    for concat in ("udh", "sar", "payload"):
        counted = count_parts(text, reference_16bit=ref_16bit, smart=smart, concat=concat)
        assert counted == result.billed_parts


@given(text=st.text(st.sampled_from(GSM7), min_size=1, max_size=2000), ref_16bit=st.booleans())
@settings(max_examples=400)
def test_gsm7_septets_agree_with_the_gsm0338_codec(text: str, ref_16bit: bool) -> None:
    result = plan(text, max_parts=255, reference_16bit=ref_16bit)
    assert result.encoding == "gsm7"
    assert result.data_coding == 0x00
    assert encode_septets(text) == codecs.encode(text, "gsm03.38")
    for part in result.parts:
        body = _body(result, part.short_message)
        assert body == codecs.encode(part.text, "gsm03.38")
        assert codecs.decode(body, "gsm03.38") == part.text


@given(text=st.text(st.sampled_from(GSM7), min_size=1, max_size=600), ref_16bit=st.booleans())
@settings(max_examples=300)
def test_packed_parts_hold_the_septets_after_the_udh_fill_bits(text: str, ref_16bit: bool) -> None:
    result = plan(text, max_parts=255, gsm7_form="packed", reference_16bit=ref_16bit)
    fill, room = _packed_layout(result)
    for part in result.parts:
        septets = encode_septets(part.text)
        # The spec's second CR after a CR that ends exactly on an octet boundary (see
        # _packed_reading), where the part has room for it.
        if septets.endswith(b"\r") and (fill + 7 * len(septets)) % 8 == 0 and len(septets) < room:
            septets += b"\r"
        if result.billed_parts == 1:
            assert part.short_message == pack_septets(septets)
            assert unpack_septets(part.short_message, 0, len(septets)) == septets
            continue
        udh_octets = 7 if ref_16bit else 6
        body = part.short_message[udh_octets:]
        assert unpack_septets(body, fill, len(septets)) == septets
        assert len(part.short_message) == udh_octets + (fill + 7 * len(septets) + 7) // 8


@given(text=nonempty_texts(400), options=OPTIONS)
@settings(max_examples=300)
def test_gsm7_is_chosen_exactly_when_every_character_has_a_gsm7_form(
    text: str, options: dict[str, object]
) -> None:
    result = plan(text, max_parts=255, **options)  # type: ignore[arg-type]
    allowed = LATIN1_GSM7_CHARACTERS if options["gsm7_form"] == "latin1" else GSM7_CHARACTERS
    if result.encoding == "gsm7":
        assert set(result.text) <= allowed
        assert result.ucs2_forced_by == ()
    else:
        assert result.text == text  # UCS-2 carries the input exactly, smart or not
        assert result.ucs2_forced_by
        assert len(set(result.ucs2_forced_by)) == len(result.ucs2_forced_by)
        assert all(ch not in allowed for ch in result.ucs2_forced_by)


@given(
    text=nonempty_texts(600), reference=st.integers(0, 255), concat=st.sampled_from(["udh", "sar"])
)
@settings(max_examples=200)
def test_with_reference_equals_planning_with_that_reference(
    text: str, reference: int, concat: str
) -> None:
    base = plan(text, max_parts=255, concat=concat)  # type: ignore[arg-type]
    assert base.with_reference(reference) == plan(
        text,
        max_parts=255,
        concat=concat,  # type: ignore[arg-type]
        reference=reference,
    )


# --- greedy against exhaustive search on small limits -------------------------------------


def _exhaustive_minimum(weights: list[int], limit: int) -> int:
    """Fewest parts by trying every set of cut points between characters."""
    n = len(weights)
    for parts in range(1, n + 1):
        for cuts in itertools.combinations(range(1, n), parts - 1):
            bounds = (0, *cuts, n)
            if all(sum(weights[a:b]) <= limit for a, b in itertools.pairwise(bounds)):
                return parts
    raise AssertionError("unreachable: one character per part always fits")


SMALL_GSM = "ab€{}"
SMALL_UCS2 = "жя😀🎉"


@given(text=st.text(st.sampled_from(SMALL_GSM), min_size=1, max_size=12), limit=st.integers(2, 6))
@settings(max_examples=500)
def test_greedy_septet_split_matches_the_exhaustive_minimum(text: str, limit: int) -> None:
    septets = encode_septets(text)
    ends = split_septets(septets, limit)
    starts = [0, *ends[:-1]]
    assert ends[-1] == len(septets)
    for start, end in zip(starts, ends, strict=True):
        assert 0 < end - start <= limit
        assert septets[end - 1] != ESC  # an escape never ends a part
    weights = [2 if ch in EXTENSION_CHARACTERS else 1 for ch in text]
    assert len(ends) == _exhaustive_minimum(weights, limit)


@given(text=st.text(st.sampled_from(SMALL_UCS2), min_size=1, max_size=12), limit=st.integers(2, 6))
@settings(max_examples=500)
def test_greedy_utf16_split_matches_the_exhaustive_minimum(text: str, limit: int) -> None:
    octets = text.encode("utf-16-be")
    ends = split_utf16(octets, limit)
    starts = [0, *ends[:-1]]
    assert ends[-1] == len(octets)
    for start, end in zip(starts, ends, strict=True):
        assert 0 < (end - start) // 2 <= limit
        octets[start:end].decode("utf-16-be")  # strict: raises on a split surrogate pair
    weights = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    assert len(ends) == _exhaustive_minimum(weights, limit)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([1] * 10, 4), ([2, 1, 2, 1, 2], 3), ([1, 2, 2, 2], 3), ([2] * 5, 5)],
)
def test_minimum_parts_reference_agrees_with_exhaustive_search(
    weights: list[int], expected: int
) -> None:
    assert minimum_parts(weights, 0, 3) == expected == _exhaustive_minimum(weights, 3)
