"""What the daemon records about itself in ``meta`` (pid, start, config hash, what its sources
watch), for ``status`` and the STATUS line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from ruleengine.state.store import Store

PREFIX = "daemon."


def record_daemon(store: Store, values: Mapping[str, Any]) -> None:
    """Upsert ``daemon.*`` keys in ``meta``; values that are not strings are stored as JSON."""
    rows = [
        (PREFIX + key, value if isinstance(value, str) else json.dumps(value))
        for key, value in values.items()
    ]
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            rows,
        )


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE ?", (PREFIX + "%",)).fetchall()
    return {str(key)[len(PREFIX) :]: str(value) for key, value in rows}
