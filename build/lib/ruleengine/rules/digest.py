"""Pending digests: events grouped per (rule, group) until ``wait`` has passed or ``max`` is hit.

Each collected event is saved (by ``state.rules``, through ``from_rows`` and ``changes``) in the
transaction that commits its batch; a flushed group's events are deleted in the transaction that
enqueues its notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Row = tuple[str, str, float, dict[str, Any]]  # rule, group, due, event fields


@dataclass
class Group:
    rule: str
    group: str
    due: float
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slot(self) -> tuple[str, str]:
        return self.rule, self.group


class Digests:
    """Open groups by (rule name, group key); kept across restarts and reloads."""

    def __init__(self, groups: dict[tuple[str, str], Group] | None = None) -> None:
        self.groups = groups or {}
        self._added: list[Row] = []
        self._removed: set[tuple[str, str]] = set()

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Digests:
        """Collected events as saved, in the order they were collected."""
        groups: dict[tuple[str, str], Group] = {}
        for rule, grp, due, event in rows:
            group = groups.setdefault((rule, grp), Group(rule, grp, due))
            group.events.append(event)
        return cls(groups)

    def add(  # noqa: PLR0917 - called from one place, reads best positionally
        self, rule: str, group: str, event: dict[str, Any], now: float, wait: float, limit: int
    ) -> Group | None:
        """Collect an event; returns the group when it just reached ``limit`` (send it now)."""
        slot = (rule, group)
        current = self.groups.get(slot)
        if current is None:
            current = self.groups[slot] = Group(rule, group, now + wait)
        current.events.append(event)
        self._added.append((rule, group, current.due, event))
        return current if len(current.events) >= limit else None

    def due(self, now: float) -> list[Group]:
        return [g for g in self.groups.values() if g.due <= now]

    def next_due(self) -> float | None:
        return min((g.due for g in self.groups.values()), default=None)

    def pop(self, slot: tuple[str, str]) -> None:
        """Forget a group (flushed or its rule is gone); its rows go with the next save."""
        self.groups.pop(slot, None)
        self._added = [row for row in self._added if (row[0], row[1]) != slot]
        self._removed.add(slot)

    def changes(self) -> tuple[list[Row], set[tuple[str, str]]]:
        """What changed since ``saved``: (events collected, groups to delete first)."""
        return list(self._added), set(self._removed)

    @property
    def dirty(self) -> bool:
        return bool(self._added or self._removed)

    def saved(self) -> None:
        self._added.clear()
        self._removed.clear()
