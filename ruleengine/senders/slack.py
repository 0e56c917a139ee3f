"""Slack incoming webhooks, and the Slack-compatible Mattermost and Rocket.Chat webhooks.

Colour is the attachment side bar (hex); ``notify`` prepends a mention (``<!here>``/``@here``),
the only "ping" these webhooks have. The three differ in text limits, pacing and how they say ok.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruleengine.colors import to_hex
from ruleengine.config.destinations import (
    MattermostDestination,
    RocketChatDestination,
    SlackDestination,
)
from ruleengine.model import Delivered, Notification, Outcome, Permanent
from ruleengine.redact import Redactor
from ruleengine.senders.common import truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import Check, Response, classify
from ruleengine.senders.text import MARKDOWN, MARKDOWN_LITE, SLACK, Dialect, render
from ruleengine.senders.web import http_sender

FALLBACK_CHARS = 300  # the notification-preview text; Slack shows it where bars cannot be
TITLE_CHARS = 250


def _rocketchat_check(response: Response, redactor: Redactor) -> Outcome:
    """Rocket.Chat answers 200 even for some failures: ``{"success": false, "error": …}``."""
    outcome = classify(response, redactor)
    body = response.json()
    if isinstance(outcome, Delivered) and isinstance(body, dict) and body.get("success") is False:
        error = body.get("error") or body.get("message") or "success: false"
        return Permanent(redactor(f"HTTP {response.status}: {error}"))
    return outcome


@dataclass(frozen=True)
class Flavor:
    """What differs between the Slack-compatible services."""

    limit: int  # characters of message text
    rate: float | None  # documented pacing, messages per second
    dialect: Dialect  # the attachment text
    plain: Dialect  # title and fallback: shown as text, but still scanned for mentions
    check: Check = classify


FLAVORS: dict[str, Flavor] = {
    # 40,000 chars is where Slack truncates text; ~1 message/s per webhook with short bursts.
    "slack": Flavor(limit=40_000, rate=1.0, dialect=SLACK, plain=SLACK),
    # Posts are capped at 16,383 characters; the optional server rate limit is 10/s.
    "mattermost": Flavor(limit=16_383, rate=10.0, dialect=MARKDOWN, plain=MARKDOWN_LITE),
    # Message_MaxAllowedSize defaults to 5,000; the API rate limiter is per user and strict.
    "rocketchat": Flavor(
        limit=5_000, rate=1.0, dialect=MARKDOWN, plain=MARKDOWN_LITE, check=_rocketchat_check
    ),
}

SlackStyle = SlackDestination | MattermostDestination | RocketChatDestination


class SlackService:
    """One webhook of the Slack family; ``settings.type`` picks the flavour."""

    def __init__(self, settings: SlackStyle) -> None:
        self.settings = settings
        self.flavor = FLAVORS[settings.type]
        self.default_rate: float | None = self.flavor.rate
        self.check = self.flavor.check

    def payload(self, notification: Notification) -> dict[str, Any]:
        # The message sits in a coloured attachment; a mention only pings from the top-level
        # text, so that is where ``notify`` puts it.
        flavor = self.flavor
        text = truncate(
            render(notification.text, notification.format, flavor.dialect), flavor.limit
        )
        attachment: dict[str, Any] = {"color": to_hex(notification.color, notification.id)}
        # The fallback is what notifications and old clients show: plain text, title first.
        fallback = notification.text
        if notification.title:
            attachment["title"] = truncate(flavor.plain.literal(notification.title), TITLE_CHARS)
            fallback = f"{notification.title}: {fallback}"
        attachment["text"] = text
        attachment["fallback"] = truncate(flavor.plain.literal(fallback), FALLBACK_CHARS)
        if notification.format == "markdown" and self.settings.type == "slack":
            attachment["mrkdwn_in"] = ["text"]  # Slack formats attachment text only if asked
        payload: dict[str, Any] = {}
        if notification.notify and self.settings.notify_mention:
            payload["text"] = self.settings.notify_mention
        payload["attachments"] = [attachment]
        return payload

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest("POST", self.settings.webhook_url, json=self.payload(notification))


SlackSender = http_sender(SlackService)
