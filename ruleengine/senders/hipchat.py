"""HipChat API v2 room notifications: the original tool's target, for self-hosted servers.

Native colours (yellow green red purple gray random) and ``notify``; the token goes in a
Bearer header (``auth_token=`` in the query ends up in access logs). A 429 has no Retry-After:
the classifier waits until the X-Ratelimit-Reset / X-FloodControl-Reset epoch instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ruleengine.config.destinations import HipChatDestination
from ruleengine.model import Notification
from ruleengine.senders.common import fit, palette_name, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import HTML, PLAIN_MENTIONS, escape_html, render
from ruleengine.senders.web import http_sender

MESSAGE_CHARS = 10_000
TITLE_CHARS = 500  # keeps room for the text whatever a template puts in the title


class HipChatService:
    # Flood control allows 30 messages per minute per room.
    default_rate: float | None = 0.5
    # 204 on success; {"error": {"code", "message", "type"}} on failure.
    check = staticmethod(classify)

    def __init__(self, settings: HipChatDestination) -> None:
        self.settings = settings

    def message(self, notification: Notification) -> str:
        """HipChat has no title field: the title is the first line (bold in html)."""
        title = notification.title and truncate(notification.title, TITLE_CHARS)
        if self.settings.message_format == "text":
            # Plain text, but ``@all``/``@here`` in it would still ping the room.
            text = f"{title}\n{notification.text}" if title else notification.text
            return truncate(render(text, notification.format, PLAIN_MENTIONS), MESSAGE_CHARS)

        def html(text: str) -> str:
            body = render(text, notification.format, HTML)
            return f"<b>{escape_html(title)}</b><br>{body}" if title else body

        return html(fit(notification.text, MESSAGE_CHARS, html))

    def payload(self, notification: Notification) -> dict[str, Any]:
        # HipChat resolves "random" itself; hex colours snap to the nearest named one.
        color = notification.color
        payload: dict[str, Any] = {
            "message": self.message(notification),
            "color": color if color == "random" else palette_name(color, notification.id),
            "notify": notification.notify,
            "message_format": self.settings.message_format,
        }
        if self.settings.from_:
            payload["from"] = self.settings.from_
        return payload

    def url(self) -> str:
        room = quote(self.settings.room, safe="")
        return f"{self.settings.url.rstrip('/')}/v2/room/{room}/notification"

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.url(),
            headers={"Authorization": f"Bearer {self.settings.token}"},
            json=self.payload(notification),
            url_secret=False,
        )


HipChatSender = http_sender(HipChatService)
