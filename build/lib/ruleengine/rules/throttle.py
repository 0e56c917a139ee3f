"""Throttle windows: at most one notification per (rule, key) per window; the rest are counted.

The state is a plain in-memory map; the engine thread is its only writer. ``from_rows`` and
``changes`` are its persistence interface: ``state.rules`` saves the changed entries in the same
transaction as the outbox rows, then calls ``saved``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
    def from_rows(cls, rows: Iterable[tuple[str, str, float, int]]) -> Throttles:
        """Windows as saved: (rule, key, until, suppressed)."""
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

    def changes(self) -> tuple[list[tuple[str, str, float, int]], list[tuple[str, str]]]:
        """What changed since ``saved``: (windows to write as rows, (rule, key) to delete)."""
        written: list[tuple[str, str, float, int]] = []
        deleted: list[tuple[str, str]] = []
        for slot in self._dirty:
            current = self.windows.get(slot)
            if current is None:
                deleted.append(slot)
            else:
                written.append((*slot, current.until, current.suppressed))
        return written, deleted

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def saved(self) -> None:
        """The transaction that wrote ``changes`` committed."""
        self._dirty.clear()
