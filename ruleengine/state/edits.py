"""Edits other processes make to state the running engine keeps in memory: silences (``ruleengine
silence``) and watched keys (``ruleengine expect forget``).

Each such edit bumps a counter in ``meta`` in its own transaction; the engine reads the counter
once per turn and re-reads silences and keys only when it moved. (SQLite's ``data_version``
moves on every commit of any other connection, the daemon's own delivery workers and intake
threads included, so under load it made the engine re-read both on every turn.)
"""

from __future__ import annotations

import sqlite3

KEY = "edits.generation"


def bump(conn: sqlite3.Connection) -> None:
    """Inside the transaction that made the edit."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (KEY,),
    )


def generation(conn: sqlite3.Connection) -> int:
    """The counter as last committed (0 before any edit)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    return int(row[0]) if row is not None else 0
