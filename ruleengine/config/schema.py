"""The rules file model (pydantic). The same model validates files and emits the JSON Schema."""

from __future__ import annotations

import re
from typing import Annotated, Any

import jinja2
from pydantic import Field, field_validator

from ruleengine.config.destinations import Destination
from ruleengine.config.sources import Source
from ruleengine.config.types import Color, Names, Strict

_SYNTAX_ENV = jinja2.Environment(autoescape=False)  # noqa: S701 - parse-only, output is chat text


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
