"""Microsoft Teams through a Workflows webhook: one Adaptive Card with a coloured TextBlock.

Teams has no hex colours and no notify flag; the palette maps to the card's colour names.
"""

from __future__ import annotations

from typing import Any

from ruleengine.config.destinations import TeamsDestination
from ruleengine.model import Notification
from ruleengine.senders.common import palette_name, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import MARKDOWN_LITE, render
from ruleengine.senders.web import http_sender

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


class TeamsService:
    # Workflows webhooks share Power Automate's per-flow throttling; a message per second is safe.
    default_rate: float | None = 1.0
    # 202 Accepted (sometimes 200) means queued by the flow: 2xx is all we can know.
    check = staticmethod(classify)

    def __init__(self, settings: TeamsDestination) -> None:
        self.settings = settings  # the webhook URL is signed (sig=): it is the credential

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


TeamsSender = http_sender(TeamsService)
