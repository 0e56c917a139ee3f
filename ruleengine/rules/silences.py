"""Silences: notifications matching a silence while it is active are not sent, only counted.

A silence names a rule, or field values (``host=web1``), or both; all must hold. Pure, in
memory: ``state.silences`` loads the definitions (the CLI writes them, the daemon re-reads them
when the database changed) and saves the counts with the batch that was silenced. When a
silence ends, ``ended`` hands each one with its per-destination counts, once, for a summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruleengine.model import Notification

SUMMARY_RULE = "silence"  # the rule name of summaries: never silenced themselves


@dataclass(frozen=True)
class Silence:
    id: str
    rule: str | None
    match: tuple[tuple[str, str], ...]
    starts: float
    ends: float
    reason: str

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends

    def covers(self, rule: str, destination: str, fields: Mapping[str, Any]) -> bool:
        if self.rule is not None and self.rule != rule:
            return False
        for name, value in self.match:
            if name == "destination":
                seen: Any = destination
            elif name == "rule":
                seen = rule
            else:
                seen = fields.get(name)
            if seen is None or str(seen) != value:
                return False
        return True

    def cause(self) -> str:
        """``silence 3f2a1b2c: patch night``: why the history lists a notification unsent."""
        return f"silence {self.id}: {self.reason or self.describe()}"

    def describe(self) -> str:
        """``rule=x host=web1``: what the silence matches, for lists and summaries."""
        parts = ([f"rule={self.rule}"] if self.rule is not None else []) + [
            f"{name}={value}" for name, value in self.match
        ]
        return " ".join(parts)


@dataclass(frozen=True)
class Ended:
    """A silence that is over, with what it held back per destination."""

    silence: Silence
    suppressed: Mapping[str, int]


@dataclass
class Silences:
    """Silences not yet summarised, and their counts (totals and unsaved increments)."""

    open: dict[str, Silence] = field(default_factory=dict)
    totals: dict[tuple[str, str], int] = field(default_factory=dict)
    _added: dict[tuple[str, str], int] = field(default_factory=dict)
    _summarized: set[str] = field(default_factory=set)
    #: What was suppressed since the last save, by which silence, when (for the history).
    suppressed: list[tuple[Notification, Silence, float]] = field(default_factory=list)

    def refresh(self, silences: Iterable[Silence]) -> None:
        """Adopt the definitions as stored now (added, changed or expired by the CLI)."""
        self.open = {s.id: s for s in silences if s.id not in self._summarized}

    def filter(self, notifications: Sequence[Notification], now: float) -> list[Notification]:
        """The notifications no active silence covers; the others are counted."""
        active = [s for s in self.open.values() if s.active(now)]
        if not active:
            return list(notifications)
        kept: list[Notification] = []
        for item in notifications:
            hit = None
            if item.rule != SUMMARY_RULE:
                hit = next(
                    (s for s in active if s.covers(item.rule, item.destination, item.fields)), None
                )
            if hit is None:
                kept.append(item)
                continue
            slot = (hit.id, item.destination)
            self.totals[slot] = self.totals.get(slot, 0) + 1
            self._added[slot] = self._added.get(slot, 0) + 1
            self.suppressed.append((item, hit, now))
        return kept

    def next_end(self) -> float | None:
        return min((s.ends for s in self.open.values()), default=None)

    def ended(self, now: float) -> list[Ended]:
        """Silences that are over, each handed out once (then forgotten)."""
        out: list[Ended] = []
        for silence in [s for s in self.open.values() if s.ends <= now]:
            counts = {d: n for (i, d), n in self.totals.items() if i == silence.id and n}
            out.append(Ended(silence, counts))
            del self.open[silence.id]
            self._summarized.add(silence.id)
            for slot in [slot for slot in self.totals if slot[0] == silence.id]:
                del self.totals[slot]
        return out

    def changes(self) -> tuple[dict[tuple[str, str], int], set[str]]:
        """(counts to add per (silence, destination), silences now summarised)."""
        return dict(self._added), set(self._summarized)

    @property
    def dirty(self) -> bool:
        return bool(self._added or self._summarized or self.suppressed)

    def saved(self) -> None:
        self._added.clear()
        self._summarized.clear()
        self.suppressed.clear()


def summary_text(ended: Ended, destination: str) -> str:
    silence = ended.silence
    count = ended.suppressed.get(destination, 0)
    plural = "notification was" if count == 1 else "notifications were"
    what = f"'{silence.reason}'" if silence.reason else silence.describe()
    return (
        f"{count} {plural} silenced during {what} ({silence.describe()}); "
        f"see `ruleengine history --silenced`"
    )
