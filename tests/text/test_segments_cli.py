"""`smpp-connector segments`: human and JSON output, stdin, errors with exit 1."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from connector.cli import main


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = capsys.readouterr().out
    value = json.loads(out)
    assert isinstance(value, dict)
    return value


def test_human_output_names_encoding_parts_and_lengths(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "a" * 161]) == 0
    out = capsys.readouterr().out
    assert "encoding: GSM-7 (data_coding 0x00)" in out
    assert "parts: 2" in out
    assert "characters per part: 153, 8" in out
    assert "forced UCS-2" not in out


def test_human_output_lists_what_forced_ucs2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "Merci ç 😀 ç"]) == 0
    out = capsys.readouterr().out
    assert "encoding: UCS-2 (data_coding 0x08)" in out
    assert "forced UCS-2: 'ç' U+00E7, '😀' U+1F600" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--json", "x" * 100 + "€" * 40]) == 0
    report = _json(capsys)
    assert report["encoding"] == "gsm7"
    assert report["data_coding"] == 0
    assert report["parts"] == 2
    assert report["part_lengths"] == [126, 14]
    assert report["ucs2_forced_by"] == []


def test_json_smart_and_encoding_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--json", "--smart", "“Oui” — merci…"]) == 0
    report = _json(capsys)
    assert (report["encoding"], report["text"]) == ("gsm7", '"Oui" - merci...')
    assert main(["segments", "--json", "--encoding", "ucs2", "hello"]) == 0
    report = _json(capsys)
    assert (report["encoding"], report["data_coding"]) == ("ucs2", 8)
    assert report["ucs2_forced_by"] == []


def test_carrier_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--json", "--gsm7-form", "latin1", "5€"]) == 0
    report = _json(capsys)
    assert (report["encoding"], report["ucs2_forced_by"]) == ("ucs2", ["€"])
    assert main(["segments", "--json", "--concat", "payload", "a" * 200]) == 0
    report = _json(capsys)
    assert (report["parts"], report["submit_sm"]) == (2, 1)


def test_human_output_shows_one_pdu_for_payload_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--concat", "payload", "a" * 200]) == 0
    out = capsys.readouterr().out
    assert "parts: 2" in out
    assert "submit_sm PDUs: 1 (message_payload)" in out


def test_too_many_parts_exits_1_with_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--max-parts", "2", "a" * 400]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "message_too_long" in captured.err
    assert "3 parts" in captured.err


def test_json_error_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "--json", "--encoding", "gsm7", "Привет"]) == 1
    report = _json(capsys)
    assert report["error"] == "invalid_message"
    assert "GSM-7" in str(report["message"])
    assert main(["segments", "--json", ""]) == 1
    assert _json(capsys)["error"] == "empty_message"


def test_invalid_max_parts_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["segments", "--max-parts", "256", "hi"])
    assert info.value.code == 2
    assert "1..255" in capsys.readouterr().err


def test_dash_reads_stdin_as_utf8(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO("L’été {ok}\n".encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["segments", "--json", "--smart", "-"]) == 0
    report = _json(capsys)
    assert report["text"] == "L'été {ok}"  # the one trailing newline is dropped


def test_stdin_that_is_not_utf8_is_an_invalid_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe"), encoding="utf-8"))
    assert main(["segments", "-"]) == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_subprocess_reads_stdin_dash() -> None:
    text = "Mbote 😀 «ndeko»\r\n"
    proc = subprocess.run(
        [sys.executable, "-m", "connector.cli", "segments", "-", "--json"],
        input=text.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["encoding"] == "ucs2"
    assert report["part_lengths"] == [len("Mbote 😀 «ndeko»")]
    assert report["ucs2_forced_by"] == ["😀", "«", "»"]
