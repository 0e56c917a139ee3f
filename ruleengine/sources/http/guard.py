"""Who is asking, and may they: bearer tokens compared in constant time, and a pace per client."""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable, Mapping

from ruleengine.sources.http.parse import Rejected

ANONYMOUS = "anonymous"
_CHALLENGE = (("WWW-Authenticate", 'Bearer realm="ruleengine"'),)


class Clients:
    """Client names by bearer token."""

    def __init__(self, tokens: Mapping[str, str], anonymous: bool) -> None:
        self._tokens = [(name, token.encode("utf-8")) for name, token in tokens.items()]
        self._anonymous = anonymous

    def identify(self, authorization: str | None) -> str:
        """The client's name; ``Rejected`` (401) for a missing or unknown token."""
        if not authorization:
            if self._anonymous:
                return ANONYMOUS
            raise Rejected(401, "unauthorized", "missing Authorization: Bearer token", _CHALLENGE)
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Rejected(
                401, "unauthorized", "expected Authorization: Bearer <token>", _CHALLENGE
            )
        candidate = given.strip().encode("utf-8", "surrogateescape")
        found = None
        for name, token in self._tokens:  # every token is compared: the time says nothing
            if hmac.compare_digest(candidate, token):
                found = name
        if found is None:
            raise Rejected(401, "unauthorized", "unknown token", _CHALLENGE)
        return found


class Pace:
    """A token bucket per client: ``rate`` requests a second, ``burst`` at once."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Count one request of ``client``; ``Rejected`` (429 with Retry-After) when too fast."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise Rejected(
                    429,
                    "too_many_requests",
                    f"client {client!r} sends more than {self.rate:g} requests/s",
                    (("Retry-After", str(wait)),),
                )
            self._buckets[client] = (tokens - 1.0, now)
