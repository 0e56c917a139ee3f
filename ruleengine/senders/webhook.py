"""Generic webhook: a JSON document describing the notification, POSTed (or PUT) to a URL."""

from __future__ import annotations

from typing import Any

from ruleengine.colors import to_hex
from ruleengine.config.destinations import WebhookDestination
from ruleengine.model import Notification, Outcome, Retry
from ruleengine.redact import redact_url
from ruleengine.senders import SenderContext
from ruleengine.senders.http import HttpClient, Response, classify


class WebhookSender:
    default_rate: float | None = None

    def __init__(self, settings: WebhookDestination, context: SenderContext) -> None:
        self.settings = settings
        self.redactor = context.redactor
        # The URL may itself be the credential (most chat webhooks are): always a secret.
        self.redactor.add(settings.url, *settings.headers.values())
        self.http = HttpClient(self.redactor, timeout=settings.timeout)

    def body(self, notification: Notification) -> dict[str, Any]:
        return {
            "id": notification.id,
            "rule": notification.rule,
            "source": notification.source,
            "text": notification.text,
            "title": notification.title,
            "color": notification.color,
            "color_hex": to_hex(notification.color, notification.id),
            "notify": notification.notify,
            "time": notification.created,
            "fields": dict(notification.fields),
        }

    def headers(self, notification: Notification) -> dict[str, str]:
        return {"Idempotency-Key": notification.id, **self.settings.headers}

    def preview(self, notification: Notification) -> dict[str, Any]:
        return {
            "method": self.settings.method,
            "url": redact_url(self.settings.url),
            "headers": {key: "***" for key in self.settings.headers},
            "json": self.body(notification),
        }

    def send(self, notification: Notification) -> Outcome:
        reply = self.http.request(
            self.settings.method,
            self.settings.url,
            json_body=self.body(notification),
            headers=self.headers(notification),
        )
        if isinstance(reply, Retry):
            return reply
        assert isinstance(reply, Response)  # noqa: S101 - narrowing for mypy
        return classify(reply, self.redactor)

    def close(self) -> None:
        self.http.close()
