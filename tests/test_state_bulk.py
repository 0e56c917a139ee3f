"""Rows in few statements (``state/bulk.py``): every row lands, across the variable limit, and
``OR IGNORE`` skips are not counted; settling a batch larger than one IN list marks it all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ruleengine.state import Store, bulk
from ruleengine.state.outbox import OutboxRow
from tests.support.outbox import outbox_rows
from tests.support.senders import note


def test_insert_splits_at_the_variable_limit_and_counts_only_new_rows() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)")
    rows = [(i, f"a{i}", i * 2, None) for i in range(600)]  # 4 x 600 > 999 variables
    assert bulk.insert(conn, "INSERT OR IGNORE INTO t (id, a, b, c) VALUES", rows) == 600
    again = [(i, "x", 0, None) for i in range(590, 610)]  # 10 known, 10 new
    assert bulk.insert(conn, "INSERT OR IGNORE INTO t (id, a, b, c) VALUES", again) == 10
    assert conn.execute("SELECT count(*), sum(b) FROM t").fetchone() == (610, 359400)
    assert bulk.insert(conn, "INSERT INTO t (id, a, b, c) VALUES", []) == 0


def test_in_groups_leave_room_for_the_other_variables() -> None:
    groups = bulk.in_groups(list(range(2000)), reserved=1)
    assert [len(values) for _marks, values in groups] == [998, 998, 4]
    assert all(marks.count("?") == len(values) for marks, values in groups)
    assert [v for _m, values in groups for v in values] == list(range(2000))


def test_settling_more_rows_than_one_statement_holds(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    try:
        notes = [note(f"n{i}", destination="out", id=f"{i:032x}") for i in range(1500)]
        store.commit(notes, ())
        rows: list[OutboxRow] = store.pending("out", 2000)
        assert len(rows) == 1500
        store.settle_delivered(
            [(row, None, None) for row in rows[:-1]] + [(rows[-1], "slow", None)]
        )
    finally:
        store.close()
    stored = outbox_rows(tmp_path / "state")
    assert {r["state"] for r in stored} == {"delivered"}
    assert {r["attempts"] for r in stored} == {1}
    assert [r["last_error"] for r in stored if r["last_error"]] == ["warning: slow"]
