"""Watched keys of ``expect`` rules in the state database; ``expect list|forget`` read and
delete them while the daemon runs, and the engine re-reads them when the database changed."""

from __future__ import annotations

import sqlite3

from ruleengine.rules.absence import Absences, Row, Watch
from ruleengine.state import edits

ALIVE_KEY = "engine_alive"  # meta key: the last time an engine with expect rules was running


def rows(conn: sqlite3.Connection) -> list[Row]:
    return [
        (rule, key, last, bool(seen), gone)
        for rule, key, last, seen, gone in conn.execute(
            "SELECT rule, key, last_seen, seen, missing_since FROM rule_expect ORDER BY rule, key"
        )
    ]


def load(conn: sqlite3.Connection) -> Absences:
    found = conn.execute("SELECT value FROM meta WHERE key = ?", (ALIVE_KEY,)).fetchone()
    alive = float(found[0]) if found is not None else None
    return Absences.from_rows(rows(conn), alive)


def watches(conn: sqlite3.Connection) -> dict[tuple[str, str], Watch]:
    return {(r, k): Watch(last, seen, gone) for r, k, last, seen, gone in rows(conn)}


def save(conn: sqlite3.Connection, state: Absences) -> None:
    """Runs inside the engine's commit transaction."""
    written, deleted, alive = state.changes()
    conn.executemany("DELETE FROM rule_expect WHERE rule = ? AND key = ?", deleted)
    conn.executemany(
        "INSERT INTO rule_expect (rule, key, last_seen, seen, missing_since)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule, key) DO UPDATE SET"
        " last_seen = excluded.last_seen, seen = excluded.seen,"
        " missing_since = excluded.missing_since",
        [(r, k, last, int(seen), gone) for r, k, last, seen, gone in written],
    )
    if alive is not None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (ALIVE_KEY, repr(alive)),
        )


def forget(conn: sqlite3.Connection, rule: str, keys: list[str]) -> int:
    """Stop watching keys of a rule (all of them when ``keys`` is empty); how many were."""
    if not keys:
        count = conn.execute("DELETE FROM rule_expect WHERE rule = ?", (rule,)).rowcount
    else:
        count = sum(
            conn.execute("DELETE FROM rule_expect WHERE rule = ? AND key = ?", (rule, k)).rowcount
            for k in keys
        )
    if count:
        edits.bump(conn)
    return count
