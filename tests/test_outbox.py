"""The SQLite outbox on its own: de-duplication, FIFO, atomic dead letter + fallback, and
concurrent writers (the CLI beside the daemon)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ruleengine.model import Position
from ruleengine.state import Store
from tests.support.dispatch_helpers import note
from tests.support.outbox import rows_by_text


def test_commit_deduplicates_and_records_positions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = note("room", "a")
    assert store.commit([first, note("room", "b")], [Position("log", "offset", "10")]) == 2
    # The same event re-read after a crash: same id, ignored; the position still advances.
    assert store.commit([first], [Position("log", "offset", "20")]) == 0
    assert store.position("log", "offset") == "20"
    assert store.counts() == {"room": {"pending": 2}}
    store.close()


def test_next_pending_is_fifo_per_destination(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a, b, other = note("room", "a"), note("room", "b"), note("mail", "m")
    store.commit([other, a], [])
    store.commit([b], [])
    head = store.next_pending("room")
    assert head is not None and head.notification == a
    store.mark_retry(head.seq, 0.0, "HTTP 503")
    head = store.next_pending("room")
    assert head is not None and head.notification == a, "a failing head row keeps its place"
    assert (head.attempts, head.last_error) == (1, "HTTP 503")
    store.settle_delivered([(head, None, None)])
    head = store.next_pending("room")
    assert head is not None and head.notification == b
    store.mark_dead(head.seq, "HTTP 404")
    assert store.next_pending("room") is None
    mail = store.next_pending("mail")
    assert mail is not None and mail.notification == other
    store.close()


def test_dead_letter_and_fallback_commit_together(tmp_path: Path) -> None:
    store = Store(tmp_path)
    original = note("room", "disk full")
    store.commit([original], [])
    head = store.next_pending("room")
    assert head is not None
    notice = note("mail", "could not deliver: disk full")
    store.mark_dead(head.seq, "HTTP 404", notice)
    state = rows_by_text(tmp_path)
    assert state["disk full"]["state"] == "dead"
    assert state["could not deliver: disk full"]["state"] == "pending"
    assert state["could not deliver: disk full"]["destination"] == "mail"
    # Dead-lettered again after `dead retry`: the notice (same id) is not queued twice.
    store.retry_dead()
    head = store.next_pending("room")
    assert head is not None
    store.mark_dead(head.seq, "HTTP 404", notice)
    assert store.counts()["mail"] == {"pending": 1}
    store.close()


def test_dead_selection_never_touches_other_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit([note("room", "pending one")], [])
    assert store.retry_dead() == 0
    assert store.purge_dead() == 0
    assert store.purge_dead(ids=[]) == 0, "an empty id list selects nothing, not everything"
    assert store.dead_letters() == []
    assert rows_by_text(tmp_path)["pending one"]["state"] == "pending"
    store.close()


def test_cli_writes_wait_for_the_daemon_instead_of_failing(tmp_path: Path) -> None:
    """Another connection holding the write lock (the daemon mid-commit) only delays us."""
    store = Store(tmp_path)
    store.commit([note("room", "x")], [])
    head = store.next_pending("room")
    assert head is not None
    store.mark_dead(head.seq, "HTTP 404")

    locked, release = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        conn = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE outbox SET updated = updated")
        locked.set()
        release.wait(5)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_write_lock, name="lock-holder")
    holder.start()
    try:
        assert locked.wait(5)
        other = Store(tmp_path)  # a second process would open it like this
        assert [d.notification.text for d in other.dead_letters()] == ["x"]  # WAL: reads go on
        threading.Timer(0.3, release.set).start()
        assert other.retry_dead() == 1  # waited for the lock (busy timeout), did not fail
        other.close()
    finally:
        release.set()
        holder.join(5)
    assert rows_by_text(tmp_path)["x"]["state"] == "pending"
    store.close()
