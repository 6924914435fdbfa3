"""What redis-py's asyncio `RedisCluster` does against a real three-master Redis 7 cluster.

The facts a cluster-mode Store stands on: which keys share a slot, how scripts are routed and
what they may touch, multi-stream XREADGROUP and the other stream commands, pipelines, the exact
XADD id error, TIME inside a writing script, and telling a cluster from a plain server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    ClusterCrossSlotError,
    CrossSlotTransactionError,
    MovedError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from tests.support.redis_cluster import RedisClusterProcess

AsyncClient: TypeAlias = aioredis.Redis | RedisCluster
"""What a Store could be given: the two asyncio clients share no useful base class."""

OUTBOUND = "sms:outbound"
SAME_SLOT = [OUTBOUND, "{sms:outbound}:x", "{sms:outbound}:q:c1:high", "{sms:outbound}:r:1-0:0"]
LANES = [f"{{sms:outbound}}:q:c1:{lane}" for lane in ("high", "normal", "low")]
GROUP = "connector"

XADD_ID_TOO_SMALL = "The ID specified in XADD is equal or smaller than the target stream top item"
XADD_ID_ZERO = "The ID specified in XADD must be greater than 0-0"

WRITE_DECLARED_AND_UNDECLARED = """
local id = redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])
redis.call('HSET', KEYS[2], 'state', ARGV[1])
local undeclared = '{' .. KEYS[1] .. '}:b'
redis.call('SET', undeclared, ARGV[1])
return {id, undeclared}
"""

SET_ARGV_KEY = "return redis.call('SET', ARGV[1], 'x')"


@pytest.fixture
async def client(redis_cluster_url: str) -> AsyncIterator[RedisCluster]:
    cluster = RedisCluster.from_url(redis_cluster_url)
    await cluster.initialize()
    yield cluster
    await cluster.aclose()


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_id(value: Any) -> tuple[int, int]:
    ms, _, seq = _s(value).partition("-")
    return int(ms), int(seq)


def _node(client: RedisCluster, key: str) -> ClusterNode:
    node = client.get_node_from_key(key)
    assert node is not None
    return node


def _key_where(client: RedisCluster, *, near: str, same_node: bool) -> str:
    """A key in another slot than `near`, on its node (`same_node`) or on another node."""
    home = _node(client, near).name
    for n in range(10_000):
        key = f"other:{n}"
        if client.keyslot(key) == client.keyslot(near):
            continue
        if (_node(client, key).name == home) == same_node:
            return key
    raise AssertionError("no such key in 10000 tries")


def _keys_on_every_node(client: RedisCluster) -> list[str]:
    by_node: dict[str, str] = {}
    for n in range(10_000):
        key = f"spread:{n}"
        by_node.setdefault(_node(client, key).name, key)
        if len(by_node) == len(client.get_primaries()):
            return list(by_node.values())
    raise AssertionError("no key on some node in 10000 tries")


# -- a. slots and scripts ----------------------------------------------------------------------


async def test_a_hash_tag_keys_and_the_plain_key_share_one_slot(client: RedisCluster) -> None:
    slots = {client.keyslot(key) for key in SAME_SLOT}
    assert len(slots) == 1
    assert {await client.cluster_keyslot(key) for key in SAME_SLOT} == slots
    assert len({_node(client, key).name for key in SAME_SLOT}) == 1
    # Only the tag counts: another prefix's keys land elsewhere.
    assert client.keyslot("sms:dead") != client.keyslot(OUTBOUND)
    assert client.keyslot("{sms}:outbound") != client.keyslot(OUTBOUND)


async def test_a_script_writes_its_declared_keys_and_an_undeclared_same_slot_key(
    client: RedisCluster,
) -> None:
    script = client.register_script(WRITE_DECLARED_AND_UNDECLARED)
    keys = [OUTBOUND, "{sms:outbound}:a"]
    first_id, undeclared = await script(keys=keys, args=["v1"])
    assert undeclared == b"{sms:outbound}:b"
    assert await client.xlen(OUTBOUND) == 1
    assert await client.hget("{sms:outbound}:a", "state") == b"v1"
    assert await client.get("{sms:outbound}:b") == b"v1"
    # Every master's script cache emptied: the Script object loads it again (NOSCRIPT fallback).
    for node in client.get_primaries():
        await client.execute_command("SCRIPT FLUSH", target_nodes=node)
    second_id, _ = await script(keys=keys, args=["v2"])
    assert _stream_id(second_id) > _stream_id(first_id)
    assert await client.xlen(OUTBOUND) == 2
    assert await client.get("{sms:outbound}:b") == b"v2"


async def test_a_script_without_keys_runs_on_a_random_node(
    client: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EVALSHA with numkeys 0 goes to a random slot's node: keys built in Lua are then foreign."""
    script = client.register_script("return redis.call('SET', '{sms:outbound}:z', 'x')")
    elsewhere = client.keyslot(_key_where(client, near=OUTBOUND, same_node=False))
    monkeypatch.setattr("redis.asyncio.cluster.random.randrange", lambda *_: elsewhere)
    with pytest.raises(ResponseError, match="non local key"):
        await script(args=[])
    home = client.keyslot(OUTBOUND)
    monkeypatch.setattr("redis.asyncio.cluster.random.randrange", lambda *_: home)
    assert await script(args=[]) == b"OK"


# -- b. cross-slot refusals --------------------------------------------------------------------


async def test_b_declared_keys_in_two_slots_are_refused_by_the_client(
    client: RedisCluster,
) -> None:
    script = client.register_script(WRITE_DECLARED_AND_UNDECLARED)
    other = _key_where(client, near=OUTBOUND, same_node=True)
    with pytest.raises(RedisClusterException) as refused:
        await script(keys=[OUTBOUND, other], args=["v"])
    assert str(refused.value) == "EVALSHA - all keys must map to the same key slot"
    # Not a RedisError: `except RedisError` does not catch it.
    assert not isinstance(refused.value, RedisError)
    with pytest.raises(RedisClusterException, match=r"^EVAL - all keys must map to the same"):
        await client.eval("return 1", 2, OUTBOUND, other)
    assert await client.exists(OUTBOUND, "{sms:outbound}:b") == 0


async def test_b_the_server_refuses_declared_keys_in_two_slots_with_crossslot(
    client: RedisCluster,
) -> None:
    home = _node(client, OUTBOUND)
    other = _key_where(client, near=OUTBOUND, same_node=True)
    plain = aioredis.Redis(host=home.host, port=int(home.port))
    try:
        with pytest.raises(ClusterCrossSlotError) as refused:
            await plain.eval("return 1", 2, OUTBOUND, other)
    finally:
        await plain.aclose()
    assert str(refused.value) == "Keys in request don't hash to the same slot"
    assert isinstance(refused.value, ResponseError)


async def test_b_what_a_script_may_touch_without_declaring_it(client: RedisCluster) -> None:
    same_node = _key_where(client, near=OUTBOUND, same_node=True)
    other_node = _key_where(client, near=OUTBOUND, same_node=False)
    legacy = client.register_script(SET_ARGV_KEY)
    # A key on another node: refused by that script's node.
    with pytest.raises(ResponseError) as refused:
        await legacy(keys=[OUTBOUND], args=[other_node])
    assert str(refused.value).startswith(
        "Script attempted to access a non local key in a cluster node script: "
    )
    # A script without a shebang may touch another slot of its node (fragile: slots move).
    assert await legacy(keys=[OUTBOUND], args=[same_node]) == b"OK"
    # A `#!lua` script may not, unless flagged allow-cross-slot-keys.
    shebang = client.register_script("#!lua\n" + SET_ARGV_KEY)
    with pytest.raises(ResponseError) as refused:
        await shebang(keys=[OUTBOUND], args=[same_node])
    assert str(refused.value).startswith(
        "Script attempted to access keys that do not hash to the same slot script: "
    )
    assert await shebang(keys=[OUTBOUND], args=["{sms:outbound}:c"]) == b"OK"
    flagged = client.register_script("#!lua flags=allow-cross-slot-keys\n" + SET_ARGV_KEY)
    assert await flagged(keys=[OUTBOUND], args=[same_node]) == b"OK"


# -- c. streams --------------------------------------------------------------------------------


async def test_c_one_xreadgroup_reads_three_lanes_then_claim_ack_and_inspect(
    client: RedisCluster,
) -> None:
    for lane in LANES:
        assert await client.xgroup_create(lane, GROUP, id="0", mkstream=True)
    ids = {lane: _s(await client.xadd(lane, {"lane": lane})) for lane in LANES}

    reply: Any = await client.xreadgroup(GROUP, "host-a", dict.fromkeys(LANES, ">"), count=10)
    read = {_s(stream): [(_s(i), f) for i, f in entries] for stream, entries in reply}
    assert read == {lane: [(ids[lane], {b"lane": lane.encode()})] for lane in LANES}

    # A blocking read over the three lanes wakes on an XADD to any of them.
    async def add_later() -> str:
        await asyncio.sleep(0.2)
        return _s(await client.xadd(LANES[2], {"lane": "late"}))

    adding = asyncio.create_task(add_later())
    reply = await asyncio.wait_for(
        client.xreadgroup(GROUP, "host-a", dict.fromkeys(LANES, ">"), count=10, block=5000), 10
    )
    late_id = await adding
    assert [(_s(s), [_s(i) for i, _ in e]) for s, e in reply] == [(LANES[2], [late_id])]

    pending: Any = await client.xpending(LANES[0], GROUP)
    assert pending["pending"] == 1
    assert pending["consumers"] == [{"name": b"host-a", "pending": 1}]

    claimed: Any = await client.xautoclaim(LANES[0], GROUP, "host-b", 0, start_id="0-0", count=10)
    assert _s(claimed[0]) == "0-0"
    assert [_s(i) for i, _ in claimed[1]] == [ids[LANES[0]]]
    assert claimed[2] == []
    assert await client.xack(LANES[0], GROUP, ids[LANES[0]]) == 1
    assert (await client.xpending(LANES[0], GROUP))["pending"] == 0

    groups: Any = await client.xinfo_groups(LANES[2])
    assert len(groups) == 1
    assert groups[0]["name"] == GROUP.encode()
    assert groups[0]["pending"] == 2
    assert groups[0]["lag"] == 0
    assert _s(groups[0]["last-delivered-id"]) == late_id


async def test_c_xreadgroup_over_two_slots_is_refused_by_the_client(
    client: RedisCluster,
) -> None:
    other = _key_where(client, near=OUTBOUND, same_node=True)
    for stream in (LANES[0], other):
        await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    with pytest.raises(RedisClusterException) as refused:
        await client.xreadgroup(GROUP, "host-a", {LANES[0]: ">", other: ">"}, count=1)
    assert str(refused.value) == "XREADGROUP - all keys must map to the same key slot"


# -- d. pipelines ------------------------------------------------------------------------------


async def test_d_a_pipeline_spans_slots_and_nodes(client: RedisCluster) -> None:
    keys = _keys_on_every_node(client)
    assert len(keys) == 3
    pipe = client.pipeline()
    for key in keys:
        pipe.set(key, "1")
    pipe.incr(keys[0])
    pipe.xadd(LANES[0], {"a": "1"}, id="5-1")
    pipe.get(keys[2])
    assert await pipe.execute() == [True, True, True, 2, b"5-1", b"1"]


async def test_d_pipeline_errors_in_place_or_raised_after_the_rest_ran(
    client: RedisCluster,
) -> None:
    keys = _keys_on_every_node(client)
    await client.xadd(LANES[0], {"a": "1"}, id="5-1")
    for key in keys:
        await client.set(key, "1")

    pipe = client.pipeline()
    pipe.incr(keys[0])
    pipe.hset(keys[1], "f", "v")
    pipe.xadd(LANES[0], {"a": "1"}, id="5-1")
    pipe.get(keys[2])
    results = await pipe.execute(raise_on_error=False)
    assert results[0] == 2
    assert isinstance(results[1], ResponseError)
    assert str(results[1]) == "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert isinstance(results[2], ResponseError)
    assert str(results[2]) == XADD_ID_TOO_SMALL
    assert results[3] == b"1"

    pipe = client.pipeline()
    pipe.incr(keys[0])
    pipe.hset(keys[1], "f", "v")
    pipe.incr(keys[2])
    with pytest.raises(ResponseError) as raised:
        await pipe.execute()
    assert str(raised.value).startswith(
        f"Command # 2 (HSET {keys[1]} f v) of pipeline caused error"
    )
    # Not atomic: the commands around the failed one were applied.
    assert await client.get(keys[0]) == b"3"
    assert await client.get(keys[2]) == b"2"


async def test_d_transactions_need_one_slot_and_evalsha_is_not_pipelined(
    client: RedisCluster,
) -> None:
    keys = _keys_on_every_node(client)
    multi = client.pipeline(transaction=True)
    multi.set(keys[0], "1")
    multi.set(keys[1], "1")
    with pytest.raises(CrossSlotTransactionError, match="must map to the same slot"):
        await multi.execute()

    multi = client.pipeline(transaction=True)
    multi.set(OUTBOUND, "1")
    multi.incr("{sms:outbound}:n")
    assert await multi.execute() == [True, 1]

    script = client.register_script("return redis.call('INCR', KEYS[1])")
    pipe = client.pipeline()
    with pytest.raises(RedisClusterException) as blocked:
        await script(keys=["{sms:outbound}:n"], client=pipe)  # type: ignore[arg-type]
    assert str(blocked.value) == (
        "ERROR: Calling pipelined function evalsha is blocked when running redis in cluster mode..."
    )
    # EVAL (the script's text each time) is pipelined, routed by its first key.
    pipe = client.pipeline()
    pipe.eval("return redis.call('INCR', KEYS[1])", 1, "{sms:outbound}:n")
    pipe.eval("return redis.call('INCR', KEYS[1])", 1, keys[0])
    assert await pipe.execute() == [2, 1]


# -- e. XADD ids -------------------------------------------------------------------------------


async def test_e_xadd_with_an_id_not_above_the_top_fails_with_equal_or_smaller(
    client: RedisCluster,
) -> None:
    stream = "{sms:outbound}:ids"
    assert await client.xadd(stream, {"a": "1"}, id="5-1") == b"5-1"
    for stale in ("5-1", "5-0", "4-9"):
        with pytest.raises(ResponseError) as refused:
            await client.xadd(stream, {"a": "1"}, id=stale)
        assert str(refused.value) == XADD_ID_TOO_SMALL
        assert "equal or smaller" in str(refused.value)
    with pytest.raises(ResponseError) as refused:
        await client.xadd("{sms:outbound}:empty", {"a": "1"}, id="0-0")
    assert str(refused.value) == XADD_ID_ZERO

    # From a script: redis.call appends the script's location, redis.pcall returns it bare.
    called = client.register_script("return redis.call('XADD', KEYS[1], ARGV[1], 'a', 1)")
    with pytest.raises(ResponseError) as refused:
        await called(keys=[stream], args=["4-0"])
    assert str(refused.value).startswith(XADD_ID_TOO_SMALL + " script: ")
    pcalled = client.register_script("return redis.pcall('XADD', KEYS[1], ARGV[1], 'a', 1)")
    with pytest.raises(ResponseError) as refused:
        await pcalled(keys=[stream], args=["4-0"])
    assert str(refused.value) == XADD_ID_TOO_SMALL
    assert await client.xlen(stream) == 1


# -- f. TIME in a writing script ---------------------------------------------------------------


async def test_f_a_script_may_write_read_time_and_write_again(client: RedisCluster) -> None:
    script = client.register_script(
        """
        redis.call('SET', KEYS[1], 'before')
        local t = redis.call('TIME')
        redis.call('XADD', KEYS[2], '*', 'at', t[1])
        redis.call('SET', KEYS[1], t[1])
        return t
        """
    )
    seconds, micros = await script(keys=["{sms:outbound}:t", "{sms:outbound}:tlog"])
    assert abs(int(seconds) - time.time()) < 60
    assert 0 <= int(micros) < 1_000_000
    assert await client.get("{sms:outbound}:t") == seconds
    entries: Any = await client.xrange("{sms:outbound}:tlog")
    assert [fields for _, fields in entries] == [{b"at": seconds}]


# -- g. telling a cluster from a plain server --------------------------------------------------


async def cluster_enabled(url: str) -> bool:
    """INFO cluster through a plain client: `cluster_enabled` is 1 on a cluster node, else 0."""
    probe = aioredis.Redis.from_url(url)
    try:
        info = await probe.info("cluster")
    finally:
        await probe.aclose()
    return bool(int(info.get("cluster_enabled", 0)))


async def open_client(url: str) -> AsyncClient:
    if await cluster_enabled(url):
        return RedisCluster.from_url(url)
    return aioredis.Redis.from_url(url)


async def _roundtrip(client: AsyncClient, stream: str) -> list[str]:
    """The same typed code on either client (mypy --strict checks it against the union)."""
    script = client.register_script("return redis.call('XADD', KEYS[1], '*', 'a', ARGV[1])")
    added = await script(keys=[stream], args=["1"])
    await client.xgroup_create(stream, GROUP, id="0")
    reply: Any = await client.xreadgroup(GROUP, "host-a", {stream: ">"}, count=10)
    return [_s(added), *(_s(i) for _, entries in reply for i, _ in entries)]


async def test_g_info_cluster_tells_a_cluster_node_from_a_plain_server(
    redis_cluster_url: str, redis_url: str
) -> None:
    assert await cluster_enabled(redis_cluster_url)
    assert not await cluster_enabled(redis_url)
    for url, kind in ((redis_cluster_url, RedisCluster), (redis_url, aioredis.Redis)):
        client = await open_client(url)
        try:
            assert type(client) is kind
            added, read = await _roundtrip(client, "{sms:outbound}:g")
            assert added == read
        finally:
            await client.aclose()


async def test_g_a_plain_client_on_a_cluster_node_is_moved_for_foreign_slots(
    client: RedisCluster, redis_cluster: RedisClusterProcess
) -> None:
    entry = f"127.0.0.1:{redis_cluster.ports[0]}"
    foreign = next(key for key in _keys_on_every_node(client) if _node(client, key).name != entry)
    plain = aioredis.Redis.from_url(redis_cluster.url)
    try:
        with pytest.raises(MovedError) as moved:
            await plain.set(foreign, "1")
    finally:
        await plain.aclose()
    slot, address = str(moved.value).split()
    assert int(slot) == client.keyslot(foreign)
    assert address == _node(client, foreign).name


def test_g_the_cluster_client_is_not_a_redis_subclass() -> None:
    assert not issubclass(RedisCluster, aioredis.Redis)
    assert not issubclass(aioredis.Redis, RedisCluster)
