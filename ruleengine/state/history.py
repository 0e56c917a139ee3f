"""The history of handled notifications: one row per (notification, destination) outcome.

Written in the transaction that settles an outbox row (``Outbox.mark_*``), so the history never
claims a delivery the outbox does not; bounded by age and by rows (``prune``), read by
``ruleengine history``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ruleengine.model import Notification
from ruleengine.state.record import decode_record

TEXT_LIMIT = 500  # characters of the message kept per row: enough to recognise it


@dataclass(frozen=True)
class Entry:
    """One handled notification, as ``ruleengine history`` shows it."""

    time: float
    id: str
    rule: str
    source: str
    event: str  # "path:offset" of a log line, the marker's name, or "" (send, digests)
    destination: str
    outcome: str  # "delivered" | "dead"
    attempts: int
    text: str
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Query:
    """Filters of ``ruleengine history``; None/empty means any."""

    rule: str | None = None
    destination: str | None = None
    since: float | None = None
    grep: str | None = None
    failed: bool = False
    limit: int = 1000


def add(conn: sqlite3.Connection, seqs: Iterable[int], outcome: str, now: float) -> None:
    """Record the outcome of settled outbox rows, inside the caller's transaction."""
    settled = []
    for seq in seqs:
        found = conn.execute(
            "SELECT record, destination, attempts, last_error, id FROM outbox WHERE seq = ?",
            (seq,),
        ).fetchone()
        if found is not None:
            record = decode_record(found[0], found[4], found[1])
            settled.append((Notification.from_record(record), int(found[2]), found[3]))
    add_settled(conn, settled, outcome, now)


def add_settled(
    conn: sqlite3.Connection,
    settled: Iterable[tuple[Notification, int, str | None]],
    outcome: str,
    now: float,
) -> None:
    """Record (notification, attempts, error) outcomes the caller already holds (the worker
    has the row it sent: no need to read and decode it again)."""
    rows = [
        (
            now,
            _text(note.id),
            _text(note.rule),
            _text(note.source),
            _text(_event(note.fields)),
            note.destination,
            outcome,
            attempts,
            _text(note.text)[:TEXT_LIMIT],
            error,
        )
        for note, attempts, error in settled
    ]
    conn.executemany(
        "INSERT INTO history (time, id, rule, source, event, destination, outcome, attempts,"
        " text, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _text(value: Any) -> str:
    """Text SQLite can store: a file name that is not UTF-8 arrives with lone surrogates
    (``\\udcfe``), kept as that escape rather than failing the delivery's transaction."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _event(fields: Mapping[str, Any]) -> str:
    """Which source event made the notification: a marker's name or a line's file:offset."""
    if isinstance(fields.get("relpath"), str):
        return str(fields["relpath"])
    if "path" in fields and "offset" in fields:
        return f"{fields['path']}:{fields['offset']}"
    return str(fields.get("file", ""))


def select(conn: sqlite3.Connection, query: Query) -> list[Entry]:
    """The newest ``query.limit`` entries matching ``query``, oldest first."""
    clauses: list[str] = []
    params: list[object] = []
    for clause, value in (
        ("rule = ?", query.rule),
        ("destination = ?", query.destination),
        ("time >= ?", query.since),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if query.grep:
        clauses.append("instr(lower(text), lower(?)) > 0")
        params.append(query.grep)
    if query.failed:
        clauses.append("outcome != 'delivered'")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    # Only fixed clauses are joined into the SQL; every value is a bound parameter.
    columns = "time, id, rule, source, event, destination, outcome, attempts, text, error"
    sql = f"SELECT {columns} FROM history{where} ORDER BY seq DESC LIMIT ?"  # noqa: S608
    rows = conn.execute(sql, (*params, query.limit)).fetchall()
    return [Entry(*row) for row in reversed(rows)]


def prune(conn: sqlite3.Connection, older_than: float, max_rows: int) -> int:
    """Forget entries older than ``older_than`` and all but the newest ``max_rows``."""
    removed = conn.execute("DELETE FROM history WHERE time < ?", (older_than,)).rowcount
    removed += conn.execute(
        "DELETE FROM history WHERE seq <= (SELECT seq FROM history ORDER BY seq DESC"
        " LIMIT 1 OFFSET ?)",
        (max_rows,),
    ).rowcount
    return removed
