"""The rules' output decisions: which fired rules are sent now, held by a throttle window, or
collected into a digest, and which digests are due. Decisions are plain values; the render step
(``ruleengine.render``) turns them into notifications in one pass.

Pure apart from the in-memory ``RuleState`` it updates; the caller saves that state in the same
transaction as the notifications rendered from these decisions.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ruleengine.errors import RenderError
from ruleengine.rules.absence import Absences
from ruleengine.rules.compiled import CompiledRule, Fired
from ruleengine.rules.counts import Counts
from ruleengine.rules.digest import Digests, Group
from ruleengine.rules.drops import Drops
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.heartbeats import ABSENCE, heartbeat, overdue
from ruleengine.rules.resolve import OpenAlerts
from ruleengine.rules.throttle import Throttles
from ruleengine.templates import context, jsonable, render_text

log = logging.getLogger(__name__)
HELD = "\x1eheld"  # the digest group of notifications a schedule holds back


@dataclass(frozen=True)
class Send:
    """Send this fired rule now; ``suppressed`` similar ones were held back by its throttle."""

    fired: Fired
    suppressed: int = 0


@dataclass(frozen=True)
class SendDigest:
    """Send one message for this digest group (its wait is over, or it is full)."""

    rule: CompiledRule
    group: Group


Decision = Send | SendDigest


class Outputs:
    """Applies throttles and digests to fired rules, keeping their state in memory."""

    def __init__(
        self,
        throttles: Throttles,
        digests: Digests,
        counts: Counts | None = None,
        absences: Absences | None = None,
        alerts: OpenAlerts | None = None,
        *,
        drops: Drops | None = None,
    ) -> None:
        self.throttles = throttles
        self.digests = digests
        self.counts = counts if counts is not None else Counts()
        self.absences = absences if absences is not None else Absences()
        self.alerts = alerts if alerts is not None else OpenAlerts()
        self.drops = drops if drops is not None else Drops()  # dropped outside a schedule

    def apply(self, fired: Sequence[Fired], rules: RuleSet, now: float) -> list[Decision]:
        out: list[Decision] = []
        resolvers = rules.resolvers
        for each in fired:
            item = self._time_aware(each, resolvers, now, out)
            if item is not None and item.rule.schedule is not None:
                item = self._scheduled(item, now)
            if item is None:
                continue
            rule = item.rule
            if rule.throttle is not None:
                key = self._throttle_key(item)
                suppressed = self.throttles.admit(rule.name, key, rule.throttle.window, now)
                if suppressed is not None:
                    out.append(Send(item, suppressed))
            elif rule.digest is not None:
                full = self._collect(item, now)
                if full is not None:
                    out.extend(self.flush(full, rules))
            else:
                out.append(Send(item))
        self.throttles.expire(now)
        self.counts.expire(now, rules.count_windows)
        return out

    def _time_aware(
        self, item: Fired, resolvers: Sequence[CompiledRule], now: float, out: list[Decision]
    ) -> Fired | None:
        """``expect``, ``count`` and ``resolves``: the fired rule that goes on to throttle and
        digest (with their variables added), or None when it stops here."""
        rule = item.rule
        if rule.expect is not None and item.event.kind != ABSENCE:
            back = heartbeat(item, self.absences, now)  # an event is a heartbeat only
            if back is not None:
                out.append(Send(back))
            return None
        if rule.count is not None:
            reached = self._count(item, now)
            if reached is None:
                return None
            item = reached  # the threshold's firing goes on as the event
        if rule.resolves is not None:
            resolved = self._resolve(item, now)
            if resolved is None:
                return None  # nothing open to resolve: a recovery alone is no news
            item = resolved
        opened = [
            self._open(item, r, now)
            for r in resolvers
            if r.resolves is not None and r.resolves.rule == rule.name
        ]
        return dataclasses.replace(item, resolvable=True) if any(opened) else item

    def _scheduled(self, item: Fired, now: float) -> Fired | None:
        """Inside the time the rule may send: the item. Outside: dropped (counted), held in
        a digest due when that time starts, or passed on without ``notify``."""
        rule, spec = item.rule, item.rule.schedule
        assert spec is not None  # noqa: S101 - caller checked
        if spec.window.contains(now) != spec.mute:
            return item
        if spec.otherwise == "quiet":
            quiet = dataclasses.replace(rule.output, notify=False)
            return dataclasses.replace(item, rule=dataclasses.replace(rule, output=quiet))
        opens = spec.window.next_change(now)
        if spec.otherwise == "drop" or opens is None:
            self.drops.drop_fired(item, spec.cause(), now)
            return None
        variables = context(item.event, rule.name, item.fields)
        record = {key: jsonable(value) for key, value in variables.items()}
        record["id"] = item.event.id
        self.digests.add(rule.name, HELD, record, now, opens - now, 1_000_000)
        return None

    def _count(self, item: Fired, now: float) -> Fired | None:
        """Count the event under its key; when the threshold is reached, the fired rule with
        ``count``, ``first``, ``last`` and ``events`` added to its fields."""
        rule, spec = item.rule, item.rule.count
        assert spec is not None  # noqa: S101 - caller checked
        variables = context(item.event, rule.name, item.fields)
        try:
            key = render_text(spec.by, variables, rule.label, "count.by")
        except RenderError as exc:
            log.error("%s; counting the whole rule instead", exc)
            key = ""
        record = {name: jsonable(value) for name, value in variables.items()}
        events = self.counts.add(rule.name, key, record, now, spec.within, spec.minimum)
        if events is None:
            return None
        extra = {"count": len(events), "first": events[0], "last": events[-1], "events": events}
        return Fired(rule, item.event, {**item.fields, **extra})

    def _pair_key(self, item: Fired, resolver: CompiledRule) -> str | None:
        spec = resolver.resolves
        assert spec is not None  # noqa: S101 - callers checked
        variables = context(item.event, item.rule.name, item.fields)
        try:
            return render_text(spec.key, variables, resolver.label, "resolves.key")
        except RenderError as exc:
            log.error("%s; this event cannot be paired", exc)
            return None

    def _open(self, item: Fired, resolver: CompiledRule, now: float) -> bool:
        """Open (or repeat) the alert ``item`` is for ``resolver``; False if it has no key."""
        assert resolver.resolves is not None  # noqa: S101 - caller checked
        key = self._pair_key(item, resolver)
        if key is None:
            return False
        variables = context(item.event, item.rule.name, item.fields)
        record = {name: jsonable(value) for name, value in variables.items()}
        expire = resolver.resolves.expire
        self.alerts.open(item.rule.name, key, now, expire, record, item.event.id)
        return True

    def _resolve(self, item: Fired, now: float) -> Fired | None:
        spec = item.rule.resolves
        assert spec is not None  # noqa: S101 - caller checked
        key = self._pair_key(item, item.rule)
        alert = self.alerts.close(spec.rule, key, now) if key is not None else None
        if alert is None:
            return None
        extra = {"alert": alert.variables, "opened": alert.opened, "open_for": now - alert.opened}
        pairs = tuple((event, spec.rule) for event in alert.events)
        return dataclasses.replace(item, fields={**item.fields, **extra}, resolves=pairs)

    def _throttle_key(self, item: Fired) -> str:
        assert item.rule.throttle is not None  # noqa: S101 - caller checked
        variables = context(item.event, item.rule.name, item.fields)
        try:
            return render_text(item.rule.throttle.key, variables, item.rule.label, "throttle.key")
        except RenderError as exc:
            log.error("%s; throttling the whole rule instead", exc)
            return ""

    def _collect(self, item: Fired, now: float) -> Group | None:
        """Keep the event's variables in its digest group (its message is rendered with the
        digest); returns the group when it is full."""
        rule, event = item.rule, item.event
        assert rule.digest is not None  # noqa: S101 - caller checked
        variables = context(event, rule.name, item.fields)
        record = {key: jsonable(value) for key, value in variables.items()}
        record["id"] = event.id
        group = "\x1f".join(str(record.get(name, "")) for name in rule.digest.by)
        return self.digests.add(rule.name, group, record, now, rule.digest.wait, rule.digest.max)

    def due(self, rules: RuleSet, now: float) -> list[Decision]:
        """A decision for every digest whose wait is over (their groups are removed), and for
        every key of an ``expect`` rule past its deadline."""
        out: list[Decision] = []
        for group in self.digests.due(now):
            out.extend(self.flush(group, rules))
        self.alerts.expire(now)
        missing = overdue(rules.rules, self.absences, now) if rules.expecting else []
        return out + (self.apply(missing, rules, now) if missing else [])

    def flush(self, group: Group, rules: RuleSet) -> list[Decision]:
        """Decide to send one digest and forget its group (rows deleted in the same commit)."""
        self.digests.pop(group.slot)
        rule = next((r for r in rules.rules if r.name == group.rule), None)
        if rule is not None and rule.schedule is not None and group.group == HELD:
            rule = dataclasses.replace(rule, digest=rule.schedule.hold)
        if rule is None or rule.digest is None or not group.events:
            log.warning(
                "dropping a pending digest of rule %r: the rule no longer digests", group.rule
            )
            return []
        return [SendDigest(rule, group)]
