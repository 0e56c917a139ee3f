"""Resolved notices: a rule with ``resolves`` pairs its events with open alerts of another rule.

When the alert rule fires, its key (the resolving rule's ``key`` template, evaluated on the
alert's variables) opens an alert; when the resolving rule matches an event with the same key
while that alert is open, it fires (a resolved notice) and closes it. Otherwise the resolving
rule sends nothing. Open alerts expire. Pure, in memory; ``state.rules`` saves them.

An alert remembers the ids of the events that fired it (the newest ``EVENTS``): with the rule
name and a destination they give the alert's notification ids, which a resolved notice names so
that services which can edit or thread a message update the alert itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ruleengine.rules.keyed import Keyed, Slot

# rule, key, opened, expires, variables, event ids
Row = tuple[str, str, float, float, dict[str, Any], list[str]]
EVENTS = 10  # event ids kept per open alert: the messages a resolved notice updates


@dataclass
class Alert:
    opened: float
    expires: float
    variables: dict[str, Any]
    events: list[str] = field(default_factory=list)


class OpenAlerts(Keyed[Alert, Row]):
    """Open alerts by (alert rule name, key); survive restarts and reloads (by rule name)."""

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> OpenAlerts:
        return cls({(r, k): Alert(o, e, v, list(ids)) for r, k, o, e, v, ids in rows})

    def open(  # noqa: PLR0917 - one caller, reads best positionally
        self,
        rule: str,
        key: str,
        now: float,
        expire: float,
        variables: dict[str, Any],
        event: str = "",
    ) -> None:
        """An alert fired (event id ``event``); a repeat keeps its first time (it has been open
        since then) and adds its event to those a resolved notice updates."""
        slot = (rule, key)
        current = self.slots.get(slot)
        still = current is not None and current.expires > now
        opened = current.opened if current is not None and still else now
        events = [*(current.events if current is not None and still else ()), event]
        self.slots[slot] = Alert(
            opened, now + expire, variables, [e for e in events if e][-EVENTS:]
        )
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
        return (*slot, value.opened, value.expires, value.variables, value.events)
