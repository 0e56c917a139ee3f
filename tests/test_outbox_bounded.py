"""Bounded state (issue 14): compact rows, a pending cap per destination, one summary after a
flood against a down destination, private state files.

The flood runs real webhook workers against the loopback receiver, which answers 500 while
"down" and 200 once it recovers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from ruleengine.commands.status import _destination_lines
from ruleengine.metrics import _QueueCollector
from ruleengine.model import Notification
from ruleengine.redact import Redactor
from ruleengine.state import Store
from ruleengine.state.overflow import Limit, usage
from ruleengine.state.queues import destination_status
from ruleengine.state.record import encode
from tests.support.dispatch_helpers import enqueue, note, route, running
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply

LINE = "Dec  2 02:00:00 web1 app[42]: " + "request failed: upstream timeout " * 30  # ~1 KB


def logged(text: str) -> Notification:
    """A notification as a logfile rule makes it: the line in the text and in the fields."""
    base = note("room", f"web1: {text}")
    return Notification(**{**base.to_record(), "fields": {"line": text, "host": "web1"}})


def test_a_row_stores_the_line_about_once() -> None:
    notification = logged(LINE)
    stored, size = encode(notification)
    assert isinstance(stored, bytes)  # long: compressed
    assert size == len(stored) < len(LINE.encode())  # text + fields.line + the rest


def test_a_short_row_is_stored_as_text() -> None:
    stored, size = encode(note("room", "web1: disk full ✓"))
    assert isinstance(stored, str)  # compressing a few hundred bytes costs more than it saves
    assert size == len(stored.encode())


def test_rows_before_compact_storage_are_still_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    try:
        record = '{"rule": "r", "source": "s", "text": "old row"}'
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO outbox (id, destination, record, size, created, updated)"
                " VALUES ('n1', 'room', ?, ?, 1, 1)",
                (record, len(record)),
            )
        row = store.next_pending("room")
        assert row is not None
        assert (row.notification.id, row.notification.text) == ("n1", "old row")
    finally:
        store.close()


def test_the_cap_counts_rows_and_bytes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "state")
    try:
        store.limits = {"room": Limit(max_rows=5, max_bytes=10_000_000)}
        store.commit([logged(f"{LINE} before it failed {j}") for j in range(8)], [])
        conn = store.db.conn()
        assert usage(conn, "room")[0] == 8  # a destination that works is never capped
        first = min(r["seq"] for r in outbox_rows(store.path))
        store.settle_delivered([(row, None, None) for row in store.pending("room", 4)[1:]])
        store.mark_retry(first, 0.0, "HTTP 500")  # now it fails: 5 pending, the cap
        with caplog.at_level(logging.WARNING):
            for i in range(4):
                store.commit([logged(f"{LINE} {i} {j}") for j in range(3)], [])

        (status,) = destination_status(conn, ["room"], Redactor(), 0.0)
        assert (status.pending, status.dropped) == (5, 12)
        assert status.dropping_since is not None
        warnings = [r for r in caplog.records if "queue of room is full" in r.getMessage()]
        assert len(warnings) == 1  # once per episode, not per dropped notification

        more = [logged(f"{LINE} more {j}") for j in range(3)]
        used = usage(conn, "room")[1]
        store.limits = {"room": Limit(max_rows=100, max_bytes=used + encode(more[0])[1])}
        store.commit(more, [])
        (status,) = destination_status(conn, ["room"], Redactor(), 0.0)
        assert (status.pending, status.dropped) == (6, 14)  # the byte cap let one more in

        shown = "\n".join(_destination_lines(status, status.dropping_since or 0.0))
        assert "queue full: 14 notifications dropped since" in shown
        metrics = {
            family.name: {sample.labels["destination"]: sample.value for sample in family.samples}
            for family in _QueueCollector(store.path).collect()
        }
        assert metrics["ruleengine_queue_dropped"] == {"room": 14.0}
    finally:
        store.close()


@pytest.mark.timeout(60)
def test_a_flood_against_a_down_destination_is_capped_and_summarised_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.default = Reply(status=500, body="down")
    redactor = Redactor()
    store = Store(tmp_path / "state")
    store.limits = {"room": Limit(max_rows=20, max_bytes=10_000_000)}
    routes = {
        "room": route(
            "room",
            redactor,
            url=f"{receiver.url}/hook",
            retry={"backoff": "0.05s", "backoff_max": "0.2s"},
            rate=1000,
        )
    }
    try:
        with running(routes, store, redactor) as dispatcher:
            enqueue(store, dispatcher, logged(f"{LINE} first"))
            receiver.wait_for(2)  # it is really failing: from now on its queue is capped
            for batch in range(10):
                enqueue(store, dispatcher, *[logged(f"{LINE} {batch}.{i}") for i in range(50)])
            pending = [r for r in outbox_rows(store.path) if r["state"] == "pending"]
            assert len(pending) <= 20
            (status,) = destination_status(store.db.conn(), ["room"], redactor, 0.0)
            assert status.dropped == 501 - 20

            receiver.default = Reply(status=200)  # it recovers
            eventually(
                lambda: (
                    all(r["state"] == "delivered" for r in outbox_rows(store.path))
                    and len(outbox_rows(store.path)) == 21
                ),
                timeout=30,
            )
            delivered = [r.json() for r in receiver.requests if r.reply.status == 200]
    finally:
        store.close()
    summaries = [body for body in delivered if "were dropped" in body["text"]]
    assert len(summaries) == 1, summaries
    assert summaries[0]["text"].startswith("481 notifications to room were dropped while it failed")
    assert len(delivered) == 21  # the 20 kept, in order, then the summary
    assert delivered[-1] == summaries[0]
    store = Store(tmp_path / "state")
    try:
        (status,) = destination_status(store.db.conn(), ["room"], redactor, 0.0)
        assert (status.dropped, status.dropping_since) == (0, None)  # the episode is over
    finally:
        store.close()


def test_state_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store(tmp_path / "state")
        try:
            store.commit([logged(LINE)], [])  # the -wal and -shm files exist now
            files = [store.path, *store.path.parent.glob("state.db-*")]
            assert len(files) == 3, files
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
        finally:
            store.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert set(modes.values()) == {0o600}, modes


def test_an_older_database_migrates_with_row_sizes(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    store.close()
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM overflow").fetchone() == (0,)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(outbox)")]
    assert "size" in columns
