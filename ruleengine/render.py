"""The render step: the rules' decisions become notifications, in one pass. Pure: no I/O.

``rules/`` decides what fires (``Send``: a fired rule, with how many similar ones its throttle
held back; ``SendDigest``: a digest group that is due). Here each decision's text, title and
colour are rendered and one ``Notification`` is built per destination.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ruleengine.errors import RenderError
from ruleengine.model import Event, Notification, stable_id
from ruleengine.rules.actions import Decision, Send
from ruleengine.rules.compiled import CompiledRule, Fired
from ruleengine.rules.digest import Group
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.held import HELD_RULE, Pile
from ruleengine.rules.silences import SUMMARY_RULE, Ended, summary_text
from ruleengine.templates import HOSTNAME, context, jsonable, render_color, render_text

log = logging.getLogger(__name__)
_PLAIN = frozenset((str, int, bool, type(None)))  # JSON-able as they are (floats may be nan)
_NOT_FIELDS = frozenset(("text", "suppressed"))  # template variables a notification omits


def render(decisions: Iterable[Decision]) -> list[Notification]:
    """Every notification the decisions make, in their order."""
    out: list[Notification] = []
    for decision in decisions:
        if isinstance(decision, Send):
            out.extend(render_fired(decision.fired, decision.suppressed))
        else:
            out.extend(render_digest(decision.rule, decision.group))
    return out


def evaluate(rules: RuleSet, event: Event) -> list[Notification]:
    """Every notification one event produces, before throttle and digest (pure; dry runs)."""
    return render(Send(fired) for fired in rules.fire([event]))


def render_fired(fired: Fired, suppressed: int = 0) -> list[Notification]:
    """The notifications of one fired rule; ``suppressed`` is what its throttle held back."""
    rule, event = fired.rule, fired.event
    variables = context(event, rule.name, fired.fields)
    variables["suppressed"] = suppressed
    text, title = _texts(rule, variables, event.text)
    if suppressed and not rule.output.mentions_suppressed:
        text += f" (+{suppressed} similar suppressed)"
    late = variables.get("late_note")  # an absence alert due while ruleengine was down
    if isinstance(late, str) and late and late not in text:
        text += f" {late}"
    return _notifications(
        rule,
        event.id,
        event.source,
        event.time,
        text,
        title,
        variables,
        resolvable=fired.resolvable,
        resolves=fired.resolves,
    )


def check_fired(fired: Fired) -> int:
    """Render one fired rule as ``render_fired`` does (same errors logged); count its notifications.

    For dry runs that report counts: the texts are rendered so template errors still show, but
    no Notification (ids, JSON-able fields) is built for output nobody will see.
    """
    rule, event = fired.rule, fired.event
    output = rule.output
    if (
        output.message_text is not None
        and (output.title_text is not None or output.title is None)
        and output.color_template is None
    ):
        return len(output.to)  # nothing but constants: nothing that could fail to render
    variables = context(event, rule.name, fired.fields)
    _texts(rule, variables, event.text)
    if output.color_template is not None:
        render_color(output.color_template, variables, rule.label, output.default_color)
    return len(output.to)


def render_digest(rule: CompiledRule, group: Group) -> list[Notification]:
    """One message for a whole group: the digest template gets ``events`` and ``count``.

    Each collected event gets its ``message`` and ``title`` rendered here, from the variables
    the rules kept (records collected by an older version already carry them).
    """
    assert rule.digest is not None  # noqa: S101 - only digest rules have groups
    events = [_with_message(rule, record) for record in group.events]
    first = events[0]
    variables: dict[str, Any] = {
        "host": HOSTNAME,
        "rule": rule.name,
        "source": first.get("source", ""),
        "time": first.get("time", group.due),
        "events": events,
        "count": len(events),
        "group": dict(zip(rule.digest.by, group.group.split("\x1f"), strict=False)),
    }
    for name in rule.digest.by:
        variables.setdefault(name, first.get(name))
    try:
        text = render_text(rule.digest.message, variables, rule.label, "digest.message")
        title = (
            render_text(rule.digest.title, variables, rule.label, "digest.title")
            if rule.digest.title is not None
            else None
        )
    except RenderError as exc:
        log.error("%s", exc)
        text = f"could not render {exc.what} of rule {rule.name}: {exc.reason}\n" + "; ".join(
            str(e.get("message", "")) for e in events
        )
        title = None
    digest_id = stable_id("digest", rule.name, group.group, first.get("id", ""), group.due)
    return _notifications(
        rule, digest_id, str(variables["source"]), float(variables["time"]), text, title, variables
    )


def render_silence_summaries(ended: Iterable[Ended], now: float) -> list[Notification]:
    """One summary per destination a silence held notifications back from."""
    out: list[Notification] = []
    for item in ended:
        for destination in sorted(item.suppressed):
            out += build_notifications(
                stable_id(SUMMARY_RULE, item.silence.id),
                source="ruleengine",
                created=now,
                rule=SUMMARY_RULE,
                destinations=(destination,),
                text=summary_text(item, destination),
                title="Silence ended",
                color="gray",
                notify=False,
                text_format="text",
                fields={"silence": item.silence.id, "count": item.suppressed[destination]},
            )
    return out


def render_held(piles: Iterable[tuple[str, Pile]], now: float) -> list[Notification]:
    """One message per destination for the notifications its schedule held back."""
    out: list[Notification] = []
    for destination, pile in piles:
        lines = [f"- {' '.join(str(r.get('text', '')).split())}" for r in pile.records]
        count = len(pile.records)
        out += build_notifications(
            stable_id(HELD_RULE, destination, pile.due, pile.records[0].get("id", "")),
            source="ruleengine",
            created=now,
            rule=HELD_RULE,
            destinations=(destination,),
            text=f"{count} notification{'s' if count != 1 else ''} held outside the "
            "schedule:\n" + "\n".join(lines),
            title=None,
            color="gray",
            notify=any(bool(r.get("notify")) for r in pile.records),
            text_format="text",
            fields={"count": count},
        )
    return out


def _with_message(rule: CompiledRule, record: Mapping[str, Any]) -> dict[str, Any]:
    if "message" in record:
        return dict(record)
    text, title = _texts(rule, record, str(record.get("text", "")))
    return {**record, "message": text, "title": title}


def _texts(rule: CompiledRule, variables: Mapping[str, Any], raw: str) -> tuple[str, str | None]:
    output, label = rule.output, rule.label
    try:
        text = (
            output.message_text
            if output.message_text is not None
            else render_text(output.message, variables, label, "message")
        )
        title = (
            output.title_text
            if output.title_text is not None or output.title is None
            else render_text(output.title, variables, label, "title")
        )
    except RenderError as exc:
        # Losing the event would be worse than an ugly message: say what went wrong.
        # The log names the rule's file:line; the text, which leaves the host, does not.
        log.error("%s", exc)
        return f"could not render {exc.what} of rule {rule.name}: {exc.reason}\n{raw}", None
    return text, title


def _notifications(  # noqa: PLR0917 - one private call shape for events and digests
    rule: CompiledRule,
    event_id: str,
    source: str,
    created: float,
    text: str,
    title: str | None,
    variables: Mapping[str, Any],
    *,
    resolvable: bool = False,
    resolves: tuple[tuple[str, str], ...] = (),
) -> list[Notification]:
    output = rule.output
    color = output.color
    if output.color_template is not None:
        color = render_color(output.color_template, variables, rule.label, output.default_color)
    # One pass: the variables a notification carries, made JSON-able (most are plain already).
    fields = {
        k: v if type(v) in _PLAIN else jsonable(v)
        for k, v in variables.items()
        if k not in _NOT_FIELDS
    }
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
        resolvable=resolvable,
        resolves=resolves,
    )


def notification_id(event_id: str, rule: str, destination: str) -> str:
    """Stable outbox id: the same event through the same rule to the same place is one row."""
    return stable_id(event_id, rule, destination)


def build_notifications(
    event_id: str,
    *,
    source: str,
    created: float,
    rule: str,
    destinations: tuple[str, ...],
    text: str,
    title: str | None,
    color: str,
    notify: bool,
    text_format: str,
    fields: Mapping[str, Any],
    resolvable: bool = False,
    resolves: tuple[tuple[str, str], ...] = (),
) -> list[Notification]:
    """One notification per destination; ``fields`` must be JSON-able already. ``resolves`` (a
    resolved notice's alert: event id and rule pairs) becomes the ids of the alert's
    notifications to the same destination."""
    return [
        Notification(
            id=notification_id(event_id, rule, destination),
            destination=destination,
            rule=rule,
            source=source,
            text=text,
            title=title,
            color=color,
            notify=notify,
            format=text_format,
            created=created,
            fields=fields,
            resolvable=resolvable,
            resolves=tuple(notification_id(e, r, destination) for e, r in resolves)
            if resolves
            else (),
        )
        for destination in destinations
    ]
