"""Rule options that work with time: thresholds (``count``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from ruleengine.config.types import Duration, Strict, check_template


class Count(Strict):
    """Fire once a key has seen ``min`` matching events within ``within`` (fail2ban-style)."""

    min: Annotated[int, Field(ge=1, description="How many events within the window fire.")]
    within: Duration = Field(description="The window the events must fall in (10m).")
    by: str = Field(
        "",
        description='Template of the key counted apart, e.g. "{{ ip }}"; empty = the whole rule. '
        "The message gets `count`, `first`, `last` and `events`.",
    )

    _templates = field_validator("by")(check_template)

    @field_validator("within")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("within must be longer than 0s")
        return value
