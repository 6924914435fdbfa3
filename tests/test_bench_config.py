"""The benchmarks' daemon configuration is one the daemon accepts (bench/ never runs in `make
test`, so a key or value it writes wrong would otherwise only show when someone benchmarks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import _harness as h
from bench import bench_end_to_end
from connector.config.load import load_config


@pytest.mark.parametrize("scope", ["host", "global"])
def test_the_benchmarks_daemon_config_loads(tmp_path: Path, scope: str) -> None:
    carriers = [h.Carrier(f"bench{k}", "127.0.0.1", 2775 + k, h.carrier_prefix(k)) for k in (0, 1)]
    path = h.daemon_config(
        tmp_path / "daemon.toml",
        "redis://127.0.0.1:6390/0",
        carriers,
        binds=2,
        window=50,
        tps=3000,
        tps_scope=scope,
    )
    config = load_config(path)
    assert sorted(config.carriers) == ["bench0", "bench1"]
    assert {c.tps_scope for c in config.carriers.values()} == {scope}
    assert config.carriers["bench1"].prefixes == (h.carrier_prefix(1),)


def test_bench_end_to_end_defaults_write_a_config_the_daemon_loads(tmp_path: Path) -> None:
    args = bench_end_to_end.parse_args([])
    carrier = h.Carrier("bench0", "127.0.0.1", 2775, h.carrier_prefix(0))
    path = h.daemon_config(
        tmp_path / "daemon.toml",
        "redis://127.0.0.1:6390/0",
        [carrier],
        binds=args.binds,
        window=args.window,
        tps=args.tps,
        tps_scope=args.tps_scope,
    )
    assert load_config(path).carriers["bench0"].tps == args.tps


def test_bulk_entries_hold_every_recipient_once_within_the_contract() -> None:
    """`--recipients K`: N recipients in entries of K (the last may be shorter), each a valid
    outbound entry, no number twice; the parts count what those recipients are sent."""
    from connector.domain import contract

    sizes = h.entry_sizes(2_500, 1_000)
    assert sizes == [1_000, 1_000, 500]
    numbers: list[str] = []
    start = 0
    for i, size in enumerate(sizes):
        data = h.entry(i, 1, recipients=size, first=start)
        start += size
        decoded = contract.decode_outbound(f"{i}-0", {b"data": data})
        assert isinstance(decoded, contract.Accepted), decoded
        assert not decoded.rejected
        numbers += [r.to for r in decoded.recipients]
    assert len(numbers) == len(set(numbers)) == 2_500
    assert h.parts_total(2_500, False, 1_000) == 2_500
    assert h.parts_total(4, True, 2) == 2 * 1 + 2 * h.LONG_PARTS  # entry 1 is the long one
    with pytest.raises(SystemExit):
        bench_end_to_end.parse_args(["--recipients", "1001"])
