"""Discord webhooks: the message is an embed (integer colour); silent unless ``notify``.

``allowed_mentions: {parse: []}`` keeps event text from pinging anyone; ``flags: 4096``
(SUPPRESS_NOTIFICATIONS) posts without a push/desktop notification when ``notify`` is false.
"""

from __future__ import annotations

from typing import Any

from ruleengine.config.destinations import DiscordDestination
from ruleengine.model import Notification
from ruleengine.senders.common import color_int, truncate
from ruleengine.senders.http import HttpRequest, classify
from ruleengine.senders.text import MARKDOWN, render
from ruleengine.senders.web import http_sender

SUPPRESS_NOTIFICATIONS = 1 << 12
DESCRIPTION_CHARS = 4_096
TITLE_CHARS = 256  # 256 + 4,096 stays under the 6,000 characters all embed text may total


class DiscordService:
    # Webhooks allow about 5 requests per 2 s, but channels are limited to ~30 messages/min;
    # pace to the channel limit so the per-route headers rarely need to slow us down.
    default_rate: float | None = 0.5
    # 204 (or 200); 429 carries retry_after in the body and Retry-After/X-RateLimit-*
    # headers, and error bodies {"code", "message"}: all read by the shared classifier.
    check = staticmethod(classify)

    def __init__(self, settings: DiscordDestination) -> None:
        self.settings = settings

    def payload(self, notification: Notification) -> dict[str, Any]:
        embed: dict[str, Any] = {
            "description": truncate(
                render(notification.text, notification.format, MARKDOWN),
                DESCRIPTION_CHARS,
            ),
            "color": color_int(notification.color, notification.id),
        }
        if notification.title:
            # Embed titles render inline Markdown (links too) but never ping.
            embed["title"] = truncate(
                render(notification.title, notification.format, MARKDOWN), TITLE_CHARS
            )
        payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        if not notification.notify:
            payload["flags"] = SUPPRESS_NOTIFICATIONS
        if self.settings.username:
            payload["username"] = self.settings.username
        return payload

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest("POST", self.settings.webhook_url, json=self.payload(notification))


DiscordSender = http_sender(DiscordService)
