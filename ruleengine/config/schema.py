"""The rules file model (pydantic). The same model validates files and emits the JSON Schema."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import jinja2
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ruleengine.colors import PALETTE, is_color

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_SYNTAX_ENV = jinja2.Environment(autoescape=False)  # noqa: S701 - parse-only, output is chat text


def parse_duration(value: Any) -> float:
    """Seconds from ``30``, ``1.5``, ``"500ms"``, ``"10s"``, ``"2m"``, ``"1h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 2m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError("expected a duration such as 30s, 2m or 1h")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"examples": ["30s", "2m", "1h"]}),
]


def _check_color(value: Any) -> Any:
    if isinstance(value, str) and not is_color(value):
        raise ValueError(f"expected one of {', '.join(PALETTE)} or #rrggbb")
    return value


Color = Annotated[
    str,
    BeforeValidator(_check_color),
    Field(description=f"One of {', '.join(PALETTE)}, or #rrggbb."),
]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_one_or_many)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(Strict):
    """How long a destination keeps trying before a notification is dead-lettered."""

    max_attempts: int = Field(0, ge=0, description="0 means limited by max_age only.")
    max_age: Duration = Field(24 * 3600.0, description="Give up on a notification this old.")
    backoff: Duration = Field(1.0, description="First retry delay; doubles each attempt.")
    backoff_max: Duration = Field(300.0, description="Cap of the exponential backoff.")


class _Destination(Strict):
    fallback: str | None = Field(None, description="Destination told when delivery fails.")
    rate: float | None = Field(None, gt=0, description="Messages per second (client pacing).")
    retry: RetryPolicy = RetryPolicy()


class ConsoleDestination(_Destination):
    """Print a coloured line per notification (needs no credentials)."""

    type: Literal["console"]
    stream: Literal["stdout", "stderr"] = "stdout"
    color_output: Literal["auto", "always", "never"] = "auto"


class WebhookDestination(_Destination):
    """POST (or PUT) a JSON document to any HTTP endpoint."""

    type: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = {}
    timeout: Duration = Field(10.0, description="Read timeout; connect timeout is 5s at most.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value


Destination = Annotated[ConsoleDestination | WebhookDestination, Field(discriminator="type")]


class LogfileSource(Strict):
    """Tail log files; each complete line is one event."""

    type: Literal["logfile"]
    paths: Annotated[list[str], Field(min_length=1)]
    start_at: Literal["end", "beginning"] = "end"
    encoding: str = "utf-8"
    max_line: int = Field(65536, ge=256, description="Longer lines are truncated (bytes).")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs  # noqa: PLC0415 - only needed here

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value


class MarkersSource(Strict):
    """Watch a directory; each marker file dropped into it is one event."""

    type: Literal["markers"]
    directory: str
    after: Literal["delete", "archive", "keep"] = "archive"
    max_size: int = Field(1024 * 1024, ge=1, description="Larger markers go to failed/.")


Source = Annotated[LogfileSource | MarkersSource, Field(discriminator="type")]


class Defaults(Strict):
    to: Names = Field(default_factory=list, description="Destinations of rules without `to`.")
    color: Color = "gray"
    notify: bool = False


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


def _check_template(value: str | None) -> str | None:
    if value is not None:
        try:
            _SYNTAX_ENV.parse(value)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template syntax error (line {exc.lineno}): {exc.message}") from None
    return value


class Rule(Strict):
    """Which events to pick and what message to send for them."""

    name: Annotated[str, Field(min_length=1)]
    source: Names = Field(description="Source name(s) this rule reads.")
    match: str | None = Field(None, description="Regex on the log line; named groups → fields.")
    file: str | None = Field(
        None,
        description="Marker name pattern: a glob, or a regex when it starts with ^ "
        "or contains (?P<…>); named groups → fields.",
    )
    when: str | None = Field(None, description="Sandboxed Jinja expression; fires when true.")
    message: str = Field(description="Jinja template of the message text.")
    title: str | None = None
    color: Color | None = None
    notify: bool | None = None
    to: Names | None = None

    _regex = field_validator("match")(_check_regex)
    _templates = field_validator("message", "title")(_check_template)

    @field_validator("when")
    @classmethod
    def _expression(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _SYNTAX_ENV.compile_expression(value)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"expression syntax error: {exc.message}") from None
        return value

    @field_validator("file")
    @classmethod
    def _file_pattern(cls, value: str | None) -> str | None:
        from ruleengine.rules.patterns import name_pattern  # noqa: PLC0415 - avoid cycle

        if value is not None:
            try:
                name_pattern(value)
            except re.error as exc:
                raise ValueError(f"invalid file pattern: {exc}") from None
        return value


class RulesFile(Strict):
    """A ruleengine rules file."""

    state_dir: str = Field(description="Directory of the state database (outbox, offsets).")
    defaults: Defaults = Defaults()
    destinations: dict[str, Destination] = Field(min_length=1)
    sources: dict[str, Source] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the rules file, for yaml-language-server and other editors."""
    schema = RulesFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ruleengine rules file"
    return schema
