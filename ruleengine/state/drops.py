"""What schedules dropped, in the state database: counts per rule and destination (for
``status``) and one history entry per dropped notification (``history --dropped``), both
written in the engine's commit of the batch that dropped them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ruleengine.rules.drops import Drops
from ruleengine.state import history
from ruleengine.state.db import open_readonly


@dataclass(frozen=True)
class Dropped:
    """A rule's or destination's drops, as ``status`` shows them."""

    kind: str  # rule | destination
    name: str
    dropped: int
    last: float


def load(conn: sqlite3.Connection) -> Drops:
    drops = Drops()
    for kind, name, dropped, last in conn.execute(
        "SELECT kind, name, dropped, last FROM schedule_drops"
    ):
        drops.totals[(kind, name)] = dropped
        drops.last[(kind, name)] = last
    return drops


def save(conn: sqlite3.Connection, drops: Drops) -> None:
    """Runs inside the engine's commit transaction."""
    conn.executemany(
        "INSERT INTO schedule_drops (kind, name, dropped, last) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, name) DO UPDATE SET dropped = dropped + excluded.dropped,"
        " last = excluded.last",
        drops.changes(),
    )
    history.add_unsent(conn, [(n, "dropped", cause, t) for n, cause, t in drops.entries])


def listing(path: Path) -> list[Dropped]:
    """Every rule and destination that dropped something, read-only (``status``); none in a
    database an older ruleengine wrote."""
    conn = open_readonly(path)
    try:
        rows = conn.execute(
            "SELECT kind, name, dropped, last FROM schedule_drops ORDER BY kind DESC, name"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    return [Dropped(*row) for row in rows]
