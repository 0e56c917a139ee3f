"""Thresholds: a rule fires once a key has seen ``min`` matching events within ``within``.

fail2ban's maxretry/findtime. Per (rule, key) the events of the sliding window are kept (at most
``min``: reaching it fires). After firing the key is quiet until the window has passed since, then
re-arms and counts afresh. Pure, in memory; ``state.rules`` saves ``changes`` with the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruleengine.rules.keyed import Keyed, Slot

EXPIRE_EVERY = 60.0  # seconds between sweeps of keys whose window is over
Seen = tuple[float, dict[str, Any]]  # when it was counted (the clock), the event's variables
Row = tuple[str, str, float, list[Seen]]  # rule, key, quiet until, events in the window


@dataclass
class Tally:
    quiet_until: float = 0.0
    events: list[Seen] = field(default_factory=list)


class Counts(Keyed[Tally, Row]):
    """Windows by (rule name, key); survive restarts and reloads (keyed by rule name)."""

    def __init__(self, tallies: dict[Slot, Tally] | None = None) -> None:
        super().__init__(tallies)
        self._expired_at = float("-inf")

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Counts:
        return cls(
            {(r, k): Tally(quiet, [(at, e) for at, e in events]) for r, k, quiet, events in rows}
        )

    def add(  # noqa: PLR0917 - one caller, reads best positionally
        self, rule: str, key: str, record: dict[str, Any], now: float, within: float, minimum: int
    ) -> list[dict[str, Any]] | None:
        """Count one event; the window's events (oldest first) when this one reaches
        ``minimum``, else None."""
        slot = (rule, key)
        tally = self.slots.setdefault(slot, Tally())
        self.touch(slot)
        if now < tally.quiet_until:
            return None  # fired within the last window: not armed yet
        since = now - within
        tally.events = [seen for seen in tally.events if seen[0] > since]
        tally.events.append((now, record))
        if len(tally.events) < minimum:
            return None
        events, tally.events = tally.events, []
        tally.quiet_until = now + within
        return [record for _at, record in events]

    def expire(self, now: float, within: Mapping[str, float]) -> None:
        """Forget keys whose events and quiet time are all over (``within`` by rule name)."""
        if now - self._expired_at < EXPIRE_EVERY:
            return  # a sweep walks every key: not on every batch
        self._expired_at = now
        for slot, tally in list(self.slots.items()):
            window = within.get(slot[0])
            if window is None:
                continue
            last = max((at for at, _record in tally.events), default=0.0)
            if tally.quiet_until <= now and last <= now - window:
                self.drop(slot)

    def row(self, slot: Slot, value: Tally) -> Row:
        return (*slot, value.quiet_until, value.events)
