"""Idempotency keys: a retried request is acknowledged again, not stored again.

A key is a position of the http source (``idem:<hash>`` → the time it was accepted), written
by the engine in the transaction of the events it covers: it is durable exactly when they
are. Keys older than the retention window no longer count and are pruned now and then. A key
in flight (its events emitted, not yet committed) makes a concurrent retry wait for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from ruleengine.model import stable_id
from ruleengine.sources.base import Positions

PREFIX = "idem:"
PRUNE_EVERY = 300.0  # seconds between two prunes of expired keys
MAX_KEY = 200  # characters of an Idempotency-Key header


def position_key(client: str, *parts: str) -> str:
    """The position key of an idempotency key; scoped by client so no client can suppress
    another's events, hashed so any header text makes a short key."""
    return PREFIX + stable_id(client, *parts)


class Keys:
    def __init__(
        self, positions: Positions, window: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.positions = positions
        self.window = window
        self.clock = clock
        self._inflight: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._pruned = 0.0

    def claim(self, keys: Iterable[str], timeout: float) -> bool:
        """Hold ``keys`` for this request, waiting for a request holding one of them; False
        when that did not finish within ``timeout``."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                busy = [self._inflight[k] for k in wanted if k in self._inflight]
                if not busy:
                    for key in wanted:
                        self._inflight[key] = threading.Event()
                    return True
            for event in busy:
                if not event.wait(max(0.0, deadline - time.monotonic())):
                    return False

    def release(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in set(keys):
                done = self._inflight.pop(key, None)
                if done is not None:
                    done.set()

    def seen(self, key: str) -> bool:
        """Was ``key`` committed within the retention window?"""
        value = self.positions.get(key)
        try:
            return value is not None and float(value) >= self.clock() - self.window
        except ValueError:
            return False

    def stamp(self) -> str:
        """The value stored for a key accepted now."""
        return f"{self.clock():.3f}"

    def prune(self) -> int:
        """Drop expired keys, at most every ``PRUNE_EVERY`` seconds."""
        now = self.clock()
        if now - self._pruned < PRUNE_EVERY:
            return 0
        self._pruned = now
        return self.positions.expire(PREFIX, now - self.window)
