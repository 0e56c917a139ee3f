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

Row = tuple[str, str, float, float, dict[str, Any]]  # rule, key, opened, expires, variables


@dataclass
class Alert:
    opened: float
    expires: float
    variables: dict[str, Any]


class OpenAlerts:
    """Open alerts by (alert rule name, key); survive restarts and reloads (by rule name)."""

    def __init__(self, alerts: dict[tuple[str, str], Alert] | None = None) -> None:
        self.alerts = alerts or {}
        self._dirty: set[tuple[str, str]] = set()

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> OpenAlerts:
        return cls({(r, k): Alert(o, e, v) for r, k, o, e, v in rows})

    def open(
        self, rule: str, key: str, now: float, expire: float, variables: dict[str, Any]
    ) -> None:
        """An alert fired; a repeat keeps its first time (it has been open since then)."""
        slot = (rule, key)
        current = self.alerts.get(slot)
        opened = current.opened if current is not None and current.expires > now else now
        self.alerts[slot] = Alert(opened, now + expire, variables)
        self._dirty.add(slot)

    def close(self, rule: str, key: str, now: float) -> Alert | None:
        """The open alert this resolves (it is closed), or None."""
        slot = (rule, key)
        current = self.alerts.pop(slot, None)
        if current is None:
            return None
        self._dirty.add(slot)
        return current if current.expires > now else None

    def expire(self, now: float) -> None:
        for slot in [s for s, alert in self.alerts.items() if alert.expires <= now]:
            del self.alerts[slot]
            self._dirty.add(slot)

    def keep_rules(self, names: set[str]) -> None:
        """After a reload: drop alerts no rule resolves any more."""
        for slot in [s for s in self.alerts if s[0] not in names]:
            del self.alerts[slot]
            self._dirty.add(slot)

    def changes(self) -> tuple[list[Row], list[tuple[str, str]]]:
        written: list[Row] = []
        deleted: list[tuple[str, str]] = []
        for slot in self._dirty:
            alert = self.alerts.get(slot)
            if alert is None:
                deleted.append(slot)
            else:
                written.append((*slot, alert.opened, alert.expires, alert.variables))
        return written, deleted

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def saved(self) -> None:
        self._dirty.clear()
