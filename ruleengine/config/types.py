"""Value types shared by the rules file models: durations, colours, name lists."""

import re
from typing import Annotated, Any

import jinja2
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ruleengine.colors import PALETTE, is_color
from ruleengine.redact import CREDENTIAL

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


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


# Parse-only: catches template syntax errors at load; rendering uses render.py's sandbox.
SYNTAX_ENV = jinja2.Environment(autoescape=False)  # noqa: S701 - never renders anything


def check_template(value: str | None) -> str | None:
    """Validator: ``value`` is None or a template that parses."""
    if value is not None:
        try:
            SYNTAX_ENV.parse(value)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template syntax error (line {exc.lineno}): {exc.message}") from None
    return value


def check_regex(value: str | None) -> str | None:
    """Validator: ``value`` is None or a regular expression that compiles."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


def one_or_many(value: Any) -> Any:
    """Validator: a single string stands for a list of one."""
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(one_or_many)]


class Strict(BaseModel):
    """The base of every settings model. Validators are built on first use (``defer_build``):
    a rules file uses few of the destination and source types. The model modules evaluate
    their annotations when classes are made (no ``from __future__ import annotations``), so
    pydantic need not evaluate each one again from a string."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


#: A credential string (``${env:…}``/``${file:…}`` keep it out of the rules file).
Secret = Annotated[str, CREDENTIAL, Field(json_schema_extra={"writeOnly": True})]
