"""Senders built exactly as the loader builds them, a sample notification, and one-shot sends."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ruleengine.config.destinations import Destination
from ruleengine.model import Delivered, Notification
from ruleengine.redact import Redactor
from ruleengine.senders import Sender, SenderContext, make_sender
from tests.support.receiver import Receiver, Request

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
