"""Destination settings: one model per sender type, joined in the ``Destination`` union.

The shared bases and field types live in ``destinations_base``, the built-in models in
``destinations_builtin``; every name is imported from here (third-party sender plugins import
``HttpDestination`` and ``SecretUrl``). A new sender adds its model to ``destinations_builtin``
and to ``Destination``; the loader, the JSON Schema and ``ruleengine send`` pick it up from the
union. ``Secret``, ``Duration`` and ``Strict``, the building blocks of a plugin's model, are
also importable from here, as they always were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from ruleengine.config.destinations_base import (
    DestinationBase,
    Email,
    HttpDestination,
    HttpUrl,
    PendingLimit,
    RetryPolicy,
    SecretText,
    SecretUrl,
    Text,
    Timeout,
)
from ruleengine.config.destinations_builtin import (
    AppriseDestination,
    ConsoleDestination,
    DiscordDestination,
    EmailDestination,
    GoogleChatDestination,
    GotifyDestination,
    HipChatDestination,
    MatrixDestination,
    MattermostDestination,
    NtfyDestination,
    RocketChatDestination,
    RuleengineDestination,
    SlackDestination,
    SlackStyleDestination,
    TeamsDestination,
    WebhookDestination,
    ZulipDestination,
)
from ruleengine.config.types import Duration, Secret, Strict
from ruleengine.senders.plugins import plugins

__all__ = [
    "AppriseDestination",
    "ConsoleDestination",
    "Destination",
    "DestinationBase",
    "DiscordDestination",
    "Duration",
    "Email",
    "EmailDestination",
    "GoogleChatDestination",
    "GotifyDestination",
    "HipChatDestination",
    "HttpDestination",
    "HttpUrl",
    "MatrixDestination",
    "MattermostDestination",
    "NtfyDestination",
    "PendingLimit",
    "RetryPolicy",
    "RocketChatDestination",
    "RuleengineDestination",
    "Secret",
    "SecretText",
    "SecretUrl",
    "SlackDestination",
    "SlackStyleDestination",
    "Strict",
    "TeamsDestination",
    "Text",
    "Timeout",
    "WebhookDestination",
    "ZulipDestination",
]


def _plugin_settings() -> tuple[type[DestinationBase], ...]:
    """Settings models of installed third-party senders (entry-point group
    ``ruleengine.senders``); called here, once the imports above have bound every name,
    because a plugin's module imports them from this one while it is still loading."""
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
