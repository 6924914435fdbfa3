"""Smart encoding: look-alikes mapped to GSM-7, and what still forces UCS-2 reported."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.text import EmptyMessage, UnencodableText, plan
from connector.text.gsm7 import is_gsm7
from connector.text.lookalikes import LOOKALIKES, smart_map

FRENCH = "L’offre expire à minuit — répondez « OUI » pour l’activer… Merci !"


def test_french_text_with_curly_quotes_stays_gsm7_and_costs_half() -> None:
    text = FRENCH * 2
    smart = plan(text, smart=True)
    plain = plan(text)
    assert smart.encoding == "gsm7"
    assert smart.ucs2_forced_by == ()
    assert plain.encoding == "ucs2"
    assert plain.ucs2_forced_by == ("’", "—", "«", "»", "…")
    assert (smart.billed_parts, plain.billed_parts) == (1, 2)
    assert smart.text.startswith("L'offre expire à minuit - répondez \" OUI \" pour l'activer...")


def test_smart_reports_only_the_characters_that_still_force_ucs2_in_order() -> None:
    result = plan("“Ça” coûte 5 € — 😀 ok 😀 ça", smart=True)
    assert result.encoding == "ucs2"
    assert result.ucs2_forced_by == ("û", "😀", "ç")


def test_ucs2_fallback_sends_the_original_text_unchanged() -> None:
    text = "“Bonjour” 😀…"
    result = plan(text, smart=True)
    assert result.encoding == "ucs2"
    assert result.text == text
    assert result.parts[0].short_message == text.encode("utf-16-be")


def test_smart_forced_gsm7_rejects_what_mapping_cannot_fix() -> None:
    assert plan("“ok”", smart=True, encoding="gsm7").text == '"ok"'
    with pytest.raises(UnencodableText) as info:
        plan("“ok” 😀", smart=True, encoding="gsm7")
    assert info.value.characters == ("😀",)


def test_smart_is_ignored_when_ucs2_is_forced() -> None:
    assert plan("“ok”", smart=True, encoding="ucs2").text == "“ok”"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("‘a’ ‚b‛", "'a' 'b'"),
        ("“a” „b‟", '"a" "b"'),
        ("«a» ‹b›", "\"a\" 'b'"),
        ("a–b—c‐d‑e‒f―g−h", "a-b-c-d-e-f-g-h"),
        ("wait…", "wait..."),
        ("a\u00a0b\u202fc\u2009d\u3000e\tf", "a b c d e f"),
        ("a\u200bb\u200dc\ufeffd\u00ade\u2060", "abcde"),
        ("• one", "- one"),
        ("5′ 6″", "5' 6\""),
        ("ＡＢＣ１２３！", "ABC123!"),
        ("`tick`", "'tick'"),
        ("ng’ombe", "ng'ombe"),
        ("e\u0301te\u0301", "été"),  # NFD recomposed to the GSM-7 é
        ("ʼ ´", "' '"),
        ("1⁄2 2×3", "1/2 2x3"),
        ("line\u2028next", "line\nnext"),
    ],
)
def test_lookalikes_map_to_gsm7(text: str, expected: str) -> None:
    assert smart_map(text) == expected
    result = plan(text, smart=True)
    assert result.encoding == "gsm7"
    assert result.text == expected


def test_smart_never_changes_letters() -> None:
    assert smart_map("ça, être, naïve, Œuvre") == "ça, être, naïve, Œuvre"
    assert plan("ça", smart=True).ucs2_forced_by == ("ç",)


def test_every_lookalike_maps_to_gsm7_characters() -> None:
    for code, replacement in LOOKALIKES.items():
        assert replacement is None or is_gsm7(replacement), (hex(code), replacement)


def test_ascii_text_without_lookalikes_is_returned_as_is() -> None:
    text = "Your code is 123456"
    assert smart_map(text) is text


def test_nothing_left_after_removing_invisibles_is_an_empty_message() -> None:
    with pytest.raises(EmptyMessage):
        plan("\u200b\u200d", smart=True)
    assert plan("\u200b\u200d").encoding == "ucs2"  # without smart it is sent as written


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_smart_mapping_never_adds_non_gsm7_characters(text: str) -> None:
    mapped = smart_map(text)
    assert {ch for ch in mapped if not is_gsm7(ch)} <= {
        ch for ch in unicodedata.normalize("NFC", text) if not is_gsm7(ch)
    }
