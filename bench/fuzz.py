"""Coverage-guided fuzzing of what a carrier's bytes reach first: the PDU framer and decoder,
and the delivery receipt parser.

    .venv/bin/python bench/fuzz.py --inputs 200000 [--seed N] [--engine auto|atheris|hypothesis]

With atheris (libFuzzer, coverage-guided over the instrumented `connector.smpp` and
`connector.domain.receipts`), else hypothesis with that many examples. Each input's first octet
picks a target:

0. `codec.decode` (the C fast path when built) of the input as one frame (its command_length
   made to match): it raises nothing but PduError, and agrees with the pure Python decoder
   (same PDU, or both PduError);
1. `codec.decode_python` of the input as it is;
2. `Framer.feed` of the input in chunks (sizes from the input), then `decode` of every frame;
3. `parse_receipt` of a deliver_sm / data_sm built from the input (esm_class, data_coding,
   short_message or message_payload, receipted_message_id and message_state TLVs): it never
   raises and returns a Receipt or a ReceiptParseError;
4. `parse_receipt` of whatever deliver_sm / data_sm the input decodes to.

The seed corpus is valid PDUs of every kind and the receipts of tests/domain/receipt_corpus.py.
A broken rule is a crash: the input is saved (atheris: `crash-*` under --artifacts) and the
run exits non-zero. At the end it prints the figures: inputs per target, PduErrors, receipts
parsed and refused, inputs per second.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("decode", "decode_python", "framer", "receipt_fields", "receipt_pdu")


class Targets:
    """The code under test, imported (and instrumented, under atheris) on demand."""

    def __init__(self) -> None:
        from connector.domain import receipts
        from connector.smpp import codec, errors, framing
        from connector.smpp import constants as c
        from connector.smpp import pdu as p

        self.codec = codec
        self.receipts = receipts
        self.framing = framing
        self.c = c
        self.p = p
        self.PduError = errors.PduError
        self.counts: Counter[str] = Counter()

    def one(self, data: bytes) -> None:
        """Run one input; a broken rule raises (AssertionError or the stray exception)."""
        if not data:
            return
        target = TARGETS[data[0] % len(TARGETS)]
        body = data[1:]
        self.counts[target] += 1
        getattr(self, "_" + target)(body)

    # ------------------------------------------------------------------ targets
    def _decode(self, data: bytes) -> None:
        if len(data) >= 4:
            data = len(data).to_bytes(4, "big") + data[4:]
        fast = self._decode_only_pdu_error(self.codec.decode, data)
        slow = self._decode_only_pdu_error(self.codec.decode_python, data)
        if (fast is None) != (slow is None) or (fast is not None and fast != slow):
            raise AssertionError(
                f"decode and decode_python disagree on {data.hex()}: {fast!r} != {slow!r}"
            )

    def _decode_python(self, data: bytes) -> None:
        self._decode_only_pdu_error(self.codec.decode_python, data)

    def _framer(self, data: bytes) -> None:
        framer = self.framing.Framer(4096)
        cut = data[0] % 32 + 1 if data else 1
        stream = data[1:]
        for start in range(0, len(stream), cut):
            try:
                frames = framer.feed(stream[start : start + cut])
            except self.PduError:
                self.counts["framer_fatal"] += 1
                return
            for frame in frames:
                self._decode_only_pdu_error(self.codec.decode, frame)

    def _receipt_fields(self, data: bytes) -> None:
        if len(data) < 4:
            return
        p, c = self.p, self.c
        esm_class, data_coding, flags = data[0], data[1], data[2]
        text = data[3:]
        tlvs: dict[int, Any] = {}
        if flags & 1:
            cut = min(len(text), flags >> 3)
            tlvs[c.TAG_RECEIPTED_MESSAGE_ID] = text[:cut].decode("latin-1")
            text = text[cut:]
        if flags & 2:
            tlvs[c.TAG_MESSAGE_STATE] = flags >> 2
        if flags & 4:
            tlvs[c.TAG_NETWORK_ERROR_CODE] = text[:3]
        pdu: Any
        if flags & 128:
            tlvs[c.TAG_MESSAGE_PAYLOAD] = text
            pdu = p.DataSm(esm_class=esm_class, data_coding=data_coding, tlvs=tlvs)
        else:
            pdu = p.DeliverSm(
                esm_class=esm_class, data_coding=data_coding, short_message=text[:254], tlvs=tlvs
            )
        self._parse(pdu)

    def _receipt_pdu(self, data: bytes) -> None:
        if len(data) >= 4:
            data = len(data).to_bytes(4, "big") + data[4:]
        pdu = self._decode_only_pdu_error(self.codec.decode, data)
        if isinstance(pdu, self.p.DeliverSm | self.p.DataSm):
            self._parse(pdu)

    # ------------------------------------------------------------------ rules
    def _decode_only_pdu_error(self, decode: Any, data: bytes) -> Any:
        try:
            pdu = decode(data)
        except self.PduError:
            self.counts["pdu_error"] += 1
            return None
        self.counts["decoded"] += 1
        return pdu

    def _parse(self, pdu: Any) -> None:
        result = self.receipts.parse_receipt(pdu)  # must never raise
        if isinstance(result, self.receipts.Receipt):
            self.counts["receipt"] += 1
            if result.status is not None:
                self.counts["receipt_final"] += 1
        elif isinstance(result, self.receipts.ReceiptParseError):
            self.counts["receipt_error"] += 1
        else:
            raise AssertionError(f"parse_receipt returned {result!r}")


# ------------------------------------------------------------------------------ seed corpus


def seed_corpus(targets: Targets) -> list[bytes]:
    """Valid PDUs of every kind and real-world receipts, each behind every target octet."""
    p, c, encode = targets.p, targets.c, targets.codec.encode
    receipt_text = (
        b"id:1a2b3c sub:001 dlvrd:001 submit date:2611261300 done date:2611261300 "
        b"stat:DELIVRD err:000 text:hello"
    )
    pdus: list[Any] = [
        p.SubmitSm(destination_addr="243998857000", source_addr="MYAPP", short_message=b"hi"),
        p.DeliverSm(
            esm_class=c.ESM_CLASS_SMSC_DELIVERY_RECEIPT,
            short_message=receipt_text,
            tlvs={c.TAG_RECEIPTED_MESSAGE_ID: "1a2b3c", c.TAG_MESSAGE_STATE: 2},
        ),
        p.DataSm(esm_class=4, tlvs={c.TAG_MESSAGE_PAYLOAD: receipt_text}),
        p.SubmitSmResp(0, 7, message_id="1a2b3c"),
        p.DeliverSmResp(0, 8),
        p.BindTransceiver(system_id="lisoloo", password="pw"),
        p.BindTransceiverResp(0, 1, system_id="SMSC"),
        p.EnquireLink(0, 3),
        p.EnquireLinkResp(0, 3),
        p.GenericNack(c.ESME_RINVCMDID, 4),
        p.Unbind(0, 5),
        p.QuerySmResp(0, 6, message_id="1", final_date="", message_state=2, error_code=0),
        p.AlertNotification(source_addr="243998857000", esme_addr="MYAPP"),
    ]
    frames = [encode(pdu) for pdu in pdus]
    texts = [receipt_text]
    sys.path.insert(0, str(ROOT))
    try:
        corpus: Any = importlib.import_module("tests.domain.receipt_corpus")
        for case in corpus.CORPUS:
            texts.append(bytes(case.short_message))
            if case.pdu_hex:
                frames.append(bytes.fromhex(case.pdu_hex))
    except ImportError:
        pass
    out: list[bytes] = []
    for frame in frames:
        for selector in (0, 1, 4):
            out.append(bytes([selector]) + frame)
        out.append(bytes([2, 7]) + frame + frame)
    for text in texts:
        out.append(bytes([3, 4, 0, 3 | (6 << 3)]) + text)
        out.append(bytes([3, 4, 8, 0]) + text)
    return out


# ------------------------------------------------------------------------------ engines


def report(targets: Targets, engine: str, seed: int, started: float, inputs: int) -> None:
    elapsed = time.monotonic() - started
    counts = targets.counts
    rate = inputs / max(elapsed, 1e-9)
    print(f"fuzz: {engine}, seed {seed}, {inputs} inputs in {elapsed:.1f} s ({rate:.0f}/s)")
    print("  per target: " + ", ".join(f"{t} {counts[t]}" for t in TARGETS))
    print(
        f"  decoded {counts['decoded']}, PduError {counts['pdu_error']} (nothing else raised), "
        f"framer fatal {counts['framer_fatal']}"
    )
    print(
        f"  parse_receipt: {counts['receipt']} receipts ({counts['receipt_final']} final), "
        f"{counts['receipt_error']} ReceiptParseError, never raised"
    )
    sys.stdout.flush()


def run_atheris(atheris: ModuleType, args: argparse.Namespace) -> int:
    with atheris.instrument_imports(include=["connector"]):
        targets = Targets()
    corpus = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    for n, data in enumerate(seed_corpus(targets)):
        (corpus / f"seed{n:04d}").write_bytes(data)
    artifacts = Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    count = 0

    def one(data: bytes) -> None:
        nonlocal count
        count += 1
        targets.one(data)
        if count >= args.inputs:
            report(targets, "atheris (libFuzzer, coverage-guided)", args.seed, started, count)
            os._exit(0)

    libfuzzer = [
        sys.argv[0],
        f"-seed={args.seed}",
        f"-runs={args.inputs + 100_000}",
        "-max_len=4096",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
    ]
    atheris.Setup(libfuzzer, one)
    atheris.Fuzz()
    report(targets, "atheris", args.seed, started, count)
    return 0


def run_hypothesis(args: argparse.Namespace) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    targets = Targets()
    examples = seed_corpus(targets)
    started = time.monotonic()
    count = 0
    rng = random.Random(args.seed)

    def one(data: bytes) -> None:
        nonlocal count
        count += 1
        targets.one(data)

    for data in examples:
        one(data)
    # Mutations of the seeds besides hypothesis's own: they reach the bodies' inner checks.
    mutated = st.builds(
        lambda i, pos, octet: _mutate(examples[i % len(examples)], pos, octet),
        st.integers(0, 10_000),
        st.integers(0, 4096),
        st.integers(0, 255),
    )

    @hypothesis_seed(args.seed)
    @settings(
        max_examples=max(0, args.inputs - len(examples)),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(st.binary(max_size=600), mutated))
    def run(data: bytes) -> None:
        one(data if rng.random() < 0.9 else data[::-1])

    run()
    report(targets, "hypothesis (atheris unavailable)", args.seed, started, count)
    return 0


def _mutate(data: bytes, pos: int, octet: int) -> bytes:
    if not data:
        return bytes([octet])
    where = pos % len(data)
    return data[:where] + bytes([octet]) + data[where + 1 :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--inputs", type=int, default=200_000, help="inputs to run (200000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed)")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument(
        "--artifacts", default=str(Path(tempfile.gettempdir()) / "fuzz-artifacts"),
        help="where atheris saves a crashing input",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    print(f"fuzz seed {args.seed} (--seed {args.seed} replays it)", flush=True)
    atheris: ModuleType | None = None
    if args.engine in ("auto", "atheris"):
        try:
            atheris = importlib.import_module("atheris")
        except ImportError:
            if args.engine == "atheris":
                print("atheris is not installed (pip install atheris)", file=sys.stderr)
                return 2
    if atheris is not None:
        return run_atheris(atheris, args)
    return run_hypothesis(args)


if __name__ == "__main__":
    sys.exit(main())
