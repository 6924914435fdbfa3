"""`smpp-connector run`: the long-running daemon, wired from the configuration.

One uvloop event loop: the intake task, one dispatcher and one bind pool per carrier, and a
Redis client shared by all. SIGTERM/SIGINT stop intake, let submits in flight finish within
`daemon.shutdown_timeout_s`, unbind every session and exit 0; what was not finished stays
pending in Redis for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from typing import Final

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from connector import __version__
from connector.app.dispatch import CarrierDispatcher, CarrierSettings
from connector.app.inbound import Inbound
from connector.app.intake import CarrierPlanning, Intake
from connector.app.scheduler import release_scheduled_forever
from connector.carrier.pool import BindPool, BindSettings
from connector.config.load import load_config
from connector.config.schema import CarrierConfig, Config, ConfigError
from connector.domain.routing import Router
from connector.observe import (
    Metrics,
    MetricsServer,
    Notifier,
    configure_logging,
    readiness,
    start_http,
)
from connector.observe.loop_lag import LoopLagProbe
from connector.streams.budget import RateBudget
from connector.streams.leases import RedisBindSlots
from connector.streams.relay import Relay
from connector.streams.store import LANES, RedisClient, Store

_log = logging.getLogger("connector")

GC_YOUNG_THRESHOLD: Final = 10_000
"""The cyclic collector's young-generation threshold while the daemon runs (default 700)."""


def consumer_name(config: Config) -> str:
    """This daemon's consumer name: stable across restarts so its pending entries replay."""
    return config.redis.consumer or socket.gethostname()


def bind_settings(name: str, carrier: CarrierConfig) -> BindSettings:
    return BindSettings(
        carrier=name,
        host=carrier.host,
        port=carrier.port,
        system_id=carrier.system_id,
        password=carrier.password.reveal(),
        system_type=carrier.system_type,
        bind=carrier.bind,
        binds=carrier.binds,
        receiver_binds=carrier.binds if carrier.receiver_binds is None else carrier.receiver_binds,
        window=carrier.window,
        response_timeout_s=carrier.response_timeout_s,
        enquire_link_interval_s=carrier.enquire_link_interval_s,
        connect_timeout_s=carrier.connect_timeout_s,
        reconnect_initial_s=carrier.reconnect_initial_s,
        reconnect_max_s=carrier.reconnect_max_s,
        auth_failure_backoff_s=carrier.auth_failure_backoff_s,
        max_command_length=carrier.max_command_length,
        tls=carrier.tls,
        tls_verify=carrier.tls_verify,
        tls_ca_file=carrier.tls_ca_file,
    )


def carrier_settings(name: str, carrier: CarrierConfig, config: Config) -> CarrierSettings:
    return CarrierSettings(
        name=name,
        tps=carrier.tps,
        max_parts=carrier.max_parts,
        smart_encoding=carrier.smart_encoding,
        receipt_id=carrier.receipt_id,
        gsm7_form=carrier.gsm7_form,
        concat=carrier.concat,
        reference_16bit=carrier.reference_16bit,
        registered_delivery=carrier.registered_delivery,
        service_type=carrier.service_type,
        retry_deadline_s=carrier.retry_deadline_s,
        retry_initial_s=carrier.retry_initial_s,
        retry_max_s=min(carrier.retry_max_s, carrier.retry_deadline_s),
        throttle_backoff_initial_s=carrier.throttle_backoff_initial_s,
        throttle_backoff_max_s=carrier.throttle_backoff_max_s,
        min_tps_fraction=carrier.min_tps_fraction,
        prefetch=max(64, carrier.window * carrier.binds * 4),
        mo_gsm7_packed=carrier.gsm7_form == "packed",
        claim_idle_s=config.redis.claim_idle_s,
        block_ms=config.redis.block_ms,
    )


def planning(carrier: CarrierConfig) -> CarrierPlanning:
    return CarrierPlanning(
        max_parts=carrier.max_parts,
        smart_encoding=carrier.smart_encoding,
        concat=carrier.concat,
        gsm7_form=carrier.gsm7_form,
        reference_16bit=carrier.reference_16bit,
    )


@dataclass
class Daemon:
    """The running service; `stop()` is the injectable shutdown trigger (tests, signals)."""

    config: Config
    redis: RedisClient
    store: Store
    intake: Intake
    inbound: Inbound
    config_path: str | None = None
    pools: dict[str, BindPool] = field(default_factory=dict)
    dispatchers: dict[str, CarrierDispatcher] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _reload_wanted: bool = False
    _reloading: bool = False
    _reload_task: asyncio.Task[None] | None = None
    metrics: Metrics = field(default_factory=lambda: Metrics(version=__version__))
    notifier: Notifier = field(default_factory=Notifier.from_env)
    http: MetricsServer | None = None
    _generation: int = 0  # bumped by a reload that rebinds: bind-slot holders stay distinct

    @classmethod
    def build(cls, config: Config) -> Daemon:
        client: RedisClient
        if config.redis.cluster:
            client = RedisCluster.from_url(
                config.redis.url,
                socket_timeout=config.redis.socket_timeout_s,
                socket_connect_timeout=config.redis.socket_timeout_s,
            )
        else:
            client = aioredis.Redis.from_url(
                config.redis.url,
                socket_timeout=config.redis.socket_timeout_s,
                socket_connect_timeout=config.redis.socket_timeout_s,
                health_check_interval=30,
            )
        store = Store(
            client,
            prefix=config.redis.prefix,
            group=config.redis.group,
            consumer=consumer_name(config),
            status_maxlen=config.redis.status_maxlen,
            dead_maxlen=config.redis.dead_maxlen,
            receipt_ttl_s=config.redis.receipt_ttl_s,
            mo_maxlen=config.redis.mo_maxlen,
            cluster=config.redis.cluster,
            lean=True,
        )
        router = Router({name: carrier.prefixes for name, carrier in config.carriers.items()})
        intake = Intake(
            store,
            router,
            {name: planning(carrier) for name, carrier in config.carriers.items()},
            batch_size=config.redis.batch_size,
            block_ms=config.redis.block_ms,
            claim_idle_s=config.redis.claim_idle_s,
        )
        inbound = Inbound(
            store,
            reassembly_timeout_s=config.mo.reassembly_timeout_s,
        )
        daemon = cls(config, client, store, intake, inbound)
        store.on_script = daemon.metrics.script_call
        intake.metrics = daemon.metrics
        inbound.metrics = daemon.metrics
        for name, carrier in config.carriers.items():
            daemon._add_carrier(name, carrier, config)
        daemon.metrics.add_collector(daemon._sample_carriers, "carriers")
        daemon.metrics.add_async_collector(daemon._sample_backlog, name="backlog")
        return daemon

    def _redis_error(self, operation: str) -> None:
        self.metrics.redis_error(operation).inc()
        self.metrics.redis_up.set(0)

    def _sample_carriers(self) -> None:
        for name, dispatcher in self.dispatchers.items():
            cm = self.metrics.for_carrier(name)
            pool = self.pools[name]
            snapshot = dispatcher.adaptive.snapshot(dispatcher.now())
            cm.tps_configured.set(snapshot.configured_tps)
            cm.tps_effective.set(snapshot.effective_tps)
            cm.throttle_paused.set(1 if snapshot.paused else 0)
            cm.window_in_use.set(pool.window_in_use())
            cm.window_size.set(pool.window_size())
            cm.set_bind_states(bind.state.value for bind in pool.binds)
            cm.work_in_flight.set(dispatcher.in_flight)
            cm.queued_parts.set(dispatcher.queued_parts)
            expired = dispatcher.permits_expired()
            if expired > dispatcher.permits_expired_reported:
                cm.permits_expired.inc(expired - dispatcher.permits_expired_reported)
                dispatcher.permits_expired_reported = expired

    async def _sample_backlog(self) -> None:
        try:
            lag, pending = await self.store.backlog(self.store.outbound)
            if lag is not None:
                self.metrics.outbound_lag.set(lag)
            self.metrics.outbound_pending.set(pending)
            for name in self.dispatchers:
                cm = self.metrics.for_carrier(name)
                for lane in LANES:
                    lag, pending = await self.store.backlog(self.store.work_stream(name, lane))
                    cm.set_work_backlog(lane, lag, pending)
            self.metrics.redis_up.set(1)
        except (RedisError, OSError):
            self._redis_error("metrics")
            raise

    def _new_pool(self, name: str, carrier: CarrierConfig) -> BindPool:
        slots = None
        if carrier.max_binds is not None:
            lease = self.config.redis.bind_lease_s
            slots = RedisBindSlots(
                self.redis,
                f"{self.store.base}:binds:{name}",
                carrier.max_binds,
                ttl_s=lease,
                renew_s=lease / 3,
                retry_s=min(1.0, lease / 3),
            )
        holder = f"{self.store.consumer}/" + (f"g{self._generation}/" if self._generation else "")
        return BindPool(bind_settings(name, carrier), slots=slots, holder_prefix=holder)

    def _budget(self, name: str, carrier: CarrierConfig) -> RateBudget | None:
        if carrier.tps_scope != "global":
            return None
        return RateBudget(self.redis, f"{self.store.base}:tps:{name}")

    def _add_carrier(self, name: str, carrier: CarrierConfig, config: Config) -> None:
        pool = self._new_pool(name, carrier)
        dispatcher = CarrierDispatcher(
            carrier_settings(name, carrier, config),
            self.store,
            pool,
            metrics=self.metrics.for_carrier(name),
            budget=self._budget(name, carrier),
        )
        dispatcher.inbound = self.inbound
        dispatcher.redis_errors = self._redis_error
        pool.on_deliver = dispatcher.on_deliver
        pool.on_change = dispatcher.on_pool_change
        self.pools[name] = pool
        self.dispatchers[name] = dispatcher

    async def run(self) -> int:
        watchdog = asyncio.ensure_future(self.notifier.run_watchdog(self.stopping))
        try:
            return await self._run()
        finally:
            self.notifier.stopping()
            self.stopping.set()
            await asyncio.gather(watchdog, return_exceptions=True)
            if self.http is not None:
                await self.http.stop()
            self.notifier.close()

    async def _run(self) -> int:
        listen = self.config.metrics
        try:
            self.http = await start_http(
                listen.host,
                listen.port,
                self.metrics,
                readiness(
                    self.redis.ping,
                    lambda: {n: p.bound_count() for n, p in self.pools.items()},
                    lambda: {n: p.waiting_for_slot() for n, p in self.pools.items()},
                ),
            )
        except OSError as error:
            _log.error("metrics endpoint %s not started: %s", listen.listen, error)
        await self._ensure_groups()
        if self.stopping.is_set():
            await self.store.aclose()
            await self.redis.aclose()
            return 0
        for pool in self.pools.values():
            pool.start()
        for dispatcher in self.dispatchers.values():
            dispatcher.start()
        intake_task = asyncio.ensure_future(self.intake.run())
        background = [
            asyncio.ensure_future(self.inbound.sweep_forever(self.stopping)),
            asyncio.ensure_future(release_scheduled_forever(self.store, self.stopping)),
        ]
        relay = Relay(self.redis, self.store.relay_pairs()) if self.store.cluster else None
        relaying = asyncio.ensure_future(relay.run()) if relay is not None else None
        _log.info(
            "daemon started: consumer %s, carriers %s",
            self.store.consumer,
            ", ".join(self.config.carriers),
        )
        self.metrics.redis_up.set(1)
        lag = LoopLagProbe(asyncio.get_running_loop(), self.metrics.event_loop_lag_seconds.observe)
        lag.start()
        # What start-up built (modules, configuration, metrics, pools) lives as long as the
        # process: out of the cyclic collector's sight, a full collection walks only what
        # traffic created since (at 9,000 msg/s it had taken up to 18 ms, a stall of
        # everything in flight).
        gc.collect()
        gc.freeze()
        # Traffic allocates a few hundred container objects per message and frees nearly all
        # of them by reference counting. At the default threshold of 700 the young collection
        # ran ~18 times per 1 000 messages, walking the same in-flight objects each time (5 %
        # of the daemon's CPU at full load); at 10 000 it runs 14 times less often.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        self.notifier.ready(f"carriers: {', '.join(self.config.carriers)}")
        await self.stopping.wait()
        if self._reload_task is not None:
            with contextlib.suppress(Exception):
                await self._reload_task
        lag.stop()
        _log.info("stopping: draining submits in flight")
        self.notifier.stopping()
        self.intake.stop()
        intake_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await intake_task
        await asyncio.gather(*background, return_exceptions=True)
        for dispatcher in self.dispatchers.values():
            await dispatcher.stop_reading()
        timeout = self.config.daemon.shutdown_timeout_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(d.drain(timeout) for d in self.dispatchers.values())),
                timeout,
            )
        await asyncio.gather(*(pool.stop() for pool in self.pools.values()))
        if relay is not None and relaying is not None:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)
            # The last outcomes are written: one more pass lets their events cross.
            with contextlib.suppress(TimeoutError, RedisError, OSError):
                await asyncio.wait_for(relay.step(), 5.0)
        await self.store.aclose()
        await self.redis.aclose()
        _log.info("stopped")
        return 0

    async def _ensure_groups(self) -> None:
        backoff = 0.1
        for _attempt in range(1_000_000):
            try:
                await self.store.ensure_groups(list(self.config.carriers))
                return
            except (RedisError, OSError) as error:
                _log.warning("Redis not reachable yet (%s); retrying", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                if self.stopping.is_set():
                    return
                backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self.stopping.set()

    # ------------------------------------------------------------------ live reload (SIGHUP)

    def request_reload(self) -> None:
        """SIGHUP: reload the file; bursts coalesce into at most one reload after the current."""
        self._reload_wanted = True
        if not self._reloading:
            self._reloading = True
            self._reload_task = asyncio.ensure_future(self._reload_loop())

    async def _reload_loop(self) -> None:
        try:
            while self._reload_wanted and not self.stopping.is_set():
                self._reload_wanted = False
                self.notifier.reloading()
                applied = await self.reload()
                self.metrics.reloads.labels("ok" if applied else "refused").inc()
                self.notifier.ready()
        finally:
            self._reloading = False

    async def reload(self) -> bool:
        """Apply the configuration file again; a file that does not validate changes nothing."""
        path = self.config_path
        if path is None:
            _log.warning("reload requested but the daemon was not started from a file")
            return False
        try:
            new = load_config(path)
        except ConfigError as error:
            _log.error(
                "reload refused, the running configuration stays: %s",
                "; ".join(error.problems),
            )
            return False
        except OSError as error:
            _log.error("reload refused, the running configuration stays: %s", error)
            return False
        await self.apply(new)
        return True

    async def apply(self, new: Config) -> None:
        """Live changes: tps, window, routing, retry and encoding without dropping binds; a
        carrier's connection settings restart only its binds; carriers come and go."""
        old = self.config
        if new.redis != old.redis:
            _log.warning("reload: [redis] changes take effect at the next restart")
        effective = msgspec.structs.replace(new, redis=old.redis)
        for name in [n for n in old.carriers if n not in new.carriers]:
            _log.info("reload: carrier %s removed: draining and unbinding", name)
            dispatcher = self.dispatchers.pop(name)
            pool = self.pools.pop(name)
            await dispatcher.stop_reading()
            await dispatcher.drain(self.config.daemon.shutdown_timeout_s)
            await pool.stop()
            self.metrics.remove_carrier(name)
        for name, carrier in new.carriers.items():
            if name not in old.carriers:
                _log.info("reload: carrier %s added", name)
                await self.store.ensure_groups([name])
                self._add_carrier(name, carrier, effective)
                self.pools[name].start()
                self.dispatchers[name].start()
                continue
            dispatcher = self.dispatchers[name]
            pool = self.pools[name]
            dispatcher.reconfigure(carrier_settings(name, carrier, effective))
            if carrier.tps_scope != old.carriers[name].tps_scope:
                dispatcher.set_budget(self._budget(name, carrier))
            binding = bind_settings(name, carrier)
            if (
                _replace(binding, window=pool.settings.window) != pool.settings
                or carrier.max_binds != old.carriers[name].max_binds
            ):
                _log.info("reload: carrier %s connection settings changed: rebinding", name)
                self._generation += 1  # the new binds take slots of their own
                fresh = self._new_pool(name, carrier)
                fresh.on_deliver = dispatcher.on_deliver
                fresh.on_change = dispatcher.on_pool_change
                dispatcher.pool = fresh
                self.pools[name] = fresh
                fresh.start()
                await _drained(pool, self.config.daemon.shutdown_timeout_s)
                await pool.stop()
            elif binding.window != pool.settings.window:
                pool.set_window(binding.window)
        self.intake.reconfigure(
            Router({name: carrier.prefixes for name, carrier in new.carriers.items()}),
            {name: planning(carrier) for name, carrier in new.carriers.items()},
        )
        self.config = effective
        _log.info("reload: applied (%d carriers)", len(new.carriers))


async def _drained(pool: BindPool, timeout_s: float) -> None:
    """Wait (bounded) until the submits still in flight on `pool` are answered, so that a
    rebind after a reload does not lose responses the carrier is about to send."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while pool.window_in_use() > 0 and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def serve(config: Config, path: str | None = None) -> int:
    daemon = Daemon.build(config)
    daemon.config_path = path
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, daemon.stop)
    loop.add_signal_handler(signal.SIGINT, daemon.stop)
    loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
    return await daemon.run()


def run_daemon(config: Config, path: str | None = None) -> int:
    configure_logging(config.log.level, config.log.format, config.log.mask_numbers)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency
        return asyncio.run(serve(config, path))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve(config, path))
