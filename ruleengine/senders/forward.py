"""Forward an event to another ruleengine's http source (``type: ruleengine``).

The outbox row becomes one structured CloudEvent: its ``id`` is the row's stable id and its
``source`` names this host and source, so the central instance stores a retried forward
once. ``data`` holds the event's fields (``host`` included, so the central rules see where it
happened), without the bulky or misleading ones (``data``, ``ce``, ``client``). Durability,
retries, pacing and fallback are the outbox's, as for any destination.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ruleengine.config.destinations import RuleengineDestination
from ruleengine.model import Notification
from ruleengine.senders.http import HttpRequest
from ruleengine.senders.replies import classify
from ruleengine.senders.web import http_sender
from ruleengine.templates import HOSTNAME

PATH = "/v1/events"
_DROPPED = ("data", "ce", "client", "type", "source", "rule", "time")


class ForwardService:
    default_rate: float | None = 40.0  # under an http source's default pace (50/s per client)
    check = staticmethod(classify)

    def __init__(self, settings: RuleengineDestination) -> None:
        self.settings = settings
        base = settings.url.rstrip("/")
        self.url = base if base.endswith(PATH) else base + PATH

    def cloudevent(self, notification: Notification) -> dict[str, Any]:
        fields = notification.fields
        kind = self.settings.event_type or fields.get("type") or f"ruleengine.{notification.rule}"
        data = {k: v for k, v in fields.items() if k not in _DROPPED}
        data.setdefault("host", HOSTNAME)
        data.update(
            text=notification.text,
            origin_rule=notification.rule,
            origin_source=notification.source,
            color=notification.color,
            notify=notification.notify,
        )
        created = dt.datetime.fromtimestamp(notification.created or 0.0, dt.UTC)
        return {
            "specversion": "1.0",
            "id": notification.id,
            "source": f"ruleengine://{HOSTNAME}/{notification.source}",
            "type": str(kind),
            "subject": str(data["host"]),
            "time": created.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": data,
        }

    def request(self, notification: Notification) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.url,
            headers={
                "Authorization": f"Bearer {self.settings.token}",
                "Content-Type": "application/cloudevents+json",
            },
            data=_json(self.cloudevent(notification)),
            url_secret=False,
        )


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")


ForwardSender = http_sender(ForwardService)
