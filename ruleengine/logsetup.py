"""Logging to stderr (journald picks it up), text or JSON, always through the redactor."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import IO

from ruleengine.escape import visible
from ruleengine.redact import RedactingFilter, Redactor


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": visible(record.getMessage()),
        }
        if record.exc_text:  # already redacted by RedactingFilter
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


# syslog priorities: journald reads a "<N>" line prefix as the entry's level (journalctl -p).
_PRIORITY = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}


class _TextFormatter(logging.Formatter):
    """One line per record: text from outside cannot start a line of its own (see ``escape``)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = visible(record.message)
        return super().formatMessage(record)


class _JournalFormatter(_TextFormatter):
    """Text for journald: the level as a ``<N>`` prefix, no timestamp (the journal adds one)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelname, 6)}>{super().format(record)}"


def journal_stream(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """True when ``stream`` is connected to journald (systemd sets JOURNAL_STREAM=dev:ino)."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return environ.get("JOURNAL_STREAM") == f"{info.st_dev}:{info.st_ino}"


# Libraries log request lines without a scheme ("POST /services/T0/B0/secret HTTP/1.1"), which
# URL redaction cannot recognise, and file events by the thousand: warnings only, at any level.
QUIET_LIBRARIES = ("urllib3", "requests", "watchdog", "asyncio", "charset_normalizer")


class _StoppingWatchNoise(logging.Filter):
    """watchdog logs an ERROR when an inotify emitter reads one last event while it is being
    stopped (a watch removed on reload, or at shutdown): a race inside watchdog that loses
    nothing a stopping watch still needed, and an ERROR line in the journal of a clean stop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("InotifyEmitter.queue_events() called when the")


def setup_logging(level: str, fmt: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    elif journal_stream(sys.stderr, os.environ):
        handler.setFormatter(_JournalFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    inotify = logging.getLogger("watchdog.observers.inotify")
    if not any(isinstance(f, _StoppingWatchNoise) for f in inotify.filters):
        inotify.addFilter(_StoppingWatchNoise())
