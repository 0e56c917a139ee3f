"""One delivery attempt: a destination's sender given one notification, or several at once
where the sender takes them so (``senders.Batching``). A sender's bug becomes a ``Retry``,
never an exception in the worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ruleengine.config.destinations import RetryPolicy
from ruleengine.model import Notification, Original, Outcome, Retry
from ruleengine.senders import Batching, Resolving, Sender
from ruleengine.state import OutboxRow

#: The alert messages a resolved notice closes, as known now (see ``send``).
Originals = Callable[[Notification], Sequence[Original]]


@dataclass(frozen=True)
class Route:
    """Everything a worker needs to know about its destination."""

    name: str
    sender: Sender
    policy: RetryPolicy
    rate: float | None
    fallback: str | None


def send_rows(route: Route, rows: Sequence[OutboxRow], originals: Originals) -> list[Outcome]:
    """An outcome per row: several go in one call where the sender takes them so."""
    sender = route.sender
    if len(rows) == 1 or not isinstance(sender, Batching):
        return [send(route, row.notification, originals) for row in rows]
    try:
        outcomes = sender.send_many([row.notification for row in rows])
        if len(outcomes) != len(rows):
            raise ValueError(f"{len(outcomes)} outcomes for {len(rows)} notifications")
    except Exception as exc:  # a sender bug is treated as transient, never fatal
        return [Retry(f"sender error: {type(exc).__name__}: {exc}")] * len(rows)
    return outcomes


def send(route: Route, notification: Notification, originals: Originals) -> Outcome:
    """Send; a resolved notice also updates its alert's messages where the service can.

    The alert's ids are looked up now, not when the notice was rendered: the notice queues
    behind its alert (same destination, FIFO), so by now the alert was delivered (its id
    kept) or dead-lettered (no id: the notice goes out plain, never lost).
    """
    sender = route.sender
    found = originals(notification) if notification.resolves else ()  # state trouble: raised
    try:
        if found and isinstance(sender, Resolving):
            return sender.send_resolved(notification, found)
        return sender.send(notification)
    except Exception as exc:  # a sender bug is treated as transient, never fatal
        return Retry(f"sender error: {type(exc).__name__}: {exc}")
