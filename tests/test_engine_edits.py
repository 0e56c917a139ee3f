"""The engine re-reads the CLI's edit counter (silences, watched keys) once per turn: a batch's
commit reads it, and the digest check after it in the same turn does not read it again. Each
read is a statement on a connection that, under an intake storm, waits for the GIL back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ruleengine.model import Batch
from ruleengine.state import edits
from tests.support.enginekit import Clock, make_engine, texts
from tests.support.rulekit import line, ruleset

RULES = """\
- name: boom
  source: log
  match: boom
  message: "{{ line }}"
"""


def test_one_read_of_the_edit_counter_per_batch_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = edits.generation

    def counted(conn: sqlite3.Connection) -> int:
        reads.append(1)
        return real(conn)

    monkeypatch.setattr(edits, "generation", counted)
    engine, store, _woken = make_engine(ruleset(RULES), tmp_path / "state", Clock())
    engine.start()
    try:
        assert engine.wait_drained(10)
        before = len(reads)
        engine.emit(Batch((line("boom 1", offset=1),)))
        assert engine.wait_drained(10)
        # The engine loop wakes every IDLE_WAKE (5 s): no tick turn fits in this test.
        assert len(reads) - before == 1
    finally:
        engine.stop()
        engine.join(10)
        store.close()
    assert texts(store) == ["boom 1"]
