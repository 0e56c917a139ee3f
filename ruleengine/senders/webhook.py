"""Generic webhook: a JSON document describing the notification, sent to any HTTP endpoint.

By default the document is ruleengine's own (id, rule, text, colour…); ``body`` replaces it
with a sandboxed Jinja template, so any JSON API can be spoken without a new sender.
"""

from __future__ import annotations

import json
from typing import Any

import jinja2

from ruleengine.colors import to_hex
from ruleengine.config.destinations import WebhookDestination
from ruleengine.model import Notification
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.web import RequestError, http_sender
from ruleengine.templates import make_environment

VARIABLES = (
    "id",
    "rule",
    "source",
    "text",
    "title",
    "color",
    "color_hex",
    "notify",
    "time",
    "fields",
)


class BodyError(RequestError):
    """The body template failed for this notification: retrying cannot fix it."""


class WebhookService:
    default_rate: float | None = None
    check = staticmethod(classify)

    def __init__(self, settings: WebhookDestination) -> None:
        # The URL may itself be the credential (most chat webhooks are), and so may any
        # header: both are typed Secret in the settings.
        self.settings = settings
        self.template: jinja2.Template | None = None
        if settings.body is not None:
            self.template = make_environment().from_string(settings.body)

    def document(self, notification: Notification) -> dict[str, Any]:
        """The default body, and the variables a ``body`` template sees."""
        return {
            "id": notification.id,
            "rule": notification.rule,
            "source": notification.source,
            "text": notification.text,
            "title": notification.title,
            "color": notification.color,
            "color_hex": to_hex(notification.color, notification.id),
            "notify": notification.notify,
            "format": notification.format,
            "time": notification.created,
            "fields": dict(notification.fields),
        }

    def rendered(self, notification: Notification) -> str:
        """The ``body`` template's output, checked to be JSON when the content type says so."""
        assert self.template is not None  # noqa: S101 - only called with a template
        try:
            text = self.template.render(self.document(notification))
        except Exception as exc:  # undefined names, sandbox, a filter on odd data: template bugs
            detail = f"{type(exc).__name__}: {exc}"
            if "StrictUndefined" in detail:  # ``{{ missing | tojson }}`` hides the name
                detail = f"an undefined variable; known: {', '.join(VARIABLES)}"
            raise BodyError(f"body template failed: {detail}") from None
        if "json" in self.settings.content_type:
            try:
                json.loads(text)
            except ValueError as exc:
                raise BodyError(
                    f"body template did not produce JSON ({exc}); quote values with | tojson"
                ) from None
        return text

    def headers(self, notification: Notification) -> dict[str, str]:
        return {
            "Idempotency-Key": notification.id,
            "Content-Type": self.settings.content_type,
            **self.settings.headers,
        }

    def request(self, notification: Notification) -> HttpRequest:
        templated = self.template is not None
        return HttpRequest(
            self.settings.method,
            self.settings.url,
            headers=self.headers(notification),
            json=None if templated else self.document(notification),
            data=self.rendered(notification).encode("utf-8") if templated else None,
            secret_headers=frozenset(key.lower() for key in self.settings.headers),
        )


WebhookSender = http_sender(WebhookService)
