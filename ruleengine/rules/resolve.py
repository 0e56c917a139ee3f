"""Resolved notices: a rule with ``resolves`` pairs its events with open alerts of another rule.

When the alert rule fires, its key (the resolving rule's ``key`` template, evaluated on the
alert's variables) opens an alert; when the resolving rule matches an event with the same key
while that alert is open, it fires (a resolved notice) and closes it. Otherwise the resolving
rule sends nothing. Open alerts expire. Pure, in memory; ``state.resolve`` saves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruleengine.rules.keyed import Keyed, Slot

Row = tuple[str, str, float, float, dict[str, Any]]  # rule, key, opened, expires, variables


@dataclass
class Alert:
    opened: float
    expires: float
    variables: dict[str, Any]


class OpenAlerts(Keyed[Alert, Row]):
    """Open alerts by (alert rule name, key); survive restarts and reloads (by rule name)."""

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> OpenAlerts:
        return cls({(r, k): Alert(o, e, v) for r, k, o, e, v in rows})

    def open(
        self, rule: str, key: str, now: float, expire: float, variables: dict[str, Any]
    ) -> None:
        """An alert fired; a repeat keeps its first time (it has been open since then)."""
        slot = (rule, key)
        current = self.slots.get(slot)
        opened = current.opened if current is not None and current.expires > now else now
        self.slots[slot] = Alert(opened, now + expire, variables)
        self.touch(slot)

    def close(self, rule: str, key: str, now: float) -> Alert | None:
        """The open alert this resolves (it is closed), or None."""
        slot = (rule, key)
        current = self.slots.pop(slot, None)
        if current is None:
            return None
        self.touch(slot)
        return current if current.expires > now else None

    def expire(self, now: float) -> None:
        for slot in [s for s, alert in self.slots.items() if alert.expires <= now]:
            self.drop(slot)

    def row(self, slot: Slot, value: Alert) -> Row:
        return (*slot, value.opened, value.expires, value.variables)
