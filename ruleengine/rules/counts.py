"""Thresholds: a rule fires once a key has seen ``min`` matching events within ``within``.

fail2ban's maxretry/findtime. Per (rule, key) the events of the sliding window are kept (at most
``min``: reaching it fires). After firing the key is quiet until the window has passed since, then
re-arms and counts afresh. Pure, in memory; ``state.rules`` saves ``changes`` with the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EXPIRE_EVERY = 60.0  # seconds between sweeps of keys whose window is over
Seen = tuple[float, dict[str, Any]]  # when it was counted (the clock), the event's variables
Row = tuple[str, str, float, list[Seen]]  # rule, key, quiet until, events in the window


@dataclass
class Tally:
    quiet_until: float = 0.0
    events: list[Seen] = field(default_factory=list)


class Counts:
    """Windows by (rule name, key); survive restarts and reloads (keyed by rule name)."""

    def __init__(self, tallies: dict[tuple[str, str], Tally] | None = None) -> None:
        self.tallies = tallies or {}
        self._dirty: set[tuple[str, str]] = set()
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
        tally = self.tallies.setdefault(slot, Tally())
        self._dirty.add(slot)
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

    def expire(self, now: float, within: dict[str, float]) -> None:
        """Forget keys whose events and quiet time are all over (``within`` by rule name)."""
        if now - self._expired_at < EXPIRE_EVERY:
            return  # a sweep walks every key: not on every batch
        self._expired_at = now
        for slot, tally in list(self.tallies.items()):
            window = within.get(slot[0])
            if window is None:
                continue
            last = max((at for at, _record in tally.events), default=0.0)
            if tally.quiet_until <= now and last <= now - window:
                del self.tallies[slot]
                self._dirty.add(slot)

    def keep_rules(self, names: set[str]) -> None:
        """After a reload: drop the windows of rules that no longer exist or no longer count."""
        for slot in [s for s in self.tallies if s[0] not in names]:
            del self.tallies[slot]
            self._dirty.add(slot)

    def changes(self) -> tuple[list[Row], list[tuple[str, str]]]:
        written: list[Row] = []
        deleted: list[tuple[str, str]] = []
        for slot in self._dirty:
            tally = self.tallies.get(slot)
            if tally is None:
                deleted.append(slot)
            else:
                written.append((*slot, tally.quiet_until, tally.events))
        return written, deleted

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def saved(self) -> None:
        self._dirty.clear()
