"""Notifications a schedule dropped (``otherwise: drop``): counted per rule and per destination,
listed by ``ruleengine history --dropped``. Pure, in memory; ``state.drops`` saves the counts and
the history entries in the commit of the batch that dropped them.

A rule's drop happens before anything is rendered: the rule's firing waits in ``fired`` until
the engine renders it (``record``) for the history. A destination's drop is a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ruleengine.model import Notification
from ruleengine.rules.compiled import Fired

log = logging.getLogger(__name__)
Slot = tuple[str, str]  # ("rule" | "destination", name)


@dataclass
class Drops:
    totals: dict[Slot, int] = field(default_factory=dict)  # since the state database began
    last: dict[Slot, float] = field(default_factory=dict)
    #: Rule firings dropped, not rendered yet: (fired, cause, time).
    fired: list[tuple[Fired, str, float]] = field(default_factory=list)
    #: Dropped notifications not saved yet, for the history: (notification, cause, time).
    entries: list[tuple[Notification, str, float]] = field(default_factory=list)
    _added: dict[Slot, int] = field(default_factory=dict)

    def drop_fired(self, item: Fired, cause: str, now: float) -> None:
        """A rule outside its schedule dropped one firing."""
        self._count(("rule", item.rule.name), now)
        self.fired.append((item, cause, now))

    def drop(self, notification: Notification, cause: str, now: float) -> None:
        """A destination outside its schedule dropped one notification."""
        self._count(("destination", notification.destination), now)
        self.entries.append((notification, cause, now))

    def take_fired(self) -> list[tuple[Fired, str, float]]:
        taken, self.fired = self.fired, []
        return taken

    def record(self, notifications: Iterable[Notification], cause: str, now: float) -> None:
        """What a dropped firing would have sent, for the history."""
        self.entries.extend((n, cause, now) for n in notifications)

    def _count(self, slot: Slot, now: float) -> None:
        self.totals[slot] = self.totals.get(slot, 0) + 1
        self._added[slot] = self._added.get(slot, 0) + 1
        self.last[slot] = now
        log.info("%s %s: outside its schedule, dropped (%d so far)", *slot, self.totals[slot])

    def changes(self) -> list[tuple[str, str, int, float]]:
        """Counts to add: (kind, name, dropped, last time)."""
        return [(*slot, count, self.last[slot]) for slot, count in self._added.items()]

    @property
    def dirty(self) -> bool:
        return bool(self._added or self.entries)

    def saved(self) -> None:
        self._added.clear()
        self.entries.clear()
