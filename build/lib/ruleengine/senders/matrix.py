"""Matrix rooms through the client-server API, idempotent by transaction id.

``PUT …/send/m.room.message/{txnId}`` with txnId derived from the notification id: a retry
after a lost answer returns the event already sent instead of posting twice. ``m.notice``
(bots' silent messages) unless ``notify``, then ``m.text``. Colour via ``data-mx-color``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ruleengine.colors import to_hex
from ruleengine.config.destinations import MatrixDestination
from ruleengine.model import Notification
from ruleengine.senders.common import fit, truncate
from ruleengine.senders.http import HttpRequest, classify
from ruleengine.senders.text import HTML, escape_html, render
from ruleengine.senders.web import http_sender

# Events are limited to 65,536 bytes in total; body and formatted_body share that budget.
EVENT_BYTES = 60_000
TITLE_CHARS = 500  # keeps room for the text whatever a template puts in the title


class MatrixService:
    # Synapse's default rc_message allows 0.2 messages/s per user (burst 10) for non-admin bots.
    default_rate: float | None = 0.2
    # 200 {"event_id"}; 429 M_LIMIT_EXCEEDED with Retry-After and/or retry_after_ms.
    check = staticmethod(classify)

    def __init__(self, settings: MatrixDestination) -> None:
        self.settings = settings

    def content(self, notification: Notification) -> dict[str, Any]:
        color = to_hex(notification.color, notification.id)

        def render(text: str) -> str:
            return json.dumps(self._content(notification, text, color), ensure_ascii=False)

        text = fit(notification.text, EVENT_BYTES, render, "bytes")
        return self._content(notification, text, color)

    def _content(self, notification: Notification, text: str, color: str) -> dict[str, Any]:
        title = notification.title and truncate(notification.title, TITLE_CHARS)
        # ``body`` is the plain fallback (clients show it literally); ``formatted_body`` is
        # HTML: escaped text, or the rule's Markdown rendered by markdown-it-py.
        html = render(text, notification.format, HTML)
        if title:
            html = f"<b>{escape_html(title)}</b><br>{html}"
        return {
            "msgtype": "m.text" if notification.notify else "m.notice",
            "body": f"{title}\n{text}" if title else text,
            "format": "org.matrix.custom.html",
            "formatted_body": f'<span data-mx-color="{color}">{html}</span>',
            # Intentional mentions: none, so names inside event text never ping anyone.
            "m.mentions": {},
        }

    def url(self, notification: Notification) -> str:
        base = self.settings.homeserver.rstrip("/")
        room = quote(self.settings.room_id, safe="")
        return f"{base}/_matrix/client/v3/rooms/{room}/send/m.room.message/re-{notification.id}"

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "PUT",
            self.url(notification),
            headers={"Authorization": f"Bearer {self.settings.token}"},
            json=self.content(notification),
            url_secret=False,  # the token travels in the header, never in the URL
        )


MatrixSender = http_sender(MatrixService)
