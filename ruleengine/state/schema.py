"""Every table of the state database and the migrations between its versions, in one place.

``meta.schema_version`` says which migrations a database has had. Opening a database that is
up to date only reads (no write lock, so ``dead`` or a second reader never waits on the daemon);
an older one is migrated in one write transaction. A newer one is refused: its tables may mean
something this version does not know.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ruleengine.errors import StateError

# Each entry brings a database from version i to i + 1. Statements say IF NOT EXISTS: version 1
# databases written before rule state was part of the schema may already have its tables.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            destination TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
            record TEXT NOT NULL,
            created REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL DEFAULT 0,
            last_error TEXT,
            updated REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (destination, state, seq)",
        """CREATE TABLE IF NOT EXISTS positions (
            source TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated REAL NOT NULL,
            PRIMARY KEY (source, key)
        )""",
    ),
    (  # 2: throttle windows and pending digests (created lazily by the rules before)
        """CREATE TABLE IF NOT EXISTS rule_throttle (
            rule TEXT NOT NULL,
            key TEXT NOT NULL,
            until REAL NOT NULL,
            suppressed INTEGER NOT NULL,
            PRIMARY KEY (rule, key)
        )""",
        """CREATE TABLE IF NOT EXISTS rule_digest (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            rule TEXT NOT NULL,
            grp TEXT NOT NULL,
            due REAL NOT NULL,
            event TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS rule_digest_group ON rule_digest (rule, grp)",
    ),
    (  # 3: what was sent (``ruleengine history``), bounded by ``history:`` in the rules file
        """CREATE TABLE IF NOT EXISTS history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            id TEXT NOT NULL,
            rule TEXT NOT NULL,
            source TEXT NOT NULL,
            event TEXT NOT NULL,
            destination TEXT NOT NULL,
            outcome TEXT NOT NULL,  -- delivered | dead
            attempts INTEGER NOT NULL,
            text TEXT NOT NULL,
            error TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS history_time ON history (time)",
    ),
    (  # 4: bounded queues. ``size``: bytes of the stored record (the pending cap counts them);
        # new records are compressed (``outbox.encode``), old JSON ones stay readable.
        # ``overflow``: notifications counted instead of stored while a destination's
        # queue was full, until the summary is queued.
        "ALTER TABLE outbox ADD COLUMN size INTEGER NOT NULL DEFAULT 0",
        "UPDATE outbox SET size = length(CAST(record AS BLOB))",
        """CREATE TABLE IF NOT EXISTS overflow (
            destination TEXT PRIMARY KEY,
            dropped INTEGER NOT NULL,
            since REAL NOT NULL,
            last REAL NOT NULL
        )""",
    ),
    (  # 5: time-aware rules: threshold windows
        """CREATE TABLE rule_count (
            rule TEXT NOT NULL,
            key TEXT NOT NULL,
            quiet_until REAL NOT NULL,
            events TEXT NOT NULL,  -- JSON [[counted at, variables], ...]
            PRIMARY KEY (rule, key)
        )""",
        # silences: written by `ruleengine silence`, read by the daemon
        """CREATE TABLE silences (
            id TEXT PRIMARY KEY,
            rule TEXT,
            match TEXT NOT NULL,  -- JSON [[field, value], ...]
            starts REAL NOT NULL,
            ends REAL NOT NULL,
            reason TEXT NOT NULL,
            created REAL NOT NULL,
            summarized INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE silence_suppressed (
            silence TEXT NOT NULL,
            destination TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (silence, destination)
        )""",
        # keys of `expect` rules (absence)
        """CREATE TABLE rule_expect (
            rule TEXT NOT NULL,
            key TEXT NOT NULL,
            last_seen REAL NOT NULL,
            seen INTEGER NOT NULL,
            missing_since REAL,
            PRIMARY KEY (rule, key)
        )""",
        # alerts a `resolves` rule may close
        """CREATE TABLE open_alerts (
            rule TEXT NOT NULL,
            key TEXT NOT NULL,
            opened REAL NOT NULL,
            expires REAL NOT NULL,
            variables TEXT NOT NULL,  -- JSON: the alert's template variables
            PRIMARY KEY (rule, key)
        )""",
        # notifications a destination's schedule holds
        """CREATE TABLE held_notifications (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            destination TEXT NOT NULL,
            due REAL NOT NULL,
            record TEXT NOT NULL
        )""",
    ),
    (  # 6: positions that expire by age (the http source's idempotency keys)
        "CREATE INDEX IF NOT EXISTS positions_age ON positions (source, updated)",
    ),
    (  # 7: resolved notices that edit or thread the alert: the events an open alert was
        # fired by, and the services' ids for the alert messages (``state.message_refs``)
        "ALTER TABLE open_alerts ADD COLUMN events TEXT NOT NULL DEFAULT '[]'",
        """CREATE TABLE message_refs (
            id TEXT PRIMARY KEY,  -- the alert notification's (outbox) id
            ref TEXT NOT NULL,  -- the service's id: Discord message id, Matrix event id
            record BLOB NOT NULL,  -- the notification as sent (``record.encode``)
            created REAL NOT NULL
        )""",
        "CREATE INDEX message_refs_age ON message_refs (created)",
    ),
    (  # 8: the history also lists what was not sent: silenced (by which silence) and dropped
        # (by which schedule); ``cause`` says which
        "ALTER TABLE history ADD COLUMN cause TEXT",
    ),
    (  # 9: what schedules dropped (``otherwise: drop``), per rule and per destination
        """CREATE TABLE schedule_drops (
            kind TEXT NOT NULL,  -- rule | destination
            name TEXT NOT NULL,
            dropped INTEGER NOT NULL,
            last REAL NOT NULL,
            PRIMARY KEY (kind, name)
        )""",
    ),
)
VERSION = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    """The schema version of a database; 0 for an empty (new) one."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row is not None and str(row[0]).isdigit() else 0


def readable_version(conn: sqlite3.Connection) -> int:
    """``version`` for a reader: raises ``sqlite3.OperationalError`` unless the database has
    the tables every version has (it is some other SQLite file)."""
    conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    conn.execute("SELECT 1 FROM outbox LIMIT 1").fetchall()
    return version(conn)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database to ``VERSION``; reads only when it is there already."""
    if _check(version(conn), path):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = version(conn)  # another process may have migrated meanwhile
        if not _check(current, path):
            for statements in MIGRATIONS[current:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(VERSION),),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _check(current: int, path: Path) -> bool:
    """True when up to date; raises for a database from a newer ruleengine."""
    if current > VERSION:
        raise StateError(
            f"{path} was written by a newer ruleengine (schema {current}, this one "
            f"knows {VERSION}); upgrade ruleengine or move the file away"
        )
    return current == VERSION
