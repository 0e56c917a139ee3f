"""One place that removes secrets (tokens, webhook URLs) from anything that may be shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, get_args, get_origin
from urllib.parse import unquote

from pydantic import BaseModel

MASK = "***"


class _Credential:
    """Type marker: the settings field holds a credential (token, password, a URL that is its
    own key). ``config.types.Secret`` carries it; ``credentials`` finds values by it."""

    def __repr__(self) -> str:
        return "Credential"


CREDENTIAL = _Credential()
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


_TOKENISH_CHARS = 8
SECRET_PART_CHARS = 16


def _tokenish(part: str) -> bool:
    return re.search(r"[A-Za-z]", part) is not None and re.search(r"\d", part) is not None


def _marked(annotation: Any, metadata: Iterable[Any] = ()) -> bool:
    """Whether a field's type carries the ``CREDENTIAL`` marker anywhere (``Secret | None``,
    ``dict[str, Secret]``, ``Annotated[…, CREDENTIAL]``)."""
    if any(item is CREDENTIAL for item in metadata):
        return True
    if get_origin(annotation) is Annotated:
        return _marked(get_args(annotation)[0], annotation.__metadata__)
    return any(_marked(arg) for arg in get_args(annotation))


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _values(item)


def secret_parts(value: str) -> set[str]:
    """A credential and the pieces services echo alone ("unknown webhook abc…"): URL path
    segments and query values that look like tokens; ``Bearer``/``Basic`` words dropped."""
    value = value.removeprefix("Bearer ").removeprefix("Basic ")
    url = _URL_REST.match(value)
    tail = value if url is None else url.group("rest")  # a host name is not a secret
    pieces = {unquote(p) for p in re.split(r"[/:@?&=#]", tail)}
    parts = {p for p in pieces if len(p) >= SECRET_PART_CHARS}
    parts |= {p for p in pieces if len(p) >= _TOKENISH_CHARS and _tokenish(p)}
    if url is not None and len(tail) > _TOKENISH_CHARS:  # "/room" is a word, not a key
        parts.add(tail.lstrip("/"))
    return {value, *parts}


def credentials(settings: BaseModel) -> set[str]:
    """Every credential in one destination's settings, found by type (``config.types.Secret``)."""
    found: set[str] = set()
    for name, field in type(settings).model_fields.items():
        if _marked(field.annotation, field.metadata):
            for value in _values(getattr(settings, name)):
                found |= secret_parts(value)
    return {value for value in found if len(value) >= 4}


_URL_REST = re.compile(r"^https?://[^/\s?#]+(?P<rest>[/?#]\S+)$")


def destination_secrets(destinations: Mapping[str, BaseModel]) -> set[str]:
    """The credentials of every destination: services sometimes echo them in error bodies,
    where URL redaction alone would not recognise them."""
    return {value for settings in destinations.values() for value in credentials(settings)}
