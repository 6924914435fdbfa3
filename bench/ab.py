"""A against B: the daemon of another git revision and this tree's, in alternated runs.

Run as `python bench/ab.py BASE_REV [--pairs N] [--bench end_to_end|latency] -- [bench options]`,
e.g. `python bench/ab.py HEAD~1 --pairs 10 -- --messages 20000`. This machine's speed drifts
by more than most changes are worth within minutes, so a change is judged only against its base
measured in the same stretch: each pair runs the base (a detached `git worktree` of BASE_REV),
then this tree, with the same options. It prints each pair, the medians, in how many pairs this
tree did better, and the two-sided sign test's p for that count (a change that does nothing
wins about half the pairs; below 0.05 it is unlikely to be chance).

- `--bench end_to_end` (default): `bench_end_to_end.py --baselines none`; compares the daemon's
  CPU µs per message (lower is better) and shows msg/s beside it.
- `--bench redis`: the same runs; compares redis-server's CPU µs per message instead (a
  change inside the Lua scripts shows there, not in the daemon's CPU).
- `--bench latency`: `bench_latency.py`; compares entry → `sent` p99 (lower is better) and
  shows p50. Give `--rate R` in the bench options, so both sides are offered the same load.

The C extension is copied from this tree into the worktree, so the base must have the same
`connector/smpp/_speedups.c` (refused otherwise). Nothing here runs in `make test`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import median

REPO = Path(__file__).resolve().parent.parent

_E2E_LINE = re.compile(
    r"daemon run 1: ([\d,]+) msg/s, ([\d.]+) µs CPU/msg, .*?, redis ([\d.]+) µs/msg"
)
_LATENCY_LINE = re.compile(r"entry -> sent\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


@dataclass(frozen=True)
class Sample:
    """One run: the figure compared (lower is better) and one shown beside it."""

    compared: float
    shown: float


def parse_end_to_end(output: str) -> Sample | None:
    """CPU µs per message and msg/s of the first daemon run in `bench_end_to_end.py`'s output."""
    return _first_daemon_run(output, 2)


def parse_redis(output: str) -> Sample | None:
    """redis-server's CPU µs per message and msg/s of the first daemon run, as above."""
    return _first_daemon_run(output, 3)


def _first_daemon_run(output: str, compared: int) -> Sample | None:
    """The first daemon run's msg/s beside `_E2E_LINE`'s group `compared`."""
    match = _E2E_LINE.search(output)
    if match is None:
        return None
    return Sample(
        compared=float(match.group(compared)), shown=float(match.group(1).replace(",", ""))
    )


def parse_latency(output: str) -> Sample | None:
    """entry → `sent` p99 and p50 (ms) in `bench_latency.py`'s output."""
    match = _LATENCY_LINE.search(output)
    if match is None:
        return None
    return Sample(compared=float(match.group(4)), shown=float(match.group(2)))


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact sign test: how likely a split at least this uneven is by chance (ties
    left out). 1.0 when there is nothing to test."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail: float = sum(math.comb(n, i) for i in range(k + 1)) / float(2**n)
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Bench:
    script: str
    fixed: tuple[str, ...]
    parse: Callable[[str], Sample | None]
    compared: str
    shown: str


BENCHES = {
    "end_to_end": Bench(
        "bench/bench_end_to_end.py",
        ("--baselines", "none"),
        parse_end_to_end,
        "CPU µs/msg",
        "msg/s",
    ),
    "redis": Bench(
        "bench/bench_end_to_end.py",
        ("--baselines", "none"),
        parse_redis,
        "redis µs/msg",
        "msg/s",
    ),
    "latency": Bench("bench/bench_latency.py", (), parse_latency, "sent p99 ms", "sent p50 ms"),
}


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the git revision to compare against (e.g. HEAD~1)")
    parser.add_argument("--pairs", type=int, default=8, help="alternated pairs (default 8)")
    parser.add_argument("--bench", choices=sorted(BENCHES), default="end_to_end")
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= 200:
        parser.error("--pairs must be within 1..200")
    return args, extra


def _run(directory: Path, bench: Bench, extra: list[str]) -> tuple[Sample | None, str]:
    env = dict(os.environ, PYTHONPATH=str(directory))
    command = [sys.executable, bench.script, *bench.fixed, *extra]
    done = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    output = done.stdout + done.stderr
    return bench.parse(output), output


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(argv)
    bench = BENCHES[args.bench]
    speedups = "connector/smpp/_speedups.c"
    differs = subprocess.run(
        ["git", "diff", "--quiet", args.base, "--", speedups], cwd=REPO, check=False
    )
    if differs.returncode != 0:
        print(
            f"ab: {speedups} differs at {args.base}: build that revision yourself", file=sys.stderr
        )
        return 2
    built = sorted((REPO / "connector" / "smpp").glob("_speedups*.so"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    worktree = scratch / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(worktree), args.base],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    try:
        for path in built:
            shutil.copy2(path, worktree / "connector" / "smpp" / path.name)
        samples: dict[str, list[Sample]] = {"base": [], "this": []}
        print(f"ab: {args.base} (base) against this tree, {args.pairs} pairs of {bench.script}")
        print(
            f"{'pair':>4}  {'base ' + bench.compared:>20} {'this ' + bench.compared:>20}  "
            f"{'base ' + bench.shown:>16} {'this ' + bench.shown:>16}"
        )
        for pair in range(1, args.pairs + 1):
            got: dict[str, Sample] = {}
            for side, directory in (("base", worktree), ("this", REPO)):
                sample, output = _run(directory, bench, extra)
                if sample is None:
                    print(f"ab: no figure in the {side} run's output:\n{output[-2000:]}")
                    return 1
                got[side] = sample
                samples[side].append(sample)
            print(
                f"{pair:>4}  {got['base'].compared:>20,.2f} {got['this'].compared:>20,.2f}  "
                f"{got['base'].shown:>16,.2f} {got['this'].shown:>16,.2f}",
                flush=True,
            )
        base = [s.compared for s in samples["base"]]
        this = [s.compared for s in samples["this"]]
        wins = sum(1 for b, t in zip(base, this, strict=True) if t < b)
        losses = sum(1 for b, t in zip(base, this, strict=True) if t > b)
        print(
            f"median {bench.compared}: base {median(base):,.2f}, this {median(this):,.2f} "
            f"({100 * (median(this) / median(base) - 1):+.1f} %); "
            f"median {bench.shown}: base {median([s.shown for s in samples['base']]):,.2f}, "
            f"this {median([s.shown for s in samples['this']]):,.2f}"
        )
        print(
            f"this tree lower in {wins} of {args.pairs} pairs ({losses} higher); "
            f"sign test p = {sign_test_p(wins, losses):.3f}"
        )
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)],
            cwd=REPO,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
