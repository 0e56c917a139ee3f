"""Compile rules once at load; match events against them. Pure functions over frozen values."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from ruleengine.config.schema import Defaults, Rule
from ruleengine.errors import RenderError
from ruleengine.model import Event, Notification
from ruleengine.render import build_notifications, context, make_environment, render_text
from ruleengine.rules.patterns import match_name, name_pattern

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledRule:
    name: str
    sources: frozenset[str]
    regex: re.Pattern[str] | None
    file: re.Pattern[str] | None
    when: Any  # jinja2 TemplateExpression
    message: jinja2.Template
    title: jinja2.Template | None
    color: str
    notify: bool
    to: tuple[str, ...]

    def select(self, event: Event) -> dict[str, Any] | None:
        """Fields captured when the event is selected by this rule, else None."""
        fields: dict[str, Any] = {}
        if self.regex is not None:
            found = self.regex.search(event.text)
            if found is None:
                return None
            fields = {k: v for k, v in found.groupdict().items() if v is not None}
        if self.file is not None:
            name = event.fields.get("file")
            captured = match_name(self.file, name) if isinstance(name, str) else None
            if captured is None:
                return None
            fields = captured
        return fields


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules, indexed by source name."""

    rules: tuple[CompiledRule, ...]
    by_source: Mapping[str, tuple[CompiledRule, ...]]

    def evaluate(self, event: Event) -> list[Notification]:
        """Every notification this event produces (every matching rule fires)."""
        out: list[Notification] = []
        for rule in self.by_source.get(event.source, ()):
            fields = rule.select(event)
            if fields is None:
                continue
            variables = context(event, rule.name, fields)
            try:
                if rule.when is not None and not _truthy(rule.when, variables, rule.name):
                    continue
                text = render_text(rule.message, variables, rule.name, "message")
                title = (
                    render_text(rule.title, variables, rule.name, "title")
                    if rule.title is not None
                    else None
                )
            except RenderError as exc:
                # Losing the event would be worse than an ugly message: say what went wrong.
                log.error("%s (event from %s)", exc, event.source)
                text, title = f"[{exc}] {event.text}", None
            out.extend(
                build_notifications(
                    event,
                    rule=rule.name,
                    destinations=rule.to,
                    text=text,
                    title=title,
                    color=rule.color,
                    notify=rule.notify,
                    fields={**event.fields, **fields},
                )
            )
        return out

    def matches(self, event: Event) -> list[tuple[str, dict[str, Any]]]:
        """(rule name, captured fields) for each rule selecting the event (for dry runs)."""
        found = []
        for rule in self.by_source.get(event.source, ()):
            fields = rule.select(event)
            if fields is not None:
                found.append((rule.name, fields))
        return found


def _truthy(expression: Any, variables: Mapping[str, Any], rule: str) -> bool:
    try:
        return bool(expression(**variables))
    except jinja2.UndefinedError as exc:
        raise RenderError(f"rule {rule!r}: when: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"rule {rule!r}: when: blocked by the sandbox: {exc}") from None
    except Exception as exc:
        raise RenderError(f"rule {rule!r}: when: {type(exc).__name__}: {exc}") from None


def compile_rules(rules: list[Rule], defaults: Defaults) -> RuleSet:
    """Compile validated rules (patterns, templates) into a RuleSet."""
    env = make_environment()
    compiled = []
    for rule in rules:
        compiled.append(
            CompiledRule(
                name=rule.name,
                sources=frozenset(rule.source),
                regex=re.compile(rule.match) if rule.match is not None else None,
                file=name_pattern(rule.file) if rule.file is not None else None,
                when=(
                    env.compile_expression(rule.when, undefined_to_none=False)
                    if rule.when is not None
                    else None
                ),
                message=env.from_string(rule.message),
                title=env.from_string(rule.title) if rule.title is not None else None,
                color=rule.color or defaults.color,
                notify=rule.notify if rule.notify is not None else defaults.notify,
                to=tuple(rule.to if rule.to is not None else defaults.to),
            )
        )
    by_source: dict[str, list[CompiledRule]] = {}
    for item in compiled:
        for source in sorted(item.sources):
            by_source.setdefault(source, []).append(item)
    return RuleSet(
        rules=tuple(compiled),
        by_source={key: tuple(value) for key, value in by_source.items()},
    )
