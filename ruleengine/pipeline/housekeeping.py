"""The state database kept within bounds while the daemon runs: delivered ids long enough to
recognise a re-read, history and alert message ids within what the rules file keeps."""

from __future__ import annotations

import time

from ruleengine.config.schema import RulesFile
from ruleengine.state import Store

DELIVERED_RETENTION = 7 * 86400.0  # delivered ids kept this long to recognise re-reads
HISTORY_PRUNE_EVERY = 3600.0  # seconds between prunes of the history table


class Housekeeping:
    """Prunes at start, then hourly from the engine thread's turns."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._next_prune = 0.0

    def at_start(self, model: RulesFile) -> None:
        self.store.prune_delivered(time.time() - DELIVERED_RETENTION)
        self.prune_history(model)

    def tick(self, model: RulesFile) -> None:
        if time.monotonic() >= self._next_prune:
            self.prune_history(model)

    def prune_history(self, model: RulesFile) -> None:
        """Keep ``ruleengine history`` within the rules file's ``history:`` bounds."""
        keep, now = model.history, time.time()
        self.store.prune_history(now - keep.max_age, keep.max_rows)
        # An alert's message id is needed while the alert may be open (its `resolves.expire`).
        self.store.prune_refs(
            now - max((r.resolves.expire for r in model.rules if r.resolves), default=0)
        )
        self._next_prune = time.monotonic() + HISTORY_PRUNE_EVERY
