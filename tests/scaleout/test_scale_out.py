"""Three daemons, one carrier account: a global tps and a bind limit held across hosts.

Real processes on loopback: the simulator (its record of every accepted submit_sm, with the
time it arrived, and its peak of sessions bound at once), three `smpp-connector run` daemons
with their own consumer names sharing one group, and Redis: a single server, or a private
three-master Redis Cluster. Mid-run the daemon holding a bind slot is SIGKILLed: the others
finish its pending work and its slot goes to the daemon that was waiting for one.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster

from tests.support.processes import (
    Process,
    control_address,
    daemon_config,
    simulator_stats,
    start_daemon,
    start_simulator,
    wait_for,
)
from tests.support.redis_server import free_port

CARRIER = "airtel-cd"
TPS = 100
MAX_BINDS = 2
MESSAGES = 3000
KILL_AFTER_SENT = 900
RUN_TIMEOUT_S = 120.0
BINDS_KEY = "{sms:outbound}:binds:" + CARRIER

SyncClient = redis.Redis | redis.cluster.RedisCluster


def _client(url: str, cluster: bool) -> SyncClient:
    if cluster:
        return redis.cluster.RedisCluster.from_url(url)
    return redis.Redis.from_url(url)


class Statuses:
    """Reads `sms:status` as it grows: the statuses each message_id went through."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.last = "0-0"
        self.seen: dict[str, list[str]] = {}
        self.counts: Counter[str] = Counter()

    def poll(self) -> None:
        for _ in range(100):
            reply: Any = self.client.xread({"sms:status": self.last}, count=5000)
            if not reply:
                return
            for entry_id, fields in reply[0][1]:
                self.last = entry_id.decode()
                event = json.loads(fields[b"data"])
                self.seen.setdefault(event["message_id"], []).append(event["status"])
                self.counts[event["status"]] += 1


def _max_in_any_second(times: list[float]) -> int:
    """The most submits in any closed one-second window [t, t + 1]."""
    times = sorted(times)
    return max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))


def _holders(client: SyncClient) -> list[str]:
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    raw: Any = client.zrangebyscore(BINDS_KEY, f"({now_ms}", "+inf")
    return [item.decode() for item in raw]


@pytest.mark.parametrize("backend", ["single", "cluster"])
def test_three_daemons_hold_global_tps_and_max_binds_through_a_sigkill(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cluster = backend == "cluster"
    url: str = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    client = _client(url, cluster)
    processes: list[Process] = []
    try:
        record = tmp_path / "record.jsonl"
        simulator = start_simulator(
            tmp_path,
            "--system-id", "lisoloo", "--password", "pw",
            "--control-port", "0", "--record", str(record),
        )  # fmt: skip
        processes.append(simulator)
        control = control_address(simulator)

        pipe = client.pipeline(transaction=False)
        for n in range(MESSAGES):
            entry = {
                "message_id": f"scale-{n:05d}",
                "to": [f"+2439970{n:05d}"],
                "message": f"scale-out {n}",
                "sender_id": "MYAPP",
            }
            pipe.xadd("sms:outbound", {"data": json.dumps(entry)})
        pipe.execute()

        daemons: dict[str, Process] = {}
        for name in ("host-a", "host-b", "host-c"):
            config = tmp_path / f"{name}.toml"
            text = daemon_config(
                url,
                simulator.port,
                carrier=CARRIER,
                consumer=name,
                tps=TPS,
                binds=1,
                window=20,
                claim_idle_s=3.0,
                tps_scope="global",
                max_binds=MAX_BINDS,
            )
            text = text.replace("[redis]\n", f"[redis]\ncluster = {str(cluster).lower()}\n")
            text = text.replace("claim_idle_s = 3.0\n", "claim_idle_s = 3.0\nbind_lease_s = 3\n")
            text += f'\n[metrics]\nlisten = "127.0.0.1:{free_port()}"\n'
            config.write_text(text)
            daemons[name] = start_daemon(config, tmp_path, name=name)
            processes.append(daemons[name])

        statuses = Statuses(client)

        def sent(count: int) -> Callable[[], bool]:
            def check() -> bool:
                statuses.poll()
                return statuses.counts["sent"] >= count

            return check

        wait_for(sent(KILL_AFTER_SENT), RUN_TIMEOUT_S, f"{KILL_AFTER_SENT} sent", processes)
        holders = _holders(client)
        assert len(holders) == MAX_BINDS, holders
        waiting = [n for n in daemons if not any(h.startswith(n + "/") for h in holders)]
        assert len(waiting) == 1, (holders, "exactly one daemon must be waiting for a slot")
        victim = holders[0].split("/")[0]
        daemons[victim].kill()
        survivors = [p for p in processes if p is not daemons[victim]]

        # The waiting daemon takes the dead one's slot once its lease runs out.
        def took_over() -> bool:
            return any(h.startswith(waiting[0] + "/") for h in _holders(client))

        wait_for(took_over, 30.0, f"{waiting[0]} taking {victim}'s bind slot", survivors)

        def all_delivered() -> bool:
            statuses.poll()
            done = sum(1 for s in statuses.seen.values() if "delivered" in s)
            return done >= MESSAGES

        wait_for(all_delivered, RUN_TIMEOUT_S, f"all {MESSAGES} delivered", survivors)

        def drained() -> bool:
            pending: Any = client.xpending("sms:outbound", "connector")
            return int(pending["pending"]) == 0

        wait_for(drained, 30.0, "no outbound entry pending", survivors)
        stats = simulator_stats(control)
        simulator.terminate(10.0)  # flushes the record
        for process in processes:
            process.kill()

        # Nothing lost, in contract order, each message once to `sent` and `delivered`.
        assert len(statuses.seen) == MESSAGES
        for message_id, seen in statuses.seen.items():
            assert seen[0] == "processing", (message_id, seen)
            assert seen[-1] == "delivered", (message_id, seen)
            order = [s for i, s in enumerate(seen) if s not in seen[:i]]
            assert order == ["processing", "sent", "delivered"], (message_id, seen)

        # The carrier's view: the global rate and the bind limit.
        submits = [json.loads(line) for line in record.read_text().splitlines()]
        times = [row["ts"] for row in submits]
        assert len({row["destination"] for row in submits}) == MESSAGES
        busiest = _max_in_any_second(times)
        start = min(times)
        steady = _max_in_any_second([t for t in times if t >= start + 1.0])
        print(f"\nbusiest sliding second: {busiest} (after the first second: {steady})")
        # The bound (flow/permits.py): floor(tps) + 1 in any sliding second, start-up included.
        # It holds because a grant whose reply was handled too late to place its permits safely
        # is dropped (GrantTiming). Before that, three daemons starting at once on a loaded
        # 2-CPU machine put up to 103 in the first second, and 105 in a later one with CPU
        # burners running beside the test (session 7 notes, bench/RESULTS.md).
        assert steady <= TPS + 1, f"{steady} submit_sm in one sliding second after the first"
        assert busiest <= TPS + 1, f"{busiest} submit_sm in one sliding second"
        throughput = len(times) / (max(times) - min(times))
        print(
            f"\nscale-out [{backend}]: {len(times)} submit_sm ({len(times) - MESSAGES} resent "
            f"after the kill), busiest second {busiest}, {throughput:.1f}/s, peak binds "
            f"{stats['sessions_bound_peak']}, bind events {stats['binds']}"
        )
        assert throughput >= 0.95 * TPS, f"{throughput:.1f} submit_sm/s over the run"
        assert stats["sessions_bound_peak"] <= MAX_BINDS, stats
        assert stats["binds"] >= MAX_BINDS + 1, "the dead daemon's slot was never bound again"
    finally:
        for process in processes:
            process.kill()
            process.close()
        client.close()
