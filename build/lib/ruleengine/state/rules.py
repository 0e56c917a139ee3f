"""Throttle and digest state in the state database, saved with the outbox rows it explains.

``rules.throttle`` and ``rules.digest`` keep their state in memory and know nothing of SQLite;
this module reads it at start (``RuleState.load``) and writes what changed (``save``) inside the
engine's commit transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ruleengine.rules import digest, throttle
from ruleengine.state.store import Store


@dataclass
class RuleState:
    throttles: throttle.Throttles = field(default_factory=throttle.Throttles)
    digests: digest.Digests = field(default_factory=digest.Digests)

    @classmethod
    def load(cls, store: Store) -> RuleState:
        """What a previous run left (the schema has the tables)."""
        conn = store.db.conn()
        windows = conn.execute("SELECT rule, key, until, suppressed FROM rule_throttle")
        events = conn.execute("SELECT rule, grp, due, event FROM rule_digest ORDER BY seq")
        return cls(
            throttle.Throttles.from_rows(windows),
            digest.Digests.from_rows((r, g, due, json.loads(e)) for r, g, due, e in events),
        )

    def save(self, conn: sqlite3.Connection) -> None:
        """Write the changes; runs inside ``Store.commit``'s transaction."""
        written, deleted = self.throttles.changes()
        conn.executemany("DELETE FROM rule_throttle WHERE rule = ? AND key = ?", deleted)
        conn.executemany(
            "INSERT INTO rule_throttle (rule, key, until, suppressed) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (rule, key) DO UPDATE SET until = excluded.until,"
            " suppressed = excluded.suppressed",
            written,
        )
        added, removed = self.digests.changes()
        conn.executemany("DELETE FROM rule_digest WHERE rule = ? AND grp = ?", removed)
        conn.executemany(
            "INSERT INTO rule_digest (rule, grp, due, event) VALUES (?, ?, ?, ?)",
            [(r, g, due, json.dumps(event, ensure_ascii=False)) for r, g, due, event in added],
        )

    @property
    def dirty(self) -> bool:
        return self.throttles.dirty or self.digests.dirty

    def saved(self) -> None:
        self.throttles.saved()
        self.digests.saved()
