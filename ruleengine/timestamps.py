"""The time a log line says it was written: ISO 8601 or a syslog prefix. Pure; for dry runs that
replay a log on its own clock (``test --file --simulate``)."""

from __future__ import annotations

import datetime as dt
import re

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\s?(Z|[+-]\d{2}:?\d{2})?")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HEAD = 64  # a timestamp is near the start of a line


def line_time(text: str, now: float) -> float | None:
    """Epoch seconds of the line's timestamp (local time when it has no offset), or None.

    A syslog stamp has no year: the one that puts it at most a day after ``now``.
    """
    head = text[:_HEAD]
    found = _ISO.search(head)
    if found is not None:
        date, clock, zone = found.groups()
        stamp = f"{date}T{clock.replace(',', '.')}{zone or ''}".replace("Z", "+00:00")
        try:
            when = dt.datetime.fromisoformat(stamp)
        except ValueError:
            return None
        return (when if when.tzinfo is not None else when.astimezone()).timestamp()
    found = _SYSLOG.match(head)
    if found is None or found.group(1) not in _MONTHS:
        return None
    month = _MONTHS.index(found.group(1)) + 1
    day, hour, minute, second = (int(g) for g in found.groups()[1:])
    year = dt.datetime.fromtimestamp(now).year
    try:
        when = dt.datetime(year, month, day, hour, minute, second).astimezone()
        if when.timestamp() > now + 86400:
            when = when.replace(year=year - 1)
    except ValueError:
        return None
    return when.timestamp()
