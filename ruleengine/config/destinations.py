"""Destination settings: one model per sender type, joined in the ``Destination`` union.

A new sender adds its model here and to ``Destination``; the loader, the JSON Schema and
``ruleengine send`` pick it up from the union.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ruleengine.config.schedules import RuleSchedule
from ruleengine.config.types import (
    Duration,
    Secret,
    Strict,
    check_template,
    one_or_many,
)
from ruleengine.redact import CREDENTIAL
from ruleengine.senders.plugins import plugins


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


def _matrix_room(value: str) -> str:
    if not re.match(r"^![^\s]+$", value):
        raise ValueError(
            "expected a room id like '!abcdef:example.org' (Room settings → Advanced), not an alias"
        )
    return value


def _ntfy_topic(value: str) -> str:
    if not re.match(r"^[-_A-Za-z0-9]{1,64}$", value):
        raise ValueError("expected a topic name: letters, digits, - and _ (at most 64)")
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


class ConsoleDestination(DestinationBase):
    """Print a coloured line per notification (needs no credentials)."""

    type: Literal["console"]
    stream: Literal["stdout", "stderr"] = "stdout"
    color_output: Literal["auto", "always", "never"] = "auto"


class HttpDestination(DestinationBase):
    """Shared by the web senders: the read timeout of one request."""

    timeout: Timeout = 10.0


class WebhookDestination(HttpDestination):
    """POST (or PUT/PATCH) a JSON document to any HTTP endpoint; ``body`` templates it."""

    type: Literal["webhook"]
    url: SecretUrl
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, Secret] = Field(default_factory=dict)
    body: str | None = Field(
        None,
        description="Sandboxed Jinja template of the JSON body; use `{{ text | tojson }}`. "
        "Variables: id, rule, source, text, title, color, color_hex, notify, time, fields.",
    )
    content_type: str = "application/json"

    _body = field_validator("body")(check_template)


class RuleengineDestination(HttpDestination):
    """Forward the event (not the message) to another ruleengine's http source, as a
    CloudEvent whose id is the outbox row's: a retry is never stored twice there."""

    type: Literal["ruleengine"]
    url: Annotated[str, Field(pattern=r"^https?://", description="The intake's base URL.")]
    token: SecretText
    event_type: str | None = Field(
        None,
        description="CloudEvents type sent; default: the event's own `type`, else "
        "ruleengine.<rule>.",
    )


class SlackStyleDestination(HttpDestination):
    webhook_url: SecretUrl
    notify_mention: str = Field(
        "<!here>", description="Prepended to the text when `notify` is true; '' for none."
    )


class SlackDestination(SlackStyleDestination):
    """Slack incoming webhook (the URL is the secret)."""

    type: Literal["slack"]


class MattermostDestination(SlackStyleDestination):
    """Mattermost incoming webhook (Slack-compatible)."""

    type: Literal["mattermost"]
    notify_mention: str = "@here"


class RocketChatDestination(SlackStyleDestination):
    """Rocket.Chat incoming webhook integration (Slack-compatible)."""

    type: Literal["rocketchat"]
    notify_mention: str = "@here"


class TeamsDestination(HttpDestination):
    """Teams Workflows webhook ("Post to a channel when a webhook request is received")."""

    type: Literal["teams"]
    webhook_url: SecretUrl


class DiscordDestination(HttpDestination):
    """Discord channel webhook."""

    type: Literal["discord"]
    webhook_url: SecretUrl
    username: str | None = Field(None, min_length=1, max_length=80)


class GoogleChatDestination(HttpDestination):
    """Google Chat space incoming webhook (key and token in the URL are the secret)."""

    type: Literal["googlechat"]
    webhook_url: SecretUrl
    thread_key: str | None = Field(None, description="Post into this thread (created if new).")
    emoji: bool = Field(False, description="Prefix a coloured circle for the colour.")


class MatrixDestination(HttpDestination):
    """Matrix room via the client-server API, as a bot user with an access token."""

    type: Literal["matrix"]
    homeserver: HttpUrl
    room_id: Annotated[str, AfterValidator(_matrix_room)]
    token: SecretText


class HipChatDestination(HttpDestination):
    """HipChat API v2 room notification (self-hosted servers and compatible endpoints)."""

    type: Literal["hipchat"]
    url: HttpUrl = "https://api.hipchat.com"
    room: Text = Field(description="Room id or name.")
    token: SecretText = Field(description="Room notification token (sent as a Bearer header).")
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(None, alias="from", min_length=1, max_length=64)
    message_format: Literal["text", "html"] = "text"


class NtfyDestination(HttpDestination):
    """ntfy topic (ntfy.sh or self-hosted); priority follows notify, tags follow the colour."""

    type: Literal["ntfy"]
    url: HttpUrl = "https://ntfy.sh"
    topic: Annotated[str, AfterValidator(_ntfy_topic)]
    token: Secret | None = Field(None, description="Access token (Bearer).")
    username: str | None = None
    password: Secret | None = None
    markdown: bool = False

    @model_validator(mode="after")
    def _one_auth(self) -> NtfyDestination:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        if self.token and self.username:
            raise ValueError("use either token or username/password, not both")
        return self


class GotifyDestination(HttpDestination):
    """Gotify server application."""

    type: Literal["gotify"]
    url: HttpUrl
    token: SecretText = Field(description="Application token (sent as X-Gotify-Key).")
    priority_silent: int = Field(2, ge=0, le=10, description="Priority when notify is false.")
    priority_notify: int = Field(8, ge=0, le=10, description="Priority when notify is true.")


class ZulipDestination(HttpDestination):
    """Zulip stream message as a bot (HTTP Basic with the bot's email and API key)."""

    type: Literal["zulip"]
    url: HttpUrl = Field(description="Organisation URL, e.g. https://chat.example.org")
    email: Email = Field(description="The bot's email address.")
    api_key: SecretText
    stream: Text
    topic: str | None = Field(None, description="Default: the notification title or rule name.")
    emoji: bool = Field(False, description="Prefix a coloured circle for the colour.")


class EmailDestination(DestinationBase):
    """Mail via SMTP (STARTTLS, SSL or plain), e.g. as the fallback of a chat room."""

    type: Literal["email"]
    host: Text
    port: int | None = Field(None, ge=1, le=65535, description="Default 587/465/25 by security.")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    ca_file: str | None = Field(None, description="CA bundle for a private relay's certificate.")
    username: str | None = None
    password: Secret | None = None
    from_: Email | None = Field(
        None, alias="from", description="Default: ruleengine@ this host's fully qualified name."
    )
    to: Annotated[list[Email], BeforeValidator(one_or_many), Field(min_length=1)]
    subject_prefix: str = "[ruleengine] "
    timeout: Timeout = 30.0

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> EmailDestination:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        return self


class AppriseDestination(DestinationBase):
    """Any Apprise URL (needs the optional extra: pip install 'ruleengine[apprise]')."""

    type: Literal["apprise"]
    url: SecretText = Field(description="An Apprise URL such as tgram://bottoken/chat_id.")
    timeout: Timeout = Field(
        30.0, description="Longest wait for one attempt (where Apprise takes one; else its own)."
    )


def _plugin_settings() -> tuple[type[DestinationBase], ...]:
    """Settings models of installed third-party senders (entry-point group
    ``ruleengine.senders``); called here, once every base class above is defined, because a
    plugin's module imports them."""
    return tuple(plugin.settings for plugin in plugins().values())


if TYPE_CHECKING:  # the built-in types; plugins add theirs at run time
    Destination = Annotated[
        ConsoleDestination
        | WebhookDestination
        | SlackDestination
        | MattermostDestination
        | RocketChatDestination
        | TeamsDestination
        | DiscordDestination
        | GoogleChatDestination
        | MatrixDestination
        | HipChatDestination
        | NtfyDestination
        | GotifyDestination
        | ZulipDestination
        | EmailDestination
        | AppriseDestination
        | RuleengineDestination,
        Field(discriminator="type"),
    ]
else:
    BUILTIN = (
        ConsoleDestination,
        WebhookDestination,
        SlackDestination,
        MattermostDestination,
        RocketChatDestination,
        TeamsDestination,
        DiscordDestination,
        GoogleChatDestination,
        MatrixDestination,
        HipChatDestination,
        NtfyDestination,
        GotifyDestination,
        ZulipDestination,
        EmailDestination,
        AppriseDestination,
        RuleengineDestination,
    )
    Destination = Annotated[Union[BUILTIN + _plugin_settings()], Field(discriminator="type")]  # noqa: UP007
