"""The /metrics /healthz /readyz server: answers, refusals, and clients that misbehave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.observe.http import MetricsServer, readiness, start
from connector.observe.metrics import Metrics


@dataclass
class Readiness:
    ok: bool = True
    reason: str = "ready"
    delay_s: float = 0.0
    error: Exception | None = None

    async def __call__(self) -> tuple[bool, str]:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return self.ok, self.reason


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def ready() -> Readiness:
    return Readiness()


@pytest.fixture
async def server(ready: Readiness) -> AsyncIterator[MetricsServer]:
    metrics = Metrics(version="0.1.0")
    metrics.for_carrier("airtel-cd").submits_ok.inc()
    server = await start(
        "127.0.0.1",
        0,
        metrics,
        ready,
        request_timeout_s=0.5,
        ready_timeout_s=0.3,
        max_request_bytes=1024,
        max_connections=8,
    )
    try:
        yield server
    finally:
        await asyncio.wait_for(server.stop(), 5)


def _parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    version, status, _reason = lines[0].split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return Response(int(status), headers, body)


async def _exchange(port: int, raw: bytes, timeout_s: float = 3.0) -> Response:
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            await writer.drain()
            answer = await reader.read()  # until the server closes: one request per connection
        finally:
            writer.close()
    return _parse(answer)


async def _get(port: int, path: str, method: str = "GET") -> Response:
    return await _exchange(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


async def test_metrics_answers_the_text_format(server: MetricsServer) -> None:
    response = await _get(server.port, "/metrics")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["connection"] == "close"
    assert int(response.headers["content-length"]) == len(response.body)
    families = {f.name: f for f in text_string_to_metric_families(response.body.decode())}
    submits = families["smpp_connector_submits"]
    ok = [s for s in submits.samples if s.labels == {"carrier": "airtel-cd", "result": "ok"}]
    assert ok[0].value == 1


async def test_metrics_ignores_the_query_string(server: MetricsServer) -> None:
    assert (await _get(server.port, "/metrics?name[]=up")).status == 200


async def test_healthz_is_200_while_the_loop_answers(server: MetricsServer) -> None:
    response = await _get(server.port, "/healthz")
    assert (response.status, response.body) == (200, b"ok\n")


async def test_readyz_is_200_when_ready(server: MetricsServer) -> None:
    response = await _get(server.port, "/readyz")
    assert (response.status, response.body) == (200, b"ready\n")


async def test_readyz_is_503_with_the_reason(server: MetricsServer, ready: Readiness) -> None:
    ready.ok, ready.reason = False, "no bound session: airtel-cd"
    response = await _get(server.port, "/readyz")
    assert (response.status, response.body) == (503, b"no bound session: airtel-cd\n")


async def test_readyz_is_503_when_the_check_raises(server: MetricsServer, ready: Readiness) -> None:
    ready.error = ConnectionError("redis went away")
    response = await _get(server.port, "/readyz")
    assert response.status == 503
    assert b"ConnectionError: redis went away" in response.body


async def test_readyz_is_503_when_the_check_hangs(server: MetricsServer, ready: Readiness) -> None:
    ready.delay_s = 10
    response = await _get(server.port, "/readyz")
    assert response.status == 503
    assert b"timed out" in response.body


async def test_unknown_path_is_404(server: MetricsServer) -> None:
    assert (await _get(server.port, "/admin")).status == 404


async def test_head_answers_headers_only(server: MetricsServer) -> None:
    response = await _get(server.port, "/healthz", method="HEAD")
    assert response.status == 200
    assert response.headers["content-length"] == "3"
    assert response.body == b""


async def test_other_methods_are_405(server: MetricsServer) -> None:
    response = await _get(server.port, "/metrics", method="POST")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_a_garbled_request_is_400(server: MetricsServer) -> None:
    assert (await _exchange(server.port, b"HELLO\r\n\r\n")).status == 400
    assert (await _exchange(server.port, b"GET / SMPP/3.4\r\n\r\n")).status == 400


async def test_an_oversize_request_is_refused(server: MetricsServer) -> None:
    huge = b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * 20_000 + b"\r\n\r\n"
    response = await _exchange(server.port, huge)
    assert response.status == 431


async def test_a_slow_client_does_not_block_another_and_is_cut(server: MetricsServer) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /metr")  # ... and nothing more: slow loris
        await writer.drain()
        began = loop.time()
        response = await _get(server.port, "/healthz")
        assert response.status == 200
        # ... while the slow one is still waiting: a server serving one client at a time
        # would have answered it (408 at request_timeout_s, 0.5 s) first
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.01)
        answer = await asyncio.wait_for(reader.read(), 3)
        assert _parse(answer).status == 408
        assert loop.time() - began < 2.0
    finally:
        writer.close()


async def test_connections_beyond_the_limit_are_closed_unanswered(ready: Readiness) -> None:
    server = await start("127.0.0.1", 0, Metrics(), ready, max_connections=2)
    idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(2)]
    try:
        await asyncio.sleep(0.05)  # let the server accept both
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 3) == b""
        writer.close()
    finally:
        for _, w in idle:
            w.close()
        await asyncio.wait_for(server.stop(), 5)


async def test_stop_cuts_idle_connections_and_stops_listening(ready: Readiness) -> None:
    server = await start("127.0.0.1", 0, Metrics(), ready, request_timeout_s=30)
    port = server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(server.stop(), 2)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await server.stop()  # twice is harmless


async def test_a_failing_render_is_500(server: MetricsServer) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    # a broken collector does not fail the scrape; a broken exposition does
    server.metrics.add_collector(broken)
    assert (await _get(server.port, "/metrics")).status == 200

    async def explode() -> bytes:
        raise RuntimeError("cannot render")

    server.metrics.render_async = explode  # type: ignore[method-assign]
    assert (await _get(server.port, "/metrics")).status == 500


async def test_readiness_needs_redis_and_a_bound_session_per_carrier() -> None:
    bound = {"airtel-cd": 2, "vodacom-cd": 1}
    failure: list[Exception] = []

    async def ping() -> bool:
        if failure:
            raise failure[0]
        return True

    check = readiness(ping, lambda: bound)
    assert await check() == (True, "ready")
    bound["vodacom-cd"] = 0
    bound["orange-cd"] = 0
    assert await check() == (False, "no bound session: orange-cd, vodacom-cd")
    failure.append(ConnectionError("Error 111 connecting to 127.0.0.1:6379"))
    ok, reason = await check()
    assert not ok
    assert reason == "redis: ConnectionError: Error 111 connecting to 127.0.0.1:6379"
