"""Zulip stream messages as a bot: form-encoded, HTTP Basic with the bot's email and API key."""

from __future__ import annotations

import base64

from ruleengine.config.destinations import ZulipDestination
from ruleengine.model import Notification
from ruleengine.senders.common import color_emoji, one_line, truncate
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import MARKDOWN, MARKDOWN_LITE, render
from ruleengine.senders.web import http_sender

CONTENT_CHARS = 10_000  # max_message_length of a default server
TOPIC_CHARS = 60


class ZulipService:
    # 200 requests per minute per user.
    default_rate: float | None = 200 / 60
    # 200 {"result": "success"}; errors {"result": "error", "code", "msg"}; 429 Retry-After.
    check = staticmethod(classify)

    def __init__(self, settings: ZulipDestination) -> None:
        self.settings = settings
        pair = base64.b64encode(f"{settings.email}:{settings.api_key}".encode()).decode()
        self.authorization = f"Basic {pair}"

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


ZulipSender = http_sender(ZulipService)
