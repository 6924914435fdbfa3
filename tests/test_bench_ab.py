"""bench/ab.py's pure parts: reading a figure from each bench's output, and the sign test
(the A/B runs themselves are benchmarks, never part of `make test`)."""

from __future__ import annotations

import pytest

from bench import ab

E2E_OUTPUT = """\
  daemon kernel time 4.5 µs/msg of its CPU; Redis commands ...
  daemon run 1: 7,014 msg/s, 119.0 µs CPU/msg, peak RSS 47.9 MiB, redis 86.0 µs/msg; enqueue
"""

LATENCY_OUTPUT = """\
entry -> processing        57,713      2.75      5.13      9.06     13.26     13.80
entry -> sent              57,713      6.13     10.67     16.53     22.08     24.08
entry -> delivered         57,713      6.29     10.92     16.59     22.23     24.23
"""


def test_the_end_to_end_figure_is_the_daemons_cpu_per_message() -> None:
    assert ab.parse_end_to_end(E2E_OUTPUT) == ab.Sample(compared=119.0, shown=7014.0)
    assert ab.parse_end_to_end("  !! daemon run 1 incomplete: only 3 of 10") is None


def test_the_redis_figure_is_redis_servers_cpu_per_message() -> None:
    assert ab.parse_redis(E2E_OUTPUT) == ab.Sample(compared=86.0, shown=7014.0)
    assert ab.parse_redis("  !! daemon run 1 incomplete: only 3 of 10") is None


def test_the_latency_figure_is_entry_to_sent_p99() -> None:
    assert ab.parse_latency(LATENCY_OUTPUT) == ab.Sample(compared=16.53, shown=6.13)
    assert ab.parse_latency("entry -> processing  1  2.0  3.0  4.0  5.0  6.0") is None


@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [
        (5, 5, 1.0),  # an even split says nothing
        (10, 0, 2 / 1024),  # both tails of 10 fair coin flips
        (8, 2, 2 * (1 + 10 + 45) / 1024),  # 0.109: not shown
        (9, 1, 2 * (1 + 10) / 1024),  # 0.021
        (0, 0, 1.0),
    ],
)
def test_sign_test_is_the_exact_two_sided_binomial(wins: int, losses: int, p: float) -> None:
    assert ab.sign_test_p(wins, losses) == pytest.approx(p)
    assert ab.sign_test_p(losses, wins) == pytest.approx(p)


def test_options_after_the_double_dash_go_to_the_bench() -> None:
    args, extra = ab.parse_args(["HEAD~1", "--pairs", "3", "--", "--messages", "20000"])
    assert (args.base, args.pairs, args.bench) == ("HEAD~1", 3, "end_to_end")
    assert extra == ["--messages", "20000"]
    with pytest.raises(SystemExit):
        ab.parse_args(["HEAD~1", "--pairs", "0"])
