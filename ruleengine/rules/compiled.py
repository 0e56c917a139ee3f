"""Rules compiled once at load: what each rule selects and what it sends. Frozen values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from ruleengine.model import Event
from ruleengine.rules.conditions import Where, holds
from ruleengine.rules.patterns import match_name
from ruleengine.rules.prefilter import Requirement
from ruleengine.rules.schedule import Window

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
class CountSpec:
    minimum: int
    within: float
    by: jinja2.Template


@dataclass(frozen=True)
class ExpectSpec:
    every: float
    grace: float
    by: jinja2.Template
    by_source: str  # the template's text: ``{{ host }}`` gives alerts a ``host`` variable
    keys: tuple[str, ...]
    back: Output  # the rule's output with the ``back`` template, green


@dataclass(frozen=True)
class ResolveSpec:
    rule: str
    key: jinja2.Template
    expire: float


@dataclass(frozen=True)
class ScheduleSpec:
    window: Window
    mute: bool  # True: not sent inside the window; False: sent only inside it
    otherwise: str  # drop | hold | quiet
    hold: DigestSpec  # how held notifications are sent when the rule may send again
    name: str = ""  # of the schedule, for what ``status`` and ``history --dropped`` say

    def cause(self) -> str:
        """Why a notification was dropped: ``outside schedule office`` / ``during night``."""
        return f"{'during' if self.mute else 'outside'} schedule {self.name}"


@dataclass(frozen=True)
class CompiledRule:
    index: int
    name: str
    sources: frozenset[str]
    regex: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    file: re.Pattern[str] | None  # `file` or `type`: a name pattern on the field ``name_field``
    where: Where
    when: Any  # jinja2 TemplateExpression
    stop: bool
    output: Output
    throttle: ThrottleSpec | None = None
    digest: DigestSpec | None = None
    count: CountSpec | None = None
    expect: ExpectSpec | None = None
    resolves: ResolveSpec | None = None
    schedule: ScheduleSpec | None = None
    #: Literal requirements of ``regex``, each valid alone; empty = try every line.
    requirements: tuple[Requirement, ...] = ()
    origin: str = ""  # "rules.yaml:42", for error messages
    name_field: str = "file"  # markers are named by "file", http events by "type"

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
            name = event.fields.get(self.name_field)
            captured = match_name(self.file, name) if isinstance(name, str) else None
            if captured is None:
                return None
            fields = captured
        if self.where and not holds(self.where, {**event.fields, **fields}):
            return None
        return fields


@dataclass(frozen=True)
class Fired:
    """A rule that selected an event and whose ``when`` held: the input of the output stage.

    ``resolvable``: a ``resolves`` rule may close this alert (keep its messages' ids);
    ``resolves``: the (event id, rule) pairs of the alert this resolved notice closes.
    """

    rule: CompiledRule
    event: Event
    fields: Mapping[str, Any]
    resolvable: bool = False
    resolves: tuple[tuple[str, str], ...] = ()
