"""One place that removes secrets (tokens, webhook URLs) from anything that may be shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

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


_SECRET_KEYS = ("token", "password", "secret", "key", "webhook")
_URL_REST = re.compile(r"^https?://[^/\s?#]+(?P<rest>[/?#]\S+)$")


def _tokenish(part: str) -> bool:
    return re.search(r"[A-Za-z]", part) is not None and re.search(r"\d", part) is not None


def destination_secrets(destinations: Mapping[str, Any]) -> set[str]:
    """Credentials written literally in the rules file (not through ``${env:}``/``${file:}``):
    URL paths and queries, header values, token-like fields. Services sometimes echo them in
    error bodies, where URL redaction alone would not recognise them."""
    found: set[str] = set()

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                inside = key == "header" or name == "headers"
                walk(value, "header" if inside else str(name).lower())
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, str):
            url = _URL_REST.match(node)
            if url is not None and len(url.group("rest")) > 1:
                found.add(url.group("rest").lstrip("/"))
                # Each token-like piece too (letters and digits): errors may quote just one.
                found.update(p for p in re.split(r"[/?#&=]", url.group("rest")) if _tokenish(p))
            elif key == "header" or any(word in key for word in _SECRET_KEYS):
                found.add(node.removeprefix("Bearer ").removeprefix("Basic "))

    for settings in destinations.values():
        walk(settings.model_dump(), "")
    return {value for value in found if len(value) >= 8}
