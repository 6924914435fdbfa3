"""Our ESME client against the project's simulator over real loopback TCP, asyncio and uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from connector.carrier.client import DeferredAnswer, SmppClient
from connector.simulator.smsc import SimulatorConfig, Smsc
from connector.smpp import constants as c
from connector.smpp import pdu as p

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def _run(loop_name: str, coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        runner.run(asyncio.wait_for(coro(), 30))


def _submit(n: int) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr_ton=5,
        source_addr="MYAPP",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=f"24399885{n:04d}",
        registered_delivery=1,
        data_coding=1,
        short_message=b"Hello from Lisoloo!",
    )


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_fifty_submits_in_flight_all_answered_and_every_receipt_acknowledged(
    loop_name: str,
) -> None:
    async def scenario() -> None:
        receipts: list[p.Pdu] = []
        all_in = asyncio.Event()

        def on_deliver(pdu: p.Pdu) -> int:
            receipts.append(pdu)
            if len(receipts) == 200:
                all_in.set()
            return c.ESME_ROK

        async with Smsc(SimulatorConfig(system_id="lisoloo", password="pw")) as smsc:
            assert smsc.address is not None
            host, port = smsc.address
            client = SmppClient(
                system_id="lisoloo", password="pw", window=50, on_deliver=on_deliver
            )
            await client.connect(host, port)
            await client.bind()
            peak = 0

            async def one(n: int) -> p.Pdu:
                nonlocal peak
                response = await client.submit(_submit(n))
                peak = max(peak, client.session.window_in_use)
                return response

            tasks = [asyncio.ensure_future(one(n)) for n in range(200)]
            await asyncio.sleep(0)
            in_flight = client.session.window_in_use
            responses = await asyncio.gather(*tasks)
            assert in_flight == 50
            assert all(r.command_status == c.ESME_ROK for r in responses)
            ids = {r.message_id for r in responses if isinstance(r, p.SubmitSmResp)}
            assert len(ids) == 200
            await asyncio.wait_for(all_in.wait(), 10)
            receipted = {
                r.tlvs.get(c.TAG_RECEIPTED_MESSAGE_ID)
                for r in receipts
                if isinstance(r, p.DeliverSm)
            }
            assert receipted == ids
            for _ in range(100):  # the simulator saw every deliver_sm_resp
                if smsc.stats_dict().get("receipts_acked", 0) >= 200:
                    break
                await asyncio.sleep(0.02)
            assert smsc.stats_dict().get("receipts_acked", 0) >= 200
            await client.unbind()
            assert not client.is_bound

    _run(loop_name, scenario)


def test_async_deliver_handler_answers_once_its_work_is_done() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        answered: list[int] = []

        async def slow_handler(pdu: p.Pdu) -> int:
            await release.wait()
            return c.ESME_RX_T_APPN

        async with Smsc(SimulatorConfig(receipt_retry_delay_s=None)) as smsc:
            assert smsc.address is not None
            host, port = smsc.address
            client = SmppClient(system_id="a", password="b", on_deliver=slow_handler)
            await client.connect(host, port)
            await client.bind()
            response = await client.submit(_submit(1))
            assert response.command_status == c.ESME_ROK
            await asyncio.sleep(0.2)
            answered.append(smsc.stats_dict().get("receipts_acked", 0))
            release.set()
            for _ in range(100):
                if smsc.stats_dict().get("receipts_failed", 0) >= 1:
                    break
                await asyncio.sleep(0.02)
            assert answered == [0]
            assert smsc.stats_dict().get("receipts_failed", 0) == 1
            await client.unbind()

    _run("uvloop", scenario)


def test_deferred_answer_sends_the_deliver_sm_resp_when_answered() -> None:
    async def scenario() -> None:
        deferred: list[DeferredAnswer] = []

        def handler(pdu: p.Pdu) -> DeferredAnswer:
            answer = DeferredAnswer()
            deferred.append(answer)
            return answer

        async with Smsc(SimulatorConfig(receipt_retry_delay_s=None)) as smsc:
            assert smsc.address is not None
            host, port = smsc.address
            client = SmppClient(system_id="a", password="b", on_deliver=handler)
            await client.connect(host, port)
            await client.bind()
            for n in range(3):
                response = await client.submit(_submit(n))
                assert response.command_status == c.ESME_ROK
            for _ in range(100):
                if len(deferred) == 3:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert smsc.stats_dict()["receipts_acked"] == 0  # nothing answered yet
            deferred[0].answer(c.ESME_ROK)
            deferred[0].answer(c.ESME_RX_T_APPN)  # a second answer is ignored
            deferred[1].answer(c.ESME_RX_T_APPN)
            for _ in range(100):
                stats = smsc.stats_dict()
                if stats["receipts_acked"] + stats["receipts_failed"] >= 2:
                    break
                await asyncio.sleep(0.02)
            stats = smsc.stats_dict()
            assert (stats["receipts_acked"], stats["receipts_failed"]) == (1, 1)
            await client.unbind()

    _run("uvloop", scenario)


def test_deferred_answer_given_before_the_client_attaches_is_kept() -> None:
    sent: list[int] = []
    early = DeferredAnswer()
    early.answer(c.ESME_ROK)
    early.attach(sent.append)
    late = DeferredAnswer()
    late.attach(sent.append)
    assert sent == [c.ESME_ROK]
    late.answer(c.ESME_RX_T_APPN)
    late.answer(c.ESME_ROK)
    assert sent == [c.ESME_ROK, c.ESME_RX_T_APPN]
