"""sd_notify(3) without libsystemd: READY, RELOADING, STOPPING, STATUS and the watchdog.

`Notifier.from_env()` reads NOTIFY_SOCKET (a path, or `@name` in the abstract namespace); when
it is unset (not under systemd, or not Type=notify) every call is a cheap no-op. Messages are
datagrams on an AF_UNIX socket, sent without blocking: systemd reads them at once, and a
message it cannot take is dropped rather than stalling the event loop.

The watchdog pings come from the event loop itself (`run_watchdog`), at half of WATCHDOG_USEC:
a wedged loop stops pinging, and systemd kills and restarts the service (`WatchdogSec=`,
`Restart=on-failure`).

Wiring, in the daemon:

    notifier = Notifier.from_env()
    watchdog = asyncio.ensure_future(notifier.run_watchdog(daemon.stopping))
    ...                                  # Redis reachable, groups ensured, binds started
    notifier.ready("carriers: airtel-cd")
    # SIGHUP:  notifier.reloading(); reload; notifier.ready()   (also when the file is refused)
    # SIGTERM: notifier.stopping(); drain; unbind; exit 0
    await watchdog
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = ["Notifier"]

_log = logging.getLogger("connector.observe.systemd")


class Notifier:
    """Talks to the service manager; every method is a no-op when there is none."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        """`address`: NOTIFY_SOCKET's value (`/run/systemd/notify` or `@abstract`), or None.

        `watchdog_usec`: the watchdog timeout systemd announced (WATCHDOG_USEC), or None.
        """
        self.address = address or None
        self.watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._target: str | bytes | None = None
        self._socket: socket.socket | None = None
        if self.address is None:
            return
        if self.address.startswith("@"):
            self._target = b"\0" + self.address[1:].encode()  # Linux abstract namespace
        elif self.address.startswith("/"):
            self._target = self.address
        else:  # e.g. vsock:... (VMs): not for a host daemon
            _log.warning("NOTIFY_SOCKET %r is not supported; not notifying", self.address)
            self.address = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (os.environ by default).

        The watchdog applies when WATCHDOG_PID is unset or names this process (systemd sets it
        so that a child inheriting the environment does not ping in our place).
        """
        env = os.environ if environ is None else environ
        watchdog_usec: int | None = None
        pid = env.get("WATCHDOG_PID", "")
        if not pid or pid == str(os.getpid()):
            with contextlib.suppress(ValueError):
                watchdog_usec = int(env.get("WATCHDOG_USEC", ""))
        return cls(env.get("NOTIFY_SOCKET"), watchdog_usec=watchdog_usec)

    @property
    def enabled(self) -> bool:
        return self._target is not None

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines in one datagram; whether it was handed to the socket."""
        if self._target is None:
            return False
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)
        message = "\n".join(assignments).encode()
        try:
            self._socket.sendto(message, self._target)
        except OSError as error:  # includes BlockingIOError: systemd's queue is full
            _log.warning("sd_notify %s failed: %s", assignments[0].split("=", 1)[0], error)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup (or a reload) finished: systemd moves the unit to active."""
        return self.notify("READY=1", *(() if status is None else (f"STATUS={status}",)))

    def reloading(self, status: str | None = None) -> bool:
        """A reload starts (SIGHUP); send `ready()` when it is done, accepted or refused.

        MONOTONIC_USEC (CLOCK_MONOTONIC, as time.monotonic on Linux) is what systemd ≥ 253
        needs for Type=notify-reload; older systemd and Type=notify ignore it.
        """
        return self.notify(
            "RELOADING=1",
            f"MONOTONIC_USEC={time.monotonic_ns() // 1000}",
            *(() if status is None else (f"STATUS={status}",)),
        )

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown starts (SIGTERM): systemd shows the unit as deactivating."""
        return self.notify("STOPPING=1", *(() if status is None else (f"STATUS={status}",)))

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        return self.notify(f"STATUS={text.splitlines()[0] if text else ''}")

    def watchdog(self) -> bool:
        """Keep-alive ping (WATCHDOG=1)."""
        return self.notify("WATCHDOG=1")

    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half the watchdog timeout; None when no watchdog is armed."""
        if self.watchdog_usec is None or self._target is None:
            return None
        return self.watchdog_usec / 2 / 1_000_000

    async def run_watchdog(
        self, stop: asyncio.Event, healthy: Callable[[], bool] | None = None
    ) -> None:
        """Ping every `watchdog_interval_s()` until `stop` is set (returns at once if no
        watchdog is armed).

        `healthy` (optional): skip the ping while it returns False, so that systemd restarts a
        service that is running but stuck (use sparingly: a carrier being down is not that).
        """
        interval = self.watchdog_interval_s()
        if interval is None:
            return
        while not stop.is_set():
            if healthy is None or healthy():
                self.watchdog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
