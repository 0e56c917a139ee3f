"""Matrix rooms through the client-server API, idempotent by transaction id.

``PUT …/send/m.room.message/{txnId}`` with txnId derived from the notification id: a retry
after a lost answer returns the event already sent instead of posting twice. ``m.notice``
(bots' silent messages) unless ``notify``, then ``m.text``. Colour via ``data-mx-color``.
A resolved notice is a reply (``m.in_reply_to``) to its alert's newest message, and each of the
alert's messages is edited (``m.replace``) to show the resolved colour and the notice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ruleengine.colors import to_hex
from ruleengine.config.destinations import MatrixDestination
from ruleengine.model import Notification, Original
from ruleengine.senders.common import fit, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify_ref
from ruleengine.senders.text import HTML, escape_html, render
from ruleengine.senders.web import http_sender

# Events are limited to 65,536 bytes in total; body and formatted_body share that budget.
EVENT_BYTES = 60_000
TITLE_CHARS = 500  # keeps room for the text whatever a template puts in the title
RESOLVED_CHARS = 2_000  # of a resolved notice, shown under the alert it edits
RESOLVED = "\u2705 Resolved"


class MatrixService:
    # Synapse's default rc_message allows 0.2 messages/s per user (burst 10) for non-admin bots.
    default_rate: float | None = 0.2
    # 200 {"event_id"}; 429 M_LIMIT_EXCEEDED with Retry-After and/or retry_after_ms.
    check = staticmethod(classify_ref("event_id"))

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

    def url(self, notification: Notification, txn: str = "") -> str:
        base = self.settings.homeserver.rstrip("/")
        room = quote(self.settings.room_id, safe="")
        txn = txn or f"re-{notification.id}"
        return f"{base}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"

    def request(self, notification: Notification) -> HttpRequest:
        return self._put(self.url(notification), self.content(notification))

    def _put(self, url: str, content: dict[str, Any]) -> HttpRequest:
        return HttpRequest(
            "PUT",
            url,
            headers={"Authorization": f"Bearer {self.settings.token}"},
            json=content,
            url_secret=False,  # the token travels in the header, never in the URL
        )

    def resolved(
        self, notification: Notification, originals: Sequence[Original]
    ) -> tuple[list[HttpRequest], HttpRequest]:
        edits = [
            # Each edit has its own transaction id: a retry repeats it without a second edit.
            self._put(
                self.url(notification, f"re-{notification.id}-edit{n}"), self._edit(o, notification)
            )
            for n, o in enumerate(originals)
        ]
        content = self.content(notification)
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": originals[-1].ref}}
        return edits, self._put(self.url(notification), content)

    def _edit(self, original: Original, notice: Notification) -> dict[str, Any]:
        """An ``m.replace`` of the alert: its text in the notice's colour, the notice below."""
        alert, color = original.notification, to_hex(notice.color, notice.id)
        line = self._content(notice, truncate(notice.text, RESOLVED_CHARS), color)

        def new(text: str) -> dict[str, Any]:
            shown = self._content(alert, text, color)
            shown["body"] += f"\n{RESOLVED}: {line['body']}"
            shown["formatted_body"] += f"<br>{RESOLVED}: {line['formatted_body']}"
            return shown

        def measure(text: str) -> str:  # the new content is sent twice: itself and fallback
            return json.dumps(new(text), ensure_ascii=False) * 2

        content = new(fit(alert.text, EVENT_BYTES, measure, "bytes"))
        return {
            **content,
            "body": f"* {content['body']}",
            "formatted_body": f"* {content['formatted_body']}",
            "m.new_content": content,
            "m.relates_to": {"rel_type": "m.replace", "event_id": original.ref},
        }


MatrixSender = http_sender(MatrixService)
