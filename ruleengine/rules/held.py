"""Destination schedules: a destination restricted to (or muted during) a schedule drops
(``rules.drops`` counts them), quiets or holds the notifications that reach it at other
times. Held ones become one message per destination when it may receive again. Pure, in
memory; ``state.rules`` saves it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruleengine.model import Notification
from ruleengine.rules.compiled import ScheduleSpec
from ruleengine.rules.drops import Drops

HELD_RULE = "schedule"  # the rule name of the messages that deliver held notifications
Row = tuple[str, float, dict[str, Any]]  # destination, due, notification summary


@dataclass
class Pile:
    due: float
    records: list[dict[str, Any]] = field(default_factory=list)


class Held:
    """Notifications held per destination until its schedule lets them through."""

    def __init__(self, piles: dict[str, Pile] | None = None) -> None:
        self.piles = piles or {}
        self._added: list[Row] = []
        self._removed: set[str] = set()

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Held:
        piles: dict[str, Pile] = {}
        for destination, due, record in rows:
            piles.setdefault(destination, Pile(due)).records.append(record)
        return cls(piles)

    def gate(
        self,
        notifications: Sequence[Notification],
        gates: Mapping[str, ScheduleSpec],
        now: float,
        drops: Drops,
    ) -> list[Notification]:
        """The notifications to send now (some without ``notify``); the rest held or dropped
        (counted in ``drops``)."""
        if not gates:
            return list(notifications)
        out: list[Notification] = []
        for item in notifications:
            spec = gates.get(item.destination)
            if spec is None or item.rule == HELD_RULE or spec.window.contains(now) != spec.mute:
                out.append(item)
            elif spec.otherwise == "quiet":
                out.append(dataclasses.replace(item, notify=False))
            elif spec.otherwise == "hold" and (opens := spec.window.next_change(now)) is not None:
                self._hold(item, opens)
            else:
                drops.drop(item, spec.cause(), now)
        return out

    def _hold(self, item: Notification, opens: float) -> None:
        pile = self.piles.setdefault(item.destination, Pile(opens))
        record = {"id": item.id, "rule": item.rule, "text": item.text, "notify": item.notify}
        pile.records.append(record)
        self._added.append((item.destination, pile.due, record))

    def next_due(self) -> float | None:
        return min((p.due for p in self.piles.values()), default=None)

    def due(self, now: float) -> list[tuple[str, Pile]]:
        """Piles whose destination may receive again (forgotten: the next save deletes them)."""
        ready = [(d, p) for d, p in self.piles.items() if p.due <= now]
        for destination, _pile in ready:
            del self.piles[destination]
            self._added = [row for row in self._added if row[0] != destination]
            self._removed.add(destination)
        return ready

    def changes(self) -> tuple[list[Row], set[str]]:
        return list(self._added), set(self._removed)

    @property
    def dirty(self) -> bool:
        return bool(self._added or self._removed)

    def saved(self) -> None:
        self._added.clear()
        self._removed.clear()
