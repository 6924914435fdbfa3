"""The long version of tests/faults: every fault class, in episodes, for `--minutes`.

    .venv/bin/python bench/soak.py --minutes 30 [--seed N] [--only daemon_kill,redis_kill]

Each episode is one `tests/faults/harness.py` run (fresh redis-server with AOF, carriers, real
daemons; faults at seeded-random moments; the invariant checked over everything that
happened). Each class gets a share of the time and runs episodes until it is used (class 1 at
least 20 SIGKILL rounds whatever the time). Every episode prints one JSON line of figures; the
end is a table per fault class: rounds, messages, recipients lost (must be 0), parts accepted
twice by a carrier (and why), the daemons' peak RSS, daemon restarts. The exit status is 1 when
anything was lost or any invariant broke. Directories of failed episodes are kept (printed).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults.harness import FAULT_CLASSES, LAST_FIGURES, Figures  # noqa: E402

# class, share of the time, arguments of one episode.
PLAN: tuple[tuple[str, float, dict[str, Any]], ...] = (
    ("daemon_kill", 0.22, {"rounds": 10, "entries": 200}),
    ("shared_group", 0.14, {"rounds": 5, "entries": 200}),
    ("redis_kill", 0.14, {"rounds": 4, "entries": 200}),
    ("carrier_link", 0.14, {"rounds": 8, "entries": 150}),
    ("hostile_carrier", 0.14, {"entries": 80, "flood": 20_000}),
    ("malformed", 0.08, {"malformed": 10_000, "good": 500}),
    ("reload_storm", 0.14, {"storms": 3, "sighups": 50, "entries": 600}),
)
MIN_ROUNDS = {"daemon_kill": 20}
TITLES = {
    "daemon_kill": "1 daemon SIGKILL + restart",
    "shared_group": "2 two daemons, one SIGKILLed",
    "redis_kill": "3 redis-server SIGKILL (AOF)",
    "carrier_link": "4 carrier cut/silent/refusing",
    "hostile_carrier": "5 hostile carrier PDUs",
    "malformed": "6 malformed outbound entries",
    "reload_storm": "7 SIGHUP storms, half invalid",
}


def run_class(
    name: str, budget_s: float, kwargs: dict[str, Any], rng: random.Random, base: Path
) -> Figures:
    total = Figures(fault=TITLES[name])
    started = time.monotonic()
    for episode in range(1, 10_000):
        elapsed = time.monotonic() - started
        if episode > 1 and elapsed >= budget_s and total.rounds >= MIN_ROUNDS.get(name, 0):
            break
        seed = rng.randrange(1 << 32)
        directory = base / f"{name}-{episode}-{seed}"
        try:
            figures = FAULT_CLASSES[name](directory, seed, **kwargs)
        except Exception as error:  # a wait timed out or a process died: keep going
            figures = LAST_FIGURES[0] if LAST_FIGURES else Figures(fault=TITLES[name], seed=seed)
            figures.problems.append(f"episode failed: {type(error).__name__}: {error}"[:3000])
            traceback.print_exc(limit=3)
        ok = not figures.problems and figures.lost == 0
        print(f"{name} episode {episode} seed {seed}: {figures.line()}", flush=True)
        if ok:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"  kept {directory}", flush=True)
            figures.problems = [f"seed {seed}: {p}" for p in figures.problems]
        total.add(figures)
        total.extra["episodes"] = episode
    return total


def duplicates_cell(figures: Figures) -> str:
    if not figures.duplicates:
        return "0"
    reasons = "; ".join(f"{n} {reason}" for reason, n in figures.duplicate_reasons.most_common())
    return f"{figures.duplicates} ({reasons})"


def invariant_cell(figures: Figures) -> str:
    cell = "ok" if not figures.problems else f"{len(figures.problems)} broken"
    if figures.stuck:
        cell += f", {figures.stuck} stuck (still pending)"
    known = {k: v for k, v in figures.extra.items() if k.startswith("known_bug") and v}
    if known:
        cell += "; " + ", ".join(f"{k.removeprefix('known_bug_')} {v}" for k, v in known.items())
    return cell


def table(results: list[Figures]) -> str:
    header = (
        "fault",
        "rounds",
        "messages",
        "lost",
        "duplicates at the carrier (reason)",
        "max RSS",
        "daemon restarts",
        "invariant",
    )
    rows = [header]
    for figures in results:
        rows.append(
            (
                figures.fault,
                str(figures.rounds),
                str(figures.messages),
                str(figures.lost),
                duplicates_cell(figures),
                f"{figures.max_rss_mb:.0f} MB",
                str(figures.daemon_restarts),
                invariant_cell(figures),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        )
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault soak of the connector.")
    parser.add_argument("--minutes", type=float, default=30.0, help="total time (30)")
    parser.add_argument("--seed", type=int, default=None, help="master seed (printed)")
    parser.add_argument(
        "--only", default="", help="comma-separated classes: " + ", ".join(FAULT_CLASSES)
    )
    parser.add_argument("--dir", default=None, help="scratch directory (a fresh one by default)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    chosen = [name for name in args.only.split(",") if name] or [name for name, _, _ in PLAN]
    unknown = set(chosen) - set(FAULT_CLASSES)
    if unknown:
        parser.error(f"unknown classes {sorted(unknown)}")
    plan = [item for item in PLAN if item[0] in chosen]
    share = sum(weight for _, weight, _ in plan)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="soak-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.minutes} min, seed {seed} (--seed {seed} replays the episodes' seeds)")
    print(f"soak: scratch directory {base}")
    started = time.monotonic()
    results: list[Figures] = []
    for name, weight, kwargs in plan:
        budget = args.minutes * 60 * weight / share
        print(f"--- {TITLES[name]}: {budget:.0f} s", flush=True)
        results.append(run_class(name, budget, kwargs, rng, base))
    elapsed = time.monotonic() - started
    print()
    print(f"soak: {elapsed / 60:.1f} min, seed {seed}")
    print(table(results))
    broken = [p for figures in results for p in figures.problems]
    for figures in results:
        extra = {
            k: round(v, 1) if isinstance(v, float) else v
            for k, v in figures.extra.items()
            if k != "logged"
        }
        print(f"{figures.fault}: faults {dict(figures.faults)}; {extra}")
    if broken:
        print(f"\n{len(broken)} invariant violations, e.g.:")
        for problem in broken[:20]:
            print("  " + problem[:600])
    lost = sum(figures.lost for figures in results)
    if not broken:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if broken or lost else 0


if __name__ == "__main__":
    sys.exit(main())
