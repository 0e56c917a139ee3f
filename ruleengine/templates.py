"""Templates: the one sandboxed Jinja environment, its filters, and the variables a rule sees.

Used by ``rules/`` (compiling templates, ``when``, throttle keys) and by the render step; it
renders single templates and knows nothing about notifications.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ruleengine.colors import PALETTE, is_color
from ruleengine.errors import RenderError
from ruleengine.model import Event

HOSTNAME = socket.gethostname()
log = logging.getLogger(__name__)


def _datetime(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``{{ time | datetime }}``: format a Unix timestamp in local time."""
    return dt.datetime.fromtimestamp(float(value)).strftime(fmt)


def _isotime(value: Any) -> str:
    """``{{ time | isotime }}``: ISO 8601 in UTC, unambiguous across hosts."""
    return dt.datetime.fromtimestamp(float(value), dt.UTC).isoformat(timespec="seconds")


def _duration(value: Any) -> str:
    """``{{ seconds | duration }}``: 3725 → ``1h 2m 5s``."""
    seconds = int(float(value))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return " ".join(parts)


def _basename(value: Any) -> str:
    """``{{ path | basename }}``: the last component of a / or \\ path."""
    return str(value).replace("\\", "/").rsplit("/", 1)[-1]


@jinja2.pass_eval_context
def _join(context: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    """``join`` that leaves a string whole: a marker field may hold one value or a list
    (``emit … updates=KB1`` vs ``updates:='["KB1","KB2"]'``), and "K, B, 1" helps nobody."""
    if isinstance(value, str):
        return value
    return str(jinja2.filters.do_join(context, value, d, attribute))


def make_environment() -> SandboxedEnvironment:
    """The one template environment: sandboxed, strict about undefined names, no autoescape."""
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # chat text, not HTML; each sender escapes for its own format
        keep_trailing_newline=False,
    )
    env.filters.update(
        datetime=_datetime, isotime=_isotime, duration=_duration, basename=_basename, join=_join
    )
    return env


def context(event: Event, rule: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: built-ins first, so fields captured from the event can override them."""
    base: dict[str, Any] = {
        "host": HOSTNAME,
        "source": event.source,
        "rule": rule,
        "time": event.time,
        "text": event.text,
        "suppressed": 0,
    }
    base.update(event.fields)
    base.update(fields)
    return base


def render_color(
    template: jinja2.Template, variables: Mapping[str, Any], rule: str, fallback: str
) -> str:
    """A colour template's value when it is a palette name or #rrggbb, else ``fallback``."""
    try:
        value = render_text(template, variables, rule, "color").strip()
    except RenderError as exc:
        log.warning("%s; using %s", exc, fallback)
        return fallback
    if is_color(value):
        return value
    log.warning(
        "rule %s: color rendered to %r, not one of %s or #rrggbb; using %s",
        rule,
        value[:40],
        ", ".join(PALETTE),
        fallback,
    )
    return fallback


@contextmanager
def rendering(rule: str, what: str) -> Iterator[None]:
    """Every failure inside becomes a RenderError naming the rule and the template's key."""
    try:
        yield
    except jinja2.UndefinedError as exc:
        reason = str(exc.message)
    except jinja2.exceptions.SecurityError as exc:
        reason = f"blocked by the sandbox: {exc}"
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        return
    raise RenderError(f"rule {rule}: {what}: {reason}", what, reason)


def render_text(
    template: jinja2.Template, variables: Mapping[str, Any], rule: str, what: str
) -> str:
    """Render one template; every failure becomes a RenderError naming the rule and key."""
    with rendering(rule, what):
        return template.render(variables)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    """A JSON-able copy of a template variable (unknown objects become their ``str``)."""
    if type(value) in _SCALARS or value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)
