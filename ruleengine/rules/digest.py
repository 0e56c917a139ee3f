"""Pending digests: events grouped per (rule, group) until ``wait`` has passed or ``max`` is hit.

Each collected event is one ``rule_digest`` row, inserted in the transaction that commits its
batch; a flushed group's rows are deleted in the transaction that enqueues its notifications.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_digest (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    grp TEXT NOT NULL,
    due REAL NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_digest_group ON rule_digest (rule, grp);
"""


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
        self._added: list[tuple[str, str, float, str]] = []
        self._removed: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Digests:
        groups: dict[tuple[str, str], Group] = {}
        for rule, grp, due, event in conn.execute(
            "SELECT rule, grp, due, event FROM rule_digest ORDER BY seq"
        ):
            group = groups.setdefault((rule, grp), Group(rule, grp, due))
            group.events.append(json.loads(event))
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
        self._added.append((rule, group, current.due, json.dumps(event, ensure_ascii=False)))
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

    def save(self, conn: sqlite3.Connection) -> None:
        for slot in self._removed:
            conn.execute("DELETE FROM rule_digest WHERE rule = ? AND grp = ?", slot)
        conn.executemany(
            "INSERT INTO rule_digest (rule, grp, due, event) VALUES (?, ?, ?, ?)", self._added
        )

    @property
    def dirty(self) -> bool:
        return bool(self._added or self._removed)

    def saved(self) -> None:
        self._added.clear()
        self._removed.clear()
