"""Many rows in few statements.

``executemany`` steps SQLite once per row, and gives up the GIL and takes it back around each
step: in a catch-up, where the engine and a delivery worker both want the GIL, every row of a
batch was a hand-over between the two threads. A statement carrying many rows is one step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

#: Variables one statement may hold: SQLite's limit before 3.32 (32766 since).
MAX_VARIABLES = 999


def insert(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]]) -> int:
    """``head`` (``INSERT … INTO table (columns) VALUES``) with every row, as few statements as
    the variable limit allows; the rows inserted (``OR IGNORE`` skips are not counted)."""
    if not rows:
        return 0
    width = len(rows[0])
    group = "(" + ", ".join("?" * width) + ")"
    per = max(1, MAX_VARIABLES // width)
    added = 0
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        sql = f"{head} {', '.join([group] * len(part))}"
        added += conn.execute(sql, [value for row in part for value in row]).rowcount
    return added


def in_groups(values: Sequence[Any], reserved: int = 0) -> list[tuple[str, list[Any]]]:
    """``values`` cut to fit an ``IN (…)`` list beside ``reserved`` other variables: (the
    placeholders, the values) per statement."""
    per = MAX_VARIABLES - reserved
    return [
        (", ".join("?" * len(part)), list(part))
        for part in (values[start : start + per] for start in range(0, len(values), per))
    ]
