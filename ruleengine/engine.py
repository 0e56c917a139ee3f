"""The engine thread: batches in, notifications and positions committed together, workers woken."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ruleengine.errors import StateError
from ruleengine.model import Batch, Notification
from ruleengine.outbox import Store
from ruleengine.rules.engine import RuleSet

log = logging.getLogger(__name__)
QUEUE_BATCHES = 64  # bounded: a slow disk slows the sources down instead of growing memory
IDLE_WAKE = 5.0  # seconds: the loop turns at least this often so ``heartbeat`` stays fresh


@dataclass(frozen=True)
class _Swap:
    rules: RuleSet


class _Tick:
    """Nothing arrived before the timeout."""


_TICK = _Tick()


class Engine(threading.Thread):
    def __init__(self, rules: RuleSet, store: Store, wake: Callable[[str], None]) -> None:
        super().__init__(name="engine", daemon=True)
        self.rules = rules
        self.store = store
        self.wake = wake
        self.queue: queue.Queue[Batch | _Swap | _Tick | None] = queue.Queue(QUEUE_BATCHES)
        self.heartbeat = time.monotonic()
        self.on_tick: Callable[[], None] | None = None  # called from this thread on each turn
        self.on_batch: Callable[[list[Notification]], None] | None = None  # after each commit

    def emit(self, batch: Batch) -> None:
        """Called by source threads; blocks while the engine is behind."""
        self.queue.put(batch)

    def stop(self) -> None:
        """Process everything already queued, then exit."""
        self.queue.put(None)

    def swap_rules(self, rules: RuleSet) -> None:
        """Adopt new rules between two batches: batches queued before keep the old rules."""
        if self.is_alive():
            self.queue.put(_Swap(rules))
        else:
            self.rules = rules

    def run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=IDLE_WAKE)
            except queue.Empty:
                item = _TICK
            if item is None:
                return
            if isinstance(item, _Swap):
                self.rules = item.rules
            elif isinstance(item, Batch):
                self.process(item)
            self.heartbeat = time.monotonic()
            if self.on_tick is not None:
                self.on_tick()

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
        if self.on_batch is not None:
            self.on_batch(notifications)
        if batch.on_committed is not None:
            try:
                batch.on_committed(bool(notifications))
            except Exception:
                log.exception("post-commit action failed")
        for destination in {n.destination for n in notifications}:
            self.wake(destination)
        return notifications
