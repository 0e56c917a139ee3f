"""ntfy topics, published as JSON (titles in headers could not carry non-Latin-1 text).

``notify`` maps to priority (4 = high, 2 = low: no sound/vibration), the colour to an emoji tag.
"""

from __future__ import annotations

import base64
from typing import Any

from ruleengine.config.destinations import NtfyDestination
from ruleengine.model import Notification
from ruleengine.senders.common import palette_name, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import MARKDOWN, PLAIN, render
from ruleengine.senders.web import http_sender

# Larger messages become attachments (which a server may not allow): stay under 4 KB.
MESSAGE_BYTES = 4_096
TITLE_CHARS = 250
PRIORITY_NOTIFY = 4
PRIORITY_SILENT = 2
TAGS = {
    "yellow": "yellow_circle",
    "green": "green_circle",
    "red": "red_circle",
    "purple": "purple_circle",
    "gray": "white_circle",
}


class NtfyService:
    # ntfy.sh allows a burst of 60, then one message per 5 s per client IP.
    default_rate: float | None = 0.2
    check = staticmethod(classify)

    def __init__(self, settings: NtfyDestination) -> None:
        self.settings = settings
        self.headers: dict[str, str] = {}
        if settings.token:
            self.headers["Authorization"] = f"Bearer {settings.token}"
        elif settings.username and settings.password:
            pair = f"{settings.username}:{settings.password}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    def payload(self, notification: Notification) -> dict[str, Any]:
        # With ``markdown: true`` on the destination ntfy renders every message: literal text
        # is then escaped; a rule's ``format: markdown`` turns rendering on for its messages.
        markdown = self.settings.markdown or notification.format == "markdown"
        text = render(notification.text, notification.format, MARKDOWN if markdown else PLAIN)
        payload: dict[str, Any] = {
            "topic": self.settings.topic,
            "message": truncate(text, MESSAGE_BYTES, "bytes"),
            "priority": PRIORITY_NOTIFY if notification.notify else PRIORITY_SILENT,
            "tags": [TAGS[palette_name(notification.color, notification.id)]],
        }
        if notification.title:
            payload["title"] = truncate(notification.title, TITLE_CHARS)
        if markdown:
            payload["markdown"] = True
        return payload

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.settings.url.rstrip("/") + "/",
            headers=self.headers,
            json=self.payload(notification),
            url_secret=False,  # credentials, if any, are in the header
        )


NtfySender = http_sender(NtfyService)
