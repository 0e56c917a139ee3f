"""The composed HTTP sender: what every web service shares, written once.

A service module declares only what differs: its settings model (credentials typed
``Secret``, so redaction follows from the types), how a notification becomes an
``HttpRequest`` (built with the text layer's dialects), how a reply is classified, and its
default pace. ``HttpSender`` adds preview, send, close, timeouts, the reply size cap and
redaction. A new service is one small module, one line in ``builtin.SENDERS``, one test file::

    class MyService:
        default_rate = 1.0
        check = staticmethod(classify)

        def __init__(self, settings: MyDestination) -> None: ...
        def request(self, notification: Notification) -> HttpRequest: ...

    MySender = http_sender(MyService)

A service that can update an earlier message also declares ``resolved`` (``Edits``): the
requests that mark a resolved alert's messages and the notice's own request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from ruleengine.model import Delivered, Notification, Original, Outcome, Permanent
from ruleengine.redact import credentials
from ruleengine.senders import Sender, SenderContext
from ruleengine.senders.http import HttpClient, HttpRequest
from ruleengine.senders.replies import Check


class RequestError(Exception):
    """The notification cannot become a request (a failing body template): permanent."""


class Service(Protocol):
    """What one HTTP service declares; ``HttpSender`` does the rest."""

    #: Documented pacing of the service (messages per second), or None.
    default_rate: float | None

    def request(self, notification: Notification) -> HttpRequest:
        """The request for one notification; may raise ``RequestError``."""
        ...

    @property
    def check(self) -> Check:
        """Reply → outcome (``replies.classify`` unless the service answers oddly)."""
        ...


@runtime_checkable
class Edits(Protocol):
    """A service that can update an earlier message (Discord edits, Matrix edits and replies)."""

    def resolved(
        self, notification: Notification, originals: Sequence[Original]
    ) -> tuple[list[HttpRequest], HttpRequest]:
        """The requests updating ``originals`` (best effort, repeatable), and the notice's."""
        ...


class HttpSender:
    """A ``Sender`` for any ``Service``: preview = the request send would make, redacted."""

    def __init__(self, service: Service, settings: Any, context: SenderContext) -> None:
        self.service = service
        self.default_rate: float | None = service.default_rate
        self.redactor = context.redactor
        self.redactor.add(*credentials(settings))
        self.http = HttpClient(self.redactor, timeout=settings.timeout)

    def _request(self, notification: Notification) -> HttpRequest:
        request = self.service.request(notification)
        # Derived credentials (a Basic pair) are secret headers of the request itself.
        self.redactor.add(*request.secret_values())
        return request

    def preview(self, notification: Notification) -> dict[str, Any]:
        try:
            return self._request(notification).preview()
        except RequestError as exc:
            return {"error": self.redactor(str(exc))}

    def send(self, notification: Notification) -> Outcome:
        try:
            request = self._request(notification)
        except RequestError as exc:
            return Permanent(self.redactor(str(exc)))
        return self.http.send(request, self.service.check)

    def send_resolved(self, notification: Notification, originals: Sequence[Original]) -> Outcome:
        """Update the alert's messages, then send the notice; the notice's outcome counts.

        The updates come first because they are repeatable (an edit sets the same content
        again): a notice that is retried repeats them and never posts a message twice. An
        update the service refuses (the alert was deleted) only adds a warning.
        """
        if not originals or not isinstance(self.service, Edits):
            return self.send(notification)
        try:
            edits, notice = self.service.resolved(notification, originals)
        except RequestError as exc:
            return Permanent(self.redactor(str(exc)))
        for request in (*edits, notice):
            self.redactor.add(*request.secret_values())
        problems = [
            outcome.reason
            for outcome in (self.http.send(edit) for edit in edits)
            if not isinstance(outcome, Delivered)
        ]
        outcome = self.http.send(notice, self.service.check)
        if isinstance(outcome, Delivered) and problems:
            warning = "the alert was not marked resolved: " + "; ".join(problems)
            return dataclasses.replace(outcome, warning=warning)
        return outcome

    def close(self) -> None:
        self.http.close()


Settings = TypeVar("Settings")


def http_sender(
    service: Callable[[Settings], Service],
) -> Callable[[Settings, SenderContext], Sender]:
    """The ``SENDERS`` factory for a service class."""

    def factory(settings: Settings, context: SenderContext) -> Sender:
        return HttpSender(service(settings), settings, context)

    return factory
