"""The private Redis Cluster harness the scale-out tests stand on."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from tests.support.redis_cluster import CLUSTER_BUS_OFFSET, RedisClusterProcess


async def test_three_masters_on_loopback_cover_every_slot(
    redis_cluster: RedisClusterProcess, redis_cluster_url: str
) -> None:
    ports = redis_cluster.ports
    bus = [port + CLUSTER_BUS_OFFSET for port in ports]
    assert len(set(ports) | set(bus)) == 6
    assert max(bus) <= 65535
    assert redis_cluster_url == f"redis://127.0.0.1:{ports[0]}/0"
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        await client.initialize()
        primaries = client.get_primaries()
        assert sorted(node.port for node in primaries) == sorted(ports)
        assert {node.host for node in primaries} == {"127.0.0.1"}
        assert client.get_replicas() == []
        for node in primaries:
            info = await client.cluster_info(target_nodes=node)
            assert info["cluster_state"] == "ok"
            assert info["cluster_slots_assigned"] == "16384"
            assert info["cluster_known_nodes"] == "3"
        assert await client.dbsize(target_nodes=RedisCluster.PRIMARIES) == 0
    finally:
        await client.aclose()


async def test_only_db_0_exists_in_cluster_mode(redis_cluster_url: str) -> None:
    without_db = redis_cluster_url.removesuffix("/0")
    client = RedisCluster.from_url(without_db)
    try:
        assert await client.set("k", "v")
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()
    with pytest.raises(RedisClusterException, match="'db' must be 0 or None in cluster mode"):
        RedisCluster.from_url(without_db + "/1")


async def test_a_killed_cluster_restarts_on_the_same_ports(
    redis_cluster: RedisClusterProcess, redis_cluster_url: str
) -> None:
    ports = list(redis_cluster.ports)
    redis_cluster.kill()
    assert redis_cluster.processes == []
    redis_cluster.start()
    assert redis_cluster.running
    assert redis_cluster.ports == ports
    client = RedisCluster.from_url(redis_cluster.url)
    try:
        for n in range(30):
            await client.set(f"k{n}", n)
        assert [await client.get(f"k{n}") for n in range(30)] == [
            str(n).encode() for n in range(30)
        ]
    finally:
        await client.aclose()
