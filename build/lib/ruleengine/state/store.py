"""The state database as the daemon uses it: one transaction per batch, the outbox beside it.

``Store`` is a small facade over the owners below it: ``db`` (connections, transactions,
schema), ``outbox`` (inherited: the delivery side and dead letters) and ``positions``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from ruleengine.model import Notification, Position
from ruleengine.state import outbox, positions
from ruleengine.state.db import BUSY_TIMEOUT, Database
from ruleengine.state.outbox import Outbox
from ruleengine.state.positions import SourcePositions


class Store(Outbox):
    """The state database in ``state_dir/state.db``."""

    def __init__(self, state_dir: Path, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.db = Database(state_dir, busy_timeout)
        self.path = self.db.path
        super().__init__(self.db)

    def transaction(self, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        return self.db.transaction(durable)

    def close(self) -> None:
        self.db.close()

    def commit(
        self,
        notifications: Iterable[Notification],
        batch_positions: Iterable[Position],
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> int:
        """Enqueue notifications and record positions atomically; returns rows newly queued.

        ``also`` writes more state (throttle windows, pending digests) in the same transaction.
        """
        now = time.time()
        with self.db.transaction() as conn:
            added = outbox.enqueue(conn, notifications, now)
            positions.put(conn, batch_positions, now)
            if also is not None:
                also(conn)
        return added

    def positions_of(self, source: str) -> SourcePositions:
        """The narrow view a source gets (``SourceContext.positions``)."""
        return SourcePositions(self.db, source)

    def position(self, source: str, key: str) -> str | None:
        return self.positions_of(source).get(key)

    def positions(self, source: str) -> dict[str, str]:
        return self.positions_of(source).all()
