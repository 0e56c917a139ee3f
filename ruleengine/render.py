"""Sandboxed Jinja rendering of matches into notifications. Pure: no I/O, no clock reads."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ruleengine.errors import RenderError
from ruleengine.model import Event, Notification, stable_id

HOSTNAME = socket.gethostname()


def _datetime(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``{{ time | datetime }}``: format a Unix timestamp in local time."""
    return dt.datetime.fromtimestamp(float(value)).strftime(fmt)


def make_environment() -> SandboxedEnvironment:
    """The one template environment: sandboxed, strict about undefined names, no autoescape."""
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # chat text, not HTML; each sender escapes for its own format
        keep_trailing_newline=False,
    )
    env.filters["datetime"] = _datetime
    return env


def context(event: Event, rule: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: built-ins first, so fields captured from the event can override them."""
    base: dict[str, Any] = {
        "host": HOSTNAME,
        "source": event.source,
        "rule": rule,
        "time": event.time,
        "text": event.text,
    }
    base.update(event.fields)
    base.update(fields)
    return base


def render_text(
    template: jinja2.Template, variables: Mapping[str, Any], rule: str, what: str
) -> str:
    """Render one template; every failure becomes a RenderError naming the rule and key."""
    try:
        return template.render(variables)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"rule {rule!r}: {what}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"rule {rule!r}: {what}: blocked by the sandbox: {exc}") from None
    except Exception as exc:
        raise RenderError(f"rule {rule!r}: {what}: {type(exc).__name__}: {exc}") from None


def notification_id(event: Event, rule: str, destination: str) -> str:
    """Stable outbox id: the same event through the same rule to the same place is one row."""
    return stable_id(event.id, rule, destination)


def build_notifications(
    event: Event,
    *,
    rule: str,
    destinations: tuple[str, ...],
    text: str,
    title: str | None,
    color: str,
    notify: bool,
    fields: Mapping[str, Any],
) -> list[Notification]:
    safe_fields = {key: _jsonable(value) for key, value in fields.items()}
    return [
        Notification(
            id=notification_id(event, rule, destination),
            destination=destination,
            rule=rule,
            source=event.source,
            text=text,
            title=title,
            color=color,
            notify=notify,
            created=event.time,
            fields=safe_fields,
        )
        for destination in destinations
    ]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
