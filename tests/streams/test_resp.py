"""The lean RESP connection (resp.py): the same bytes, replies and errors as redis-py."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from connector.streams.resp import LeanConnection, pack
from tests.support.redis_server import RedisServer

# Busy for about `ARGV[1]` ms inside Redis, then returns 'slow': a reply that comes late.
_SLOW = """
local t = redis.call('TIME')
local start = t[1] * 1000 + t[2] / 1000
repeat
  t = redis.call('TIME')
until t[1] * 1000 + t[2] / 1000 - start >= tonumber(ARGV[1])
return 'slow'
"""


@pytest.fixture
async def lean(redis_url: str) -> AsyncIterator[LeanConnection]:
    client = aioredis.Redis.from_url(redis_url)
    connection = LeanConnection.for_client(client)
    assert connection is not None
    yield connection
    await connection.aclose()
    await client.aclose()


_ARG = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.lists(_ARG, max_size=8))
def test_pack_writes_what_redis_py_writes(args: list[bytes | str | int | float]) -> None:
    # The command name first: redis-py splits it on spaces ("SCRIPT LOAD"), not the arguments.
    ours = pack((b"EVALSHA", *args))
    theirs = b"".join(Connection().pack_command(b"EVALSHA", *args))
    assert ours == theirs


def test_pack_refuses_what_redis_cannot_hold() -> None:
    with pytest.raises(TypeError, match="bool"):
        pack((b"SET", b"k", True))


def test_only_a_plain_tcp_client_gets_a_lean_twin(tmp_path: Path) -> None:
    plain = aioredis.Redis(host="127.0.0.1", port=6390, db=2, socket_timeout=1.5)
    twin = LeanConnection.for_client(plain)
    assert twin is not None
    assert (twin.host, twin.port, twin.db, twin.timeout_s) == ("127.0.0.1", 6390, 2, 1.5)
    assert LeanConnection.for_client(aioredis.Redis(unix_socket_path=str(tmp_path / "s"))) is None
    assert LeanConnection.for_client(aioredis.Redis(ssl=True)) is None
    assert LeanConnection.for_client(aioredis.Redis(decode_responses=True)) is None
    assert LeanConnection.for_client(object()) is None


async def test_replies_come_back_as_hiredis_parses_them(lean: LeanConnection) -> None:
    assert await lean.call(b"SET", "k", 7) == b"OK"
    assert await lean.call("INCRBY", "k", 5) == 12
    assert await lean.call("MGET", "k", "missing") == [b"12", None]


async def test_concurrent_calls_are_pipelined_and_each_gets_its_own_reply(
    lean: LeanConnection,
) -> None:
    replies = await asyncio.gather(*(lean.call("ECHO", f"m{n}") for n in range(200)))
    assert replies == [f"m{n}".encode() for n in range(200)]


class _CountingTransport:
    """Stands in for a connection's transport and counts (and keeps) its writes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writes = 0
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.written.append(bytes(data))
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("coalesce", [True, False])
async def test_requests_made_in_one_turn_leave_in_one_write(redis_url: str, coalesce: bool) -> None:
    client = aioredis.Redis.from_url(redis_url)
    lean = LeanConnection.for_client(client)
    assert lean is not None
    lean.coalesce = coalesce
    assert await lean.call("PING") == b"PONG"
    protocol = lean._protocol
    assert protocol is not None
    counting = _CountingTransport(protocol.transport)
    protocol.transport = counting  # type: ignore[assignment]
    replies = await asyncio.gather(*(lean.call("ECHO", f"m{n}") for n in range(5)))
    assert replies == [f"m{n}".encode() for n in range(5)]
    assert counting.writes == (1 if coalesce else 5)
    await lean.aclose()
    await client.aclose()


async def test_an_urgent_request_leaves_at_once_with_what_was_queued_before_it(
    redis_url: str,
) -> None:
    """In one turn: a request, an urgent one, another request. The urgent one is written when
    it is made, behind the request queued before it (their order kept); the last one leaves
    at the end of the turn."""
    client = aioredis.Redis.from_url(redis_url)
    lean = LeanConnection.for_client(client)
    assert lean is not None
    assert await lean.call("PING") == b"PONG"
    protocol = lean._protocol
    assert protocol is not None
    counting = _CountingTransport(protocol.transport)
    protocol.transport = counting  # type: ignore[assignment]
    replies = await asyncio.gather(
        lean.call("ECHO", "first"), lean.call("ECHO", "urgent", urgent=True), lean.call("PING")
    )
    assert list(replies) == [b"first", b"urgent", b"PONG"]
    assert counting.written == [
        pack(("ECHO", "first")) + pack(("ECHO", "urgent")),
        pack(("PING",)),
    ]
    await lean.aclose()
    await client.aclose()


async def test_a_reply_error_raises_redis_pys_class(lean: LeanConnection) -> None:
    await lean.call("SET", "text", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await lean.call("HSET", "text", "f", "v")
    assert await lean.call("GET", "text") == b"x"  # the connection is still in step


async def test_evalsha_loads_a_script_the_server_does_not_know(
    lean: LeanConnection, redis_url: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    script = client.register_script("return ARGV[1] .. KEYS[1]")
    await client.script_flush()
    assert await lean.evalsha(script.sha, script.script, ["k"], ["v-"]) == b"v-k"
    assert await client.script_exists(script.sha) == [True]
    await client.aclose()


async def test_a_blocking_call_waits_its_block_on_top_of_the_timeout(redis_url: str) -> None:
    lean = LeanConnection.for_client(aioredis.Redis.from_url(redis_url, socket_timeout=0.1))
    assert lean is not None
    await lean.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    reply = await lean.call_blocking(
        0.3, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 300, "STREAMS", "s", ">"
    )
    assert reply is None  # the block ran out; not a timeout at 0.1 s
    await lean.aclose()


async def test_a_cancelled_caller_leaves_the_replies_in_step(lean: LeanConnection) -> None:
    slow = asyncio.ensure_future(lean.call("EVAL", _SLOW, 0, 100))
    await asyncio.sleep(0.02)
    slow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await slow
    assert await lean.call("ECHO", "next") == b"next"


async def test_the_database_of_the_url_is_selected(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3")
    lean = LeanConnection.for_client(client)
    assert lean is not None
    await lean.call("SET", "where", "db3")
    assert await client.get("where") == b"db3"
    db0 = aioredis.Redis.from_url(redis_url)
    assert await db0.get("where") is None
    await lean.aclose()
    await client.aclose()
    await db0.aclose()


async def test_a_password_is_sent_and_a_wrong_one_is_an_authentication_error(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "auth")
    server.start()
    try:
        admin = aioredis.Redis(host="127.0.0.1", port=server.port)
        await admin.config_set("requirepass", "s3cret")
        await admin.aclose()
        good = LeanConnection("127.0.0.1", server.port, password="s3cret")
        assert await good.call("PING") == b"PONG"
        await good.aclose()
        bad = LeanConnection("127.0.0.1", server.port, password="wrong")
        with pytest.raises(AuthenticationError):
            await bad.call("PING")
        await bad.aclose()
    finally:
        server.kill()


async def test_a_killed_server_fails_the_call_and_a_restarted_one_is_reconnected(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "restart")
    server.start()
    lean = LeanConnection("127.0.0.1", server.port, timeout_s=5.0, connect_timeout_s=1.0)
    try:
        assert await lean.call("PING") == b"PONG"
        server.kill()
        with pytest.raises(RedisConnectionError):
            await lean.call("PING")
        with pytest.raises(RedisConnectionError, match="connecting"):
            await lean.call("PING")  # refused while it is down
        server.start()
        assert await lean.call("PING") == b"PONG"
    finally:
        await lean.aclose()
        server.kill()


@contextlib.asynccontextmanager
async def _fake_redis(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A loopback server that runs `answer` per connection: its port and its connections."""
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await answer(reader, writer)

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1], connections
    finally:
        for writer in connections:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def test_a_server_that_never_answers_times_out_and_drops_the_connection() -> None:
    async def silent(_: asyncio.StreamReader, __: asyncio.StreamWriter) -> None:
        pass  # reads nothing, answers nothing

    async with _fake_redis(silent) as (port, accepted):
        lean = LeanConnection("127.0.0.1", port, timeout_s=0.2)
        try:
            first = asyncio.ensure_future(lean.call("PING"))
            second = asyncio.ensure_future(lean.call("PING"))
            with pytest.raises(RedisTimeoutError, match=r"0\.2 s"):
                await first
            with pytest.raises(RedisTimeoutError):  # in flight on the same connection: too
                await second
            assert len(accepted) == 1
            third = asyncio.ensure_future(lean.call("PING"))
            with pytest.raises(RedisTimeoutError):
                await third
            assert len(accepted) == 2  # the next call connected again
        finally:
            await lean.aclose()


async def test_the_late_end_of_a_replaced_connection_leaves_its_successor_alone(
    lean: LeanConnection,
) -> None:
    assert await lean.call("PING") == b"PONG"
    old = lean._protocol
    assert old is not None
    await lean.aclose()
    assert await lean.call("PING") == b"PONG"  # a new connection
    pending = asyncio.ensure_future(lean.call("EVAL", _SLOW, 0, 50))
    await asyncio.sleep(0.01)
    old.connection_lost(None)  # the replaced connection reports its end only now
    old.data_received(b"+STRAY\r\n")  # and whatever it still had in flight
    assert await pending == b"slow"
    assert lean.connected


async def test_callers_sharing_a_cancelled_connect_get_a_redis_error() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it
    # stays pending (bounded by connect_timeout_s) while a second caller joins it.
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # bounded: enough to fill a queue of backlog + 1
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        lean = LeanConnection("127.0.0.1", port, timeout_s=5.0, connect_timeout_s=5.0)
        opener = asyncio.ensure_future(lean.call("PING"))
        await asyncio.sleep(0.05)
        assert not opener.done(), "the connect should still be pending"
        sharer = asyncio.ensure_future(lean.call("PING"))
        await asyncio.sleep(0.01)
        opener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await opener
        with pytest.raises(RedisConnectionError, match="cancelled"):
            await sharer
        await lean.aclose()
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_reply_nobody_asked_for_drops_the_connection() -> None:
    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()  # the first line of the first request
        writer.write(b"+OK\r\n+EXTRA\r\n")  # two replies to one request
        await writer.drain()

    async with _fake_redis(chatty) as (port, connections):
        lean = LeanConnection("127.0.0.1", port, timeout_s=1.0)
        try:
            assert await lean.call("PING") == b"OK"
            for _ in range(100):  # bounded: the extra reply is in the same read or the next
                if not lean.connected:
                    break
                await asyncio.sleep(0.01)
            assert not lean.connected
            assert await lean.call("PING") == b"OK"  # a new connection
            assert len(connections) == 2
        finally:
            await lean.aclose()
