"""The one clock of the time-aware rules: wall-clock seconds, injected so tests can move time.

The engine, the rules' windows (throttle, digest, count) and silences all read time through a
``Clock``; nothing under ``rules/`` calls ``time.time`` itself. ``ManualClock`` is the fake: tests
and ``test --file`` (which replays the lines' own timestamps) set it by hand.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (wall clock: windows and deadlines survive restarts)."""
        ...


def system_clock() -> float:
    """The real clock."""
    return time.time()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, now: float) -> None:
        self.now = now
