"""The output stage: fired rules become notifications, through throttle windows and digests.

Pure apart from the in-memory ``RuleState`` it updates; the caller saves that state in the same
transaction as the notifications returned here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ruleengine.errors import RenderError
from ruleengine.model import Event, Notification, stable_id
from ruleengine.render import HOSTNAME, build_notifications, context, jsonable, render_color
from ruleengine.render import render_text as _render
from ruleengine.rules.compiled import CompiledRule, Fired, Output
from ruleengine.rules.digest import Digests, Group
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.throttle import Throttles

log = logging.getLogger(__name__)


def evaluate(rules: RuleSet, event: Event) -> list[Notification]:
    """Every notification one event produces, before throttle and digest (pure; dry runs)."""
    return [note for fired in rules.fire([event]) for note in render_fired(fired)]


def render_fired(fired: Fired, suppressed: int = 0) -> list[Notification]:
    """The notifications of one fired rule, without throttle or digest."""
    rule, event = fired.rule, fired.event
    variables = context(event, rule.name, fired.fields)
    variables["suppressed"] = suppressed
    text, title = _texts(rule.output, variables, rule.label, event.text)
    if suppressed and not rule.output.mentions_suppressed:
        text += f" (+{suppressed} similar suppressed)"
    return _notifications(rule, event.id, event.source, event.time, text, title, variables)


def check_fired(fired: Fired) -> int:
    """Render one fired rule as ``render_fired`` does (same errors logged); count its notifications.

    For dry runs that report counts: the texts are rendered so template errors still show, but
    no Notification (ids, JSON-able fields) is built for output nobody will see.
    """
    rule, event = fired.rule, fired.event
    variables = context(event, rule.name, fired.fields)
    _texts(rule.output, variables, rule.label, event.text)
    output = rule.output
    if output.color_template is not None:
        render_color(output.color_template, variables, rule.label, output.default_color)
    return len(output.to)


def _texts(
    output: Output, variables: Mapping[str, Any], rule: str, raw: str
) -> tuple[str, str | None]:
    try:
        text = (
            output.message_text
            if output.message_text is not None
            else _render(output.message, variables, rule, "message")
        )
        title = (
            output.title_text
            if output.title_text is not None or output.title is None
            else _render(output.title, variables, rule, "title")
        )
    except RenderError as exc:
        # Losing the event would be worse than an ugly message: say what went wrong.
        log.error("%s", exc)
        return f"[{exc}] {raw}", None
    return text, title


def _notifications(  # noqa: PLR0917 - one private call shape for events and digests
    rule: CompiledRule,
    event_id: str,
    source: str,
    created: float,
    text: str,
    title: str | None,
    variables: Mapping[str, Any],
) -> list[Notification]:
    output = rule.output
    color = output.color
    if output.color_template is not None:
        color = render_color(output.color_template, variables, rule.label, output.default_color)
    fields = {k: v for k, v in variables.items() if k not in ("text", "suppressed")}
    return build_notifications(
        event_id,
        source=source,
        created=created,
        rule=rule.name,
        destinations=output.to,
        text=text,
        title=title,
        color=color,
        notify=output.notify,
        text_format=output.format,
        fields=fields,
    )


class Outputs:
    """Applies throttles and digests to fired rules, keeping their state in memory."""

    def __init__(self, throttles: Throttles, digests: Digests) -> None:
        self.throttles = throttles
        self.digests = digests

    def apply(self, fired: Sequence[Fired], rules: RuleSet, now: float) -> list[Notification]:
        out: list[Notification] = []
        for item in fired:
            rule = item.rule
            if rule.throttle is not None:
                key = self._throttle_key(item)
                suppressed = self.throttles.admit(rule.name, key, rule.throttle.window, now)
                if suppressed is not None:
                    out.extend(render_fired(item, suppressed))
            elif rule.digest is not None:
                full = self._collect(item, now)
                if full is not None:
                    out.extend(self.flush(full, rules))
            else:
                out.extend(render_fired(item))
        self.throttles.expire(now)
        return out

    def _throttle_key(self, item: Fired) -> str:
        assert item.rule.throttle is not None  # noqa: S101 - caller checked
        variables = context(item.event, item.rule.name, item.fields)
        try:
            return _render(item.rule.throttle.key, variables, item.rule.label, "throttle.key")
        except RenderError as exc:
            log.error("%s; throttling the whole rule instead", exc)
            return ""

    def _collect(self, item: Fired, now: float) -> Group | None:
        rule, event = item.rule, item.event
        assert rule.digest is not None  # noqa: S101 - caller checked
        variables = context(event, rule.name, item.fields)
        text, title = _texts(rule.output, variables, rule.label, event.text)
        record = {key: jsonable(value) for key, value in variables.items()}
        record.update(message=text, title=title, id=event.id)
        group = "\x1f".join(str(record.get(name, "")) for name in rule.digest.by)
        return self.digests.add(rule.name, group, record, now, rule.digest.wait, rule.digest.max)

    def due(self, rules: RuleSet, now: float) -> list[Notification]:
        """Notifications of every digest whose wait is over; their groups are removed."""
        out: list[Notification] = []
        for group in self.digests.due(now):
            out.extend(self.flush(group, rules))
        return out

    def flush(self, group: Group, rules: RuleSet) -> list[Notification]:
        """Render one digest and forget its group (rows deleted in the same commit)."""
        self.digests.pop(group.slot)
        rule = next((r for r in rules.rules if r.name == group.rule), None)
        if rule is None or rule.digest is None or not group.events:
            log.warning(
                "dropping a pending digest of rule %r: the rule no longer digests", group.rule
            )
            return []
        return render_digest(rule, group)


def render_digest(rule: CompiledRule, group: Group) -> list[Notification]:
    """One message for a whole group: the digest template gets ``events`` and ``count``."""
    assert rule.digest is not None  # noqa: S101 - only digest rules have groups
    first = group.events[0]
    variables: dict[str, Any] = {
        "host": HOSTNAME,
        "rule": rule.name,
        "source": first.get("source", ""),
        "time": first.get("time", group.due),
        "events": group.events,
        "count": len(group.events),
        "group": dict(zip(rule.digest.by, group.group.split("\x1f"), strict=False)),
    }
    for name in rule.digest.by:
        variables.setdefault(name, first.get(name))
    try:
        text = _render(rule.digest.message, variables, rule.label, "digest.message")
        title = (
            _render(rule.digest.title, variables, rule.label, "digest.title")
            if rule.digest.title is not None
            else None
        )
    except RenderError as exc:
        log.error("%s", exc)
        text = f"[{exc}] " + "; ".join(str(e.get("message", "")) for e in group.events)
        title = None
    digest_id = stable_id("digest", rule.name, group.group, first.get("id", ""), group.due)
    return _notifications(
        rule, digest_id, str(variables["source"]), float(variables["time"]), text, title, variables
    )
