"""Dead letters (``ruleengine dead``): rows a destination gave up on, listed, queued again or
purged. Part of the outbox (``Outbox`` inherits it); its rows are the outbox's."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ruleengine.model import Notification
from ruleengine.state.db import Database
from ruleengine.state.record import decode_record


@dataclass(frozen=True)
class DeadLetter:
    """A notification that could not be delivered, as listed by ``ruleengine dead``."""

    id: str
    destination: str
    notification: Notification
    attempts: int
    enqueued: float
    dead_since: float
    last_error: str | None


class DeadLetters:
    """The dead-letter commands over the outbox table."""

    _db: Database

    def dead_letters(self, destination: str | None = None) -> list[DeadLetter]:
        """Dead-lettered rows, oldest first, optionally of one destination."""
        query = (
            "SELECT id, destination, record, attempts, created, updated, last_error FROM outbox"
            " WHERE state = 'dead'"
        )
        params: tuple[str, ...] = ()
        if destination is not None:
            query += " AND destination = ?"
            params = (destination,)
        rows = self._db.conn().execute(query + " ORDER BY seq", params).fetchall()
        return [
            DeadLetter(
                id=row[0],
                destination=row[1],
                notification=Notification.from_record(decode_record(row[2], row[0], row[1])),
                attempts=row[3],
                enqueued=row[4],
                dead_since=row[5],
                last_error=row[6],
            )
            for row in rows
        ]

    def retry_dead(self, ids: Sequence[str] | None = None, destination: str | None = None) -> int:
        """Queue dead letters again with a fresh retry budget; returns how many.

        ``None`` selectors match everything. The row keeps its place (seq) in the FIFO; its
        attempts, next attempt and enqueue time (the ``max_age`` clock) start over.
        """
        where, params = _dead_selection(ids, destination, None)
        now = time.time()
        with self._db.transaction() as conn:
            # Only fixed clauses are joined into the SQL; every value is a bound parameter.
            reset = "state = 'pending', attempts = 0, next_attempt = 0, created = ?, updated = ?"
            sql = f"UPDATE outbox SET {reset} WHERE {where}"  # noqa: S608
            cursor = conn.execute(sql, (now, now, *params))
        return cursor.rowcount

    def purge_dead(
        self,
        ids: Sequence[str] | None = None,
        destination: str | None = None,
        older_than: float | None = None,
    ) -> int:
        """Delete dead letters (dead before ``older_than``, epoch seconds); returns how many."""
        where, params = _dead_selection(ids, destination, older_than)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM outbox WHERE {where}",  # noqa: S608 - fixed clauses, bound values
                params,
            )
        return cursor.rowcount


def _dead_selection(
    ids: Sequence[str] | None, destination: str | None, older_than: float | None
) -> tuple[str, tuple[object, ...]]:
    """WHERE clause and parameters selecting dead rows; values are always bound parameters."""
    clauses: list[str] = ["state = 'dead'"]
    params: list[object] = []
    if ids is not None:
        clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
        params.extend(ids)
    if destination is not None:
        clauses.append("destination = ?")
        params.append(destination)
    if older_than is not None:
        clauses.append("updated < ?")
        params.append(older_than)
    return " AND ".join(clauses), tuple(params)
