"""Throttle and digest state in the state database, saved with the outbox rows it explains."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ruleengine.rules import digest, throttle
from ruleengine.state import Store


@dataclass
class RuleState:
    throttles: throttle.Throttles = field(default_factory=throttle.Throttles)
    digests: digest.Digests = field(default_factory=digest.Digests)

    @classmethod
    def load(cls, store: Store) -> RuleState:
        """Create the tables if needed and read what a previous run left."""
        with store.transaction() as conn:
            for script in (throttle.SCHEMA, digest.SCHEMA):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
            return cls(throttle.Throttles.load(conn), digest.Digests.load(conn))

    def save(self, conn: sqlite3.Connection) -> None:
        """Write the changes; runs inside ``Store.commit``'s transaction."""
        self.throttles.save(conn)
        self.digests.save(conn)

    @property
    def dirty(self) -> bool:
        return self.throttles.dirty or self.digests.dirty

    def saved(self) -> None:
        self.throttles.saved()
        self.digests.saved()
