"""What a turn decides besides the rules: what time alone makes due, and what notifications pass
on their way to the outbox (destination schedules, then silences).

One definition for the daemon's engine and for ``test --file --simulate``, so a dry run decides
as the daemon does.
"""

from __future__ import annotations

from collections.abc import Sequence

from ruleengine.model import Notification
from ruleengine.render import render, render_held, render_silence_summaries
from ruleengine.rules.actions import Outputs
from ruleengine.rules.drops import Drops
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.held import Held
from ruleengine.rules.silences import Silences


def due(
    now: float, *, rules: RuleSet, outputs: Outputs, silences: Silences, held: Held
) -> list[Notification]:
    """Digests and absences whose time came, summaries of silences that ended, and what a
    destination's schedule held until now."""
    return (
        render(outputs.due(rules, now))
        + render_silence_summaries(silences.ended(now), now)
        + render_held(held.due(now), now)
    )


def admit(
    notifications: Sequence[Notification],
    now: float,
    *,
    rules: RuleSet,
    held: Held,
    silences: Silences,
    drops: Drops,
) -> list[Notification]:
    """What goes to the outbox: destination schedules hold, quieten or drop (counted in
    ``drops``), then silences suppress (counted in ``silences``)."""
    kept = held.gate(notifications, rules.destination_schedules, now, drops)
    return silences.filter(kept, now)
