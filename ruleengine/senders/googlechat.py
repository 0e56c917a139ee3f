"""Google Chat incoming webhooks: plain text, de-duplicated by ``requestId``.

The notification id is sent as ``requestId``: a retry after a timeout that actually succeeded
returns the message already created instead of posting it twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ruleengine.config.destinations import GoogleChatDestination
from ruleengine.model import Notification, Outcome
from ruleengine.senders import SenderContext
from ruleengine.senders.common import color_emoji, truncate, url_secrets, with_title
from ruleengine.senders.http import HttpClient, HttpRequest

TEXT_BYTES = 32_000  # message size limit, in bytes


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


class GoogleChatSender:
    # 60 writes per minute per space, shared by everything posting there.
    default_rate: float | None = 1.0

    def __init__(self, settings: GoogleChatDestination, context: SenderContext) -> None:
        self.settings = settings
        self.redactor = context.redactor
        # key= and token= in the query are the credential, whole and each on its own.
        query = parse_qsl(urlsplit(settings.webhook_url).query)
        self.redactor.add(*url_secrets(settings.webhook_url), *(value for _, value in query))
        self.http = HttpClient(self.redactor, timeout=settings.timeout)

    def payload(self, notification: Notification) -> dict[str, Any]:
        text = with_title(notification.text, notification.title)
        if self.settings.emoji:
            text = f"{color_emoji(notification.color, notification.id)} {text}"
        payload: dict[str, Any] = {"text": truncate(text, TEXT_BYTES, "bytes")}
        if self.settings.thread_key:
            payload["thread"] = {"threadKey": self.settings.thread_key}
        return payload

    def url(self, notification: Notification) -> str:
        params = {"requestId": notification.id}
        if self.settings.thread_key:
            params["messageReplyOption"] = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        return with_query(self.settings.webhook_url, **params)

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest("POST", self.url(notification), json=self.payload(notification))

    def preview(self, notification: Notification) -> dict[str, Any]:
        shown = self.request(notification).preview()
        shown["added_query"] = {"requestId": notification.id}  # the URL itself is masked
        return shown

    def send(self, notification: Notification) -> Outcome:
        return self.http.send(self.request(notification))

    def close(self) -> None:
        self.http.close()
