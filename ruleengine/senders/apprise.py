"""Any Apprise URL as a destination: the long tail of services, through the optional extra.

Apprise reports only success or failure, with no reason and no wait, so a failure is a Retry
(the dispatcher's budget ends it). Apprise itself stays optional: it is imported here only.
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from typing import Any

from ruleengine.config.destinations import AppriseDestination
from ruleengine.errors import ConfigError
from ruleengine.model import Delivered, Notification, Outcome, Retry
from ruleengine.redact import MASK
from ruleengine.senders import SenderContext
from ruleengine.senders.common import SECRET_PART_CHARS, palette_name

# Apprise's notify types, by colour: it styles each service's message after them.
NOTIFY_TYPES = {
    "red": "failure",
    "yellow": "warning",
    "green": "success",
    "purple": "info",
    "gray": "info",
}


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
        # Apprise URLs carry tokens anywhere (tgram://bot:token/chat): mask every long piece.
        pieces = re.split(r"[/:@?&=#]", settings.url)
        self.redactor.add(settings.url, *(p for p in pieces if len(p) >= SECRET_PART_CHARS))
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
        # Apprise logs the URLs it handles; keep its chatter out of ours.
        logging.getLogger("apprise").setLevel(logging.CRITICAL)
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
            "notify_type": NOTIFY_TYPES[palette_name(notification.color, notification.id)],
        }

    def send(self, notification: Notification) -> Outcome:
        shown = self.preview(notification)
        try:
            ok = self.apprise.notify(
                body=shown["body"], title=shown["title"], notify_type=shown["notify_type"]
            )
        except Exception as exc:  # a plugin bug must not kill the worker: classify it
            return Retry(self.redactor(f"apprise failed: {type(exc).__name__}: {exc}"))
        if ok:
            return Delivered("apprise reported success")
        # No reason and no status: maybe transient, maybe not; the retry budget decides.
        return Retry(f"apprise could not deliver to {self.shown_url}")

    def close(self) -> None:
        """Apprise keeps no connections between notifications."""
