"""Silences in the state database: written by ``ruleengine silence``, read by the daemon.

The CLI adds and expires rows while the daemon runs (WAL, busy timeout, as ``dead`` does); the
engine notices through ``edits`` and re-reads the definitions. The
engine saves suppressed counts and the "summary sent" mark in its batch transaction (``save``).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ruleengine.rules.silences import Silence, Silences
from ruleengine.state import edits, history
from ruleengine.state.db import open_readonly


@dataclass(frozen=True)
class Listed:
    """A silence as ``silence list`` and ``status`` show it."""

    silence: Silence
    created: float
    summarized: bool
    suppressed: dict[str, int]


def _silence(row: tuple[str, str | None, str, float, float, str]) -> Silence:
    ident, rule, match, starts, ends, reason = row
    pairs = tuple((str(k), str(v)) for k, v in json.loads(match))
    return Silence(ident, rule, pairs, starts, ends, reason)


_COLUMNS = "id, rule, match, starts, ends, reason"


def load(conn: sqlite3.Connection) -> Silences:
    """The silences not summarised yet, with their counts so far (at daemon start)."""
    state = Silences()
    refresh(conn, state)
    for ident, destination, count in conn.execute(
        "SELECT c.silence, c.destination, c.count FROM silence_suppressed c"
        " JOIN silences s ON s.id = c.silence WHERE s.summarized = 0"
    ):
        state.totals[(ident, destination)] = count
    return state


def refresh(conn: sqlite3.Connection, state: Silences) -> None:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM silences WHERE summarized = 0")  # noqa: S608
    state.refresh(_silence(row) for row in rows)


def save(conn: sqlite3.Connection, state: Silences) -> None:
    """Counts, summary marks and the history of what was suppressed; runs inside the engine's
    commit transaction (the one that left those notifications out of the outbox)."""
    added, summarized = state.changes()
    history.add_unsent(conn, [(n, "silenced", s.cause(), t) for n, s, t in state.suppressed])
    conn.executemany(
        "INSERT INTO silence_suppressed (silence, destination, count) VALUES (?, ?, ?)"
        " ON CONFLICT (silence, destination) DO UPDATE SET count = count + excluded.count",
        [(ident, dest, count) for (ident, dest), count in added.items()],
    )
    conn.executemany(
        "UPDATE silences SET summarized = 1 WHERE id = ?", [(i,) for i in sorted(summarized)]
    )


def add(  # noqa: PLR0917 - the columns of one row
    conn: sqlite3.Connection,
    rule: str | None,
    match: list[tuple[str, str]],
    starts: float,
    ends: float,
    reason: str,
    now: float,
) -> str:
    """Store a new silence (inside the caller's transaction); returns its id."""
    ident = secrets.token_hex(4)
    conn.execute(
        "INSERT INTO silences (id, rule, match, starts, ends, reason, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ident, rule, json.dumps(match), starts, ends, reason, now),
    )
    edits.bump(conn)
    return ident


def prune(conn: sqlite3.Connection, ended_before: float) -> None:
    """Forget summarised silences that ended long ago (the table stays bounded)."""
    old = "SELECT id FROM silences WHERE summarized = 1 AND ends < ?"
    conn.execute(f"DELETE FROM silence_suppressed WHERE silence IN ({old})", (ended_before,))  # noqa: S608
    conn.execute("DELETE FROM silences WHERE summarized = 1 AND ends < ?", (ended_before,))


def expire(conn: sqlite3.Connection, prefix: str, now: float) -> list[str]:
    """End the one silence whose id starts with ``prefix`` now (inside the caller's
    transaction); returns every id the prefix matched (none or several: nothing changed)."""
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM silences WHERE substr(id, 1, ?) = ? AND summarized = 0",
            (len(prefix), prefix),
        )
    ]
    if len(ids) == 1:
        conn.execute("UPDATE silences SET ends = MIN(ends, ?) WHERE id = ?", (now, ids[0]))
        edits.bump(conn)
    return ids


def listing(conn: sqlite3.Connection, everything: bool = False) -> list[Listed]:
    """Silences not yet over and summarised (``everything``: all of them), newest first."""
    where = "" if everything else " WHERE summarized = 0"
    rows = conn.execute(
        f"SELECT {_COLUMNS}, created, summarized FROM silences{where} ORDER BY created DESC"  # noqa: S608
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for ident, destination, count in conn.execute(
        "SELECT silence, destination, count FROM silence_suppressed"
    ):
        counts.setdefault(ident, {})[destination] = count
    return [Listed(_silence(row[:6]), row[6], bool(row[7]), counts.get(row[0], {})) for row in rows]


def open_silences(path: Path, everything: bool = False) -> list[Listed]:
    """The silences not summarised yet (``everything``: all), read-only, for ``status`` and
    dry runs; none in a database an older ruleengine wrote (it gets the table at the next
    start)."""
    conn = open_readonly(path)
    try:
        return listing(conn, everything)
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
