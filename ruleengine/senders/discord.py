"""Discord webhooks: the message is an embed (integer colour); silent unless ``notify``.

``allowed_mentions: {parse: []}`` keeps event text from pinging anyone; ``flags: 4096``
(SUPPRESS_NOTIFICATIONS) posts without a push/desktop notification when ``notify`` is false.
Messages are posted with ``?wait=true``: Discord answers once the message exists, with its id.
A resolved notice edits its alert's messages (``PATCH …/messages/{id}``: the resolved colour
and a "Resolved" field with the notice) and is posted as a message of its own, since an edit
notifies no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ruleengine.config.destinations import DiscordDestination
from ruleengine.model import Notification, Original
from ruleengine.senders.common import color_int, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify_ref
from ruleengine.senders.text import MARKDOWN, render
from ruleengine.senders.web import http_sender

SUPPRESS_NOTIFICATIONS = 1 << 12
DESCRIPTION_CHARS = 4_096
TITLE_CHARS = 256  # 256 + 4,096 stays under the 6,000 characters all embed text may total
FIELD_CHARS = 1_024  # an embed field's value; with the title and description still < 6,000
RESOLVED = "\u2705 Resolved"


class DiscordService:
    # Webhooks allow about 5 requests per 2 s, but channels are limited to ~30 messages/min;
    # pace to the channel limit so the per-route headers rarely need to slow us down.
    default_rate: float | None = 0.5
    # 200 with the message (wait=true); 429 carries retry_after in the body and
    # Retry-After/X-RateLimit-* headers, and error bodies {"code", "message"}: all read by the
    # shared classifier.
    check = staticmethod(classify_ref("id"))

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
        url = _with_query(self.settings.webhook_url, "", wait="true")
        return HttpRequest("POST", url, json=self.payload(notification))

    def resolved(
        self, notification: Notification, originals: Sequence[Original]
    ) -> tuple[list[HttpRequest], HttpRequest]:
        return [self._edit(o, notification) for o in originals], self.request(notification)

    def _edit(self, original: Original, notice: Notification) -> HttpRequest:
        """The alert's embed as posted, in the notice's colour, with the notice as a field."""
        (embed,) = self.payload(original.notification)["embeds"]
        embed["color"] = color_int(notice.color, notice.id)
        text = render(notice.text, notice.format, MARKDOWN)
        embed["fields"] = [{"name": RESOLVED, "value": truncate(text, FIELD_CHARS)}]
        path = f"/messages/{quote(original.ref, safe='')}"
        url = _with_query(self.settings.webhook_url, path)
        return HttpRequest(
            "PATCH", url, json={"embeds": [embed], "allowed_mentions": {"parse": []}}
        )


def _with_query(url: str, path: str, **extra: str) -> str:
    """``url`` with ``path`` appended and ``extra`` added to its query (``thread_id`` kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in extra] + list(extra.items())
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path, query=urlencode(query)))


DiscordSender = http_sender(DiscordService)
