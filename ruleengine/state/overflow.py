"""Bounded queues: a destination that is down for days does not fill the disk.

Each destination may hold at most ``Limit`` pending rows and bytes while it is failing (its
oldest pending row has been tried and not delivered). Past it, new notifications for it are
counted in ``overflow`` instead of stored (one warning per episode); when it has recovered and
its queue has room again, the worker queues one summary and the episode ends. A destination
that works is never capped: a long backlog (a catch-up, a burst) is delivered at its pace.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """The most a destination's queue holds: rows, and bytes of stored records."""

    max_rows: int
    max_bytes: int


@dataclass(frozen=True)
class Overflow:
    """An episode: ``dropped`` notifications not stored, from ``since`` to ``last``."""

    destination: str
    dropped: int
    since: float
    last: float


def usage(conn: sqlite3.Connection, destination: str) -> tuple[int, int]:
    """Pending rows and their stored bytes."""
    rows, size = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox"
        " WHERE destination = ? AND state = 'pending'",
        (destination,),
    ).fetchone()
    return int(rows), int(size)


def failing(conn: sqlite3.Connection, destination: str) -> bool:
    """Has the head of the destination's queue been tried without success?"""
    head = conn.execute(
        "SELECT attempts FROM outbox WHERE destination = ? AND state = 'pending'"
        " ORDER BY seq LIMIT 1",
        (destination,),
    ).fetchone()
    return head is not None and int(head[0]) > 0


def has_room(conn: sqlite3.Connection, destination: str, limit: Limit) -> bool:
    rows, size = usage(conn, destination)
    return rows < limit.max_rows and size < limit.max_bytes


def admit(
    conn: sqlite3.Connection, destination: str, sizes: Sequence[int], limit: Limit, now: float
) -> int:
    """How many of ``sizes`` (in order) fit the queue; the rest are counted as dropped. All
    of them while the destination is not failing."""
    if not failing(conn, destination):
        return len(sizes)
    rows, total = usage(conn, destination)
    fits = 0
    for size in sizes:
        if rows + 1 > limit.max_rows or total + size > limit.max_bytes:
            break
        rows, total, fits = rows + 1, total + size, fits + 1
    dropped = len(sizes) - fits
    if dropped:
        _count(conn, destination, dropped, now, limit)
    return fits


def _count(
    conn: sqlite3.Connection, destination: str, dropped: int, now: float, limit: Limit
) -> None:
    new = conn.execute(
        "INSERT OR IGNORE INTO overflow (destination, dropped, since, last) VALUES (?, ?, ?, ?)",
        (destination, dropped, now, now),
    ).rowcount
    if new:
        log.warning(
            "the queue of %s is full (%d notifications or %d bytes pending): new notifications"
            " for it are counted, not stored, until it recovers",
            destination,
            limit.max_rows,
            limit.max_bytes,
        )
        return
    conn.execute(
        "UPDATE overflow SET dropped = dropped + ?, last = ? WHERE destination = ?",
        (dropped, now, destination),
    )


def episode(conn: sqlite3.Connection, destination: str) -> Overflow | None:
    row = conn.execute(
        "SELECT destination, dropped, since, last FROM overflow WHERE destination = ?",
        (destination,),
    ).fetchone()
    return None if row is None else Overflow(str(row[0]), int(row[1]), row[2], row[3])


def episodes(conn: sqlite3.Connection) -> dict[str, Overflow]:
    """Every open episode, for ``status`` and the metrics."""
    return {
        str(row[0]): Overflow(str(row[0]), int(row[1]), row[2], row[3])
        for row in conn.execute("SELECT destination, dropped, since, last FROM overflow")
    }


def end(conn: sqlite3.Connection, destination: str) -> None:
    conn.execute("DELETE FROM overflow WHERE destination = ?", (destination,))
