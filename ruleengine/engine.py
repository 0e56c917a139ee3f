"""The engine thread: batches in, notifications and positions committed together, workers woken.

It also owns the clock-driven part of the rules: the loop wakes when the next pending digest is
due (``queue.get(timeout=…)``) and enqueues it in the transaction that deletes its rows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ruleengine import turn
from ruleengine.clock import Clock, system_clock
from ruleengine.counters import Counters
from ruleengine.model import Batch, Notification, Position
from ruleengine.render import render, render_fired
from ruleengine.rules import heartbeats
from ruleengine.rules.actions import Outputs
from ruleengine.rules.engine import RuleSet
from ruleengine.state import Store, edits
from ruleengine.state import absences as absence_rows
from ruleengine.state import silences as silence_rows
from ruleengine.state.rules import RuleState

log = logging.getLogger(__name__)
QUEUE_BATCHES = 64  # bounded: a slow disk slows the sources down instead of growing memory
COALESCE_BATCHES, COALESCE_EVENTS = 256, 20_000  # most work committed in one transaction
IDLE_WAKE = 5.0  # seconds: the loop wakes at least this often so ``heartbeat`` stays fresh


@dataclass(frozen=True)
class _Swap:
    rules: RuleSet


class _Tick:
    """Nothing arrived before the timeout: only check due digests."""


class Engine(threading.Thread):
    def __init__(
        self,
        rules: RuleSet,
        store: Store,
        wake: Callable[[str], None],
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(name="engine", daemon=True)
        self.rules = rules
        self.store = store
        self.wake = wake
        self.clock = clock
        self.state = RuleState.load(store)
        self.outputs = Outputs(
            self.state.throttles,
            self.state.digests,
            self.state.counts,
            self.state.absences,
            self.state.alerts,
            drops=self.state.drops,
        )
        # Windows of rules gone since the last run would never be reported: forget them. Their
        # pending digests cannot be rendered without the rule; they are dropped (with a warning)
        # when due.
        self.state.throttles.keep_rules({r.name for r in rules.rules if r.throttle is not None})
        self.state.absences.start(clock())  # deadlines before now passed while we were down
        self._keep_time_state(rules)
        self.queue: queue.Queue[Batch | _Swap | _Tick | None] = queue.Queue(QUEUE_BATCHES)
        self.heartbeat = time.monotonic()
        self.counters = Counters()
        self.on_tick: Callable[[], None] | None = None  # called from this thread on each turn
        self.on_batch: Callable[[list[Notification]], None] | None = None  # after each commit
        #: Gets each commit's notifications when every one of them is a new row (the outbox
        #: ignores a known id, and a full queue takes none): the dispatcher's ``offer``.
        self.offer: Callable[[Sequence[Notification]], None] | None = None
        self._drained = threading.Condition()
        self._queued = self._handled = 0  # items put on the queue / taken off and handled
        self._edits: int | None = None  # ``state.edits`` as last adopted: did the CLI write?

    def _put(self, item: Batch | _Swap | _Tick | None) -> None:
        with self._drained:
            self._queued += 1
        self.queue.put(item)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until everything emitted so far is evaluated and committed; False on timeout.

        Workers are woken by then, so a test can go on to ``Dispatcher.wait_drained``.
        """
        with self._drained:
            return self._drained.wait_for(lambda: self._handled >= self._queued, timeout)

    def _done(self, count: int) -> None:
        with self._drained:
            self._handled += count
            self._drained.notify_all()

    def emit(self, batch: Batch) -> None:
        """Called by source threads; blocks while the engine is behind."""
        self._put(batch)

    def stop(self) -> None:
        """Process everything already queued, then exit (pending digests stay in the database)."""
        self._put(None)

    def swap_rules(self, rules: RuleSet) -> None:
        """Adopt new rules between two batches; state of rules keeping their name is kept."""
        if self.is_alive():
            self._put(_Swap(rules))
        else:
            self.adopt(rules)

    def run(self) -> None:
        held: list[Batch | _Swap | _Tick | None] = []  # taken from the queue, not yet handled
        while True:
            if held:
                item = held.pop()
            else:
                try:
                    item = self.queue.get(timeout=self._timeout())
                except queue.Empty:
                    item = _TICK  # a digest is due, or time for a heartbeat
            if item is None:
                log.info("%s", self.counters.summary())
                self._done(1)
                return
            handled = 0 if item is _TICK else 1
            if isinstance(item, _Swap):
                self.adopt(item.rules)
            elif isinstance(item, Batch):
                batches = self._more_batches(item, held)
                self.process_many(batches)
                handled = len(batches)
            # A batch's commit has just re-read the CLI's edits: once per turn is enough.
            self.flush_due(refresh=not isinstance(item, Batch))
            self._done(handled)
            self.heartbeat = time.monotonic()
            if self.on_tick is not None:
                self.on_tick()

    def _timeout(self) -> float:
        dues = (
            self.state.digests.next_due(),
            self.state.silences.next_end(),
            self.state.absences.next_due(heartbeats.specs(self.rules.rules)),
            self.state.held.next_due(),
        )
        due = min((d for d in dues if d is not None), default=None)
        if due is None:
            return IDLE_WAKE
        return min(IDLE_WAKE, max(0.0, due - self.clock()))

    def adopt(self, rules: RuleSet) -> None:
        """Switch rules; throttle windows and digests of vanished rules are dropped or sent."""
        old = self.rules
        self.rules = rules
        names = {r.name for r in rules.rules if r.throttle is not None}
        self.state.throttles.keep_rules(names)
        self._keep_time_state(rules)
        digesting = {r.name for r in rules.rules if r.digest is not None}
        orphans = [g for g in self.state.digests.groups.values() if g.rule not in digesting]
        # A digest already collected is news someone expects: send it with the old templates.
        notifications = render(d for g in orphans for d in self.outputs.flush(g, old))
        self._commit(notifications, ())

    def _more_batches(self, first: Batch, held: list[Batch | _Swap | _Tick | None]) -> list[Batch]:
        """``first`` plus the batches already waiting behind it, up to the first non-batch.

        One transaction for many small batches (a burst of markers) instead of one fsync each.
        """
        batches, events = [first], first.size
        while len(batches) < COALESCE_BATCHES and events < COALESCE_EVENTS:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, Batch):
                held.append(item)  # a swap or the stop sentinel: handled after these batches
                break
            batches.append(item)
            events += item.size
        return batches

    def process(self, batch: Batch) -> list[Notification]:
        return self.process_many([batch])

    def process_many(self, batches: Sequence[Batch]) -> list[Notification]:
        """Evaluate batches in order and commit all their notifications and positions at once."""
        counters = self.counters
        cpu = time.thread_time()
        if counters.first is None:
            counters.first = time.monotonic()
        notifications: list[Notification] = []
        matched: list[bool] = []
        positions: list[Position] = []
        for batch in batches:
            fired = self.rules.fire_lines(batch.lines) if batch.lines is not None else []
            fired += self.rules.fire(batch.events)
            notifications += render(self.outputs.apply(fired, self.rules, self.clock()))
            # "Matched" means a rule fired, even if a throttle or digest held its message back.
            matched.append(bool(fired))
            positions += [p.settled(bool(fired)) for p in batch.positions]
            lines = sum(1 for event in batch.events if event.kind == "line")
            counters.lines += lines + (len(batch.lines) if batch.lines is not None else 0)
            counters.events += len(batch.events) - lines
            counters.matched += len({id(f.event) for f in fired})
        self._commit(notifications, positions)
        counters.notifications += len(notifications)
        counters.last = time.monotonic()
        counters.cpu += time.thread_time() - cpu
        for batch, hit in zip(batches, matched, strict=True):
            if batch.on_committed is not None:
                try:
                    batch.on_committed(hit)
                except Exception:
                    log.exception("post-commit action failed")
        return notifications

    def flush_due(self, refresh: bool = True) -> list[Notification]:
        """Send every digest whose wait is over, in one transaction with removing its rows;
        adopt silences the CLI changed (unless the caller just did) and summarise those that
        ended."""
        if refresh:
            self._refresh_edits()
        state = self.state
        notifications = turn.due(
            self.clock(),
            rules=self.rules,
            outputs=self.outputs,
            silences=state.silences,
            held=state.held,
        )
        if notifications or self.state.dirty:
            self._commit(notifications, (), refreshed=True)
        return notifications

    def _keep_time_state(self, rules: RuleSet) -> None:
        """Keep the state of rules that still have it (by name); watch the keys rules list."""
        self.state.counts.keep_rules({r.name for r in rules.rules if r.count is not None})
        self.state.alerts.keep_rules({r.resolves.rule for r in rules.rules if r.resolves})
        self.state.absences.keep_rules({r.name for r in rules.rules if r.expect is not None})
        heartbeats.expect_fixed(rules.rules, self.state.absences, self.clock())

    def _refresh_edits(self) -> None:
        """Adopt silences and watched keys as stored when the CLI edited them (``silence``,
        ``expect forget``); called between commits, so nothing of this engine is unsaved."""
        conn = self.store.db.conn()
        generation = edits.generation(conn)
        if generation != self._edits:
            self._edits = generation
            silence_rows.refresh(conn, self.state.silences)
            self.state.absences.replace(absence_rows.watches(conn))
            self._keep_time_state(self.rules)

    def _commit(
        self,
        notifications: Sequence[Notification],
        positions: Sequence[Position],
        *,
        refreshed: bool = False,
    ) -> None:
        if not refreshed:
            self._refresh_edits()  # a silence added a moment ago already holds this batch back
        now = self.clock()
        drops = self.state.drops
        for fired, cause, at in drops.take_fired():  # the history shows what they would say
            drops.record(render_fired(fired), cause, at)
        state = self.state
        notifications = turn.admit(
            notifications,
            now,
            rules=self.rules,
            held=state.held,
            silences=state.silences,
            drops=drops,
        )
        delay = 1.0
        while True:
            try:
                added = self.store.commit(notifications, positions, self.state.save)
                break
            except Exception as exc:
                log.error("cannot write to the state database (%s); retrying in %.0fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.state.saved()
        if self.offer is not None and notifications and added == len(notifications):
            self.offer(notifications)
        if self.on_batch is not None and notifications:
            self.on_batch(list(notifications))
        for destination in {n.destination for n in notifications}:
            self.wake(destination)


_TICK = _Tick()
