"""The decisions of ``expect`` rules: a matching event is a heartbeat (and maybe a "back"
notice); a key past its deadline becomes a fired rule on an ``absence`` event, which then goes
through throttle and digest like any other (40 hosts missing at 06:00 → one digest)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

from ruleengine.errors import RenderError
from ruleengine.model import Event, stable_id
from ruleengine.rules.absence import Absences, Missing, Spec, Watch
from ruleengine.rules.compiled import CompiledRule, Fired
from ruleengine.templates import context, render_text

log = logging.getLogger(__name__)
ABSENCE = "absence"  # the kind of the events that stand for a missing key
_SIMPLE_KEY = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")


def specs(rules: tuple[CompiledRule, ...]) -> dict[str, Spec]:
    return {r.name: Spec(r.expect.every, r.expect.grace) for r in rules if r.expect is not None}


def expect_fixed(rules: tuple[CompiledRule, ...], absences: Absences, now: float) -> None:
    """Watch the keys the rules list, from now on unless watched already."""
    for rule in rules:
        if rule.expect is not None and rule.expect.keys:
            absences.expect(rule.name, rule.expect.keys, now)


def heartbeat(item: Fired, absences: Absences, now: float) -> Fired | None:
    """Record the event for its key; the "back" notice to send when the key was missing."""
    rule, spec = item.rule, item.rule.expect
    assert spec is not None  # noqa: S101 - caller checked
    variables = context(item.event, rule.name, item.fields)
    try:
        key = render_text(spec.by, variables, rule.label, "expect.by")
    except RenderError as exc:
        log.error("%s; the event counts for the whole rule", exc)
        key = ""
    back = absences.seen(rule.name, key, now)
    if back is None:
        return None
    missing_for = now - (back.missing_since - spec.grace)
    fields = {**item.fields, "key": key, "missing_for": missing_for}
    return Fired(dataclasses.replace(rule, output=spec.back), item.event, fields)


def preview_alert(item: Fired, now: float) -> Fired:
    """The alert this event's key would send had it been its last, for dry runs."""
    rule, spec = item.rule, item.rule.expect
    assert spec is not None  # noqa: S101 - caller checked
    try:
        key = render_text(spec.by, context(item.event, rule.name, item.fields), rule.label, "by")
    except RenderError:
        key = ""
    last = now - spec.every - spec.grace
    watch = Watch(last, seen=True)
    return _alert(rule, Missing(rule.name, key, watch, now, late=False, down_since=None), now)


def overdue(rules: tuple[CompiledRule, ...], absences: Absences, now: float) -> list[Fired]:
    """A fired rule per key whose deadline passed (each key once, until it is back)."""
    by_name = {r.name: r for r in rules if r.expect is not None}
    if not by_name:
        return []
    return [_alert(by_name[m.rule], m, now) for m in absences.due(specs(rules), now)]


def _alert(rule: CompiledRule, missing: Missing, now: float) -> Fired:
    spec = rule.expect
    assert spec is not None  # noqa: S101 - only expect rules are watched
    watch = missing.watch
    fields: dict[str, object] = {
        "key": missing.key,
        "last_seen": watch.last_seen,
        "seen": watch.seen,
        "overdue": now - (watch.last_seen + spec.every),
        "every": spec.every,
        "grace": spec.grace,
        "late": missing.late,
        "down_since": missing.down_since,
        "late_note": _late_note(missing) if missing.late else "",
    }
    name = _key_field(rule)
    if name is not None:
        fields.setdefault(name, missing.key)
    source = min(rule.sources) if rule.sources else ""
    text = f"{missing.key or rule.name}: no event since {_stamp(watch.last_seen)}"
    event = Event(
        stable_id(ABSENCE, rule.name, missing.key, missing.deadline), source, ABSENCE, text, now
    )
    return Fired(rule, event, fields)


def _key_field(rule: CompiledRule) -> str | None:
    """``host`` when the key template is just ``{{ host }}``: alerts then have that variable."""
    assert rule.expect is not None  # noqa: S101 - caller checked
    found = _SIMPLE_KEY.match(rule.expect.by_source)
    return found.group(1) if found else None


def _late_note(missing: Missing) -> str:
    since = f" after {_stamp(missing.down_since)}" if missing.down_since is not None else ""
    return (
        f"(late: ruleengine was not running{since} when this was due at {_stamp(missing.deadline)})"
    )


def _stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
