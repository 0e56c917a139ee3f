"""The engine thread: batches in, notifications and positions committed together, workers woken."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from ruleengine.errors import StateError
from ruleengine.model import Batch, Notification
from ruleengine.outbox import Store
from ruleengine.rules.engine import RuleSet

log = logging.getLogger(__name__)
QUEUE_BATCHES = 64  # bounded: a slow disk slows the sources down instead of growing memory


class Engine(threading.Thread):
    def __init__(self, rules: RuleSet, store: Store, wake: Callable[[str], None]) -> None:
        super().__init__(name="engine", daemon=True)
        self.rules = rules
        self.store = store
        self.wake = wake
        self.queue: queue.Queue[Batch | None] = queue.Queue(QUEUE_BATCHES)
        self.heartbeat = time.monotonic()

    def emit(self, batch: Batch) -> None:
        """Called by source threads; blocks while the engine is behind."""
        self.queue.put(batch)

    def stop(self) -> None:
        """Process everything already queued, then exit."""
        self.queue.put(None)

    def run(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            self.process(batch)
            self.heartbeat = time.monotonic()

    def process(self, batch: Batch) -> list[Notification]:
        notifications = [n for event in batch.events for n in self.rules.evaluate(event)]
        delay = 1.0
        while True:
            try:
                self.store.commit(notifications, batch.positions)
                break
            except (StateError, OSError, Exception) as exc:
                log.error("cannot write to the state database (%s); retrying in %.0fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        if batch.on_committed is not None:
            try:
                batch.on_committed(bool(notifications))
            except Exception:
                log.exception("post-commit action failed")
        for destination in {n.destination for n in notifications}:
            self.wake(destination)
        return notifications
