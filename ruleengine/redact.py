"""One place that removes secrets (tokens, webhook URLs) from anything that may be shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
_URL = re.compile(r"(?P<head>https?://[^/\s?#]+)(?P<rest>[^\s\"'<>]*)")


def redact_url(url: str) -> str:
    """Keep scheme and host (useful in errors), hide path and query (where secrets live)."""
    found = _URL.match(url)
    if found is None:
        return MASK
    return found.group("head") + ("/" + MASK if found.group("rest") else "")


class Redactor:
    """Replaces known secret values, and the path/query of every URL, in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole; tiny values would
        # mask half the log and are not credentials anyway.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if len(s) >= 4)}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _URL.sub(lambda m: redact_url(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Logging filter applying a Redactor to every record's final message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
