"""Absence (heartbeats): a rule with ``expect`` fires when a key has sent no matching event for
``every`` + ``grace``, and sends a "back" notice when it reports again.

Keys are learned from events (and listed in ``expect.keys`` to be expected from the start).
Deadlines are wall-clock times kept in the state database, so time while the daemon was down
counts. An alert whose deadline passed before this process started says so (``late``), with
the last time the previous run was known alive. Pure, in memory; ``state.absences`` saves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ALIVE_EVERY = 60.0  # seconds between saves of "the engine was alive at"

Row = tuple[str, str, float, bool, float | None]  # rule, key, last seen, seen, missing since


@dataclass
class Watch:
    last_seen: float  # the last matching event, or when the key was first expected
    seen: bool = False  # an event came (else ``last_seen`` is when watching began)
    missing_since: float | None = None  # the deadline an alert was sent for; None = reporting


@dataclass(frozen=True)
class Spec:
    every: float
    grace: float


@dataclass(frozen=True)
class Missing:
    """A key whose deadline passed: the input of one alert."""

    rule: str
    key: str
    watch: Watch
    deadline: float
    late: bool  # the deadline passed while no ruleengine was running
    down_since: float | None  # the previous run's last sign of life


@dataclass(frozen=True)
class Back:
    rule: str
    key: str
    missing_since: float  # the deadline that was missed


class Absences:
    """Watched keys by (rule name, key); kept across restarts and reloads (by rule name)."""

    def __init__(
        self, watches: dict[tuple[str, str], Watch] | None = None, alive: float | None = None
    ) -> None:
        self.watches = watches or {}
        self.alive = alive  # the last time an engine saved that it was running
        self.started: float | None = None  # when this process first checked
        self.down_since: float | None = None
        self._dirty: set[tuple[str, str]] = set()
        self._alive_dirty = False

    @classmethod
    def from_rows(cls, rows: Iterable[Row], alive: float | None) -> Absences:
        return cls(
            {(r, k): Watch(last, bool(seen), gone) for r, k, last, seen, gone in rows}, alive
        )

    def expect(self, rule: str, keys: Iterable[str], now: float) -> None:
        """Watch fixed keys from now on, unless they are watched already."""
        for key in keys:
            if (rule, key) not in self.watches:
                self.watches[(rule, key)] = Watch(now)
                self._dirty.add((rule, key))

    def seen(self, rule: str, key: str, now: float) -> Back | None:
        """A matching event for the key; a ``Back`` when it had been reported missing."""
        slot = (rule, key)
        previous = self.watches.get(slot)
        self.watches[slot] = Watch(now, seen=True)
        self._dirty.add(slot)
        if previous is not None and previous.missing_since is not None:
            return Back(rule, key, previous.missing_since)
        return None

    def start(self, now: float) -> None:
        """This process begins checking: deadlines before ``now`` passed while it was down."""
        if self.started is None:
            self.started = now
            self.down_since = self.alive

    def due(self, specs: Mapping[str, Spec], now: float) -> list[Missing]:
        """Keys whose deadline passed and that were not reported yet; each is reported once."""
        self.start(now)
        out: list[Missing] = []
        for (rule, key), watch in self.watches.items():
            spec = specs.get(rule)
            if spec is None or watch.missing_since is not None:
                continue
            deadline = watch.last_seen + spec.every + spec.grace
            if deadline <= now:
                watch.missing_since = deadline
                self._dirty.add((rule, key))
                late = self.started is not None and deadline < self.started
                out.append(
                    Missing(rule, key, watch, deadline, late, self.down_since if late else None)
                )
        if self.alive is None or now - self.alive >= ALIVE_EVERY:
            self.alive = now
            self._alive_dirty = True
        return out

    def next_due(self, specs: Mapping[str, Spec]) -> float | None:
        deadlines = [
            w.last_seen + specs[r].every + specs[r].grace
            for (r, _k), w in self.watches.items()
            if r in specs and w.missing_since is None
        ]
        return min(deadlines, default=None)

    def keep_rules(self, names: set[str]) -> None:
        for slot in [s for s in self.watches if s[0] not in names]:
            del self.watches[slot]
            self._dirty.add(slot)

    def replace(self, watches: dict[tuple[str, str], Watch]) -> None:
        """Adopt the keys as stored (after ``expect forget`` from the CLI), keeping changes
        not saved yet."""
        unsaved = {slot: self.watches[slot] for slot in self._dirty if slot in self.watches}
        self.watches = {**watches, **unsaved}

    def changes(self) -> tuple[list[Row], list[tuple[str, str]], float | None]:
        """(watches to write, (rule, key) to delete, the alive time to save or None)."""
        written: list[Row] = []
        deleted: list[tuple[str, str]] = []
        for slot in self._dirty:
            watch = self.watches.get(slot)
            if watch is None:
                deleted.append(slot)
            else:
                written.append((*slot, watch.last_seen, watch.seen, watch.missing_since))
        return written, deleted, self.alive if self._alive_dirty else None

    @property
    def dirty(self) -> bool:
        return bool(self._dirty) or self._alive_dirty

    def saved(self) -> None:
        self._dirty.clear()
        self._alive_dirty = False
