"""Delivery workers: one thread per destination, FIFO, paced, retrying, dead-lettering.

The retry *policy* lives here (pure functions at the top, shared with ``ruleengine send``);
senders only classify what happened.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ruleengine.config.destinations import RetryPolicy
from ruleengine.model import Delivered, Notification, Outcome, Retry, stable_id
from ruleengine.redact import Redactor
from ruleengine.senders import Sender
from ruleengine.state import OutboxRow, Store

log = logging.getLogger(__name__)
# A wake-up after a commit is immediate; this poll only picks up rows changed by another
# process (``ruleengine dead retry`` while the daemon runs) and is a safety net.
IDLE_RECHECK = 5.0
GROUP_ROWS = 64  # rows read from the queue at once
GROUP_SECONDS = 0.05  # ... and attempted for at most this long before the queue is read again
ERROR_PAUSE = 5.0  # after an unexpected error (database trouble), before trying again
MIN_DELAY = 0.05  # full jitter may draw ~0; never spin on a failing service
MIN_RETRY_AFTER = 0.5  # a "retry after 0" (or a reset time in the past) still gets a pause


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].

    ``attempt`` counts the failures before this one (0 for the first retry); ``rng`` returns
    a float in [0, 1) and is injected so tests can pin it.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 0), 32))
    return rng() * ceiling


def next_delay(
    outcome: Retry, attempt: int, policy: RetryPolicy, rng: Callable[[], float]
) -> float:
    """Seconds until the next attempt: the service's own wait when it gave one, else backoff.

    The service's wait is honoured up to ``policy.retry_after_max``, so a bogus header
    ("retry in a year") cannot park a queue forever.
    """
    if outcome.after is not None:
        return min(max(outcome.after, MIN_RETRY_AFTER), policy.retry_after_max)
    return max(backoff_delay(attempt, policy.backoff, policy.backoff_max, rng), MIN_DELAY)


def budget_exhausted(attempts_made: int, enqueued: float, policy: RetryPolicy, now: float) -> bool:
    """True when a row that has now failed ``attempts_made`` times must not be tried again."""
    if policy.max_attempts and attempts_made >= policy.max_attempts:
        return True
    return now - enqueued >= policy.max_age


def fallback_notice(
    original: Notification, destination: str, fallback: str, reason: str
) -> Notification:
    """What the fallback destination receives when ``original`` could not go out.

    The id derives from the original's, so a crash between dead-lettering and the fallback
    send cannot produce two notices; a notice that itself fails chains to the next fallback.
    """
    return Notification(
        id=stable_id(original.id, "fallback", fallback),
        destination=fallback,
        rule=original.rule,
        source=original.source,
        title=original.title,
        text=f"Could not deliver to {destination} ({reason}). Original message:\n{original.text}",
        color="red",
        notify=original.notify,
        created=original.created,
        fields=original.fields,
    )


@dataclass(frozen=True)
class Route:
    """Everything a worker needs to know about its destination."""

    name: str
    sender: Sender
    policy: RetryPolicy
    rate: float | None
    fallback: str | None


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
        self._last_send: float | None = None  # monotonic time of the last attempt (pacing)
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def wake(self) -> None:
        """New rows may be queued: look again now (never lost, even mid-step)."""
        with self._wake:
            self._pending_wake = True
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def _sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``; return early when woken (also before the wait) or stopped."""
        with self._wake:
            if not self._pending_wake and not self._stopping:
                self._wake.wait(max(seconds, 0.0))

    def run(self) -> None:
        while not self._stopping:
            # Consume the wake flag *before* reading the queue: a wake that arrives while we
            # read or send stays set, so the following sleep returns at once.
            with self._wake:
                self._pending_wake = False
            try:
                wait = self._step()
            except Exception:  # a broken database must not kill delivery silently
                if self._stopping:
                    log.warning("%s: stopped before an outcome was recorded", self.route.name)
                    return
                log.exception("delivery to %s failed unexpectedly; retrying", self.route.name)
                wait = ERROR_PAUSE
            if wait > 0:
                self._sleep(wait)

    def _step(self) -> float:
        """Attempt the rows at the head of the queue, in order, until one is not delivered,
        one must wait, or GROUP_SECONDS have passed; return how long to wait before the next
        step. The rows are read together; each delivery is recorded as soon as it is made, so
        a crash re-sends at most the one row in flight."""
        rows = self.store.pending(self.route.name, GROUP_ROWS)
        if not rows:
            return IDLE_RECHECK
        ends = time.monotonic() + GROUP_SECONDS
        for row in rows:
            due = row.next_attempt - time.time()
            if due > 0:
                return due
            pace = self._pace_wait()
            if pace > 0 or self._stopping:
                return pace
            self._last_send = time.monotonic()
            log.debug(
                "sending %s to %s (attempt %d)",
                row.notification.id,
                self.route.name,
                row.attempts + 1,
            )
            outcome = self._send(row.notification)
            self._record(row, outcome)
            if not isinstance(outcome, Delivered) or self._last_send > ends:
                break
        return 0.0

    def _pace_wait(self) -> float:
        """Seconds until the destination's rate allows another request (retries count too)."""
        if not self.route.rate or self._last_send is None:
            return 0.0
        return self._last_send + 1.0 / self.route.rate - time.monotonic()

    def _send(self, notification: Notification) -> Outcome:
        try:
            return self.route.sender.send(notification)
        except Exception as exc:  # a sender bug is treated as transient, never fatal
            return Retry(f"sender error: {type(exc).__name__}: {exc}")

    def _record(self, row: OutboxRow, outcome: Outcome) -> None:
        name, notification = self.route.name, row.notification
        if isinstance(outcome, Delivered):
            self.store.mark_delivered(row.seq)
            log.debug("delivered %s to %s", notification.id, name)
            return
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
            "dead-lettered notification %s for %s: %s%s",
            notification.id,
            name,
            reason,
            f"; notice queued for fallback {self.route.fallback}" if fallback else "",
        )
        if fallback is not None:
            self.on_enqueue(fallback.destination)


class Dispatcher:
    """Owns the workers; the engine calls ``wake`` after each commit."""

    def __init__(self, routes: Mapping[str, Route], store: Store, redactor: Redactor) -> None:
        self.store = store
        self.workers = {
            name: Worker(route, store, redactor, self.wake) for name, route in routes.items()
        }

    def start(self) -> None:
        for destination, states in self.store.counts().items():
            if destination not in self.workers and states.get("pending"):
                log.warning(
                    "%d queued notifications for %r, which is no longer a destination;"
                    " they stay queued until it is configured again",
                    states["pending"],
                    destination,
                )
        for worker in self.workers.values():
            worker.start()

    def wake(self, destination: str) -> None:
        worker = self.workers.get(destination)
        if worker is not None:
            worker.wake()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop all workers, letting in-flight sends finish; False if one did not stop in time.

        A sender is closed only once its worker has stopped: closing a session under an
        in-flight request would turn a delivery into a spurious error. A worker still
        sending after ``timeout`` is a daemon thread and dies with the process; its row is
        still pending and is sent again after restart (at-least-once).
        """
        for worker in self.workers.values():
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self.workers.values():
            if worker.ident is not None:  # never started (start failed early): nothing to join
                worker.join(max(0.0, deadline - time.monotonic()))
        clean = True
        for name, worker in self.workers.items():
            if worker.is_alive():
                clean = False
                log.warning("delivery to %s still in flight at shutdown", name)
            else:
                worker.route.sender.close()
        return clean
