"""Shared helpers for dispatcher tests: real webhook senders against the loopback receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter

from ruleengine.config.destinations import Destination
from ruleengine.dispatch import Dispatcher, Route
from ruleengine.model import Notification, stable_id
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext, make_sender
from ruleengine.state import Store

_DESTINATION: TypeAdapter[Any] = TypeAdapter(Destination)


def route(name: str, redactor: Redactor, **settings: Any) -> Route:
    """A Route built exactly like the daemon builds one, from destination settings."""
    model = _DESTINATION.validate_python({"type": "webhook", **settings})
    sender = make_sender(model, SenderContext(name=name, redactor=redactor))
    rate = model.rate if model.rate is not None else sender.default_rate
    return Route(name, sender, model.retry, rate, model.fallback)


def note(destination: str, text: str) -> Notification:
    return Notification(
        id=stable_id(destination, text, time.time_ns()),
        destination=destination,
        rule="test-rule",
        source="test",
        text=text,
        created=time.time(),
    )


def enqueue(store: Store, dispatcher: Dispatcher | None, *items: Notification) -> None:
    store.commit(items, [])
    if dispatcher is not None:
        for item in items:
            dispatcher.wake(item.destination)


@contextmanager
def running(routes: Mapping[str, Route], store: Store, redactor: Redactor) -> Iterator[Dispatcher]:
    dispatcher = Dispatcher(routes, store, redactor)
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        assert dispatcher.stop(10.0), "a worker did not stop"
