"""One settings model per built-in sender type (chat services, webhooks, mail, the console).

Each model's ``type`` is its tag in the ``Destination`` union, which ``destinations`` assembles
and through which the loader, the senders and tests import these models.
"""

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ruleengine.config.destinations_base import (
    DestinationBase,
    Email,
    HttpDestination,
    HttpUrl,
    SecretText,
    SecretUrl,
    Text,
    Timeout,
)
from ruleengine.config.types import Secret, check_template, one_or_many


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


class ConsoleDestination(DestinationBase):
    """Print a coloured line per notification (needs no credentials)."""

    type: Literal["console"]
    stream: Literal["stdout", "stderr"] = "stdout"
    color_output: Literal["auto", "always", "never"] = "auto"


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
    def _one_auth(self) -> "NtfyDestination":
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
    def _credentials_in_pairs(self) -> "EmailDestination":
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
