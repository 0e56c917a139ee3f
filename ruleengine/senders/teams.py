"""Microsoft Teams through a Workflows webhook: one Adaptive Card with a coloured TextBlock.

Teams has no hex colours and no notify flag; the palette maps to the card's colour names.
"""

from __future__ import annotations

from typing import Any

from ruleengine.config.destinations import TeamsDestination
from ruleengine.model import Notification, Outcome
from ruleengine.senders import SenderContext
from ruleengine.senders.common import palette_name, truncate, url_secrets
from ruleengine.senders.http import HttpClient, HttpRequest
from ruleengine.senders.text import MARKDOWN_LITE, render

# Adaptive Card TextBlock colours: Default, Accent, Good, Warning, Attention (hex is rejected).
COLORS = {
    "yellow": "Warning",
    "green": "Good",
    "red": "Attention",
    "purple": "Accent",
    "gray": "Default",
}
# The card may be ~28 KB; leave room for the JSON envelope, title and escaping.
TEXT_BYTES = 24_000
TITLE_CHARS = 200


class TeamsSender:
    # Workflows webhooks share Power Automate's per-flow throttling; a message per second is safe.
    default_rate: float | None = 1.0

    def __init__(self, settings: TeamsDestination, context: SenderContext) -> None:
        self.settings = settings
        self.redactor = context.redactor
        self.redactor.add(
            *url_secrets(settings.webhook_url)
        )  # signed with sig=: the URL is the credential
        self.http = HttpClient(self.redactor, timeout=settings.timeout)

    def payload(self, notification: Notification) -> dict[str, Any]:
        color = COLORS[palette_name(notification.color, notification.id)]
        body: list[dict[str, Any]] = []
        if notification.title:
            body.append(
                {
                    "type": "TextBlock",
                    "text": truncate(
                        render(notification.title, notification.format, MARKDOWN_LITE),
                        TITLE_CHARS,
                    ),
                    "wrap": True,
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": color,
                }
            )
        body.append(
            {
                "type": "TextBlock",
                # TextBlocks render a Markdown subset: links and mentions from data are broken.
                "text": truncate(
                    render(notification.text, notification.format, MARKDOWN_LITE),
                    TEXT_BYTES,
                    "bytes",
                ),
                "wrap": True,
                "color": color,
            }
        )
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                    },
                }
            ],
        }

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest("POST", self.settings.webhook_url, json=self.payload(notification))

    def preview(self, notification: Notification) -> dict[str, Any]:
        return self.request(notification).preview()

    def send(self, notification: Notification) -> Outcome:
        # 202 Accepted (sometimes 200) means queued by the flow: 2xx is all we can know.
        return self.http.send(self.request(notification))

    def close(self) -> None:
        self.http.close()
