"""``test --file --simulate``: the time-aware rules replayed on the log's own clock (and, for
one event, ``time_preview``).

Each line's timestamp (``timestamps.line_time``; a line without one keeps the previous time)
drives a fresh, in-memory copy of the rules' state: thresholds, throttles, digests, absence
deadlines, resolved notices, rule and destination schedules and the silences stored in the
state database (past ones included) decide as the daemon would, and every notification is
reported with the moment it would be sent. Nothing is stored and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field

from ruleengine import turn
from ruleengine.config.loader import Config
from ruleengine.errors import StateError
from ruleengine.model import Notification
from ruleengine.render import render
from ruleengine.rules import heartbeats
from ruleengine.rules.absence import Absences
from ruleengine.rules.actions import Outputs
from ruleengine.rules.compiled import Fired
from ruleengine.rules.counts import Counts
from ruleengine.rules.digest import Digests
from ruleengine.rules.drops import Drops
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.held import Held
from ruleengine.rules.resolve import OpenAlerts
from ruleengine.rules.silences import Silences
from ruleengine.rules.throttle import Throttles
from ruleengine.templates import context, jsonable
from ruleengine.timestamps import line_time
from ruleengine.words import plural


@dataclass
class Timeline:
    rules: RuleSet
    now: float = field(default_factory=time.time)
    started: bool = False
    sent: list[tuple[float, Notification]] = field(default_factory=list)
    undated: int = 0  # lines without a timestamp of their own
    silences: Silences = field(default_factory=Silences)  # as stored, past ones included
    held: Held = field(default_factory=Held)  # by destinations outside their schedule
    dropped: int = 0  # notifications rules or destinations dropped outside their schedule

    def __post_init__(self) -> None:
        self.drops = Drops()
        self.outputs = Outputs(
            Throttles(), Digests(), Counts(), Absences(), OpenAlerts(), drops=self.drops
        )

    def stamp(self, line: str, stamped: float | None = None) -> float:
        """The line's time (``stamped`` by the source's ``timestamp:``, else an ISO or syslog
        prefix); the simulation's clock moves to it, never backwards."""
        found = stamped if stamped is not None else line_time(line, time.time())
        if found is None:
            self.undated += 1
        else:
            self._advance(max(found, self.now) if self.started else found)
        return self.now

    def _advance(self, until: float) -> None:
        if not self.started:
            self.started = True
            self.now = until
            self.outputs.absences.start(until)
            heartbeats.expect_fixed(self.rules.rules, self.outputs.absences, until)
            return
        while (due := self._next_due()) is not None and due <= until:
            self._tick(due)
        self.now = until

    def _tick(self, due: float) -> None:
        self.now = max(due, self.now)
        self._record(
            turn.due(
                self.now,
                rules=self.rules,
                outputs=self.outputs,
                silences=self.silences,
                held=self.held,
            )
        )

    def _next_due(self, absences: bool = True) -> float | None:
        specs = heartbeats.specs(self.rules.rules)
        dues = (
            self.outputs.digests.next_due(),
            self.outputs.absences.next_due(specs) if absences else None,
            self.silences.next_end(),
            self.held.next_due(),
        )
        return min((d for d in dues if d is not None), default=None)

    def fire(self, fired: list[Fired]) -> None:
        self._record(render(self.outputs.apply(fired, self.rules, self.now)))

    def finish(self) -> None:
        """Send the digests still collecting and the summaries of silences still running when
        the log ends, at their time (absence deadlines after the last line are not guessed)."""
        while (due := self._next_due(absences=False)) is not None:
            self._tick(due)

    def _record(self, notifications: list[Notification]) -> None:
        """As the engine commits: destination schedules, then silences."""
        kept = turn.admit(
            notifications,
            self.now,
            rules=self.rules,
            held=self.held,
            silences=self.silences,
            drops=self.drops,
        )
        self.sent += [(self.now, n) for n in kept]
        fired = self.drops.take_fired()
        self.dropped += len(self.drops.entries) + sum(len(f.rule.output.to) for f, _, _ in fired)
        self.held.saved()  # nothing is stored: forget what a save would write
        self.drops.saved()
        self.silences.saved()

    def report(self) -> list[str]:
        out = [
            f"{_stamp(when)}  {n.rule} → {n.destination}: {' '.join(n.text.split())}"
            for when, n in self.sent
        ]
        if self.undated:
            lines = "1 line" if self.undated == 1 else f"{self.undated} lines"
            out.append(f"({lines} without a timestamp took the previous line's time)")
        if self.dropped:
            out.append(f"({plural(self.dropped, 'notification')} dropped outside a schedule)")
        return out

    def as_json(self) -> list[dict[str, object]]:
        return [
            {"time": when, "rule": n.rule, "destination": n.destination, "text": n.text}
            for when, n in self.sent
        ]


def simulation_for(config: Config, rules: RuleSet) -> Timeline:
    """A simulation with the silences of the rules file's state database, if it has one."""
    # Only --simulate reads the state database (and loads its modules and sqlite3).
    from ruleengine.state.silences import open_silences  # noqa: PLC0415

    simulation = Timeline(rules)
    path = config.state_dir / "state.db"
    if path.exists():
        try:
            stored = open_silences(path, everything=True)
        except StateError as exc:
            print(f"silences not simulated: {exc}", file=sys.stderr)
        else:
            simulation.silences.refresh(item.silence for item in stored)
    return simulation


def _stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def time_preview(fired: Fired, now: float) -> tuple[list[str], Fired]:
    """For ``test --line|--marker``: what the time-aware options do with this event, and the
    fired rule to render as they would (an ``expect`` alert, a reached threshold)."""
    rule, notes = fired.rule, []
    if rule.count is not None:
        notes.append(
            f"count: sent only when {rule.count.minimum} such events share a key within "
            f"{rule.count.within:g}s"
        )
        record = {k: jsonable(v) for k, v in context(fired.event, rule.name, fired.fields).items()}
        events = [record] * rule.count.minimum  # as if this event were the last of them
        extra = {"count": len(events), "first": record, "last": record, "events": events}
        fired = Fired(rule, fired.event, {**fired.fields, **extra})
    if rule.expect is not None:
        notes.append(
            "expect: a heartbeat, sends nothing itself; below is the alert when a key stays "
            f"silent for {rule.expect.every + rule.expect.grace:g}s"
        )
        fired = heartbeats.preview_alert(fired, now)
    if rule.resolves is not None:
        notes.append(f"resolves: sent only when an alert of {rule.resolves.rule!r} is open")
    if rule.schedule is not None:
        inside = rule.schedule.window.contains(now) != rule.schedule.mute
        notes.append(
            "schedule: may send now"
            if inside
            else f"schedule: outside its time now ({rule.schedule.otherwise})"
        )
    return notes, fired
