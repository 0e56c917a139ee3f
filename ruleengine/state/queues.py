"""Read-only queue figures per destination: ``status``, the STATUS line and ``/metrics``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from ruleengine.redact import Redactor


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    oldest_pending: float | None  # epoch seconds
    last_delivery: float | None
    dead: int


def queue_summary(conn: sqlite3.Connection) -> QueueSummary:
    """Totals over every destination, cheap enough for the daemon's periodic STATUS line."""
    row = conn.execute(
        "SELECT COALESCE(SUM(state = 'pending'), 0),"
        " MIN(CASE WHEN state = 'pending' THEN created END),"
        " MAX(CASE WHEN state = 'delivered' THEN updated END),"
        " COALESCE(SUM(state = 'dead'), 0) FROM outbox"
    ).fetchone()
    return QueueSummary(int(row[0]), row[1], row[2], int(row[3]))


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    configured: bool  # False: rows remain for a destination no longer in the rules
    pending: int
    oldest_pending_age: float | None  # seconds
    last_success: float | None  # epoch seconds
    last_error: str | None  # only when newer than last_success (else it was recovered from)
    last_error_time: float | None
    dead: int
    recovered_error: str | None = None  # the latest error a later success recovered from


def destination_status(
    conn: sqlite3.Connection, configured: Iterable[str], redactor: Redactor, now: float
) -> list[DestinationStatus]:
    names = list(configured)
    stats: dict[str, tuple[int, float | None, float | None, int]] = {}
    for name, pending, oldest, success, dead in conn.execute(
        "SELECT destination, COALESCE(SUM(state = 'pending'), 0),"
        " MIN(CASE WHEN state = 'pending' THEN created END),"
        " MAX(CASE WHEN state = 'delivered' THEN updated END),"
        " COALESCE(SUM(state = 'dead'), 0) FROM outbox GROUP BY destination"
    ):
        stats[str(name)] = (int(pending), oldest, success, int(dead))
    out = []
    for name in [*names, *sorted(set(stats) - set(names))]:
        pending, oldest, success, dead = stats.get(name, (0, None, None, 0))
        # A delivered row's error was recovered from (its time is that of the delivery), but
        # a warning is about the delivery itself.
        error = conn.execute(
            "SELECT last_error, updated, state = 'delivered' AND last_error NOT LIKE 'warning:%'"
            " FROM outbox WHERE destination = ? AND last_error IS NOT NULL"
            " ORDER BY updated DESC LIMIT 1",
            (name,),
        ).fetchone()
        recovered = None
        if error is not None and (
            error[2] or (success is not None and error[1] < success and error[0][:8] != "warning:")
        ):
            recovered, error = redactor(str(error[0])), None
        out.append(
            DestinationStatus(
                name=name,
                configured=name in names,
                pending=pending,
                oldest_pending_age=None if oldest is None else max(now - oldest, 0.0),
                last_success=success,
                last_error=None if error is None else redactor(str(error[0])),
                last_error_time=None if error is None else error[1],
                dead=dead,
                recovered_error=recovered,
            )
        )
    return out
