"""A request body as events: JSON objects or CloudEvents, within limits. Pure.

Every refusal is a ``Rejected`` carrying the HTTP status and a JSON-able error, raised before
anything is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruleengine.model import Event
from ruleengine.rules.patterns import match_name, name_pattern

TEXT_LIMIT = 4096  # characters of an event's JSON kept as its ``text``
MAX_TYPE = 200
_PLAIN, _CE, _CE_BATCH = (
    "application/json",
    "application/cloudevents+json",
    ("application/cloudevents-batch+json"),
)
MEDIA_TYPES = (_PLAIN, _CE, _CE_BATCH)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Rejected(Exception):
    """A request refused with ``status``; ``body`` is the JSON error the client gets."""

    def __init__(
        self, status: int, error: str, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": error, "message": message}
        self.headers = headers


@dataclass(frozen=True)
class Limits:
    max_events: int = 1000
    max_fields: int = 100
    max_depth: int = 8
    accept_types: tuple[re.Pattern[str], ...] = ()  # strict mode; empty: any type

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """The limits an http source's settings set: the intake's and the dry run's."""
        patterns = tuple(map(name_pattern, settings.accept_types))
        return cls(settings.max_events, settings.max_fields, settings.max_depth, patterns)


@dataclass(frozen=True)
class Incoming:
    """One event of a request, before the source gives it an id and a client."""

    type: str
    fields: Mapping[str, Any]
    text: str
    cloud_key: tuple[str, str] | None = None  # CloudEvents (source, id): its idempotency key


def make_event(source: str, item: Incoming, client: str, identity: str, now: float) -> Event:
    """The event of one posted item: the intake's and ``ruleengine test --event``'s."""
    return Event(identity, source, "http", item.text, now, {**item.fields, "client": client})


def media_type(header: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``; refuses other types."""
    value = (header or "").split(";", 1)[0].strip().lower()
    if value not in MEDIA_TYPES:
        raise Rejected(
            415,
            "unsupported_media_type",
            f"Content-Type must be one of {', '.join(MEDIA_TYPES)}, not {value or 'none'!r}",
        )
    return value


def media_type_of(body: bytes) -> str:
    """The Content-Type a body of unknown origin most likely had (``test --event``):
    CloudEvents when the (first) object has a ``specversion``."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return _PLAIN  # parse_events says what is wrong
    batch = isinstance(document, list)
    first = document[0] if batch and document else document
    if isinstance(first, dict) and "specversion" in first:
        return _CE_BATCH if batch else _CE
    return _PLAIN


def parse_events(body: bytes, content_type: str | None, limits: Limits) -> list[Incoming]:
    """The events of a body: one object or an array (``application/json``), one structured
    CloudEvent, or a CloudEvents batch."""
    kind = media_type(content_type)
    document = _decode(body)
    if kind == _CE:
        items = [document]
    elif kind == _CE_BATCH or isinstance(document, list):
        if not isinstance(document, list):
            raise Rejected(400, "invalid_event", "a CloudEvents batch must be a JSON array")
        items = document
    else:
        items = [document]
    if not items:
        raise Rejected(400, "invalid_event", "no events: the array is empty")
    if len(items) > limits.max_events:
        raise Rejected(
            413, "too_many_events", f"{len(items)} events; at most {limits.max_events} a request"
        )
    cloud = kind != _PLAIN
    return [_event(item, index, cloud, limits) for index, item in enumerate(items)]


def _decode(body: bytes) -> Any:
    try:
        # What json.loads(body, parse_constant=…) does, without a new decoder per request.
        return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:
        raise Rejected(400, "malformed_json", "the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Rejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_TEXT = json.JSONEncoder(ensure_ascii=False).encode


def _event(item: Any, index: int, cloud: bool, limits: Limits) -> Incoming:
    where = f"event {index}: "
    if not isinstance(item, dict):
        raise Rejected(422, "invalid_event", f"{where}expected a JSON object")
    _check_shape(item, where, limits)
    kind = _type(item.get("type"), where, limits)
    text = _TEXT(item)[:TEXT_LIMIT]
    if not cloud:
        return Incoming(kind, {**item, "data": item, "type": kind}, text)
    if item.get("specversion") != "1.0":
        raise Rejected(422, "invalid_event", f"{where}CloudEvents specversion must be '1.0'")
    for attribute in ("id", "source"):
        value = item.get(attribute)
        if not isinstance(value, str) or not value:
            raise Rejected(422, "invalid_event", f"{where}CloudEvents {attribute} is required")
    data = item.get("data")
    attributes = {k: v for k, v in item.items() if k not in ("data", "data_base64")}
    fields = {**(data if isinstance(data, dict) else {}), "data": data, "ce": attributes}
    fields["type"] = kind
    if isinstance(item.get("subject"), str):
        fields["subject"] = item["subject"]
    return Incoming(kind, fields, text, (item["source"], item["id"]))


def _type(value: Any, where: str, limits: Limits) -> str:
    if not isinstance(value, str) or not value:
        raise Rejected(422, "invalid_event", f"{where}`type` is required (a non-empty string)")
    if len(value) > MAX_TYPE or _CONTROL.search(value):
        raise Rejected(
            422, "invalid_event", f"{where}`type` must be ≤{MAX_TYPE} printable characters"
        )
    accepted = limits.accept_types
    if accepted and not any(match_name(p, value) is not None for p in accepted):
        raise Rejected(422, "unknown_type", f"{where}type {value!r} is not accepted here")
    return value


def _check_shape(item: Mapping[str, Any], where: str, limits: Limits) -> None:
    """At most ``max_fields`` keys and list items in all, nested at most ``max_depth`` deep."""
    count = 0
    stack: list[tuple[Any, int]] = [(item, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limits.max_depth:
            raise Rejected(422, "too_deep", f"{where}nested deeper than {limits.max_depth} levels")
        children = value.values() if isinstance(value, dict) else value
        count += len(value)
        if count > limits.max_fields:
            raise Rejected(422, "too_many_fields", f"{where}more than {limits.max_fields} fields")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
