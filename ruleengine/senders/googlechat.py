"""Google Chat incoming webhooks, de-duplicated by ``requestId``.

Without a title the message is ``text`` (Google Chat's own markup, ``<users/…>`` mentions and
``<url|text>`` links broken for literal text). With one, it is a card: the title in the card
header, the text in a ``textParagraph`` (an HTML subset, escaped for literal text).

The notification id is sent as ``requestId``: a retry after a timeout that actually succeeded
returns the message already created instead of posting it twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ruleengine.colors import to_hex
from ruleengine.config.destinations import GoogleChatDestination
from ruleengine.model import Notification
from ruleengine.senders.common import color_emoji, fit, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import HTML, MARKDOWN_LITE, render
from ruleengine.senders.web import http_sender

TEXT_BYTES = 32_000  # message size limit, in bytes
TITLE_CHARS = 200


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


class GoogleChatService:
    # 60 writes per minute per space, shared by everything posting there.
    default_rate: float | None = 1.0
    check = staticmethod(classify)

    def __init__(self, settings: GoogleChatDestination) -> None:
        self.settings = settings  # key= and token= in the URL's query are the credential

    def payload(self, notification: Notification) -> dict[str, Any]:
        payload: dict[str, Any]
        if notification.title:
            payload = {"cardsV2": [self.card(notification, notification.title)]}
        else:
            text = render(notification.text, notification.format, MARKDOWN_LITE)
            if self.settings.emoji:
                text = f"{color_emoji(notification.color, notification.id)} {text}"
            payload = {"text": truncate(text, TEXT_BYTES, "bytes")}
        if self.settings.thread_key:
            payload["thread"] = {"threadKey": self.settings.thread_key}
        return payload

    def card(self, notification: Notification, title: str) -> dict[str, Any]:
        """A card whose header is the title; the text sits under a bar of the rule's colour."""
        color = to_hex(notification.color, notification.id)
        # Header titles are plain text; mention and link tokens are broken all the same.
        header = truncate(render(title, "text", MARKDOWN_LITE), TITLE_CHARS)
        if self.settings.emoji:
            header = f"{color_emoji(notification.color, notification.id)} {header}"

        def paragraph(text: str) -> str:
            rendered = render(text, notification.format, HTML)
            return f'<font color="{color}">\u2503</font> {rendered}'

        text = paragraph(fit(notification.text, TEXT_BYTES, paragraph, "bytes"))
        return {
            "cardId": notification.id,
            "card": {
                "header": {"title": header},
                "sections": [{"widgets": [{"textParagraph": {"text": text}}]}],
            },
        }

    def url(self, notification: Notification) -> str:
        params = {"requestId": notification.id}
        if self.settings.thread_key:
            params["messageReplyOption"] = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        return with_query(self.settings.webhook_url, **params)

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.url(notification),
            json=self.payload(notification),
            notes={"added_query": {"requestId": notification.id}},  # the URL itself is masked
        )


GoogleChatSender = http_sender(GoogleChatService)
