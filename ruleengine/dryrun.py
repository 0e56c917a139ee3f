"""Dry runs (``ruleengine.api`` re-exports them): load and compile a rules file, make events as
each source would, and show the notifications they produce with their exact payloads. Pure: no
state is read, nothing is sent; the running pipeline is not even imported (a dry run starts
faster)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruleengine.config import Config, load_config
from ruleengine.model import Event, Notification, stable_id
from ruleengine.redact import Redactor
from ruleengine.render import render_fired
from ruleengine.rules.compiler import compile_model
from ruleengine.rules.engine import RuleSet
from ruleengine.senders import Sender, SenderContext, make_sender
from ruleengine.sources.http.parse import Limits, make_event, parse_events
from ruleengine.sources.markers.event import TEXT_LIMIT, marker_fields
from ruleengine.sources.markers.payload import decode, parse_payload


@dataclass(frozen=True)
class Rules:
    """A validated rules file and its compiled rules (what ``check`` and ``run`` compile)."""

    config: Config
    rules: RuleSet
    redactor: Redactor

    def sources(self, kind: str) -> list[str]:
        """Names of the sources of one type (``logfile``, ``markers``), in file order."""
        return [n for n, s in self.config.model.sources.items() if s.type == kind]

    def senders(self) -> dict[str, Sender]:
        """One sender per destination, for previews; the caller closes them."""
        return {
            name: make_sender(settings, SenderContext(name, self.redactor))
            for name, settings in self.config.model.destinations.items()
        }


def load(path: str | Path, *, lazy_secrets: bool = False) -> Rules:
    """Load, validate and compile a rules file; raises ConfigError with every problem found.

    ``lazy_secrets``: see ``load_config`` (for dry runs, which send nothing).
    """
    config = load_config(path, lazy_secrets=lazy_secrets)
    model = config.model
    return Rules(config, compile_model(model), Redactor(config.secrets))


@dataclass(frozen=True)
class Output:
    """One notification and the exact payload its destination's sender would send."""

    notification: Notification
    payload: dict[str, Any]


def line_events(line: str, sources: Sequence[str]) -> list[Event]:
    """A log line as each named logfile source would emit it."""
    now = time.time()
    return [
        Event(stable_id("test", n, line), n, "line", line, now, {"line": line}) for n in sources
    ]


def marker_events(path: Path, sources: Sequence[str], content: bytes | None = None) -> list[Event]:
    """A marker as each named markers source would emit it, with the daemon's fields (``data``,
    ``relpath``…); raises OSError or BadMarker.

    ``content`` stands for the file's bytes: then ``path`` is only a name (``b""`` is a marker
    with an empty payload), so a rule can be tried before any script writes the file.
    """
    now = time.time()
    if content is None:
        raw, mtime = path.read_bytes(), path.stat().st_mtime
    else:
        raw, mtime = content, now
    text = decode(raw)
    fmt, payload = parse_payload(text, path.name)
    fields = marker_fields(
        payload, fmt=fmt, path=path, relpath=path.name, size=len(raw), mtime=mtime
    )
    return [
        Event(stable_id("test", n, raw), n, "marker", text[:TEXT_LIMIT], now, fields)
        for n in sources
    ]


def http_events(
    body: bytes,
    sources: Sequence[str],
    content_type: str = "application/json",
    settings: Mapping[str, Any] | None = None,
) -> list[Event]:
    """A request body as each named http source would emit it (client ``test``); raises
    ``Rejected`` (``status``, ``body``) as the intake would refuse it, by each source's
    ``settings`` (``accept_types``, limits) where given, else by the default limits."""
    now = time.time()
    events = []
    for n in sources:
        limits = Limits.of(settings[n]) if settings is not None else Limits()
        items = parse_events(body, content_type, limits)
        events += [
            make_event(n, item, "test", stable_id("test", n, body, index), now)
            for index, item in enumerate(items)
        ]
    return events


def evaluate(rules: Rules, events: Sequence[Event]) -> list[Output]:
    """Every notification the events produce, each with its destination's payload."""
    notifications = [note for fired in rules.rules.fire(events) for note in render_fired(fired)]
    senders = rules.senders()
    try:
        return [Output(n, senders[n.destination].preview(n)) for n in notifications]
    finally:
        for sender in senders.values():
            sender.close()


def evaluate_line(rules: Rules, line: str, source: str | None = None) -> list[Output]:
    """``evaluate`` for one log line, fed to ``source`` or to every logfile source."""
    return evaluate(rules, line_events(line, [source] if source else rules.sources("logfile")))
