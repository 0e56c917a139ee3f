"""A delivery worker's deliveries not yet recorded in the outbox.

Each is journaled right after its send (``state.journal``: one ``write(2)``, survives a kill) and
folded into the outbox and history in one transaction per batch: once ``fold_every`` are held,
once the oldest is ``FOLD_AFTER`` old, before the worker waits, and when it stops. Without a
journal (it could not be created) every send is folded at once, as before journals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from ruleengine.state import Delivery, Store
from ruleengine.state.journal import DeliveryJournal

log = logging.getLogger(__name__)
FOLD_AFTER = 1.0  # seconds: a slow destination's deliveries reach the outbox at least this soon


class Ledger:
    """What one worker delivered and has not folded yet; ``fold`` is safe from any thread
    (the dispatcher folds for a worker stuck in a send)."""

    def __init__(self, store: Store, name: str, fold_every: int) -> None:
        self.store = store
        self.name = name
        self.fold_every = fold_every
        self._journal: DeliveryJournal | None = None
        self._held: list[Delivery] = []  # journaled, not folded (under ``_lock``)
        self._since = 0.0  # monotonic time of the oldest of those
        self._lock = threading.Lock()

    def open(self) -> None:
        """Create the journal (in the worker's thread)."""
        try:
            self._journal = self.store.journal()
        except OSError as exc:  # each delivery is then recorded on its own, as it used to be
            log.error(
                "%s: no delivery journal (%s); recording deliveries one by one", self.name, exc
            )

    def add(self, entries: Sequence[Delivery]) -> None:
        """Rows just delivered, with their warning and the service's message id: journaled in
        one write, folded in when enough are held."""
        with self._lock:
            if self._journal is not None:
                self._journal.record((row.seq, warning, ref) for row, warning, ref in entries)
            if not self._held:
                self._since = time.monotonic()
            self._held += entries
        if (
            self._journal is None
            or len(self._held) >= self.fold_every
            or time.monotonic() - self._since >= FOLD_AFTER
        ):
            self.fold()

    def fold(self) -> bool:
        """Record what is held in the outbox and history (one transaction) and empty the
        journal; False when nothing was held."""
        with self._lock:
            if not self._held:
                return False
            self.store.settle_delivered(self._held)
            self._held = []
            if self._journal is not None:
                self._journal.clear()
        return True

    def close(self, folded: bool) -> None:
        """Close the journal; it stays for the next start unless everything was ``folded``."""
        if self._journal is not None:
            self._journal.close(folded)
