"""Delivery workers: one thread per destination, FIFO, paced, retrying, dead-lettering.

The retry *policy* lives here; senders only classify what happened.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ruleengine.config.destinations import RetryPolicy
from ruleengine.model import Delivered, Notification, Outcome, Permanent, Retry, stable_id
from ruleengine.outbox import OutboxRow, Store
from ruleengine.redact import Redactor
from ruleengine.senders import Sender

log = logging.getLogger(__name__)
IDLE_RECHECK = 30.0  # seconds; a wake-up is normally immediate, this is only a safety net


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    return rng() * ceiling


def next_delay(
    outcome: Retry, attempt: int, policy: RetryPolicy, rng: Callable[[], float]
) -> float:
    """Honour the service's own wait when it gave one, else back off with jitter."""
    if outcome.after is not None:
        return max(outcome.after, 0.0)
    return max(backoff_delay(attempt, policy.backoff, policy.backoff_max, rng), 0.05)


def budget_exhausted(row: OutboxRow, policy: RetryPolicy, now: float) -> bool:
    if policy.max_attempts and row.attempts + 1 >= policy.max_attempts:
        return True
    return now - row.enqueued >= policy.max_age


def fallback_notice(
    original: Notification, destination: str, fallback: str, reason: str
) -> Notification:
    """What the fallback destination receives when ``original`` could not go out."""
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
    """Delivers the rows of one destination, oldest first."""

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
        self._last_send = 0.0
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def wake(self) -> None:
        with self._wake:
            self._pending_wake = True
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def _sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``, returning early when woken or stopped."""
        with self._wake:
            if not self._pending_wake and not self._stopping:
                self._wake.wait(max(seconds, 0.0))
            self._pending_wake = False

    def run(self) -> None:
        while not self._stopping:
            try:
                self._step()
            except Exception:  # a broken database must not kill delivery silently
                log.exception("delivery to %s failed unexpectedly; retrying in 5s", self.route.name)
                self._sleep(5.0)

    def _step(self) -> None:
        row = self.store.next_pending(self.route.name)
        if row is None:
            self._sleep(IDLE_RECHECK)
            return
        now = time.time()
        if row.next_attempt > now:
            self._sleep(row.next_attempt - now)
            return
        if self.route.rate:
            gap = self._last_send + 1.0 / self.route.rate - now
            if gap > 0:
                self._sleep(gap)
                return
        self._last_send = time.time()
        outcome = self._send(row.notification)
        self._record(row, outcome)

    def _send(self, notification: Notification) -> Outcome:
        try:
            return self.route.sender.send(notification)
        except Exception as exc:
            return Retry(self.redactor(f"sender error: {type(exc).__name__}: {exc}"))

    def _record(self, row: OutboxRow, outcome: Outcome) -> None:
        name, notification = self.route.name, row.notification
        if isinstance(outcome, Delivered):
            self.store.mark_delivered(row.seq)
            log.debug("delivered %s to %s", notification.id, name)
            return
        now = time.time()
        if isinstance(outcome, Retry) and not budget_exhausted(row, self.route.policy, now):
            delay = next_delay(outcome, row.attempts, self.route.policy, self._rng.random)
            self.store.mark_retry(row.seq, now + delay, outcome.reason)
            log.warning(
                "delivery to %s failed (%s); attempt %d, retrying in %.1fs",
                name,
                outcome.reason,
                row.attempts + 1,
                delay,
            )
            return
        reason = (
            outcome.reason
            if isinstance(outcome, Permanent)
            else (f"gave up after {row.attempts + 1} attempts: {outcome.reason}")
        )
        fallback = None
        if self.route.fallback:
            fallback = fallback_notice(notification, name, self.route.fallback, reason)
        self.store.mark_dead(row.seq, reason, fallback)
        log.error(
            "dead-lettered notification %s for %s: %s%s",
            notification.id,
            name,
            reason,
            f"; sent to fallback {self.route.fallback}" if fallback else "",
        )
        if fallback is not None:
            self.on_enqueue(fallback.destination)


class Dispatcher:
    """Owns the workers; the engine calls ``wake`` after each commit."""

    def __init__(self, routes: Mapping[str, Route], store: Store, redactor: Redactor) -> None:
        self.workers = {
            name: Worker(route, store, redactor, self.wake) for name, route in routes.items()
        }

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start()

    def wake(self, destination: str) -> None:
        worker = self.workers.get(destination)
        if worker is not None:
            worker.wake()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop all workers, letting in-flight sends finish; False if one did not stop in time."""
        for worker in self.workers.values():
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self.workers.values():
            worker.join(max(0.0, deadline - time.monotonic()))
        for worker in self.workers.values():
            worker.route.sender.close()
        return not any(worker.is_alive() for worker in self.workers.values())
