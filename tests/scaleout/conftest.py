"""A private three-master Redis Cluster for the scale-out tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_cluster import RedisClusterProcess


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcess]:
    """One private three-master cluster for the test session (tests flush what they use)."""
    cluster = RedisClusterProcess(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterProcess) -> str:
    """The URL of a clean cluster (FLUSHALL on every master); restarted if a test killed it."""
    if not redis_cluster.running:
        redis_cluster.kill()
        redis_cluster.start()
    redis_cluster.flushall()
    return redis_cluster.url
