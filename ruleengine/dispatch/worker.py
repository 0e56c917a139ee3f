"""Delivery workers: one thread per destination, FIFO, paced, retrying, dead-lettering.

The retry *policy* lives in ``dispatch.policy``; senders only classify what happened.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence

from ruleengine.dispatch.ledger import Ledger
from ruleengine.dispatch.policy import (
    budget_exhausted,
    fallback_notice,
    next_delay,
    overflow_notice,
)
from ruleengine.dispatch.sending import Route, send_rows
from ruleengine.escape import visible
from ruleengine.model import Delivered, Notification, Original, Permanent, Retry
from ruleengine.redact import Redactor
from ruleengine.senders import Batching
from ruleengine.state import Delivery, OutboxRow, Store

log = logging.getLogger(__name__)
GIST = 60  # characters of a message's first line in the delivery log lines
# A wake-up after a commit is immediate; this poll only picks up rows changed by another
# process (``ruleengine dead retry`` while the daemon runs) and is a safety net.
IDLE_RECHECK = 5.0
ERROR_PAUSE = 5.0  # after an unexpected error (database trouble), before trying again
# Catching up: pending rows read at once, and delivered rows folded into the outbox in one
# transaction (each is journaled right after its send: see ``state.journal``).
BATCH = 256
OFFERED = 1024  # notifications held as the engine hands them over; the oldest go first


class Worker(threading.Thread):
    """Delivers the rows of one destination, oldest first; a failing head row blocks the rest.

    Blocking is deliberate: chat messages must arrive in order, and a rate-limited service
    should not be hammered with the rows behind the one it refused.
    """

    def __init__(
        self, route: Route, store: Store, redactor: Redactor, on_enqueue: Callable[[str], None]
    ) -> None:
        super().__init__(name=f"deliver-{route.name}", daemon=True)
        self.route = route
        self.store = store
        self.redactor = redactor
        self.on_enqueue = on_enqueue
        self._wake = threading.Condition()
        self._pending_wake = False
        self._stopping = False
        self._idle = False  # nothing due now and no wake pending: see ``wait_idle``
        self._nothing_due = False  # what the last step found
        self._finished = False
        self._last_send: float | None = None  # monotonic time of the last attempt (pacing)
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self._queue: deque[OutboxRow] = deque()  # pending rows read ahead, oldest first
        self._ledger = Ledger(store, route.name, BATCH)  # delivered, not yet in the outbox
        self._offered: OrderedDict[str, Notification] = OrderedDict()  # id -> as committed
        self._offer_lock = threading.Lock()

    def wake(self) -> None:
        """New rows may be queued: look again now (never lost, even mid-step)."""
        with self._wake:
            self._pending_wake = True
            self._idle = False
            self._wake.notify_all()

    def offer(self, notifications: Iterable[Notification]) -> None:
        """Rows the engine has just committed for this destination: read back, they are taken
        from here instead of decoded (a catch-up reads back everything it commits)."""
        with self._offer_lock:
            for notification in notifications:
                self._offered[notification.id] = notification
            while len(self._offered) > OFFERED:
                self._offered.popitem(last=False)

    def _take(self, id_: str) -> Notification | None:
        with self._offer_lock:
            return self._offered.pop(id_, None)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until this worker has nothing due now (rows waiting for a retry do not count)
        and no wake-up is pending; False on timeout, or if the worker is not running."""
        with self._wake:
            self._wake.wait_for(lambda: self._idle or self._finished, timeout)
            return self._idle and not self._finished

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()

    def _sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``; return early when woken (also before the wait) or stopped."""
        with self._wake:
            if not self._pending_wake and not self._stopping:
                self._wake.wait(max(seconds, 0.0))

    def run(self) -> None:
        self._ledger.open()
        while not self._stopping:
            # Consume the wake flag *before* reading the queue: a wake that arrives while we
            # read or send stays set, so the following sleep returns at once.
            with self._wake:
                self._pending_wake = False
            try:
                wait = self._step()
            except Exception:  # a broken database must not kill delivery silently
                self._nothing_due = False
                self._queue.clear()  # read again: the outcome of its head may not be stored
                if self._stopping:
                    log.warning("%s: stopped before an outcome was recorded", self.route.name)
                    break
                log.exception("delivery to %s failed unexpectedly; retrying", self.route.name)
                wait = ERROR_PAUSE
            if wait > 0:
                with self._wake:
                    self._idle = self._nothing_due and not self._pending_wake
                    self._wake.notify_all()
                self._sleep(wait)
        self._close_journal()
        with self._wake:
            self._finished = True
            self._wake.notify_all()  # wake ``wait_idle`` callers: a stopped worker is not idle

    def _close_journal(self) -> None:
        folded = False
        try:
            self.fold()
            folded = True
        except Exception:
            log.exception("%s: deliveries not recorded; the next start will", self.route.name)
        self._ledger.close(folded)

    def _step(self) -> float:
        """Make at most one attempt; return how long to wait before the next step.

        Before any wait, what was delivered is folded into the outbox, so an idle worker's
        outbox and history are up to date.
        """
        self._nothing_due = True
        if not self._queue:
            self.fold()
            self._queue.extend(self.store.pending(self.route.name, BATCH, self._take))
            if not self._queue:
                return IDLE_RECHECK
        row = self._queue[0]
        due = row.next_attempt - time.time()
        if due > 0:
            self.fold()
            return due
        self._nothing_due = False
        pace = self._pace_wait()
        if pace > 0 or self._stopping:
            self.fold()
            return pace
        rows = self._due_rows()
        self._last_send = time.monotonic()
        if log.isEnabledFor(logging.DEBUG):
            for row in rows:
                log.debug(
                    "sending %s to %s (attempt %d)",
                    row.notification.id,
                    self.route.name,
                    row.attempts + 1,
                )
        delivered: list[tuple[OutboxRow, Delivered]] = []
        failed: tuple[OutboxRow, Retry | Permanent] | None = None
        for row, outcome in zip(rows, send_rows(self.route, rows, self._originals), strict=True):
            if not isinstance(outcome, Delivered):
                failed = (row, outcome)  # the rows behind it stay pending, unsent
                break
            delivered.append((row, outcome))
        if delivered:
            self._record_delivered(delivered)
        if failed is not None:
            self._record_failure(*failed)
        return 0.0

    def _due_rows(self) -> list[OutboxRow]:
        """The head row, and the due rows behind it when the sender takes several at once and
        nothing paces it (a resolved notice goes alone: it looks up its alert's messages)."""
        rows = [self._queue.popleft()]
        if self.route.rate or not isinstance(self.route.sender, Batching):
            return rows
        now = time.time()
        queue = self._queue
        while (
            queue
            and len(rows) < BATCH
            and not rows[-1].notification.resolves
            and not queue[0].notification.resolves
            and queue[0].next_attempt <= now
        ):
            rows.append(queue.popleft())
        return rows

    def fold(self) -> None:
        """Record the journaled deliveries in the outbox and history (one transaction). Also
        called by the dispatcher on a worker that did not stop in time (stuck in a send), so
        the worker replacing it does not send them again."""
        if not self._ledger.fold():
            return
        name = self.route.name
        episode = self.store.end_overflow(name, overflow_notice)
        if episode is not None:
            log.warning(
                "%s recovered; %d notifications dropped while its queue was full: summary queued",
                name,
                episode.dropped,
            )

    def _gist(self, notification: Notification) -> str:
        """The message's first line, clipped, masked and escaped: which message it was."""
        first = notification.text.split("\n", 1)[0]
        clipped = first if len(first) <= GIST else first[: GIST - 1] + "…"
        return visible(self.redactor(clipped))

    def _pace_wait(self) -> float:
        """Seconds until the destination's rate allows another request (retries count too)."""
        if not self.route.rate or self._last_send is None:
            return 0.0
        return self._last_send + 1.0 / self.route.rate - time.monotonic()

    def _originals(self, notification: Notification) -> list[Original]:
        """The alert messages a resolved notice closes (folded first: the alert may be among
        the deliveries not yet in the outbox)."""
        self.fold()
        return self.store.originals(notification)

    def _record_delivered(self, delivered: Sequence[tuple[OutboxRow, Delivered]]) -> None:
        """Hand rows just delivered to the ledger (journaled at once, folded in later), then
        log them."""
        entries: list[Delivery] = [
            (row, outcome.warning and self.redactor(outcome.warning), outcome.ref)
            for row, outcome in delivered
        ]
        self._ledger.add(entries)
        name = self.route.name
        for row, warning, _ref in entries:
            notification = row.notification
            if warning:
                log.warning("delivered %s to %s, but: %s", notification.id, name, warning)
            elif log.isEnabledFor(logging.DEBUG):  # history is the record; this traces
                log.debug(
                    'delivered %s rule=%s to=%s "%s"',
                    notification.id,
                    visible(notification.rule),
                    name,
                    self._gist(notification),
                )

    def _record_failure(self, row: OutboxRow, outcome: Retry | Permanent) -> None:
        """A failure settles this row and makes it (or the next) the head: what was delivered
        before it is recorded first, and the queue is read again."""
        name, notification = self.route.name, row.notification
        self.fold()
        self._queue.clear()
        reason = self.redactor(outcome.reason)  # senders redact too; this is the last line
        attempts, now = row.attempts + 1, time.time()
        if isinstance(outcome, Retry) and not budget_exhausted(
            attempts, row.enqueued, self.route.policy, now
        ):
            delay = next_delay(outcome, row.attempts, self.route.policy, self._rng.random)
            self.store.mark_retry(row.seq, now + delay, reason)
            log.warning(
                "delivery to %s failed (%s); attempt %d, retrying in %.1fs",
                name,
                reason,
                attempts,
                delay,
            )
            return
        if isinstance(outcome, Retry):
            reason = f"gave up after {attempts} attempts: {reason}"
        fallback = None
        if self.route.fallback:
            fallback = fallback_notice(notification, name, self.route.fallback, reason)
        self.store.mark_dead(row.seq, reason, fallback)
        log.error(
            'dead-lettered notification %s rule=%s for %s "%s": %s%s',
            notification.id,
            visible(notification.rule),
            name,
            self._gist(notification),
            reason,
            f"; notice queued for fallback {self.route.fallback}" if fallback else "",
        )
        if fallback is not None:
            self.on_enqueue(fallback.destination)
