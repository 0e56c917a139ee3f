"""Any Apprise URL as a destination: the long tail of services, through the optional extra.

``notify`` answers only True or False; the reason is in the warnings Apprise logs. Those are
captured for the attempt (this thread's records only), redacted, and become the outcome's
reason: the dead letter and our log say why. A 4xx status other than 408/429 in them is
permanent; anything else is a Retry that the dispatcher's budget ends. Apprise's own log
records never reach ours directly: it logs the URLs (credentials) it handles.
Apprise itself stays optional: it is imported here only.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ruleengine.config.destinations import AppriseDestination
from ruleengine.errors import ConfigError
from ruleengine.model import Delivered, Notification, Outcome, Permanent, Retry
from ruleengine.redact import MASK, credentials
from ruleengine.senders import SenderContext
from ruleengine.senders.common import palette_name

# Apprise's notify types, by colour: it styles each service's message after them.
NOTIFY_TYPES = {
    "red": "failure",
    "yellow": "warning",
    "green": "success",
    "purple": "info",
    "gray": "info",
}


_STATUS = re.compile(r"\berror=(\d{3})\b")
_REASON_CHARS = 300


class _Capture(logging.Filter):
    """Installed on Apprise's logger: keeps its warnings for the attempt in progress and stops
    every record there (they hold URLs, that is credentials). Apprise notifies from its own
    worker threads, so attempts are serialised by ``_ATTEMPT`` instead of told by thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.lines is not None and record.levelno >= logging.WARNING:
            self.lines.append(" ".join(record.getMessage().split()))
        return False


_CAPTURE = _Capture()
_ATTEMPT = threading.Lock()


@contextmanager
def _captured() -> Iterator[list[str]]:
    with _ATTEMPT:
        lines: list[str] = []
        _CAPTURE.lines = lines
        try:
            yield lines
        finally:
            _CAPTURE.lines = None


def classify(lines: list[str]) -> type[Permanent] | type[Retry]:
    """Permanent when Apprise saw a client error (4xx but 408/429): retrying cannot fix it."""
    codes = [int(code) for line in lines for code in _STATUS.findall(line)]
    permanent = [c for c in codes if 400 <= c < 500 and c not in (408, 429)]
    return Permanent if codes and len(permanent) == len(codes) else Retry


def _load() -> Any:
    try:
        return importlib.import_module("apprise")
    except ImportError:
        return None


class AppriseSender:
    # Apprise reaches services with very different limits; one message a second is safe for all.
    default_rate: float | None = 1.0

    def __init__(self, settings: AppriseDestination, context: SenderContext) -> None:
        self.settings = settings
        self.name = context.name
        self.redactor = context.redactor
        # Apprise URLs carry tokens anywhere (tgram://bot:token/chat): every long piece too.
        self.redactor.add(*credentials(settings))
        # Apprise imports its plugins (some using modules Python deprecates, like imghdr) on
        # first use: do that here, at start-up in the main thread, with those warnings quiet.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.apprise = self._instance(settings.url)

    def _instance(self, url: str) -> Any:
        module = _load()
        if module is None:
            raise ConfigError(
                [
                    f"destination {self.name!r}: type apprise needs the optional package: "
                    "pip install 'ruleengine[apprise]'"
                ]
            )
        # Apprise logs the URLs it handles: its records stop at its own logger, where the
        # capture filter reads the warnings of each attempt.
        logger = logging.getLogger("apprise")
        logger.setLevel(logging.WARNING)
        if _CAPTURE not in logger.filters:
            logger.addFilter(_CAPTURE)
        instance = module.Apprise()
        if not instance.add(url):
            raise ConfigError(
                [f"destination {self.name!r}: apprise does not understand url {self.shown_url}"]
            )
        return instance

    @property
    def shown_url(self) -> str:
        scheme, sep, _ = self.settings.url.partition("://")
        return f"{scheme}://{MASK}" if sep else MASK

    def preview(self, notification: Notification) -> dict[str, Any]:
        return {
            "apprise_url": self.shown_url,
            "title": notification.title or "",
            "body": notification.text,
            # Apprise converts text to each service's markup itself (escaping as needed).
            "body_format": "markdown" if notification.format == "markdown" else "text",
            "notify_type": NOTIFY_TYPES[palette_name(notification.color, notification.id)],
        }

    def send(self, notification: Notification) -> Outcome:
        shown = self.preview(notification)
        try:
            with _captured() as lines:
                ok = self.apprise.notify(
                    body=shown["body"],
                    title=shown["title"],
                    notify_type=shown["notify_type"],
                    body_format=shown["body_format"],
                )
        except Exception as exc:  # a plugin bug must not kill the worker: classify it
            return Retry(self.redactor(f"apprise failed: {type(exc).__name__}: {exc}"))
        if ok:
            return Delivered("apprise reported success")
        reason = f"apprise could not deliver to {self.shown_url}"
        if lines:
            reason += ": " + "; ".join(lines)
        outcome = classify(lines)
        return outcome(self.redactor(reason)[:_REASON_CHARS])

    def close(self) -> None:
        """Apprise keeps no connections between notifications."""
