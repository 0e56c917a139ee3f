"""The sd_notify protocol, implemented directly: datagrams of ``KEY=value`` lines to a socket.

systemd passes the socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace)
and the watchdog period in ``WATCHDOG_USEC``. Without ``NOTIFY_SOCKET`` every call is a no-op,
so the daemon runs the same way from a terminal, under another supervisor, or on Windows.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes:
    """``@name`` is Linux's abstract namespace: a leading NUL byte instead of the ``@``."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between pings (half the watchdog period), or None when no watchdog is set.

    ``WATCHDOG_PID`` names the process meant to ping; another process (a child) must not.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    try:
        period = int(usec) / 1_000_000
    except ValueError:
        return None
    return period / 2 if period > 0 else None


class Notifier:
    """Sends state to the service manager; never raises, never blocks the daemon for long."""

    def __init__(self, address: str | None, watchdog: float | None = None) -> None:
        self.address = address
        self.watchdog_every = watchdog if address else None
        self._socket: socket.socket | None = None
        if address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.settimeout(1.0)  # a full socket buffer must not stall the engine
        self._last_ping = 0.0
        self._last_status: str | None = None
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        return cls(address, watchdog_interval(env, os.getpid()) if address else None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send one datagram; False (logged once) when the manager cannot be reached."""
        if self.address is None or self._socket is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), socket_address(self.address))
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify the service manager at %s: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        self._last_status = status
        return self.send("READY=1", *(() if status is None else (f"STATUS={status}",)))

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd ≥ 253 match this with the reload it asked for.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *(() if status is None else (f"STATUS={status}",)))

    def status(self, text: str) -> bool:
        """Send ``STATUS=`` only when it changed (journal and ``systemctl status`` show it)."""
        if text == self._last_status:
            return True
        self._last_status = text
        return self.send(f"STATUS={text}")

    def watchdog(self, now: float | None = None) -> bool:
        """Ping at most every half period; the engine calls this on each healthy loop turn."""
        if self.watchdog_every is None:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last_ping < self.watchdog_every:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
