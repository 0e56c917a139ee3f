"""The state schema: databases from earlier releases migrate, an up-to-date one opens without a
write lock, and a newer one is refused with a clear message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ruleengine.errors import StateError
from ruleengine.model import Position
from ruleengine.state import Store, schema
from ruleengine.state.history import Query
from ruleengine.state.rules import RuleState

# The schema as released before migrations lived in one place (version 1): the store's tables;
# rule state tables were created later, by the engine, if rules throttled or digested.
V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, destination TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', record TEXT NOT NULL, created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT, updated REAL NOT NULL
);
CREATE INDEX outbox_queue ON outbox (destination, state, seq);
CREATE TABLE positions (
    source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (source, key)
);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO outbox (id, destination, record, created, updated) VALUES ('n1', 'room',
    '{"id": "n1", "destination": "room", "rule": "r", "source": "s", "text": "queued"}', 1, 1);
INSERT INTO positions VALUES ('log', '/var/log/app.log', '{"offset": 10}', 1);
"""
V1_RULE_STATE = """
CREATE TABLE rule_throttle (
    rule TEXT NOT NULL, key TEXT NOT NULL, until REAL NOT NULL, suppressed INTEGER NOT NULL,
    PRIMARY KEY (rule, key)
);
CREATE TABLE rule_digest (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, grp TEXT NOT NULL,
    due REAL NOT NULL, event TEXT NOT NULL
);
CREATE INDEX rule_digest_group ON rule_digest (rule, grp);
INSERT INTO rule_throttle VALUES ('noisy', 'disk', 4102444800, 3);
INSERT INTO rule_digest (rule, grp, due, event) VALUES ('reboots', 'web', 4102444800,
    '{"host": "web1"}');
"""


def old_database(state_dir: Path, script: str) -> None:
    state_dir.mkdir()
    conn = sqlite3.connect(state_dir / "state.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(script)
    conn.close()


def test_a_version_1_database_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    old_database(tmp_path / "state", V1)
    store = Store(tmp_path / "state")
    try:
        assert schema.version(store.db.conn()) == schema.VERSION
        row = store.next_pending("room")
        assert row is not None
        assert row.notification.text == "queued"
        assert store.position("log", "/var/log/app.log") == '{"offset": 10}'
        state = RuleState.load(store)  # the tables the engine needs are there
        assert state.throttles.slots == {}
        assert state.digests.groups == {}
    finally:
        store.close()


def test_a_version_1_database_with_rule_state_keeps_it(tmp_path: Path) -> None:
    old_database(tmp_path / "state", V1 + V1_RULE_STATE)
    store = Store(tmp_path / "state")
    try:
        state = RuleState.load(store)
        assert state.throttles.slots[("noisy", "disk")].suppressed == 3
        assert state.digests.groups[("reboots", "web")].events == [{"host": "web1"}]
    finally:
        store.close()


def test_an_up_to_date_database_opens_while_another_process_writes(tmp_path: Path) -> None:
    Store(tmp_path / "state").close()
    writer = sqlite3.connect(tmp_path / "state" / "state.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the daemon in the middle of a commit
    try:
        # A zero busy timeout: any write the open needed would fail at once.
        store = Store(tmp_path / "state", busy_timeout=0.0)
        try:
            assert store.counts() == {}
            assert store.positions("log") == {}
        finally:
            store.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_migrating_needs_the_write_lock(tmp_path: Path) -> None:
    """The counterpart of the test above: an old database does take the lock to migrate."""
    old_database(tmp_path / "state", V1)
    writer = sqlite3.connect(tmp_path / "state" / "state.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateError, match="locked"):
            Store(tmp_path / "state", busy_timeout=0.0)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    store = Store(tmp_path / "state")
    assert schema.version(store.db.conn()) == schema.VERSION
    store.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    store.commit([], [Position("log", "k", "1")])
    with store.transaction() as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (schema.VERSION + 1,)
        )
    store.close()
    with pytest.raises(StateError, match="newer ruleengine"):
        Store(tmp_path / "state")


def test_a_version_6_database_keeps_its_open_alerts_and_history(tmp_path: Path) -> None:
    """Schemas 7-9 add columns to tables that already hold rows: open alerts (the events of
    an alert) and the history (why a notification was not sent)."""
    state_dir = tmp_path / "state"
    statements = [s for step in schema.MIGRATIONS[:6] for s in step]
    rows = [
        "INSERT INTO meta VALUES ('schema_version', '6')",
        "INSERT INTO open_alerts VALUES ('install-failed', '7zip', 1, 4102444800, '{}')",
        "INSERT INTO history (time, id, rule, source, event, destination, outcome, attempts,"
        " text) VALUES (1, 'n1', 'r', 's', '', 'room', 'delivered', 1, 'sent')",
    ]
    old_database(state_dir, ";\n".join([*statements, *rows]) + ";")
    store = Store(state_dir)
    try:
        assert schema.version(store.db.conn()) == schema.VERSION
        alert = RuleState.load(store).alerts.slots[("install-failed", "7zip")]
        assert (alert.opened, alert.events) == (1, [])
        (entry,) = store.history(Query())
        assert (entry.text, entry.cause) == ("sent", None)
    finally:
        store.close()
