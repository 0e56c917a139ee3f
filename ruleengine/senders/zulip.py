"""Zulip stream messages as a bot: form-encoded, HTTP Basic with the bot's email and API key."""

from __future__ import annotations

import base64
from typing import Any

from ruleengine.config.destinations import ZulipDestination
from ruleengine.model import Notification, Outcome
from ruleengine.senders import SenderContext
from ruleengine.senders.common import color_emoji, one_line, truncate
from ruleengine.senders.http import HttpClient, HttpRequest
from ruleengine.senders.text import MARKDOWN, MARKDOWN_LITE, render

CONTENT_CHARS = 10_000  # max_message_length of a default server
TOPIC_CHARS = 60


class ZulipSender:
    # 200 requests per minute per user.
    default_rate: float | None = 200 / 60

    def __init__(self, settings: ZulipDestination, context: SenderContext) -> None:
        self.settings = settings
        self.redactor = context.redactor
        pair = base64.b64encode(f"{settings.email}:{settings.api_key}".encode()).decode()
        self.authorization = f"Basic {pair}"
        self.redactor.add(settings.api_key, pair)
        self.http = HttpClient(self.redactor, timeout=settings.timeout)

    def form(self, notification: Notification) -> dict[str, str]:
        text = render(notification.text, notification.format, MARKDOWN)
        if self.settings.topic and notification.title:  # the title is not the topic: keep it
            title = render(notification.title, notification.format, MARKDOWN)
            text = f"**{title}**\n{text}"
        if self.settings.emoji:
            text = f"{color_emoji(notification.color, notification.id)} {text}"
        # Topics are plain text, but a mention in one is still a mention.
        topic = self.settings.topic or MARKDOWN_LITE.literal(
            notification.title or notification.rule
        )
        # Form encoding is UTF-8: undecodable log bytes (lone surrogates) become "?".
        text = text.encode("utf-8", "replace").decode()
        topic = topic.encode("utf-8", "replace").decode()
        return {
            "type": "stream",
            "to": self.settings.stream,
            "topic": one_line(topic, TOPIC_CHARS),
            "content": truncate(text, CONTENT_CHARS),
        }

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.settings.url.rstrip("/") + "/api/v1/messages",
            headers={"Authorization": self.authorization},
            data=self.form(notification),
            url_secret=False,
        )

    def preview(self, notification: Notification) -> dict[str, Any]:
        return self.request(notification).preview()

    def send(self, notification: Notification) -> Outcome:
        # 200 {"result": "success"}; errors {"result": "error", "code", "msg"}; 429 Retry-After.
        return self.http.send(self.request(notification))

    def close(self) -> None:
        self.http.close()
