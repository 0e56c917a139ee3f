"""Logging to stderr (journald picks it up), text or JSON, always through the redactor."""

from __future__ import annotations

import json
import logging
import sys

from ruleengine.redact import RedactingFilter, Redactor


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:  # already redacted by RedactingFilter
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


# Libraries log request lines without a scheme ("POST /services/T0/B0/secret HTTP/1.1"), which
# URL redaction cannot recognise, and file events by the thousand: warnings only, at any level.
QUIET_LIBRARIES = ("urllib3", "requests", "watchdog", "asyncio", "charset_normalizer")


def setup_logging(level: str, fmt: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
