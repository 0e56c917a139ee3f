"""The rules' output decisions: which fired rules are sent now, held by a throttle window, or
collected into a digest, and which digests are due. Decisions are plain values; the render step
(``ruleengine.render``) turns them into notifications in one pass.

Pure apart from the in-memory ``RuleState`` it updates; the caller saves that state in the same
transaction as the notifications rendered from these decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ruleengine.errors import RenderError
from ruleengine.rules.compiled import CompiledRule, Fired
from ruleengine.rules.digest import Digests, Group
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.throttle import Throttles
from ruleengine.templates import context, jsonable, render_text

log = logging.getLogger(__name__)


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

    def __init__(self, throttles: Throttles, digests: Digests) -> None:
        self.throttles = throttles
        self.digests = digests

    def apply(self, fired: Sequence[Fired], rules: RuleSet, now: float) -> list[Decision]:
        out: list[Decision] = []
        for item in fired:
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
        return out

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
        """A decision for every digest whose wait is over; their groups are removed."""
        out: list[Decision] = []
        for group in self.digests.due(now):
            out.extend(self.flush(group, rules))
        return out

    def flush(self, group: Group, rules: RuleSet) -> list[Decision]:
        """Decide to send one digest and forget its group (rows deleted in the same commit)."""
        self.digests.pop(group.slot)
        rule = next((r for r in rules.rules if r.name == group.rule), None)
        if rule is None or rule.digest is None or not group.events:
            log.warning(
                "dropping a pending digest of rule %r: the rule no longer digests", group.rule
            )
            return []
        return [SendDigest(rule, group)]
