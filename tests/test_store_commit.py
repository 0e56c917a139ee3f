"""The outbox contract: notifications and positions commit together or not at all."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ruleengine.errors import StateError
from ruleengine.model import Notification, Position
from ruleengine.state import Store


def note(ident: str, destination: str = "a") -> Notification:
    return Notification(id=ident, destination=destination, rule="r", source="s", text=ident)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Store(tmp_path / "state")
    yield opened
    opened.close()


def test_commit_writes_rows_and_position_together(store: Store) -> None:
    assert store.commit([note("1"), note("2")], [Position("s", "app.log", "10")]) == 2
    assert store.position("s", "app.log") == "10"
    assert store.counts() == {"a": {"pending": 2}}


def test_a_re_read_event_is_not_queued_twice(store: Store) -> None:
    store.commit([note("1")], [Position("s", "k", "1")])
    assert store.commit([note("1"), note("3")], [Position("s", "k", "2")]) == 1
    assert store.counts() == {"a": {"pending": 2}}


def test_failed_commit_leaves_nothing_behind(store: Store) -> None:
    store.commit([], [Position("s", "k", "before")])
    bad = Position("s", None, "x")  # type: ignore[arg-type] # violates NOT NULL on purpose
    with pytest.raises(sqlite3.IntegrityError):
        store.commit([note("9")], [Position("s", "k", "after"), bad])
    assert store.counts() == {}
    assert store.position("s", "k") == "before"


def test_fifo_per_destination_and_states(store: Store) -> None:
    store.commit([note("1"), note("2", "b"), note("3")], [])
    first = store.next_pending("a")
    assert first is not None and first.notification.id == "1"
    store.mark_retry(first.seq, next_attempt=123.0, error="HTTP 500")
    again = store.next_pending("a")
    assert again is not None and (again.notification.id, again.attempts) == ("1", 1)
    assert again.next_attempt == 123.0 and again.last_error == "HTTP 500"
    store.settle_delivered([(again, None, None)])
    nxt = store.next_pending("a")
    assert nxt is not None and nxt.notification.id == "3"
    store.mark_dead(nxt.seq, "HTTP 404", fallback=note("fb", "b"))
    assert store.counts() == {"a": {"delivered": 1, "dead": 1}, "b": {"pending": 2}}


def test_rows_survive_reopening(tmp_path: Path) -> None:
    first = Store(tmp_path)
    first.commit([note("1")], [Position("s", "k", "5")])
    first.close()
    second = Store(tmp_path)
    try:
        row = second.next_pending("a")
        assert row is not None and row.notification == note("1")
        assert second.position("s", "k") == "5"
    finally:
        second.close()


def test_unusable_state_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot"):
        Store(blocker / "state")


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StateError, match="newer ruleengine"):
        Store(tmp_path)


def test_writers_of_one_process_queue_instead_of_failing_busy(tmp_path: Path) -> None:
    """A second writer waits for the first in the process (not in SQLite's sleeping busy
    handler): even with no busy timeout at all, it commits once the first is done."""
    store = Store(tmp_path / "state", busy_timeout=0.0)
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with store.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('first', '1')")
            holding.set()
            release.wait(10)

    def second() -> None:
        try:
            store.commit([note("2")], [Position("s", "k", "2")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert holding.wait(10)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    threads[1].join(0.2)  # gives a busy failure the time to happen
    release.set()
    for thread in threads:
        thread.join(10)
    try:
        assert errors == []
        assert store.position("s", "k") == "2"
    finally:
        store.close()
