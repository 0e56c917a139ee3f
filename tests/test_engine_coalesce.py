"""The engine commits the batches waiting in its queue together: one fsync for a burst."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ruleengine.engine import _Swap
from ruleengine.model import Batch, Position
from ruleengine.state import Store
from tests.support.enginekit import Clock, make_engine, texts
from tests.support.rulekit import line, ruleset

RULES = """\
- name: hit
  source: log
  match: 'hit (?P<n>\\d+)'
  message: "hit {{ n }}"
"""
OTHER = RULES.replace('"hit {{ n }}"', '"new rules {{ n }}"')


def test_queued_batches_share_one_transaction_in_order(tmp_path: Path) -> None:
    engine, store, _woken = make_engine(ruleset(RULES), tmp_path, Clock())
    commits: list[int] = []
    real_commit = store.commit

    def counting_commit(*args: Any, **kwargs: Any) -> int:  # a spy on the real Store
        commits.append(len(list(args[0])))
        return real_commit(*args, **kwargs)

    store.commit = counting_commit  # type: ignore[method-assign]
    matched: list[tuple[int, bool]] = []
    for n in range(5):
        text = f"hit {n}" if n % 2 == 0 else f"miss {n}"
        engine.emit(
            Batch(
                (line(text, offset=n),),
                (Position("log", "f", str(n)),),
                lambda hit, n=n: matched.append((n, hit)),
            )
        )
    engine.queue.put(_Swap(ruleset(OTHER)))  # what swap_rules queues once the engine runs
    engine.emit(Batch((line("hit 9", offset=9),), (Position("log", "f", "9"),)))
    engine.stop()
    engine.start()  # everything above is already queued: it is drained in one go
    engine.join(10)

    assert texts(store) == ["hit 0", "hit 2", "hit 4", "new rules 9"]
    # Five batches (three notifications) in the first commit; the swap ends the group.
    assert commits[0] == 3
    assert [count for count in commits if count] == [3, 1]
    assert matched == [(0, True), (1, False), (2, True), (3, False), (4, True)]
    assert store.position("log", "f") == "9"
    store.close()


def test_bookkeeping_transactions_skip_the_fsync_and_durable_ones_do_not(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conn = store.db.conn()
    for _ in range(2):  # a thread keeps its level between transactions of the same kind
        with store.transaction(durable=False):
            assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    with store.transaction():
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    with store.transaction(durable=False):
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)
    store.close()


def test_durable_flag_survives_a_failed_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path)
    failing = pytest.raises(sqlite3.OperationalError, match="no_such_table")
    with failing, store.transaction(durable=False) as conn:
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    with store.transaction() as conn:  # the next durable commit is durable all the same
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    store.close()
