"""The history of handled notifications: one row per (notification, destination) outcome.

Written in the transaction that settles an outbox row (``Outbox.settle_delivered``,
``mark_dead``), so the history never claims a delivery the outbox does not; notifications that
were never queued (a silence suppressed them, a schedule dropped them) are written in the
engine's commit that decided so (``add_unsent``). Bounded by age and by rows (``prune``), read
by ``ruleengine history``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ruleengine.model import Notification
from ruleengine.state import bulk
from ruleengine.state.record import decode_record

TEXT_LIMIT = 500  # characters of the message kept per row: enough to recognise it
SENT = ("delivered", "dead")  # what ``history`` lists unless asked for what was not sent


@dataclass(frozen=True)
class Entry:
    """One handled notification, as ``ruleengine history`` shows it."""

    time: float
    id: str
    rule: str
    source: str
    event: str  # "path:offset" of a log line, the marker's name, or "" (send, digests)
    destination: str
    outcome: str  # "delivered" | "dead" | "silenced" | "dropped"
    attempts: int
    text: str
    error: str | None
    cause: str | None = None  # why it was not sent: "silence 3f2a1b2c: patch night"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Query:
    """Filters of ``ruleengine history``; None/empty means any."""

    rule: str | None = None
    destination: str | None = None
    since: float | None = None
    grep: str | None = None
    outcomes: tuple[str, ...] = SENT  # which outcomes ("dead" alone: the failed ones)
    limit: int = 1000


def add_unsent(
    conn: sqlite3.Connection, unsent: Iterable[tuple[Notification, str, str, float]]
) -> None:
    """Record (notification, outcome, cause, time) of notifications never queued
    ("silenced", "dropped"), inside the caller's transaction."""
    rows = [
        (at, *_columns(note), outcome, 0, _text(_shown(note))[:TEXT_LIMIT], None, _text(cause))
        for note, outcome, cause, at in unsent
    ]
    conn.executemany(
        "INSERT INTO history (time, id, rule, source, event, destination, outcome, attempts,"
        " text, error, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


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
        (now, *_columns(note), outcome, attempts, _text(note.text)[:TEXT_LIMIT], error)
        for note, attempts, error in settled
    ]
    bulk.insert(
        conn,
        "INSERT INTO history (time, id, rule, source, event, destination, outcome, attempts,"
        " text, error) VALUES",
        rows,
    )


def _columns(note: Notification) -> tuple[str, str, str, str, str]:
    """id, rule, source, event and destination of a row."""
    return (
        _text(note.id),
        _text(note.rule),
        _text(note.source),
        _text(_event(note.fields)),
        note.destination,
    )


def _shown(note: Notification) -> str:
    """A message that was never sent, as it would have read (its title first)."""
    return f"{note.title}: {note.text}" if note.title else note.text


def _text(value: Any) -> str:
    """Text SQLite can store: a file name that is not UTF-8 arrives with lone surrogates
    (``\\udcfe``), kept as that escape rather than failing the delivery's transaction."""
    text = str(value)
    if text.isascii():  # nearly always: no surrogate can hide in it
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    clauses.append(f"outcome IN ({', '.join('?' * len(query.outcomes))})")
    params.extend(query.outcomes)
    where = f" WHERE {' AND '.join(clauses)}"
    # Only fixed clauses are joined into the SQL; every value is a bound parameter.
    columns = "time, id, rule, source, event, destination, outcome, attempts, text, error, cause"
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
