"""The registry of source types: one line per type, each type a package under ``sources``."""

from __future__ import annotations

from typing import Any

from ruleengine.sources.base import Source, SourceContext, SourceFactory
from ruleengine.sources.http.source import HttpSource
from ruleengine.sources.journal.source import JournalSource
from ruleengine.sources.logfile.source import LogfileSource
from ruleengine.sources.markers.source import MarkersSource

REGISTRY: dict[str, SourceFactory] = {
    "logfile": LogfileSource,
    "markers": MarkersSource,
    "http": HttpSource,
    "journal": JournalSource,
}


def make_source(settings: Any, context: SourceContext) -> Source:
    return REGISTRY[settings.type](settings, context)
