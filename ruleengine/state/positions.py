"""Source positions: where each source resumes, one opaque text value per (source, key).

What a value means is the source's business (its codec module); this module only stores it.
Values are written by the engine in the transaction of the batch they cover (``put``); a source
reads them and forgets keys it no longer needs through ``SourcePositions``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ruleengine.model import Position
from ruleengine.state.db import Database


def put(conn: sqlite3.Connection, positions: Iterable[Position], now: float) -> None:
    """Upsert positions; runs inside the caller's transaction."""
    conn.executemany(
        "INSERT INTO positions (source, key, value, updated) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value,"
        " updated = excluded.updated",
        [(_text(p.source), _text(p.key), _text(p.value), now) for p in positions],
    )


def read_all(conn: sqlite3.Connection, source: str) -> dict[str, str]:
    rows = conn.execute("SELECT key, value FROM positions WHERE source = ?", (_text(source),))
    return {str(key): str(value) for key, value in rows}


class SourcePositions:
    """The positions of one source: what ``SourceContext.positions`` gives a source."""

    def __init__(self, db: Database, source: str) -> None:
        self._db = db
        self.source = source

    def get(self, key: str) -> str | None:
        row = (
            self._db.conn()
            .execute(
                "SELECT value FROM positions WHERE source = ? AND key = ?",
                (_text(self.source), _text(key)),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def all(self) -> dict[str, str]:
        return read_all(self._db.conn(), self.source)

    def forget(self, key: str) -> None:
        """Drop a key the source no longer needs (a file gone for good); not durable: a key
        that comes back after a power cut is forgotten again at the next start."""
        with self._db.transaction(durable=False) as conn:
            conn.execute(
                "DELETE FROM positions WHERE source = ? AND key = ?",
                (_text(self.source), _text(key)),
            )

    def expire(self, prefix: str, before: float) -> int:
        """Drop keys starting with ``prefix`` last written before ``before`` (a retention
        window); not durable, like ``forget``. Returns how many were dropped."""
        with self._db.transaction(durable=False) as conn:
            return conn.execute(
                "DELETE FROM positions WHERE source = ? AND updated < ? AND substr(key, 1, ?) = ?",
                (_text(self.source), before, len(prefix), _text(prefix)),
            ).rowcount


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
