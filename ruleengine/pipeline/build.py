"""Build the pipeline's parts from configuration: routes (sender + policy) and sources, at start
and for what a reload plan adds or replaces."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruleengine.config import Config
from ruleengine.dispatch import Route
from ruleengine.metrics import Metrics
from ruleengine.pipeline.reload import ReloadPlan
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext, make_sender
from ruleengine.sources.base import Source, SourceContext
from ruleengine.sources.registry import make_source
from ruleengine.state import Store
from ruleengine.state.overflow import Limit


def file_hash(path: Path) -> str | None:
    """Short content hash of the rules file: its 'config version' in status and logs."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def source_specs(config: Config) -> dict[str, dict[str, Any]]:
    """What each source watches, resolved, for ``status`` (no secrets: paths only)."""
    specs: dict[str, dict[str, Any]] = {}
    for name, settings in config.model.sources.items():
        if settings.type == "logfile":
            specs[name] = {
                "type": "logfile",
                "paths": [str(config.resolve(p)) for p in settings.paths],
            }
        elif settings.type == "http":
            specs[name] = {"type": "http", "address": f"{settings.address}:{settings.port}"}
        elif settings.type == "journal":
            where = [settings.directory] if settings.directory is not None else settings.files
            specs[name] = {"type": "journal", "paths": [str(config.resolve(p)) for p in where]}
        else:
            directory = str(config.resolve(settings.directory))
            archive = settings.archive_dir
            specs[name] = {
                "type": settings.type,
                "directory": directory,
                # status checks processed/ and failed/ as the daemon would, for its user
                "archive_dir": directory if archive is None else str(config.resolve(archive)),
                "uid": os.geteuid(),
            }
    return specs


def make_route(
    name: str, settings: Any, redactor: Redactor, metrics: Metrics | None = None
) -> Route:
    """A destination's sender (metered when metrics are on), retry policy, pace and fallback."""
    sender = make_sender(settings, SenderContext(name=name, redactor=redactor))
    if metrics is not None:
        sender = metrics.wrap_sender(name, sender)
    return Route(
        name=name,
        sender=sender,
        policy=settings.retry,
        rate=settings.rate if settings.rate is not None else sender.default_rate,
        fallback=settings.fallback,
    )


def pending_limits(destinations: Mapping[str, Any]) -> dict[str, Limit]:
    """Each destination's queue limit, as the state package applies it."""
    return {
        name: Limit(settings.pending.max_rows, settings.pending.max_bytes)
        for name, settings in destinations.items()
    }


def make_sources(config: Config, store: Store, names: list[str] | None = None) -> dict[str, Source]:
    """The named sources of ``config`` (all by default), built but not started."""
    wanted = list(config.model.sources) if names is None else names
    return {
        name: make_source(
            config.model.sources[name],
            SourceContext(name, store.positions_of(name), config.resolve),
        )
        for name in wanted
    }


def build_changes(
    plan: ReloadPlan, store: Store, redactor: Redactor, metrics: Metrics | None = None
) -> tuple[dict[str, Source], list[Route]]:
    """Everything new a reload plan needs, built before anything running is touched."""
    model = plan.config.model
    sources = make_sources(plan.config, store, plan.sources.start)
    routes = [
        make_route(name, model.destinations[name], redactor, metrics)
        for name in plan.destinations.start
    ]
    return sources, routes
