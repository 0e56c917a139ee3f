"""What every destination's settings share: fallback, pacing, retry, the pending limit and a
schedule, the read timeout of the web senders, and the field types their models use (URLs,
credentials, emails). Sender plugins build on ``HttpDestination`` and ``SecretUrl``, which
``ruleengine.config.destinations`` re-exports.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from ruleengine.config.schedules import RuleSchedule
from ruleengine.config.types import Duration, Secret, Strict
from ruleengine.redact import CREDENTIAL


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s?#]+", value):
        raise ValueError("expected an http:// or https:// URL")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _email(value: str) -> str:
    if not re.match(r"^[^@\s<>]+@[^@\s<>]+$", value):
        raise ValueError(f"expected an email address like ops@example.com, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Text = Annotated[str, AfterValidator(_not_blank)]
#: A webhook URL: whoever has it can post, so it is redacted like a token.
SecretUrl = Annotated[HttpUrl, CREDENTIAL]
SecretText = Annotated[Secret, AfterValidator(_not_blank)]
Email = Annotated[str, AfterValidator(_email)]
Timeout = Annotated[
    Duration, Field(gt=0, description="Read timeout; connect timeout is 5s at most.")
]


class RetryPolicy(Strict):
    """How long a destination keeps trying before a notification is dead-lettered."""

    max_attempts: int = Field(0, ge=0, description="0 means limited by max_age only.")
    max_age: Duration = Field(24 * 3600.0, description="Give up on a notification this old.")
    backoff: Duration = Field(1.0, description="First retry delay; doubles each attempt.")
    backoff_max: Duration = Field(300.0, description="Cap of the exponential backoff.")
    retry_after_max: Duration = Field(
        3600.0, description="Longest wait honoured from a service's Retry-After or reset header."
    )


class PendingLimit(Strict):
    """How much a failing destination may queue. Past it, new notifications for it are
    counted instead of stored, and one summary is sent when it has recovered."""

    max_rows: int = Field(10_000, ge=1, description="Pending notifications kept at most.")
    max_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Bytes of pending notifications kept at most."
    )


class DestinationBase(Strict):
    fallback: str | None = Field(None, description="Destination told when delivery fails.")
    rate: float | None = Field(None, gt=0, description="Messages per second (client pacing).")
    retry: RetryPolicy = RetryPolicy()
    pending: PendingLimit = PendingLimit()
    schedule: RuleSchedule | None = Field(
        None, description="Receive only inside (`only`) or outside (`mute`) a schedule."
    )


class HttpDestination(DestinationBase):
    """Shared by the web senders: the read timeout of one request."""

    timeout: Timeout = 10.0
