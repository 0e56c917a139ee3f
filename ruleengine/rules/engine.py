"""The compiled rules (``RuleSet``, built by ``compiler``) select events and lines. Pure over
frozen values.

Log lines are matched a chunk at a time (``Lines``, or the line events of a batch joined into
one text): one prefilter pass per chunk (``select.SourceRules``: Hyperscan over each rule's
regex widened to a superset, else a literal scan with ``re``) finds the few lines that can
match any rule, and an ``Event`` is built only for those. Markers are matched one by one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruleengine.errors import RenderError
from ruleengine.model import Event, Lines
from ruleengine.rules.compiled import (
    CompiledRule,
    Fired,
    ScheduleSpec,
    Selection,
)
from ruleengine.rules.select import SourceRules
from ruleengine.templates import context, rendering

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules, indexed by source name."""

    rules: tuple[CompiledRule, ...]
    by_source: Mapping[str, SourceRules] = field(default_factory=dict)
    destination_schedules: Mapping[str, ScheduleSpec] = field(default_factory=dict)
    #: "file:line: key: warning: …" about templates, found while compiling.
    warnings: tuple[str, ...] = ()
    #: Names of rules with ``enabled: false``: compiled (so checked), never selecting.
    disabled: tuple[str, ...] = ()

    # Asked for on every decision (a replay decides per line): computed once per rule set.
    @functools.cached_property
    def resolvers(self) -> tuple[CompiledRule, ...]:
        """The rules that close an alert (``resolves``)."""
        return tuple(r for r in self.rules if r.resolves is not None)

    @functools.cached_property
    def count_windows(self) -> Mapping[str, float]:
        """``count`` rules by name: their window."""
        return {r.name: r.count.within for r in self.rules if r.count is not None}

    @functools.cached_property
    def expecting(self) -> bool:
        """Whether any rule has ``expect``."""
        return any(r.expect is not None for r in self.rules)

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

    def select_lines(self, source: str, text: str) -> Iterator[tuple[int, str, Selection]]:
        """(start, text, selections) of each line of ``text`` (lines joined by ``\\n``) that a
        rule of ``source`` selects, in order: the scan the daemon and ``test --file`` share."""
        group = self.by_source.get(source)
        if group is not None:
            for start, end, chosen in group.select_text(text):
                yield start, text[start:end], chosen

    def fire_lines(self, lines: Lines) -> list[Fired]:
        """``fire`` for lines in bulk: events are built only for the lines a rule selects."""
        fired: list[Fired] = []
        if not len(lines):
            return fired
        index = previous = 0
        whole = lines.text
        for start, text, chosen in self.select_lines(lines.source, whole):
            if lines.offsets is not None:  # counting as we go: one pass over the text
                index += whole.count("\n", previous, start)
                previous = start
            fired.extend(self.apply_when(lines.event(index, start, text), chosen))
        return fired

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
    with rendering(rule, "when"):
        return bool(expression(**variables))
