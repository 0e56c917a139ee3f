"""Gotify application messages; ``notify`` picks the priority (0 silent … ≥ 8 sound).

Gotify shows text as written unless ``extras.client::display.contentType`` says Markdown,
which a rule's ``format: markdown`` sets.
"""

from __future__ import annotations

from typing import Any

from ruleengine.config.destinations import GotifyDestination
from ruleengine.model import Notification
from ruleengine.senders.common import truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.web import http_sender

# Gotify stores messages in its database without a documented cap; keep them readable.
MESSAGE_CHARS = 32_000
TITLE_CHARS = 250


class GotifyService:
    # Self-hosted with no documented limit: no client-side pacing by default.
    default_rate: float | None = None
    check = staticmethod(classify)

    def __init__(self, settings: GotifyDestination) -> None:
        self.settings = settings

    def payload(self, notification: Notification) -> dict[str, Any]:
        settings = self.settings
        payload: dict[str, Any] = {
            "title": truncate(notification.title or notification.rule, TITLE_CHARS),
            "message": truncate(notification.text, MESSAGE_CHARS),
            "priority": settings.priority_notify
            if notification.notify
            else settings.priority_silent,
        }
        if notification.format == "markdown":
            payload["extras"] = {"client::display": {"contentType": "text/markdown"}}
        return payload

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.settings.url.rstrip("/") + "/message",
            headers={"X-Gotify-Key": self.settings.token},
            json=self.payload(notification),
            url_secret=False,
            secret_headers=frozenset({"x-gotify-key"}),
        )


GotifySender = http_sender(GotifyService)
