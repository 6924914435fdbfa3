"""Observability: Prometheus metrics, the /metrics /healthz /readyz server, logs, sd_notify.

Imports nothing of `connector`: the app maps its own state (DispatchStats, IntakeStats,
AdaptiveSnapshot, BindPool) onto these objects. The whole wiring, in `run_daemon`/`serve`:

    configure_logging(config.log.level, config.log.format, config.log.mask_numbers)
    metrics = Metrics(version=connector.__version__)
    for name in config.carriers:
        dispatcher.metrics = metrics.for_carrier(name)      # hot path: cm.submits_ok.inc()
    metrics.add_collector(sample_dispatchers)                # sync gauges, on every scrape
    metrics.add_async_collector(sample_backlog)              # Redis XINFO GROUPS / XPENDING
    ready = readiness(redis.ping, lambda: {n: p.bound_count() for n, p in pools.items()})
    server = await start_http(config.metrics.host, config.metrics.port, metrics, ready)
    notifier = Notifier.from_env()
    watchdog = asyncio.ensure_future(notifier.run_watchdog(stopping))
    notifier.ready()                  # SIGHUP: reloading() … ready();  SIGTERM: stopping()
    ...
    await server.stop(); await watchdog

Each module's docstring details its part.
"""

from connector.observe.http import MetricsServer, ReadyCheck, readiness
from connector.observe.http import start as start_http
from connector.observe.logs import configure_logging, get_logger
from connector.observe.metrics import (
    BIND_STATES,
    NO_CARRIER,
    SUBMIT_RESULTS,
    CarrierMetrics,
    Metrics,
)
from connector.observe.systemd import Notifier

__all__ = [
    "BIND_STATES",
    "NO_CARRIER",
    "SUBMIT_RESULTS",
    "CarrierMetrics",
    "Metrics",
    "MetricsServer",
    "Notifier",
    "ReadyCheck",
    "configure_logging",
    "get_logger",
    "readiness",
    "start_http",
]
