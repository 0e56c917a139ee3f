"""The rules file model (pydantic). The same model validates files and emits the JSON Schema."""

import re
from typing import Annotated, Any, Literal

import jinja2
from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from ruleengine.colors import PALETTE, is_color
from ruleengine.config.destinations import Destination
from ruleengine.config.schedules import RuleSchedule, Schedule
from ruleengine.config.sources import Source
from ruleengine.config.timing import Count, Expect, Resolves
from ruleengine.config.types import (
    SYNTAX_ENV,
    Color,
    Duration,
    Names,
    Strict,
    check_regex,
    check_template,
)
from ruleengine.rules.patterns import name_pattern


class Defaults(Strict):
    to: Names = Field(default_factory=list, description="Destinations of rules without `to`.")
    color: Color = "gray"
    notify: bool = False
    format: Literal["text", "markdown"] = "text"


def is_template(value: str) -> bool:
    """A colour written as a template (``{{ … }}``) is rendered per event, then checked."""
    return "{{" in value or "{%" in value


def _check_color_or_template(value: Any) -> Any:
    if isinstance(value, str):
        if is_template(value):
            check_template(value)
        elif not is_color(value):
            raise ValueError(
                f"expected one of {', '.join(PALETTE)}, #rrggbb, or a template rendering to one"
            )
    return value


ColorOrTemplate = Annotated[
    str,
    BeforeValidator(_check_color_or_template),
    Field(
        description=f"One of {', '.join(PALETTE)}, #rrggbb, or a template such as "
        "\"{{ 'red' if code != '0' else 'green' }}\"."
    ),
]
Scalar = str | int | float | bool | None
Condition = Annotated[
    Scalar | list[Scalar],
    Field(description="Value the field must equal; a list means any of them."),
]


class Throttle(Strict):
    """At most one notification per key per window; the rest are counted as suppressed."""

    key: str = Field(
        "",
        description='Template of the throttle key, e.g. "{{ package }}"; empty = the whole rule.',
    )
    window: Duration = Field(description="How long one notification silences its key.")

    _templates = field_validator("key")(check_template)

    @field_validator("window")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("window must be longer than 0s")
        return value


DEFAULT_DIGEST = "{{ count }} x {{ rule }}:{% for e in events %}\n- {{ e.message }}{% endfor %}"


class Digest(Strict):
    """Group events arriving within ``wait`` into one message."""

    by: Names = Field(
        default_factory=list, description="Fields whose values split events into groups."
    )
    wait: Duration = Field(description="How long a group collects events after its first one.")
    max: Annotated[
        int, Field(ge=1, description="Send a group at once when it holds this many.")
    ] = 100
    message: str = Field(
        DEFAULT_DIGEST,
        description="Template of the digest; gets `events` (each with its fields and rendered "
        "`message`), `count`, `rule`, `group`, `host`.",
    )
    title: str | None = None

    _templates = field_validator("message", "title")(check_template)

    @field_validator("wait")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("wait must be longer than 0s")
        return value


class Rule(Strict):
    """Which events to pick and what message to send for them."""

    name: Annotated[str, Field(min_length=1)]
    enabled: bool = Field(
        True, description="false: the rule is checked but never fires (run, test, reload)."
    )
    source: Names = Field(description="Source name(s) this rule reads.")
    match: str | None = Field(None, description="Regex on the log line; named groups → fields.")
    exclude: str | None = Field(None, description="Regex: lines it finds are not selected.")
    file: str | None = Field(
        None,
        description="Marker name pattern: a glob, or a regex when it starts with ^ "
        "or contains (?P<…>); named groups → fields.",
    )
    type: str | None = Field(
        None,
        description="Event type pattern for http sources, written as `file` is; named groups → "
        "fields.",
    )
    where: dict[str, Condition] = Field(
        default_factory=dict,
        description="Field conditions, all must hold: `{status: failed}`, `{code: [1, 2]}`. "
        "Numbers compare as numbers whether written as 3010 or '3010'.",
    )
    when: str | None = Field(None, description="Sandboxed Jinja expression; fires when true.")
    stop: bool = Field(False, description="When this rule fires, later rules skip the event.")
    message: str = Field(description="Jinja template of the message text.")
    title: str | None = None
    color: ColorOrTemplate | None = None
    notify: bool | None = None
    format: Literal["text", "markdown"] | None = None
    to: Names | None = None
    throttle: Throttle | None = None
    digest: Digest | None = None
    count: Count | None = Field(None, description="Fire only once `min` events came `within`.")
    expect: Expect | None = Field(
        None, description="Heartbeats: `message` is sent when a key's events stop coming."
    )
    resolves: Resolves | None = Field(
        None, description="Send `message` (green) only when an event closes an open alert."
    )
    schedule: RuleSchedule | None = None

    _origin: str = PrivateAttr("")  # "file:line", set by the loader for error messages
    _key_lines: dict[str, int] = PrivateAttr(default_factory=dict)  # "message" → its line

    @property
    def origin(self) -> str:
        return self._origin

    def origin_of(self, key: str) -> str:
        """``file:line`` of one key of the rule (``message``, ``throttle``…), else the rule's."""
        line = self._key_lines.get(key)
        return f"{self._origin.rsplit(':', 1)[0]}:{line}" if line and self._origin else self._origin

    _regex = field_validator("match", "exclude")(check_regex)
    _templates = field_validator("message", "title")(check_template)

    @model_validator(mode="after")
    def _one_grouping(self) -> "Rule":
        if self.throttle is not None and self.digest is not None:
            raise ValueError("use either `throttle` or `digest` on a rule, not both")
        if self.count is not None and self.expect is not None:
            raise ValueError("use either `count` or `expect` on a rule, not both")
        if self.resolves is not None and (self.count or self.expect):
            raise ValueError("a rule with `resolves` cannot also `count` or `expect`")
        if self.file is not None and self.type is not None:
            raise ValueError("use either `file` (markers) or `type` (http events), not both")
        return self

    @field_validator("when")
    @classmethod
    def _expression(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SYNTAX_ENV.compile_expression(value)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"expression syntax error: {exc.message}") from None
        return value

    @field_validator("file", "type")
    @classmethod
    def _file_pattern(cls, value: str | None) -> str | None:

        if value is not None:
            try:
                name_pattern(value)
            except re.error as exc:
                raise ValueError(f"invalid file pattern: {exc}") from None
        return value


class History(Strict):
    """How long ``ruleengine history`` remembers what was sent (pruned as the daemon runs)."""

    max_age: Duration = Field(30 * 86400.0, description="Forget entries older than this.")
    max_rows: Annotated[int, Field(ge=1, description="Keep at most this many entries.")] = 100_000


class RulesFile(Strict):
    """A ruleengine rules file."""

    state_dir: str = Field(description="Directory of the state database (outbox, offsets).")
    history: History = History()
    defaults: Defaults = Defaults()
    destinations: dict[str, Destination] = Field(min_length=1)
    sources: dict[str, Source] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    schedules: dict[str, Schedule] = Field(
        default_factory=dict, description="Named time windows for rules' `schedule`."
    )


def json_schema() -> dict[str, Any]:
    """JSON Schema of the rules file, for yaml-language-server and other editors."""
    schema = RulesFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ruleengine rules file"
    return schema
