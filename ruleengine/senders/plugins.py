"""Third-party senders: packages register them under the ``ruleengine.senders`` entry-point group.

An entry point's name is the destination ``type``; its object is a ``SenderPlugin``: the
settings model (a pydantic model with ``type: Literal["<name>"]``, usually an
``HttpDestination`` subclass with credentials typed ``Secret``) and the sender factory
(usually ``web.http_sender(Service)``). ``tests/plugin_example`` is a working example.
A plugin that fails to load is skipped with a warning; it never stops ruleengine.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ruleengine.senders.builtin import SENDERS

GROUP = "ruleengine.senders"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SenderPlugin:
    """A third-party sender, registered under the entry-point group ``ruleengine.senders``.

    ``settings`` is its pydantic settings model, whose ``type: Literal[...]`` is the entry
    point's name; ``factory`` builds the sender, e.g. ``web.http_sender(Service)``.
    """

    settings: type[Any]
    factory: Callable[..., Any]  # a ``SenderFactory``


def _tag(plugin: SenderPlugin) -> object:
    field = getattr(plugin.settings, "model_fields", {}).get("type")
    args = typing.get_args(field.annotation) if field is not None else ()
    return args[0] if len(args) == 1 else None


@cache
def plugins() -> dict[str, SenderPlugin]:
    """{destination type: plugin} of the installed, loadable third-party senders."""
    found: dict[str, SenderPlugin] = {}
    for point in entry_points(group=GROUP):
        try:
            plugin = point.load()
        except Exception as exc:  # someone else's code: report it, run without it
            log.warning("sender plugin %r (%s) cannot be loaded: %s", point.name, point.value, exc)
            continue
        if not isinstance(plugin, SenderPlugin):
            log.warning("sender plugin %r (%s) is not a SenderPlugin", point.name, point.value)
        elif point.name in SENDERS:
            log.warning("sender plugin %r ignored: a built-in type has that name", point.name)
        elif _tag(plugin) != point.name:
            log.warning("sender plugin %r: its settings need type: Literal[%r]", *[point.name] * 2)
        else:
            found[point.name] = plugin
    return found
