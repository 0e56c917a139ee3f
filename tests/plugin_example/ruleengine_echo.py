"""A third-party sender, as a package would ship it: an ``echo`` destination type.

Its distribution declares, in pyproject.toml::

    [project.entry-points."ruleengine.senders"]
    echo = "ruleengine_echo:plugin"

(here: ``ruleengine_echo-1.0.dist-info/entry_points.txt`` beside this file, which is what
installing such a package writes). The settings model says which keys the rules file takes
and which are credentials; the service builds one request per notification through the text
layer; ruleengine does preview, send, redaction, retries and pacing.
"""

from __future__ import annotations

from typing import Literal

from ruleengine.config.destinations import HttpDestination, SecretUrl
from ruleengine.model import Notification
from ruleengine.senders import SenderPlugin
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.text import MARKDOWN, render
from ruleengine.senders.web import http_sender


class EchoDestination(HttpDestination):
    """Posts {"title", "text"} as Markdown to ``url``."""

    type: Literal["echo"]
    url: SecretUrl


class EchoService:
    default_rate: float | None = None
    check = staticmethod(classify)

    def __init__(self, settings: EchoDestination) -> None:
        self.settings = settings

    def request(self, notification: Notification) -> HttpRequest:
        body = {
            "title": notification.title,
            "text": render(notification.text, notification.format, MARKDOWN),
        }
        return HttpRequest("POST", self.settings.url, json=body)


plugin = SenderPlugin(settings=EchoDestination, factory=http_sender(EchoService))
