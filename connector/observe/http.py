"""GET /metrics, /healthz and /readyz over a tiny asyncio HTTP/1.1 server (no new dependency).

One request per connection, then close. The request head is bounded (`max_request_bytes`,
431 beyond) and must arrive within `request_timeout_s` (408, or just a close), and writing the
answer has the same bound, so a slow or hostile client holds one connection for a few seconds
at most and never delays another; beyond `max_connections` at once, new ones are closed
unanswered.

- `/metrics`: `Metrics.render_async()` in the Prometheus text format;
- `/healthz`: 200 while the process (and its event loop) answers;
- `/readyz`: the app's `ready()` coroutine → (True, _) 200, (False, reason) 503 with the reason;
  a check that raises or outlasts `ready_timeout_s` is a 503 too.

Wiring:

    ready = readiness(ping=redis.ping, bound=lambda: {n: p.bound_count() for n, p in pools.items()})
    server = await start(config.metrics.host, config.metrics.port, metrics, ready)
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from connector.observe.metrics import CONTENT_TYPE, Metrics

__all__ = ["MetricsServer", "ReadyCheck", "readiness", "start"]

_log = logging.getLogger("connector.observe.http")

ReadyCheck = Callable[[], Awaitable[tuple[bool, str]]]

_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_TEXT: Final = "text/plain; charset=utf-8"


def readiness(
    ping: Callable[[], Awaitable[object]],
    bound: Callable[[], Mapping[str, int]],
    waiting: Callable[[], Mapping[str, int]] | None = None,
) -> ReadyCheck:
    """The usual `/readyz` check: Redis answers, and every carrier has a bound session.

    `ping` is e.g. `redis_client.ping`; `bound` maps each configured carrier to its number of
    bound (transmitting) sessions, e.g. `{name: pool.bound_count() for ...}`; `waiting` to its
    binds waiting for a slot (`max_binds` reached by other hosts), named in the reason.
    """

    async def check() -> tuple[bool, str]:
        try:
            await ping()
        except Exception as error:
            return False, f"redis: {type(error).__name__}: {error}"
        missing = sorted(name for name, count in bound().items() if count < 1)
        if missing:
            slots = waiting() if waiting is not None else {}
            named = [
                f"{name} (waiting for a bind slot: max_binds held by other hosts)"
                if slots.get(name)
                else name
                for name in missing
            ]
            return False, "no bound session: " + ", ".join(named)
        return True, "ready"

    return check


class MetricsServer:
    """The listening socket and its connections; `start()` then `stop()`."""

    def __init__(
        self,
        metrics: Metrics,
        ready: ReadyCheck,
        *,
        request_timeout_s: float = 5.0,
        ready_timeout_s: float = 3.0,
        max_request_bytes: int = 8192,
        max_connections: int = 64,
    ) -> None:
        self.metrics = metrics
        self.ready = ready
        self.request_timeout_s = request_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.max_request_bytes = max_request_bytes
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: any free port, see `port`)."""
        self._server = await asyncio.start_server(
            self._on_connection, host, port, limit=self.max_request_bytes
        )

    @property
    def port(self) -> int:
        """The port actually listened on."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the metrics server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and cut the connections still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=self.request_timeout_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), self.request_timeout_s)

    # -------------------------------------------------------------------- one connection

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._handlers) >= self.max_connections:
            writer.close()
            return
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stalled: nothing more to say to it
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.request_timeout_s):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            await self._respond(writer, 408, _TEXT, b"request timeout\n", head_only=False)
            return
        except asyncio.LimitOverrunError:
            await self._respond(writer, 431, _TEXT, b"request too large\n", head_only=False)
            await self._discard_rest(reader, writer)
            return
        except asyncio.IncompleteReadError:
            return  # closed before a whole request
        request_line = head.split(b"\r\n", 1)[0]
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            await self._respond(writer, 400, _TEXT, b"bad request\n", head_only=False)
            return
        method, target = parts[0], parts[1]
        if method not in (b"GET", b"HEAD"):
            await self._respond(
                writer, 405, _TEXT, b"method not allowed\n", head_only=False, allow=True
            )
            return
        path = target.split(b"?", 1)[0]
        status, content_type, body = await self._route(path)
        await self._respond(writer, status, content_type, body, head_only=method == b"HEAD")

    async def _discard_rest(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Lingering close, bounded: closing with unread input would reset the connection
        and could destroy the answer before the client reads it."""
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                for _ in range(64):  # at most 64 reads of max_request_bytes
                    if not await reader.read(self.max_request_bytes):
                        break

    async def _route(self, path: bytes) -> tuple[int, str, bytes]:
        if path == b"/metrics":
            try:
                return 200, CONTENT_TYPE, await self.metrics.render_async()
            except Exception:
                _log.exception("rendering metrics failed")
                return 500, _TEXT, b"rendering metrics failed\n"
        if path == b"/healthz":
            return 200, _TEXT, b"ok\n"
        if path == b"/readyz":
            try:
                ok, reason = await asyncio.wait_for(self.ready(), self.ready_timeout_s)
            except TimeoutError:
                ok, reason = False, f"readiness check timed out after {self.ready_timeout_s:g} s"
            except Exception as error:
                ok, reason = False, f"readiness check failed: {type(error).__name__}: {error}"
            return (200 if ok else 503), _TEXT, (reason.rstrip("\n") + "\n").encode()
        return 404, _TEXT, b"not found\n"

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        content_type: str,
        body: bytes,
        *,
        head_only: bool,
        allow: bool = False,
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            + ("Allow: GET, HEAD\r\n" if allow else "")
            + "Connection: close\r\n\r\n"
        ).encode("ascii")
        writer.write(head if head_only else head + body)
        async with asyncio.timeout(self.request_timeout_s):
            await writer.drain()


async def start(
    host: str,
    port: int,
    metrics: Metrics,
    ready: ReadyCheck,
    *,
    request_timeout_s: float = 5.0,
    ready_timeout_s: float = 3.0,
    max_request_bytes: int = 8192,
    max_connections: int = 64,
) -> MetricsServer:
    """Listen on host:port (0: any free port) and serve /metrics, /healthz, /readyz until
    `await server.stop()`."""
    server = MetricsServer(
        metrics,
        ready,
        request_timeout_s=request_timeout_s,
        ready_timeout_s=ready_timeout_s,
        max_request_bytes=max_request_bytes,
        max_connections=max_connections,
    )
    await server.start(host, port)
    return server
