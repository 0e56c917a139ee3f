"""The outbox: one row per (notification, destination), FIFO per destination.

A row is ``pending`` until its worker marks it ``delivered`` or ``dead``. Notifications are
enqueued by ``Store.commit`` together with the positions that produced them, within each
destination's ``overflow.Limit``. A row stores its notification compactly (``record.encode``): the
id and destination only in their columns, the rest as JSON, compressed when long (a log line in
the text and again in the fields then costs about once).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruleengine.model import Notification, Original
from ruleengine.state import bulk, message_refs, overflow
from ruleengine.state import history as handled
from ruleengine.state.db import Database
from ruleengine.state.dead_letters import DeadLetters
from ruleengine.state.journal import DeliveryJournal, leftovers
from ruleengine.state.overflow import Limit, Overflow
from ruleengine.state.record import decode_record, encode

_INSERT = "INSERT OR IGNORE INTO outbox (id, destination, record, size, created, updated) VALUES"


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    notification: Notification
    attempts: int
    next_attempt: float
    enqueued: float
    last_error: str | None


Delivery = tuple[OutboxRow, str | None, str | None]  # a delivered row, its warning and message id
Known = Callable[[str], Notification | None]  # the notification of a row id, if held in memory


def enqueue(
    conn: sqlite3.Connection,
    notifications: Iterable[Notification],
    now: float,
    limits: Mapping[str, Limit] | None = None,
) -> int:
    """Insert rows inside the caller's transaction; returns how many were new.

    A notification whose id is already known (the same event re-read after a crash) is
    ignored, which is what keeps duplicates rare. A destination with a full queue (``limits``)
    gets none: they are counted in its overflow episode instead.
    """
    by_destination: dict[str, list[tuple[Any, ...]]] = {}
    for n in notifications:
        blob, size = encode(n)
        by_destination.setdefault(n.destination, []).append(
            (n.id, n.destination, blob, size, now, now)
        )
    rows: list[tuple[Any, ...]] = []
    for destination, candidates in by_destination.items():
        limit = (limits or {}).get(destination)
        fits = len(candidates)
        if limit is not None:
            sizes = [row[3] for row in candidates]
            fits = overflow.admit(conn, destination, sizes, limit, now)
        rows.extend(candidates[:fits])
    if not rows:
        return 0
    return bulk.insert(conn, _INSERT, rows)  # ignored (known) ids are not counted


class Outbox(DeadLetters):
    """The delivery side and the dead-letter commands; safe beside the daemon (WAL)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        #: Queue limits by destination (the daemon sets them from the rules; none: unbounded).
        self.limits: dict[str, Limit] = {}

    def next_pending(self, destination: str) -> OutboxRow | None:
        """The oldest pending row of a destination (FIFO), or None."""
        rows = self.pending(destination, 1)
        return rows[0] if rows else None

    def pending(self, destination: str, limit: int, known: Known | None = None) -> list[OutboxRow]:
        """The oldest pending rows of a destination, at most ``limit``, oldest first.

        ``known`` gives the notification of a row id where the caller holds it (the engine
        handed it over as it committed it): that row is not decoded.
        """
        return _rows(
            self._db.conn(),
            "destination = ? AND state = 'pending' ORDER BY seq LIMIT ?",
            [(destination, limit)],
            known,
        )

    def settle_delivered(self, delivered: Sequence[Delivery]) -> None:
        """Mark rows delivered, (row, warning, ref) each, with their history, in one
        transaction. The history is written from the rows the worker holds: on a catch-up
        this runs once per batch. A ``warning`` (a partial success) is kept as the row's last
        error, so ``status`` shows it like any other problem of the destination; ``ref``, the
        service's id for the message, is kept for an alert a resolved notice may edit."""
        if delivered:
            with self._db.transaction(durable=False) as conn:
                _settle(conn, delivered, time.time())

    def originals(self, notification: Notification) -> list[Original]:
        """The alert messages a resolved notice closes whose service ids are known."""
        conn = self._db.conn()
        return message_refs.originals(conn, notification.resolves, notification.destination)

    def prune_refs(self, older_than: float) -> int:
        """Forget alert message ids kept before ``older_than`` (epoch seconds)."""
        with self._db.transaction(durable=False) as conn:
            return message_refs.prune(conn, older_than)

    def journal(self) -> DeliveryJournal:
        """A fresh journal for a delivery worker (see ``state.journal``)."""
        return DeliveryJournal(self._db.path.parent)

    def recover_deliveries(self) -> int:
        """Fold in what killed workers journaled but did not fold; call before workers start.
        Returns how many rows were still pending (and are now delivered)."""
        paths, found = leftovers(self._db.path.parent)
        recovered = 0
        if found:
            with self._db.transaction(durable=False) as conn:
                delivered = [
                    (row, *found[row.seq])
                    for row in _rows(conn, "seq = ? AND state = 'pending'", [(s,) for s in found])
                ]
                _settle(conn, delivered, time.time())
                recovered = len(delivered)
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return recovered

    def mark_retry(self, seq: int, next_attempt: float, error: str) -> None:
        with self._db.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,"
                " updated = ? WHERE seq = ?",
                (next_attempt, error, time.time(), seq),
            )

    def mark_dead(self, seq: int, error: str, fallback: Notification | None = None) -> None:
        """Dead-letter a row and, in the same transaction, enqueue its fallback notice."""
        now = time.time()
        with self._db.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?,"
                " updated = ? WHERE seq = ?",
                (error, now, seq),
            )
            handled.add(conn, (seq,), "dead", now)
            if fallback is not None:
                enqueue(conn, (fallback,), now, self.limits)

    def end_overflow(
        self, destination: str, summary: Callable[[Overflow, Limit], Notification]
    ) -> Overflow | None:
        """After a delivery: if ``destination`` dropped notifications and its queue has room
        again, queue ``summary`` of the episode and end it (one transaction)."""
        limit = self.limits.get(destination)
        conn = self._db.conn()
        if limit is None or overflow.episode(conn, destination) is None:
            return None
        with self._db.transaction() as conn:
            found = overflow.episode(conn, destination)
            if found is None or not overflow.has_room(conn, destination, limit):
                return None
            enqueue(conn, (summary(found, limit),), time.time())
            overflow.end(conn, destination)
        return found

    def counts(self) -> dict[str, dict[str, int]]:
        """{destination: {state: rows}} for status output and tests."""
        out: dict[str, dict[str, int]] = {}
        for destination, state, count in self._db.conn().execute(
            "SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state"
        ):
            out.setdefault(destination, {})[state] = count
        return out

    def prune_delivered(self, older_than: float) -> int:
        """Forget delivered rows older than ``older_than`` (epoch seconds)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND updated < ?", (older_than,)
            )
        return cursor.rowcount

    def history(self, query: handled.Query) -> list[handled.Entry]:
        """Handled notifications, oldest first (``ruleengine history``)."""
        return handled.select(self._db.conn(), query)

    def prune_history(self, older_than: float, max_rows: int) -> int:
        """Keep the history within its retention (by age, by rows); returns rows removed."""
        with self._db.transaction(durable=False) as conn:
            return handled.prune(conn, older_than, max_rows)


def _rows(
    conn: sqlite3.Connection,
    where: str,
    params: Iterable[tuple[Any, ...]],
    known: Known | None = None,
) -> list[OutboxRow]:
    """Rows selected by a fixed ``where`` clause, once per parameter tuple. With ``known``, a
    row's stored record is read (and decoded) only when ``known`` does not hold it."""
    columns = "seq, attempts, next_attempt, created, last_error, id, destination"
    if known is None:
        columns += ", record"
    sql = f"SELECT {columns} FROM outbox WHERE {where}"  # noqa: S608 - fixed clauses, bound values
    found = []
    for values in params:
        found += conn.execute(sql, values).fetchall()
    held = {row[0]: known(row[5]) for row in found} if known is not None else {}
    missing = [seq for seq, note in held.items() if note is None]
    records = {row[0]: row[7] for row in found} if known is None else {}
    for marks, seqs in bulk.in_groups(missing):
        records.update(
            conn.execute(f"SELECT seq, record FROM outbox WHERE seq IN ({marks})", seqs)  # noqa: S608 - placeholders only
        )
    rows = []
    for seq, attempts, next_attempt, created, last_error, id_, destination, *_ in found:
        note = held.get(seq)
        if note is None:
            if seq not in records:
                continue  # removed between the two reads
            note = Notification.from_record(decode_record(records[seq], id_, destination))
        rows.append(OutboxRow(seq, note, attempts, next_attempt, created, last_error))
    return rows


def _settle(
    conn: sqlite3.Connection,
    delivered: Iterable[Delivery],
    now: float,
) -> None:
    """Mark (row, warning, ref) delivered inside the caller's transaction: the history, and
    the message ids a resolved notice may edit (a resolved notice forgets its alert's)."""
    plain, warned_rows, settled = [], [], []
    for row, warning, ref in delivered:
        note = row.notification
        warned = warning and f"warning: {warning}"
        if warned:
            warned_rows.append((now, warned, row.seq))
        else:
            plain.append(row.seq)
        settled.append((note, row.attempts + 1, warned or row.last_error))
        if ref is not None and note.resolvable:
            message_refs.keep(conn, note, ref, now)
        if note.resolves:
            message_refs.forget(conn, note.resolves)
    for marks, seqs in bulk.in_groups(plain, reserved=1):
        conn.execute(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, updated = ?"  # noqa: S608 - placeholders only
            f" WHERE state = 'pending' AND seq IN ({marks})",
            [now, *seqs],
        )
    conn.executemany(  # a partial success keeps its warning as the row's last error
        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, updated = ?,"
        " last_error = ? WHERE seq = ? AND state = 'pending'",
        warned_rows,
    )
    handled.add_settled(conn, settled, "delivered", now)
