"""Throttle windows: at most one notification per (rule, key) per window; the rest are counted.

The state is a plain in-memory map; the engine thread is its only writer. ``from_rows`` and
``changes`` are its persistence interface: ``state.rules`` saves the changed entries in the same
transaction as the outbox rows, then calls ``saved``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ruleengine.rules.keyed import Keyed, Slot

EXPIRE_EVERY = 60.0  # seconds between sweeps of ended windows


@dataclass
class Window:
    until: float
    suppressed: int = 0


Row = tuple[str, str, float, int]  # rule, key, until, suppressed


class Throttles(Keyed[Window, Row]):
    """Open windows by (rule name, key); survive restarts and reloads (keyed by rule name)."""

    def __init__(self, windows: dict[Slot, Window] | None = None) -> None:
        super().__init__(windows)
        self._expired_at = float("-inf")

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Throttles:
        """Windows as saved: (rule, key, until, suppressed)."""
        return cls({(r, k): Window(until, suppressed) for r, k, until, suppressed in rows})

    def admit(self, rule: str, key: str, window: float, now: float) -> int | None:
        """None to suppress this event; else how many were suppressed since the last one sent."""
        slot = (rule, key)
        current = self.slots.get(slot)
        self.touch(slot)
        if current is not None and now < current.until:
            current.suppressed += 1
            return None
        self.slots[slot] = Window(now + window)
        return current.suppressed if current is not None else 0

    def expire(self, now: float) -> None:
        """Forget windows that ended with nothing suppressed (nothing left to report)."""
        if now - self._expired_at < EXPIRE_EVERY:
            return  # a sweep walks every window: not on every batch
        self._expired_at = now
        for slot, current in list(self.slots.items()):
            if current.until <= now and current.suppressed == 0:
                self.drop(slot)

    def row(self, slot: Slot, value: Window) -> Row:
        return (*slot, value.until, value.suppressed)
