"""One overall time limit per delivery attempt: connect, send and read together.

Socket timeouts bound each read, not the attempt: a server answering one byte a second never
trips them. A ``Deadline`` is timed by one watchdog thread shared by every attempt of the
process (a timer thread per attempt cost more than a short request); when it is due, the sockets
it watches are shut down, which ends any read in progress (plain or TLS), and the attempt counts
as timed out. ``senders.pools.WatchedAdapter`` registers each connection a ``requests.Session``
uses with the deadline of the attempt running in that thread.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
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
        self.done = False  # the ``with`` has ended: the watchdog leaves it alone
        self._lock = threading.Lock()
        self._watched: list[_HasSocket | socket.socket] = []

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

    def expire(self) -> None:
        """The watchdog's call when the time is up. Under the lock, so ``__exit__`` waits for a
        shutdown in progress: no socket is shut after the attempt ended (the pool reuses it)."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            for target in self._watched:
                _shutdown(target)

    def __enter__(self) -> Deadline:
        _WATCHDOG.add(self)
        _LOCAL.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _LOCAL.deadline = None
        with self._lock:
            self.done = True
            self._watched.clear()
        _WATCHDOG.ended()  # after the lock: the watchdog takes its own, then this one


class _Watchdog:
    """The one thread that expires deadlines, earliest first. It wakes when the earliest is due
    and at least every ``LINGER`` seconds, never per attempt; an attempt that ended stays in the
    heap until it reaches the top (cheaper than removing it). It ends once no attempt has run
    for ``LINGER`` seconds (``add`` starts it again): an idle daemon has no timer thread."""

    LINGER = 1.0

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._serial = itertools.count()
        self._thread: threading.Thread | None = None
        self._running = 0  # attempts inside their ``with``
        self._idle_since = 0.0

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.end, next(self._serial), deadline))
            self._running += 1
            if self._thread is None or not self._thread.is_alive():  # idle, or forked
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:  # due before what the thread waits for
                self._wake.notify()

    def ended(self) -> None:
        with self._wake:
            self._running -= 1
            if not self._running:
                self._idle_since = time.monotonic()

    def _run(self) -> None:
        while True:
            due = None
            with self._wake:
                while due is None:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    now = time.monotonic()
                    if not self._running and now - self._idle_since >= self.LINGER:
                        self._heap.clear()
                        self._thread = None
                        return
                    if self._heap and self._heap[0][0] <= now:
                        due = heapq.heappop(self._heap)[2]
                    else:
                        wait = self._heap[0][0] - now if self._heap else self.LINGER
                        self._wake.wait(min(wait, self.LINGER))
            due.expire()


_WATCHDOG = _Watchdog()


def current() -> Deadline | None:
    """The deadline of the attempt running in this thread, if any."""
    deadline: Deadline | None = getattr(_LOCAL, "deadline", None)
    return deadline


def _shutdown(target: _HasSocket | socket.socket) -> None:
    sock = target if isinstance(target, socket.socket) else target.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
