"""What the engine has done since it started, for its stop line and the bench."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counters:
    """Read by the bench, logged at stop."""

    lines: int = 0  # log lines evaluated
    events: int = 0  # other events (markers)
    matched: int = 0  # lines and events on which at least one rule fired
    notifications: int = 0  # rows committed to the outbox
    first: float | None = None  # monotonic time the first batch arrived
    last: float | None = None  # monotonic time of the last commit of a batch
    cpu: float = 0.0  # seconds of this thread's CPU spent evaluating and committing batches

    def summary(self) -> str:
        span = (self.last - self.first) if self.first is not None and self.last else 0.0
        rate = self.lines / span if span > 0 else 0.0
        return (
            f"engine: {self.lines} lines, {self.events} other events, {self.matched} matched, "
            f"{self.notifications} notifications in {span:.3f} s ({rate:.0f} lines/s; "
            f"{self.cpu:.3f} s of engine CPU)"
        )
