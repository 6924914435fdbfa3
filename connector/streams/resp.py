"""A lean RESP connection for the hot Redis calls: an asyncio Protocol and a hiredis Reader.

Why: redis-py spends 80-110 µs of the daemon's CPU per command on a slow machine (argument
packing in Python, the retry wrapper, the pool, a timeout context per read) against ~65 µs for
the write, the wake-up and the read themselves. At moderate load the daemon makes a script
call every few messages, so that overhead was a fifth of its CPU (py-spy at half load).

Scope: a single Redis server over TCP (no TLS, no Unix socket, no Cluster: `for_client`
returns None there and the caller keeps redis-py). Requests are pipelined on one connection and
answered in order; a caller cancelled while waiting leaves its reply to be read and dropped, so
the order holds. Errors are redis-py's own classes (`ConnectionError`, `TimeoutError`,
`ResponseError` and its subclasses such as `NoScriptError`), so callers handle both paths
alike. A timeout or a lost connection fails every request in flight and the next call
connects again.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def pack(args: tuple[Any, ...]) -> bytes:
    """One command as a RESP array of bulk strings (str as UTF-8, int and float as text)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, (int, float)) and not isinstance(arg, bool):
            data = repr(arg).encode()
        else:
            raise TypeError(f"cannot send a {type(arg).__name__} to Redis")
        out.append(b"$%d\r\n" % len(data))
        out.append(data)
        out.append(b"\r\n")
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: LeanConnection) -> None:
        self.owner = owner
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self.owner._protocol is not self:
            return  # a connection already given up (timed out, closed): its bytes mean nothing
        reader = self.reader
        reader.feed(data)
        waiting = self.owner._waiting
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as error:
                self.owner._lost(RedisConnectionError(f"Redis protocol error: {error}"))
                return
            if reply is False:
                return
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self.owner._lost(RedisConnectionError("Redis sent a reply nobody asked for"))
                return
            future = waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        # Only the current connection's loss fails what waits: a connection given up earlier
        # reports its end after its successor may already be carrying requests.
        if self.owner._protocol is self:
            self.owner._lost(RedisConnectionError(f"Redis connection lost: {exc or 'closed'}"))


class LeanConnection:
    """One pipelined TCP connection to a Redis server. A blocking command (`call_blocking`)
    holds the connection until it returns: give it a connection of its own (`twin`)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float | None = None,
        connect_timeout_s: float | None = None,
        coalesce: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        # `coalesce`: requests made in one turn of the event loop leave in one write (a
        # loopback write costs as much as the receiver's whole TCP receive path, charged to
        # the sender); a connection with one request at a time writes at once instead.
        self.coalesce = coalesce
        self._out: list[bytes] = []
        self._flush_at_turn_end = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def for_client(cls, client: object) -> LeanConnection | None:
        """A lean twin of a plain TCP `redis.asyncio.Redis`; None for anything else."""
        if type(client) is not aioredis.Redis:
            return None
        pool = client.connection_pool
        if pool.connection_class is not Connection:  # TLS, Unix socket, a custom class
            return None
        kw = pool.connection_kwargs
        if kw.get("decode_responses") or kw.get("protocol") not in (None, 2, "2"):
            return None
        return cls(
            str(kw.get("host", "localhost")),
            int(kw.get("port", 6379)),
            db=int(kw.get("db") or 0),
            username=kw.get("username"),
            password=kw.get("password"),
            timeout_s=kw.get("socket_timeout"),
            connect_timeout_s=kw.get("socket_connect_timeout"),
        )

    @property
    def connected(self) -> bool:
        return self._protocol is not None

    # ------------------------------------------------------------------ commands

    def twin(self, *, coalesce: bool = True) -> LeanConnection:
        """Another connection to the same server with the same settings (not yet open)."""
        return LeanConnection(
            self.host,
            self.port,
            db=self.db,
            username=self.username,
            password=self.password,
            timeout_s=self.timeout_s,
            connect_timeout_s=self.connect_timeout_s,
            coalesce=coalesce,
        )

    async def call(self, *args: Any, urgent: bool = False) -> Any:
        """Send one command, return its reply; a reply error is raised as redis-py's class.

        `urgent`: written now, with whatever is queued before it, instead of at the end of the
        loop's turn: for a call that nothing else in the same turn would join."""
        return await self.call_blocking(0.0, *args, urgent=urgent)

    async def call_blocking(self, block_s: float, *args: Any, urgent: bool = False) -> Any:
        """`call` for a command that may block up to `block_s` (XREADGROUP ... BLOCK): the
        timeout is longer by that much. Nothing else should share its connection meanwhile."""
        protocol = self._protocol or await self._connect()
        loop = self._loop
        assert loop is not None
        assert protocol.transport is not None
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(future)
        self._out.append(pack(args))
        if urgent or not self.coalesce:
            self._flush()  # a flush still scheduled for the turn's end finds nothing
        elif not self._flush_at_turn_end:
            self._flush_at_turn_end = True
            loop.call_soon(self._flush)
        reply = await self._wait(future, block_s)
        if isinstance(reply, hiredis.ReplyError):
            error: Exception = BaseParser.parse_error(str(reply))  # type: ignore[no-untyped-call]
            raise error
        return reply

    async def evalsha(
        self,
        sha: str,
        script: str | bytes | memoryview,
        keys: list[str],
        args: list[Any],
        *,
        urgent: bool = False,
    ) -> Any:
        """EVALSHA, loading the script once when the server does not know it (NOSCRIPT)."""
        try:
            return await self.call(b"EVALSHA", sha, len(keys), *keys, *args, urgent=urgent)
        except NoScriptError:
            await self.call(
                b"SCRIPT", b"LOAD", bytes(script) if isinstance(script, memoryview) else script
            )
            return await self.call(b"EVALSHA", sha, len(keys), *keys, *args, urgent=urgent)

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        self._out.clear()
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
        self._fail(RedisConnectionError("connection closed"))

    # ------------------------------------------------------------------ internals

    def _flush(self) -> None:
        self._flush_at_turn_end = False
        out = self._out
        if not out:
            return
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()  # with no connection, their callers were failed already

    async def _wait(self, future: asyncio.Future[Any], block_s: float) -> Any:
        if self.timeout_s is None:
            return await future
        loop = self._loop
        assert loop is not None
        timer = loop.call_later(self.timeout_s + block_s, self._timed_out, future)
        try:
            return await future
        finally:
            timer.cancel()

    def _timed_out(self, future: asyncio.Future[Any]) -> None:
        if not future.done():
            # The reply may still come, after later requests were written: the stream can no
            # longer be matched to its requests. Drop the connection; the next call reconnects.
            self._lost(
                RedisTimeoutError(f"no reply from Redis within {self.timeout_s} s (+ block)")
            )

    def _lost(self, error: Exception) -> None:
        protocol, self._protocol = self._protocol, None
        self._out.clear()  # requests never written: failed below with the rest
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()
        self._fail(error)

    def _fail(self, error: Exception) -> None:
        waiting = self._waiting
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_exception(error)

    async def _connect(self) -> _Protocol:
        if self._connecting is not None:  # another caller is connecting: share its result
            return await asyncio.shield(self._connecting)
        loop = asyncio.get_running_loop()
        self._connecting = loop.create_future()
        try:
            protocol = await self._open()
        except BaseException as error:
            # Callers sharing this attempt get a Redis error, never the opener's cancellation.
            shared = (
                error
                if isinstance(error, Exception)
                else RedisConnectionError("connecting to Redis was cancelled")
            )
            self._connecting.set_exception(shared)
            self._connecting.exception()  # retrieved: no "never retrieved" warning
            raise
        else:
            self._connecting.set_result(protocol)
            return protocol
        finally:
            self._connecting = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(self), self.host, self.port
                )
        except TimeoutError as error:
            raise RedisTimeoutError(f"connecting to Redis at {self.host}:{self.port}") from error
        except OSError as error:
            raise RedisConnectionError(
                f"connecting to Redis at {self.host}:{self.port}: {error}"
            ) from error
        self._protocol = protocol
        self._loop = loop
        try:
            if self.password is not None:
                auth = (self.password,) if self.username is None else (self.username, self.password)
                await self.call(b"AUTH", *auth)
            if self.db:
                await self.call(b"SELECT", self.db)
        except BaseException:
            self._lost(RedisConnectionError("Redis refused the connection's set-up"))
            raise
        return protocol


__all__ = ["LeanConnection", "ResponseError", "pack"]
