"""A journal entry (as parsed from the export format) → an ``Event``. Pure.

Templates see ``message``, ``unit``, ``priority`` (a number) and ``priority_name``, ``pid``,
``hostname``, ``identifier``, ``timestamp`` (the entry's realtime, seconds) and every field under
``journal`` (``journal._TRANSPORT`` …). Values are decoded as UTF-8 with replacement characters,
NULs dropped; a field sent more than once becomes a list.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ruleengine.model import Event, stable_id
from ruleengine.sources.journal.export import Entry

PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
CUT = " [truncated]"


def text(value: bytes) -> str:
    decoded = value.decode("utf-8", "replace")
    return decoded.replace("\x00", "") if "\x00" in decoded else decoded


def cursor_of(entry: Entry) -> str | None:
    values = entry.get("__CURSOR")
    return text(values[-1]) if values else None


def to_event(source: str, entry: Entry, truncated: Collection[str] = ()) -> Event | None:
    """The event for one entry; None for an entry without a cursor (nothing to resume from)."""
    cursor = cursor_of(entry)
    if cursor is None:
        return None
    journal: dict[str, Any] = {
        name: text(values[0]) if len(values) == 1 else [text(v) for v in values]
        for name, values in entry.items()
        if not name.startswith("__")  # addressing (cursor, timestamps), not content
    }
    message = journal.get("MESSAGE", "")
    if not isinstance(message, str):
        message = message[-1]
    if "MESSAGE" in truncated:
        message += CUT
    realtime = _number(entry.get("__REALTIME_TIMESTAMP"))
    timestamp = realtime / 1e6 if realtime is not None else 0.0
    priority = _number(entry.get("PRIORITY"))
    if priority is not None and not 0 <= priority < len(PRIORITY_NAMES):
        priority = None
    fields: dict[str, Any] = {
        "message": message,
        "unit": _unit(journal),
        "priority": priority,
        "priority_name": PRIORITY_NAMES[priority] if priority is not None else "",
        "pid": _number(entry.get("_PID")),
        "hostname": _first(journal, "_HOSTNAME"),
        "identifier": _first(journal, "SYSLOG_IDENTIFIER", "_COMM"),
        "timestamp": timestamp,
        "journal": journal,
    }
    if truncated:
        fields["truncated"] = sorted(truncated)
    return Event(stable_id("journal", source, cursor), source, "line", message, timestamp, fields)


def sample(source: str, message: str, now: float, hostname: str) -> Event:
    """The event of an entry holding only ``message`` (``test --line`` on journal sources)."""
    fields: dict[str, Any] = {
        "message": message,
        "unit": "",
        "priority": 6,
        "priority_name": "info",
        "pid": None,
        "hostname": hostname,
        "identifier": "",
        "timestamp": now,
        "journal": {"MESSAGE": message},
    }
    return Event(stable_id("test", source, message), source, "line", message, now, fields)


def _unit(journal: dict[str, Any]) -> str:
    """The unit an entry is about: for systemd's own entries ("x.service: Failed …") the
    UNIT it names, trusted only from PID 1; otherwise the unit that logged it."""
    if journal.get("_PID") == "1" and journal.get("UNIT"):
        return _first(journal, "UNIT")
    return _first(journal, "_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT")


def _first(journal: dict[str, Any], *names: str) -> str:
    for name in names:
        value = journal.get(name)
        if value:
            return value if isinstance(value, str) else str(value[-1])
    return ""


def _number(values: list[bytes] | None) -> int | None:
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        return None
