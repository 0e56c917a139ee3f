"""One overall time limit per delivery attempt: connect, send and read together.

Socket timeouts bound each read, not the attempt: a server answering one byte a second never
trips them. A ``Deadline`` runs a timer for the attempt; when it fires, the sockets it watches
are shut down, which ends any read in progress (plain or TLS), and the attempt counts as timed
out. ``senders.pools.WatchedAdapter`` registers each connection a ``requests.Session`` uses with
the deadline of the attempt running in that thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Protocol

#: Bytes of a server's replies kept per attempt: error details fit; an endless body is cut.
REPLY_BYTES = 64 * 1024
TIMED_OUT = "timed out"


class _HasSocket(Protocol):
    sock: socket.socket | None


_LOCAL = threading.local()


class Deadline:
    """``with Deadline(seconds) as deadline:`` — sockets registered with ``watch`` are shut
    down when the time is up; ``expired`` then says so. Nothing outlives the ``with``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[_HasSocket | socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.name = "deadline"

    def remaining(self) -> float:
        """Seconds left (never negative): socket timeouts are set to at most this."""
        return max(0.0, self.end - time.monotonic())

    def over(self) -> bool:
        """Whether the attempt is out of time (checked while streaming a reply)."""
        return self.expired or time.monotonic() >= self.end

    def watch(self, target: _HasSocket | socket.socket) -> None:
        """Shut ``target`` (a socket, or a connection whose ``sock`` it reads when the time is
        up) down at the deadline; at once if it has passed."""
        with self._lock:
            self._watched.append(target)
            expired = self.expired
        if expired:
            _shutdown(target)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            watched = list(self._watched)
        for target in watched:
            _shutdown(target)

    def __enter__(self) -> Deadline:
        self._timer.start()
        _LOCAL.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _LOCAL.deadline = None
        self._timer.cancel()
        self._timer.join()
        with self._lock:
            self._watched.clear()


def current() -> Deadline | None:
    """The deadline of the attempt running in this thread, if any."""
    deadline: Deadline | None = getattr(_LOCAL, "deadline", None)
    return deadline


def _shutdown(target: _HasSocket | socket.socket) -> None:
    sock = target if isinstance(target, socket.socket) else target.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
