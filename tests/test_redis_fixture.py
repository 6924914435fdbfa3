"""The private redis-server harness the integration tests stand on."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.support.redis_server import RedisServer


def test_redis_url_is_a_private_clean_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.dbsize() == 1
    assert ":6379/" not in redis_url
    client.close()


def test_private_server_can_be_killed_and_restarted_with_aof(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "r", aof=True)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("kept", "1")
        client.close()
        server.kill()  # the AOF write happened before the reply; SIGKILL keeps it
        server.start()
        client = redis.Redis.from_url(server.url)
        assert client.get("kept") == b"1"
        client.close()
    finally:
        server.stop()
