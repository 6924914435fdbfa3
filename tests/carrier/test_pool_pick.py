"""Which bind a submit goes to (`BindPool.pick` / `rotate`), three binds bound to the simulator
over loopback TCP: a pump's sends stay on one bind while its window has room, so they leave in
one write; the next pump starts on the next bind, so over many pumps every bind takes its
share; a bind whose window is full is passed over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connector.carrier.client import SmppClient
from connector.carrier.pool import BindPool, BindSettings
from connector.simulator.smsc import SimulatorConfig, Smsc
from connector.smpp import pdu as p

SYSTEM_ID = "lisoloo"
PASSWORD = "pw"


@pytest.fixture
async def pool() -> AsyncIterator[BindPool]:
    smsc = Smsc(SimulatorConfig(system_id=SYSTEM_ID, password=PASSWORD))
    await smsc.start("127.0.0.1", 0)
    assert smsc.address is not None
    settings = BindSettings(
        "airtel-cd", smsc.address[0], smsc.address[1], SYSTEM_ID, PASSWORD, binds=3, window=2
    )
    bind_pool = BindPool(settings)
    bind_pool.start()
    try:
        deadline = time.monotonic() + 10
        while bind_pool.bound_count() < 3:
            assert time.monotonic() < deadline, "three binds bound within 10 s"
            await asyncio.sleep(0.02)
        yield bind_pool
    finally:
        await bind_pool.stop()
        await smsc.stop()


def _submit(client: SmppClient | None, answers: list[Any]) -> None:
    assert client is not None
    pdu = p.SubmitSm(source_addr="Lisoloo", destination_addr="243998857000", short_message=b"x")
    client.submit_with(pdu, lambda response, error: answers.append((response, error)))


async def test_a_pumps_sends_stay_on_one_bind_while_it_has_room(pool: BindPool) -> None:
    clients = [bind.client for bind in pool.transmitters]
    answers: list[Any] = []
    first = pool.pick()
    assert first is clients[0]
    _submit(first, answers)
    assert pool.pick() is first  # one slot left: the same bind again
    _submit(first, answers)
    # Its window (2) is full: the next bind in turn, and that one from then on.
    second = pool.pick()
    assert second is clients[1]
    _submit(second, answers)
    assert pool.pick() is second
    pool.flush()
    deadline = time.monotonic() + 10
    while len(answers) < 3:
        assert time.monotonic() < deadline, "three submit_sm_resp within 10 s"
        await asyncio.sleep(0.02)
    assert all(error is None for _, error in answers)


async def test_each_pump_starts_on_the_next_bind(pool: BindPool) -> None:
    clients = [bind.client for bind in pool.transmitters]
    starts = []
    for _ in range(6):
        starts.append(pool.pick())
        pool.rotate()
    assert starts == clients + clients
