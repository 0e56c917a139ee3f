"""Templates: the one sandboxed Jinja environment, its filters, and the variables a rule sees.

Used by ``rules/`` (compiling templates, ``when``, throttle keys) and by the render step; it
renders single templates and knows nothing about notifications.

Rendering has budgets (``sandbox.BoundedSandbox``): a rule template cannot stall the daemon
or fill its memory by accident (``{{ 'a' * 10**9 }}``, nested loops over ``range``, a huge output).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ruleengine.colors import PALETTE, is_color
from ruleengine.errors import RenderError
from ruleengine.model import Event
from ruleengine.sandbox import MAX_OUTPUT, OUTPUT_CUT, BoundedSandbox, OverBudget, budgeted

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
    env = BoundedSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # chat text, not HTML; each sender escapes for its own format
        keep_trailing_newline=False,
    )
    env.add_filters(
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
    """Every failure inside becomes a RenderError naming the rule and the template's key
    (``what``); the render budgets hold inside. ``rule`` is the label logs show ("'name'
    (file:line)"); the error's ``what`` and ``reason`` say it without the file."""
    try:
        with budgeted():
            yield
    except Exception as exc:
        reason = _reason(exc)
    else:
        return
    raise RenderError(f"rule {rule}: {what}: {reason}", what, reason)


def _reason(exc: Exception) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return str(exc.message)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"blocked by the sandbox: {exc}"
    if isinstance(exc, OverBudget):
        return f"over the render budget: {exc}"
    return f"{type(exc).__name__}: {exc}"


def render_text(
    template: jinja2.Template,
    variables: Mapping[str, Any],
    rule: str,
    what: str,
) -> str:
    """Render one template; every failure becomes a RenderError naming the rule and key.
    Output past ``MAX_OUTPUT`` characters is not generated: the text is cut there, marked."""
    with rendering(rule, what):
        parts: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_OUTPUT:
                return "".join(parts)[:MAX_OUTPUT] + OUTPUT_CUT
        return "".join(parts)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    """A JSON-able copy of a template variable (unknown objects become their ``str``, and so
    do the floats JSON has no number for: ``nan``, ``inf``, ``-inf``)."""
    if type(value) in _SCALARS:
        return value if type(value) is not float or math.isfinite(value) else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | int | bool):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)
