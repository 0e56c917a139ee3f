"""Senders built exactly as the loader builds them, a sample notification, one-shot sends, and
the table of every HTTP sender against the loopback receiver (``CASES``) that sender tests share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from ruleengine.config.destinations import Destination
from ruleengine.model import Delivered, Notification
from ruleengine.redact import Redactor
from ruleengine.senders import Sender, SenderContext, make_sender
from tests.support.receiver import Receiver, Reply, Request

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Destination)


def settings_for(kind: str, **values: Any) -> Any:
    """Validated destination settings, exactly as the loader would build them."""
    return _ADAPTER.validate_python({"type": kind, **values})


def make(kind: str, **values: Any) -> Sender:
    return make_sender(settings_for(kind, **values), SenderContext(kind, Redactor()))


def note(text: str = "disk full on web1", **values: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": "0123456789abcdef0123456789abcdef",
        "destination": "dest",
        "rule": "disk-full",
        "source": "syslog",
        "text": text,
        "created": 1_700_000_000.0,
    }
    fields.update(values)
    return Notification(**fields)


def send_one(sender: Sender, receiver: Receiver, notification: Notification) -> Request:
    """Send and return the one request the receiver got (asserting it was delivered)."""
    try:
        outcome = sender.send(notification)
    finally:
        sender.close()
    assert isinstance(outcome, Delivered), outcome
    (request,) = receiver.wait_for(1)
    return request


# Every HTTP sender, set up against the loopback receiver at ``url``.

SECRET = "s3cr3t-T0KEN-value"  # noqa: S105 - a fake token the tests hunt for


@dataclass(frozen=True)
class Case:
    """One sender kind: its settings for a receiver URL, its success reply, its HTTP method."""

    settings: Callable[[str], dict[str, Any]]
    ok: Reply
    method: str = "POST"


CASES: dict[str, Case] = {
    "slack": Case(lambda u: {"webhook_url": f"{u}/services/T0/B0/{SECRET}"}, Reply(200, "ok")),
    "mattermost": Case(lambda u: {"webhook_url": f"{u}/hooks/{SECRET}"}, Reply(200, "ok")),
    "rocketchat": Case(
        lambda u: {"webhook_url": f"{u}/hooks/abc/{SECRET}"}, Reply(200, '{"success": true}')
    ),
    "teams": Case(
        lambda u: {"webhook_url": f"{u}/workflows/1/triggers/manual/paths/invoke?sig={SECRET}"},
        Reply(202, ""),
    ),
    "discord": Case(lambda u: {"webhook_url": f"{u}/api/webhooks/123/{SECRET}"}, Reply(204, "")),
    "googlechat": Case(
        lambda u: {"webhook_url": f"{u}/v1/spaces/AAA/messages?key=k3y-value&token={SECRET}"},
        Reply(200, '{"name": "spaces/AAA/messages/1"}'),
    ),
    "matrix": Case(
        lambda u: {"homeserver": u, "room_id": "!room:example.org", "token": SECRET},
        Reply(200, '{"event_id": "$abc"}'),
        method="PUT",
    ),
    "hipchat": Case(lambda u: {"url": u, "room": "ops", "token": SECRET}, Reply(204, "")),
    "ntfy": Case(lambda u: {"url": u, "topic": "alerts", "token": SECRET}, Reply(200, "{}")),
    "gotify": Case(lambda u: {"url": u, "token": SECRET}, Reply(200, '{"id": 1}')),
    "zulip": Case(
        lambda u: {"url": u, "email": "bot@example.org", "api_key": SECRET, "stream": "ops"},
        Reply(200, '{"result": "success", "id": 42}'),
    ),
    "webhook": Case(
        lambda u: {"url": f"{u}/hook/{SECRET}", "headers": {"X-Token": SECRET}}, Reply(200, "")
    ),
}
KINDS = sorted(CASES)


def sender_for(kind: str, url: str, **extra: Any) -> Sender:
    """The ``kind`` sender from ``CASES`` pointed at ``url`` (``extra``: more settings)."""
    return make(kind, **CASES[kind].settings(url), **extra)
