"""The one outbox query helper: rows as ``status`` sees them, on a separate read-only connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ruleengine.state.record import decode_record


def _db(state: Path) -> Path:
    """``state`` is a state directory or the database file itself."""
    return state if state.suffix == ".db" else state / "state.db"


def outbox_rows(
    state: Path,
    *,
    state_is: str | None = None,
    destination: str | None = None,
    missing_ok: bool = False,
) -> list[dict[str, Any]]:
    """Every outbox row, oldest first, optionally only those in ``state_is`` / for ``destination``.

    Each row is the decoded notification ``record`` plus the columns ``seq``, ``state``,
    ``attempts``, ``next_attempt``, ``last_error`` and ``destination``. With ``missing_ok``, a
    database that a starting daemon has not created yet (no file, no table) has no rows.
    """
    where, params = [], []
    if state_is is not None:
        where.append("state = ?")
        params.append(state_is)
    if destination is not None:
        where.append("destination = ?")
        params.append(destination)
    sql = (
        "SELECT seq, record, state, attempts, next_attempt, last_error, destination, id FROM outbox"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    db = _db(state)
    if missing_ok and not db.exists():
        return []
    # Read-only, as ``status`` reads: never creates a database that is not there.
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    try:
        found = conn.execute(sql + " ORDER BY seq", params).fetchall()
    except sqlite3.OperationalError:
        if missing_ok:
            return []  # the schema is not created yet
        raise
    finally:
        conn.close()
    return [
        {
            "seq": seq,
            "record": decode_record(record, row_id, row_destination),
            "state": row_state,
            "attempts": attempts,
            "next_attempt": next_attempt,
            "last_error": last_error,
            "destination": row_destination,
        }
        for seq, record, row_state, attempts, next_attempt, last_error, row_destination, row_id in (
            found
        )
    ]


def outbox(state: Path, **where: Any) -> list[dict[str, Any]]:
    """The notification records (decoded JSON), oldest first; ``where`` as for ``outbox_rows``."""
    return [row["record"] for row in outbox_rows(state, **where)]


def outbox_texts(state: Path, **where: Any) -> list[str]:
    """Each queued notification's text, oldest first; ``where`` as for ``outbox_rows``."""
    return [record["text"] for record in outbox(state, **where)]


def rows_by_text(state: Path) -> dict[str, dict[str, Any]]:
    """Outbox rows keyed by notification text (for tests whose texts are unique)."""
    return {
        row["record"]["text"]: {key: value for key, value in row.items() if key != "record"}
        for row in outbox_rows(state)
    }
