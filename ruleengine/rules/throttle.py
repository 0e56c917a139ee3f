"""Throttle windows: at most one notification per (rule, key) per window; the rest are counted.

The state is a plain in-memory map mirrored to the ``rule_throttle`` table: the engine thread is
its only writer and saves the changed entries in the same transaction as the outbox rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_throttle (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    until REAL NOT NULL,
    suppressed INTEGER NOT NULL,
    PRIMARY KEY (rule, key)
);
"""

EXPIRE_EVERY = 60.0  # seconds between sweeps of ended windows


@dataclass
class Window:
    until: float
    suppressed: int = 0


class Throttles:
    """Open windows by (rule name, key); survive restarts and reloads (keyed by rule name)."""

    def __init__(self, windows: dict[tuple[str, str], Window] | None = None) -> None:
        self.windows = windows or {}
        self._dirty: set[tuple[str, str]] = set()
        self._expired_at = float("-inf")

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Throttles:
        rows = conn.execute("SELECT rule, key, until, suppressed FROM rule_throttle")
        return cls({(r, k): Window(until, suppressed) for r, k, until, suppressed in rows})

    def admit(self, rule: str, key: str, window: float, now: float) -> int | None:
        """None to suppress this event; else how many were suppressed since the last one sent."""
        slot = (rule, key)
        current = self.windows.get(slot)
        self._dirty.add(slot)
        if current is not None and now < current.until:
            current.suppressed += 1
            return None
        self.windows[slot] = Window(now + window)
        return current.suppressed if current is not None else 0

    def expire(self, now: float) -> None:
        """Forget windows that ended with nothing suppressed (nothing left to report)."""
        if now - self._expired_at < EXPIRE_EVERY:
            return  # a sweep walks every window: not on every batch
        self._expired_at = now
        for slot, current in list(self.windows.items()):
            if current.until <= now and current.suppressed == 0:
                del self.windows[slot]
                self._dirty.add(slot)

    def keep_rules(self, names: set[str]) -> None:
        """After a reload: drop the windows of rules that no longer exist or no longer throttle."""
        for slot in [s for s in self.windows if s[0] not in names]:
            del self.windows[slot]
            self._dirty.add(slot)

    def save(self, conn: sqlite3.Connection) -> None:
        """Write changed windows; called inside the engine's commit transaction."""
        for slot in self._dirty:
            current = self.windows.get(slot)
            if current is None:
                conn.execute("DELETE FROM rule_throttle WHERE rule = ? AND key = ?", slot)
            else:
                conn.execute(
                    "INSERT INTO rule_throttle (rule, key, until, suppressed) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (rule, key) DO UPDATE SET until = excluded.until,"
                    " suppressed = excluded.suppressed",
                    (*slot, current.until, current.suppressed),
                )

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def saved(self) -> None:
        """The transaction that ran ``save`` committed."""
        self._dirty.clear()
