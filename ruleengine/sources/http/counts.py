"""What the http source has answered since it started, for ``status``.

The figures are a position of the source (``KEY``, JSON), so they need no transaction of their
own: the engine commits them with the next batch, at most once every ``EVERY`` seconds, and
when the source stops. ``status`` reads them back with ``decode``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

from ruleengine.model import Position

KEY = "counts"  # not an idempotency key (``keys.PREFIX``): never pruned
EVERY = 1.0  # seconds between two writes


@dataclass(frozen=True)
class Counts:
    listen: str  # scheme://host:port the source listens on
    since: float  # when it started listening (epoch seconds)
    requests: int = 0  # answered 202 (duplicates included)
    events: int = 0  # events stored by those requests
    duplicates: int = 0  # events acknowledged again, not stored (idempotency)
    rejected: Mapping[str, int] = field(default_factory=dict)  # refusals by HTTP status


def encode(counts: Counts) -> str:
    return json.dumps(asdict(counts), separators=(",", ":"), sort_keys=True)


def decode(value: str | None) -> Counts | None:
    """The stored figures; None when absent or unreadable (status shows what it can)."""
    try:
        data = json.loads(value) if value is not None else None
        if not isinstance(data, dict):
            return None
        rejected = data.get("rejected") or {}
        return Counts(
            str(data["listen"]),
            float(data["since"]),
            int(data.get("requests", 0)),
            int(data.get("events", 0)),
            int(data.get("duplicates", 0)),
            {str(status): int(n) for status, n in rejected.items()},
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class Tally:
    """The running figures of one source; safe to update from every request thread."""

    def __init__(
        self, source: str, listen: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.source = source
        self.clock = clock
        self._counts = Counts(listen, time.time())
        self._lock = threading.Lock()
        self._written: float | None = None  # clock() of the last position handed out

    def accepted(self, events: int, duplicates: int) -> None:
        with self._lock:
            c = self._counts
            self._counts = Counts(
                c.listen, c.since, c.requests + 1, c.events + events, c.duplicates + duplicates,
                c.rejected,
            )  # fmt: skip

    def rejected(self, status: int) -> None:
        with self._lock:
            c = self._counts
            rejected = {**c.rejected, str(status): c.rejected.get(str(status), 0) + 1}
            self._counts = Counts(c.listen, c.since, c.requests, c.events, c.duplicates, rejected)

    def due(self, now: bool = False) -> Position | None:
        """The position to commit, if ``EVERY`` has passed since the last one (or ``now``:
        the source starts or stops)."""
        at = self.clock()
        with self._lock:
            if not now and self._written is not None and at - self._written < EVERY:
                return None
            self._written = at
            return Position(self.source, KEY, encode(self._counts))
