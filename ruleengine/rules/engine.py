"""Compile rules once at load; select events with them. Pure functions over frozen values.

Log lines are matched a chunk at a time: the lines of a batch are joined into one text, a single
prefilter pass (``scan.LiteralScanner``: Hyperscan over each rule's regex widened to a superset
when the extra is installed, else a literal scan with ``re``) finds the few lines that can match
any rule, and only those get the full regexes. Rules whose regex guarantees no literal are tried
on every line. The outcome is exactly that of ``re.search`` per line and rule, in rule order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from ruleengine.config.schema import Defaults, Rule, is_template
from ruleengine.errors import RenderError
from ruleengine.model import Event
from ruleengine.rules.conditions import Where, compile_where, holds
from ruleengine.rules.patterns import match_name, name_pattern
from ruleengine.rules.prefilter import Requirement, candidate_requirements
from ruleengine.rules.scan import LiteralScanner, scannable
from ruleengine.templates import context, make_environment

log = logging.getLogger(__name__)

Selection = list[tuple["CompiledRule", dict[str, Any]]]


@dataclass(frozen=True)
class Output:
    """What a fired rule sends, compiled."""

    message: jinja2.Template
    title: jinja2.Template | None
    color: str
    color_template: jinja2.Template | None
    default_color: str
    notify: bool
    format: str
    to: tuple[str, ...]
    mentions_suppressed: bool
    #: What ``message`` / ``title`` render to when they hold no template syntax at all: the
    #: output stage then skips Jinja (most of the cost of a match in a replay).
    message_text: str | None = None
    title_text: str | None = None


@dataclass(frozen=True)
class ThrottleSpec:
    key: jinja2.Template
    window: float


@dataclass(frozen=True)
class DigestSpec:
    by: tuple[str, ...]
    wait: float
    max: int
    message: jinja2.Template
    title: jinja2.Template | None


@dataclass(frozen=True)
class CompiledRule:
    index: int
    name: str
    sources: frozenset[str]
    regex: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    file: re.Pattern[str] | None
    where: Where
    when: Any  # jinja2 TemplateExpression
    stop: bool
    output: Output
    throttle: ThrottleSpec | None = None
    digest: DigestSpec | None = None
    #: Literal requirements of ``regex``, each valid alone; empty = try every line.
    requirements: tuple[Requirement, ...] = ()
    origin: str = ""  # "rules.yaml:42", for error messages

    @property
    def label(self) -> str:
        """How errors name the rule: its name and where it is written."""
        return f"{self.name!r} ({self.origin})" if self.origin else repr(self.name)

    def select_line(self, line: str) -> dict[str, Any] | None:
        """Captured fields when this rule selects the log line, else None."""
        fields: dict[str, Any] = {}
        if self.regex is not None:
            found = self.regex.search(line)
            if found is None:
                return None
            fields = {k: v for k, v in found.groupdict().items() if v is not None}
        if self.exclude is not None and self.exclude.search(line) is not None:
            return None
        if self.where and not holds(self.where, fields):
            return None
        return fields

    def select(self, event: Event) -> dict[str, Any] | None:
        """Captured fields when the event is selected by this rule, else None."""
        if event.kind == "line":
            return self.select_line(event.text)
        fields: dict[str, Any] = {}
        if self.regex is not None:
            return None  # a line pattern never selects a marker
        if self.file is not None:
            name = event.fields.get("file")
            captured = match_name(self.file, name) if isinstance(name, str) else None
            if captured is None:
                return None
            fields = captured
        if self.where and not holds(self.where, {**event.fields, **fields}):
            return None
        return fields


@dataclass(frozen=True)
class Fired:
    """A rule that selected an event and whose ``when`` held: the input of the output stage."""

    rule: CompiledRule
    event: Event
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SourceRules:
    """The rules of one source, with the prefilter over those that have literals."""

    rules: tuple[CompiledRule, ...]
    filtered: tuple[CompiledRule, ...]
    unfiltered: tuple[CompiledRule, ...]
    scanner: LiteralScanner | None

    @classmethod
    def of(cls, rules: Sequence[CompiledRule]) -> SourceRules:
        filtered = tuple(r for r in rules if r.requirements)
        unfiltered = tuple(r for r in rules if not r.requirements)
        scanner = LiteralScanner(
            [r.requirements for r in filtered],
            patterns=[r.regex for r in filtered if r.regex is not None],
        )
        return cls(tuple(rules), filtered, unfiltered, scanner if filtered else None)

    def _candidates(self, line: str, known: set[int] | None) -> list[int]:
        """Indexes into ``filtered`` of the rules whose literals the line holds, in rule order."""
        assert self.scanner is not None  # noqa: S101 - only called while scanning
        if known is not None:  # the scan knows every rule the line may match
            return sorted(known)
        found: set[int] = set()
        for literal, indexes in self.scanner.plain_tests:
            if literal in line:
                found.update(indexes)
        for search, indexes in self.scanner.folded_tests:
            if search(line) is not None:
                found.update(indexes)
        return sorted(found)

    def select_text(self, text: str) -> list[tuple[int, int, Selection]]:
        """(start, end, selections) for each line of ``text`` that some rule selects.

        ``text`` holds lines separated by ``\\n``; selections are in rule order.
        """
        found: dict[int, tuple[int, Selection]] = {}
        if self.scanner is not None:
            self.scanner.prepare(text)
            for start, end, known in self.scanner.spans(text):
                line = text[start:end]
                chosen: Selection = []
                for index in self._candidates(line, known):
                    rule = self.filtered[index]
                    fields = rule.select_line(line)
                    if fields is not None:
                        chosen.append((rule, fields))
                if chosen:
                    found[start] = (end, chosen)
        if self.unfiltered:
            start = 0
            for line in text.split("\n"):
                chosen = [
                    (rule, fields)
                    for rule in self.unfiltered
                    if (fields := rule.select_line(line)) is not None
                ]
                if chosen:
                    end = start + len(line)
                    previous = found.get(start, (end, []))[1]
                    found[start] = (end, sorted([*previous, *chosen], key=lambda s: s[0].index))
                start += len(line) + 1
        return [(start, end, chosen) for start, (end, chosen) in sorted(found.items())]


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules, indexed by source name."""

    rules: tuple[CompiledRule, ...]
    by_source: Mapping[str, SourceRules] = field(default_factory=dict)

    def selections(self, events: Sequence[Event]) -> list[Selection]:
        """Per event, the rules selecting it and the fields they captured (before ``when``)."""
        out: list[Selection] = [[] for _ in events]
        lines: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            group = self.by_source.get(event.source)
            if group is None:
                continue
            if event.kind == "line":
                lines.setdefault(event.source, []).append(index)
            else:
                out[index] = [(r, f) for r in group.rules if (f := r.select(event)) is not None]
        for source, indexes in lines.items():
            group = self.by_source[source]
            texts = [events[i].text for i in indexes]
            text = "\n".join(texts)
            if text.count("\n") != len(texts) - 1:  # a line holding \n: match one by one
                for i in indexes:
                    out[i] = [(r, f) for r in group.rules if (f := r.select(events[i])) is not None]
                continue
            starts: dict[int, int] = {}
            offset = 0
            for i, line in zip(indexes, texts, strict=True):
                starts[offset] = i
                offset += len(line) + 1
            for start, _end, chosen in group.select_text(text):
                out[starts[start]] = chosen
        return out

    def fire(self, events: Sequence[Event]) -> list[Fired]:
        """Every rule that fires, event by event, in rule order; ``stop`` ends an event's turn."""
        fired: list[Fired] = []
        for event, chosen in zip(events, self.selections(events), strict=True):
            fired.extend(self.apply_when(event, chosen))
        return fired

    def apply_when(self, event: Event, chosen: Selection) -> list[Fired]:
        """Filter selections by ``when`` and honour ``stop``."""
        out: list[Fired] = []
        for rule, fields in chosen:
            if rule.when is not None:
                try:
                    if not truthy(rule.when, context(event, rule.name, fields), rule.label):
                        continue
                except RenderError as exc:
                    log.error("%s (event from %s); the rule does not fire", exc, event.source)
                    continue
            out.append(Fired(rule, event, fields))
            if rule.stop:
                break
        return out


def truthy(expression: Any, variables: Mapping[str, Any], rule: str) -> bool:
    """Evaluate a ``when`` expression; every failure is a RenderError naming the rule."""
    try:
        return bool(expression(**variables))
    except jinja2.UndefinedError as exc:
        raise RenderError(f"rule {rule}: when: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"rule {rule}: when: blocked by the sandbox: {exc}") from None
    except Exception as exc:
        raise RenderError(f"rule {rule}: when: {type(exc).__name__}: {exc}") from None


def compile_rules(rules: Sequence[Rule], defaults: Defaults) -> RuleSet:
    """Compile validated rules (patterns, templates) into a RuleSet."""
    env = make_environment()
    compiled = [_compile(index, rule, defaults, env) for index, rule in enumerate(rules)]
    by_source: dict[str, list[CompiledRule]] = {}
    for item in compiled:
        for source in sorted(item.sources):
            by_source.setdefault(source, []).append(item)
    return RuleSet(
        rules=tuple(compiled),
        by_source={key: SourceRules.of(value) for key, value in by_source.items()},
    )


def _compile(index: int, rule: Rule, defaults: Defaults, env: jinja2.Environment) -> CompiledRule:
    regex = re.compile(rule.match) if rule.match is not None else None
    candidates = candidate_requirements(regex) if regex is not None else []
    requirements = tuple(r for r in candidates if scannable(r))
    color = rule.color or defaults.color
    templated = is_template(color)
    message = env.from_string(rule.message)
    return CompiledRule(
        index=index,
        name=rule.name,
        sources=frozenset(rule.source),
        regex=regex,
        exclude=re.compile(rule.exclude) if rule.exclude is not None else None,
        file=name_pattern(rule.file) if rule.file is not None else None,
        where=compile_where(rule.where),
        when=(
            env.compile_expression(rule.when, undefined_to_none=False)
            if rule.when is not None
            else None
        ),
        stop=rule.stop,
        output=Output(
            message=message,
            title=env.from_string(rule.title) if rule.title is not None else None,
            color=defaults.color if templated else color,
            color_template=env.from_string(color) if templated else None,
            default_color=defaults.color,
            notify=rule.notify if rule.notify is not None else defaults.notify,
            format=rule.format or defaults.format,
            to=tuple(rule.to if rule.to is not None else defaults.to),
            mentions_suppressed="suppressed" in _variables(env, rule.message),
            message_text=_constant(env, rule.message, message),
            title_text=(
                _constant(env, rule.title, env.from_string(rule.title))
                if rule.title is not None
                else None
            ),
        ),
        throttle=(
            ThrottleSpec(env.from_string(rule.throttle.key), rule.throttle.window)
            if rule.throttle is not None
            else None
        ),
        digest=(
            DigestSpec(
                by=tuple(rule.digest.by),
                wait=rule.digest.wait,
                max=rule.digest.max,
                message=env.from_string(rule.digest.message),
                title=(
                    env.from_string(rule.digest.title) if rule.digest.title is not None else None
                ),
            )
            if rule.digest is not None
            else None
        ),
        requirements=requirements,
        origin=rule.origin,
    )


def _constant(env: jinja2.Environment, source: str, template: jinja2.Template) -> str | None:
    """The text of a template made of plain text only (rendered once, by Jinja), else None."""
    from jinja2 import nodes  # noqa: PLC0415 - only needed while compiling

    body = env.parse(source).body
    plain = all(
        isinstance(node, nodes.Output)
        and all(isinstance(child, nodes.TemplateData) for child in node.nodes)
        for node in body
    )
    return template.render() if plain else None


def _variables(env: jinja2.Environment, source: str) -> set[str]:
    from jinja2 import meta  # noqa: PLC0415 - only needed while compiling

    return set(meta.find_undeclared_variables(env.parse(source)))
