"""Senders deliver one notification to one service and classify the result.

A sender never retries: it returns ``Delivered``, ``Retry(after)`` or ``Permanent(reason)`` and
the dispatcher owns the retry policy. New service = one module + one line in ``builtin.SENDERS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ruleengine.model import Notification, Original, Outcome
from ruleengine.redact import Redactor
from ruleengine.senders.builtin import SENDERS
from ruleengine.senders.plugins import SenderPlugin, plugins

__all__ = ["SENDERS", "Batching", "Resolving", "SenderPlugin", "make_sender", "plugins"]


class Sender(Protocol):
    """What the dispatcher needs from a destination."""

    #: Default client-side pacing (messages per second) when the destination sets no ``rate``.
    default_rate: float | None

    def preview(self, notification: Notification) -> dict[str, Any]:
        """The exact request that ``send`` would make (secrets redacted), for dry runs."""
        ...

    def send(self, notification: Notification) -> Outcome:
        """Deliver once; never raise for delivery problems, classify them."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Resolving(Protocol):
    """A sender that may update the alert a resolved notice closes (edit it, reply to it)."""

    def send_resolved(self, notification: Notification, originals: Sequence[Original]) -> Outcome:
        """Send the resolved notice ``notification`` and update ``originals`` where the
        service allows; the outcome is the notice's (a failed update is a warning)."""
        ...


@runtime_checkable
class Batching(Protocol):
    """A sender for which several notifications cost about what one does (a local stream):
    a worker catching up hands it the due rows together."""

    def send_many(self, notifications: Sequence[Notification]) -> list[Outcome]:
        """Deliver each, in order; an outcome per notification."""
        ...


@dataclass(frozen=True)
class SenderContext:
    """What every sender may use besides its own settings."""

    name: str
    redactor: Redactor


SenderFactory = Callable[[Any, SenderContext], Sender]


def _factory(kind: str) -> SenderFactory:
    if kind not in SENDERS:
        factory: SenderFactory = plugins()[kind].factory
        return factory
    module, name = SENDERS[kind]
    built_in: SenderFactory = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return built_in


def make_sender(settings: Any, context: SenderContext) -> Sender:
    """Build the sender for a destination's validated settings (``settings.type`` picks it)."""
    return _factory(settings.type)(settings, context)
