"""Mobile-originated messages: deliver_sm that are not receipts → `<prefix>:mo` (CONTRACT §3).

Each message is decoded (every data_coding a carrier may use), and a concatenated one (UDH
8/16-bit or SAR, parts in any order, on any bind, on any host) is reassembled in Redis, so
parts in progress survive a restart. The deliver_sm is answered ESME_ROK only once its effect
is written; ESME_RX_T_APPN while Redis is unreachable, so the carrier retries. Parts that
never complete are written with `complete: false` after `mo.reassembly_timeout_s` by a sweeper
any host runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from connector.domain import contract
from connector.observe.metrics import Metrics
from connector.smpp import constants as c
from connector.smpp import pdu as p
from connector.streams.store import Store
from connector.text.decode import decode_short_message
from connector.text.udh import concat_from_sar

_log = logging.getLogger(__name__)


def mo_operation(
    carrier: str, pdu: p.DeliverSm | p.DataSm, now: float, *, gsm7_packed: bool = False
) -> dict[str, Any]:
    """The MO script's op for one deliver_sm / data_sm (pure)."""
    payload = pdu.tlvs.get(c.TAG_MESSAGE_PAYLOAD)
    if not isinstance(payload, bytes) or not payload:
        payload = pdu.short_message if isinstance(pdu, p.DeliverSm) else b""
    udhi = bool(pdu.esm_class & c.ESM_CLASS_UDHI)
    decoded = decode_short_message(pdu.data_coding, payload, udhi=udhi, gsm7_packed=gsm7_packed)
    text = decoded.text if decoded.binary is None else decoded.binary.hex()
    source = contract.mo_address(pdu.source_addr_ton, pdu.source_addr)
    destination = contract.mo_address(pdu.dest_addr_ton, pdu.destination_addr)
    concat = decoded.udh.concat if decoded.udh is not None else None
    if concat is None:
        concat = concat_from_sar(pdu.tlvs)
    if concat is None or concat.total <= 1:
        event = contract.mo_event(
            source, destination, text, carrier=carrier, parts=1, complete=True, received_at=now
        )
        return {"t": "s", "ev": event.decode(), "car": carrier}
    bits = 16 if concat.ref_16bit else 8
    group = f"{carrier}:{source}:{destination}:{bits}:{concat.reference}:{concat.total}"
    return {
        "t": "p",
        "g": group,
        "seq": concat.seq,
        "total": concat.total,
        "text": text,
        "from": source,
        "to": destination,
        "car": carrier,
    }


class Inbound:
    """Batches MO writes for every carrier of this daemon and sweeps timed-out reassemblies."""

    def __init__(
        self,
        store: Store,
        *,
        reassembly_timeout_s: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.timeout_s = reassembly_timeout_s
        self._wall = wall
        self._ops: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.messages = 0
        self.parts = 0
        self.failed_writes = 0
        self.metrics = Metrics(process_metrics=False)

    def handle(
        self, carrier: str, pdu: p.DeliverSm | p.DataSm, *, gsm7_packed: bool = False
    ) -> asyncio.Future[int]:
        """Queue one MO; the future resolves to the status to answer the carrier with."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        try:
            op = mo_operation(carrier, pdu, self._wall(), gsm7_packed=gsm7_packed)
        except Exception:  # never let a strange PDU take the link down
            _log.exception("carrier %s: MO could not be decoded; answered ESME_RX_P_APPN", carrier)
            future.set_result(c.ESME_RX_P_APPN)
            return future
        self._ops.append((op, future))
        if not self._flushing:
            self._flushing = True
            task = asyncio.ensure_future(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _flush(self) -> None:
        try:
            while self._ops:
                batch, self._ops = self._ops, []
                now = self._wall()
                try:
                    results = await self.store.mo(
                        [op for op, _ in batch],
                        contract.format_time_seconds(now),
                        timeout_s=self.timeout_s,
                        now=now,
                    )
                except (RedisError, OSError) as error:
                    self.failed_writes += len(batch)
                    self.metrics.redis_error("mo").inc()
                    _log.warning("MO write failed (%s); answering ESME_RX_T_APPN", error)
                    for _, future in batch:
                        if not future.done():
                            future.set_result(c.ESME_RX_T_APPN)
                    continue
                for (op, future), result in zip(batch, results, strict=True):
                    self.parts += op["t"] == "p"
                    if result == 2 or op["t"] == "s":
                        self.messages += 1
                        self.metrics.for_carrier(op["car"]).mo_messages.inc()
                    if not future.done():
                        future.set_result(c.ESME_ROK)
        finally:
            self._flushing = False

    async def sweep_forever(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Write reassemblies that timed out; every daemon runs this, the script is atomic."""
        while not stop.is_set():
            now = self._wall()
            try:
                await self.store.sweep_mo(contract.format_time_seconds(now), now=now)
            except (RedisError, OSError) as error:
                _log.debug("MO sweep skipped: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
