"""The registry of source types: one line per type, each type a package under ``sources``.

A type's package is imported when a rules file uses it, so a daemon that only tails logs never
loads the HTTP server (uvicorn) or the journal reader.
"""

from __future__ import annotations

import importlib
from typing import Any

from ruleengine.sources.base import Source, SourceContext, SourceFactory

#: Source type -> (module under ``ruleengine.sources``, its Source class).
REGISTRY: dict[str, tuple[str, str]] = {
    "logfile": ("logfile.source", "LogfileSource"),
    "markers": ("markers.source", "MarkersSource"),
    "http": ("http.source", "HttpSource"),
    "journal": ("journal.source", "JournalSource"),
}


def make_source(settings: Any, context: SourceContext) -> Source:
    module, name = REGISTRY[settings.type]
    factory: SourceFactory = getattr(importlib.import_module(f"ruleengine.sources.{module}"), name)
    return factory(settings, context)
