"""The time a log line says it was written (a source's ``timestamp:`` option). Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from ruleengine.config.sources import Timestamp


def line_clock(spec: Timestamp) -> Callable[[str], float | None]:
    """A function from a line to its epoch seconds, or None when the line shows no valid time."""
    pattern = re.compile(spec.match)

    def clock(line: str) -> float | None:
        found = pattern.search(line)
        if found is None:
            return None
        named = found.groupdict().get("time")
        text = named if named is not None else (found.group(1) if pattern.groups else found[0])
        try:
            if spec.format == "epoch":
                return float(text)
            return dt.datetime.strptime(text, spec.format).timestamp()
        except (TypeError, ValueError, OverflowError):
            return None

    return clock
