"""Destination settings: one model per sender type, joined in the ``Destination`` union.

A new sender adds its model here and to ``Destination``; the loader, the JSON Schema and
``ruleengine send`` pick it up from the union.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ruleengine.config.types import Duration, Strict


class RetryPolicy(Strict):
    """How long a destination keeps trying before a notification is dead-lettered."""

    max_attempts: int = Field(0, ge=0, description="0 means limited by max_age only.")
    max_age: Duration = Field(24 * 3600.0, description="Give up on a notification this old.")
    backoff: Duration = Field(1.0, description="First retry delay; doubles each attempt.")
    backoff_max: Duration = Field(300.0, description="Cap of the exponential backoff.")
    retry_after_max: Duration = Field(
        3600.0, description="Longest wait honoured from a service's Retry-After or reset header."
    )


class DestinationBase(Strict):
    fallback: str | None = Field(None, description="Destination told when delivery fails.")
    rate: float | None = Field(None, gt=0, description="Messages per second (client pacing).")
    retry: RetryPolicy = RetryPolicy()


class ConsoleDestination(DestinationBase):
    """Print a coloured line per notification (needs no credentials)."""

    type: Literal["console"]
    stream: Literal["stdout", "stderr"] = "stdout"
    color_output: Literal["auto", "always", "never"] = "auto"


class WebhookDestination(DestinationBase):
    """POST (or PUT) a JSON document to any HTTP endpoint."""

    type: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = Field(10.0, description="Read timeout; connect timeout is 5s at most.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value


Destination = Annotated[ConsoleDestination | WebhookDestination, Field(discriminator="type")]
