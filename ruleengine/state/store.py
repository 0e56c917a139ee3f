"""SQLite state: outbox rows, source positions and marker ledger, one transaction per batch.

Durability over speed: WAL with ``synchronous=FULL``, so a committed batch survives power loss.
Each thread gets its own connection; SQLite serialises writers and WAL lets readers (``status``)
run beside the daemon.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ruleengine.errors import StateError
from ruleengine.model import Notification, Position

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    record TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (destination, state, seq);
CREATE TABLE IF NOT EXISTS positions (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (source, key)
);
"""


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    notification: Notification
    attempts: int
    next_attempt: float
    enqueued: float
    last_error: str | None


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


class Store:
    """The state database in ``state_dir/state.db``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "state.db"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except sqlite3.Error as exc:
            self.close()
            raise StateError(
                f"cannot use state database {self.path}: {exc}{_diagnose(state_dir)}"
            ) from None
        except OSError as exc:
            self.close()
            raise StateError(f"cannot create state directory {state_dir}: {exc.strerror}") from None
        except StateError:
            self.close()
            raise

    def _migrate(self) -> None:
        conn = self._conn()
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer ruleengine (schema {row[0]}, this one "
                f"knows {SCHEMA_VERSION}); upgrade ruleengine or move the file away"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable=False`` skips the fsync at commit.

        Not durable is only for bookkeeping whose loss in a power cut is harmless: it survives
        a process crash (the WAL is written), and if the OS loses it, the row is merely sent
        again or a ledger entry is cleaned up at the next start. Anything that precedes a side
        effect (deleting a marker) stays durable.
        """
        conn = self._conn()
        if not durable:
            conn.execute("PRAGMA synchronous=NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- the one write the engine makes per batch ------------------------------------------

    def commit(
        self,
        notifications: Iterable[Notification],
        positions: Iterable[Position],
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> int:
        """Enqueue notifications and record positions atomically; returns rows newly queued.

        A notification whose id is already known (the same event re-read after a crash) is
        ignored, which is what keeps duplicates rare. ``also`` writes more state (throttle
        windows, pending digests) in the same transaction.
        """
        now = time.time()
        added = 0
        rows = [(n.id, n.destination, json.dumps(n.to_record()), now, now) for n in notifications]
        with self.transaction() as conn:
            if rows:
                cursor = conn.executemany(
                    "INSERT OR IGNORE INTO outbox (id, destination, record, created, updated)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                added = cursor.rowcount  # the rows inserted, ignored ones not counted
            conn.executemany(
                "INSERT INTO positions (source, key, value, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value,"
                " updated = excluded.updated",
                [(_text(p.source), _text(p.key), _text(p.value), now) for p in positions],
            )
            if also is not None:
                also(conn)
        return added

    def position(self, source: str, key: str) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT value FROM positions WHERE source = ? AND key = ?",
                (_text(source), _text(key)),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def positions(self, source: str) -> dict[str, str]:
        rows = (
            self._conn()
            .execute("SELECT key, value FROM positions WHERE source = ?", (_text(source),))
            .fetchall()
        )
        return {str(key): str(value) for key, value in rows}

    def forget_position(self, source: str, key: str) -> None:
        with self.transaction(durable=False) as conn:
            conn.execute(
                "DELETE FROM positions WHERE source = ? AND key = ?", (_text(source), _text(key))
            )

    # -- the delivery side -----------------------------------------------------------------

    def next_pending(self, destination: str) -> OutboxRow | None:
        """The oldest pending row of a destination (FIFO), or None."""
        rows = self.pending(destination, 1)
        return rows[0] if rows else None

    def pending(self, destination: str, limit: int) -> list[OutboxRow]:
        """The oldest pending rows of a destination, at most ``limit``, oldest first."""
        rows = (
            self._conn()
            .execute(
                "SELECT seq, record, attempts, next_attempt, created, last_error FROM outbox"
                " WHERE destination = ? AND state = 'pending' ORDER BY seq LIMIT ?",
                (destination, limit),
            )
            .fetchall()
        )
        return [
            OutboxRow(
                seq=row[0],
                notification=Notification.from_record(json.loads(row[1])),
                attempts=row[2],
                next_attempt=row[3],
                enqueued=row[4],
                last_error=row[5],
            )
            for row in rows
        ]

    def mark_delivered(self, seq: int, warning: str | None = None) -> None:
        """``warning`` (a partial success) is kept as the row's last error, so ``status``
        shows it like any other problem of the destination."""
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, updated = ?,"
                " last_error = COALESCE(?, last_error) WHERE seq = ?",
                (time.time(), warning and f"warning: {warning}", seq),
            )

    def mark_retry(self, seq: int, next_attempt: float, error: str) -> None:
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,"
                " updated = ? WHERE seq = ?",
                (next_attempt, error, time.time(), seq),
            )

    def mark_dead(self, seq: int, error: str, fallback: Notification | None = None) -> None:
        """Dead-letter a row and, in the same transaction, enqueue its fallback notice."""
        now = time.time()
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?,"
                " updated = ? WHERE seq = ?",
                (error, now, seq),
            )
            if fallback is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (id, destination, record, created, updated)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (fallback.id, fallback.destination, json.dumps(fallback.to_record()), now, now),
                )

    def counts(self) -> dict[str, dict[str, int]]:
        """{destination: {state: rows}} for status output and tests."""
        out: dict[str, dict[str, int]] = {}
        for destination, state, count in self._conn().execute(
            "SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state"
        ):
            out.setdefault(destination, {})[state] = count
        return out

    def prune_delivered(self, older_than: float) -> int:
        """Forget delivered rows older than ``older_than`` (epoch seconds)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND updated < ?", (older_than,)
            )
        return cursor.rowcount

    # -- dead letters (``ruleengine dead``; safe while the daemon runs: WAL + busy timeout) --

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
        rows = self._conn().execute(query + " ORDER BY seq", params).fetchall()
        return [
            DeadLetter(
                id=row[0],
                destination=row[1],
                notification=Notification.from_record(json.loads(row[2])),
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
        with self.transaction() as conn:
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
        with self.transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM outbox WHERE {where}",  # noqa: S608 - fixed clauses, bound values
                params,
            )
        return cursor.rowcount


def _text(value: str) -> str:
    """``value`` as SQLite can store it. Linux file names may hold any bytes, which Python
    keeps as lone surrogates that UTF-8 refuses: one such name (a key) must not fail every
    commit. Escaping them (``\\xNN``) is deterministic, so reads find what writes stored."""
    if isinstance(value, str) and not value.isascii():  # anything else: SQLite's to judge
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")
    return value


def _diagnose(state_dir: Path) -> str:
    """The likely cause behind SQLite's terse open errors ("unable to open", "disk I/O error")."""
    if hasattr(os, "statvfs"):  # not on Windows
        try:
            fs = os.statvfs(state_dir)
        except OSError:
            return ""
        if fs.f_flag & os.ST_RDONLY:
            return f" ({state_dir} is on a read-only filesystem)"
        if fs.f_bavail == 0 and fs.f_blocks > 0:
            return f" (the filesystem of {state_dir} is full)"
    if not os.access(state_dir, os.W_OK):
        return f" (no permission to write in {state_dir})"
    return ""


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
