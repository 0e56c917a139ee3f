"""Rule state in the state database (throttle, digest, count, silence, absence, open alerts,
held notifications, schedule drops), saved with the outbox rows it explains.

``rules.throttle``, ``rules.digest`` and the others keep their state in memory and know nothing
of SQLite; this module reads it at start (``RuleState.load``) and writes what changed
(``save``) inside the engine's commit transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ruleengine.rules import absence, counts, digest, held, resolve, silences, throttle
from ruleengine.rules.drops import Drops
from ruleengine.state import absences as absence_rows
from ruleengine.state import drops as drop_rows
from ruleengine.state import silences as silence_rows
from ruleengine.state.store import Store


@dataclass
class RuleState:
    throttles: throttle.Throttles = field(default_factory=throttle.Throttles)
    digests: digest.Digests = field(default_factory=digest.Digests)
    counts: counts.Counts = field(default_factory=counts.Counts)
    silences: silences.Silences = field(default_factory=silences.Silences)
    absences: absence.Absences = field(default_factory=absence.Absences)
    alerts: resolve.OpenAlerts = field(default_factory=resolve.OpenAlerts)
    held: held.Held = field(default_factory=held.Held)
    drops: Drops = field(default_factory=Drops)

    @classmethod
    def load(cls, store: Store) -> RuleState:
        """What a previous run left (the schema has the tables)."""
        conn = store.db.conn()
        windows = conn.execute("SELECT rule, key, until, suppressed FROM rule_throttle")
        events = conn.execute("SELECT rule, grp, due, event FROM rule_digest ORDER BY seq")
        tallies = conn.execute("SELECT rule, key, quiet_until, events FROM rule_count")
        return cls(
            throttle.Throttles.from_rows(windows),
            digest.Digests.from_rows((r, g, due, json.loads(e)) for r, g, due, e in events),
            counts.Counts.from_rows((r, k, q, json.loads(e)) for r, k, q, e in tallies),
            silence_rows.load(conn),
            absence_rows.load(conn),
            resolve.OpenAlerts.from_rows(
                (r, k, o, e, json.loads(v), json.loads(ids))
                for r, k, o, e, v, ids in conn.execute(
                    "SELECT rule, key, opened, expires, variables, events FROM open_alerts"
                )
            ),
            held.Held.from_rows(
                (d, due, json.loads(r))
                for d, due, r in conn.execute(
                    "SELECT destination, due, record FROM held_notifications ORDER BY seq"
                )
            ),
            drop_rows.load(conn),
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
        tallies, forgotten = self.counts.changes()
        conn.executemany("DELETE FROM rule_count WHERE rule = ? AND key = ?", forgotten)
        conn.executemany(
            "INSERT INTO rule_count (rule, key, quiet_until, events) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (rule, key) DO UPDATE SET quiet_until = excluded.quiet_until,"
            " events = excluded.events",
            [(r, k, q, json.dumps(e, ensure_ascii=False)) for r, k, q, e in tallies],
        )
        silence_rows.save(conn, self.silences)
        absence_rows.save(conn, self.absences)
        opened, closed = self.alerts.changes()
        conn.executemany("DELETE FROM open_alerts WHERE rule = ? AND key = ?", closed)
        conn.executemany(
            "INSERT INTO open_alerts (rule, key, opened, expires, variables, events)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule, key) DO UPDATE SET"
            " opened = excluded.opened, expires = excluded.expires,"
            " variables = excluded.variables, events = excluded.events",
            [
                (r, k, o, e, json.dumps(v, ensure_ascii=False), json.dumps(ids))
                for r, k, o, e, v, ids in opened
            ],
        )
        kept, released = self.held.changes()
        conn.executemany(
            "DELETE FROM held_notifications WHERE destination = ?", [(d,) for d in released]
        )
        conn.executemany(
            "INSERT INTO held_notifications (destination, due, record) VALUES (?, ?, ?)",
            [(d, due, json.dumps(r, ensure_ascii=False)) for d, due, r in kept],
        )
        drop_rows.save(conn, self.drops)

    @property
    def dirty(self) -> bool:
        return any(
            part.dirty
            for part in (
                self.throttles,
                self.digests,
                self.counts,
                self.silences,
                self.absences,
                self.alerts,
                self.held,
                self.drops,
            )
        )

    def saved(self) -> None:
        self.throttles.saved()
        self.digests.saved()
        self.counts.saved()
        self.silences.saved()
        self.absences.saved()
        self.alerts.saved()
        self.held.saved()
        self.drops.saved()
