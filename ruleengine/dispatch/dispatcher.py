"""The dispatcher: one delivery worker per destination, added, replaced and removed by name.

Nothing outside this module touches a worker: the supervisor uses ``put``/``remove`` on reload,
``dead`` for liveness, and tests use ``wait_drained`` instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from ruleengine.dispatch.sending import Route
from ruleengine.dispatch.worker import Worker
from ruleengine.model import Notification
from ruleengine.redact import Redactor
from ruleengine.state import Store

log = logging.getLogger(__name__)


class Dispatcher:
    """Owns the workers; the engine calls ``wake`` after each commit."""

    def __init__(self, routes: Mapping[str, Route], store: Store, redactor: Redactor) -> None:
        self.store = store
        self.redactor = redactor
        self._workers = {name: self._worker(route) for name, route in routes.items()}
        self._started = False

    def _worker(self, route: Route) -> Worker:
        return Worker(route, self.store, self.redactor, self.wake)

    # -- queries --------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The destinations that have a worker, in configuration order."""
        return list(self._workers)

    def route(self, name: str) -> Route | None:
        worker = self._workers.get(name)
        return None if worker is None else worker.route

    def dead(self) -> list[str]:
        """Destinations whose worker is not running (stopped by a bug, or never started)."""
        return [name for name, worker in list(self._workers.items()) if not worker.is_alive()]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        recovered = self.store.recover_deliveries()  # journaled by workers of a killed run
        if recovered:
            log.info("recorded %d deliveries a previous run made but had not stored", recovered)
        for destination, states in self.store.counts().items():
            if destination not in self._workers and states.get("pending"):
                log.warning(
                    "%d queued notifications for %r, which is no longer a destination;"
                    " they stay queued until it is configured again",
                    states["pending"],
                    destination,
                )
        self._started = True
        for worker in self._workers.values():
            worker.start()

    def put(self, route: Route, timeout: float = 15.0) -> None:
        """Add a destination, or replace one: the old worker stops (in-flight send included)
        before the new one starts, so a destination never has two workers (FIFO, no double
        send)."""
        self.remove(route.name, timeout)
        worker = self._worker(route)
        self._workers[route.name] = worker
        if self._started:
            worker.start()

    def remove(self, name: str, timeout: float = 15.0) -> bool:
        """Stop and forget a destination's worker; its queued rows stay in the outbox.
        False if there was none."""
        worker = self._workers.pop(name, None)
        if worker is None:
            return False
        if worker.ident is not None:
            worker.stop()
            worker.join(timeout)
            if worker.is_alive():
                log.warning("delivery to %s still busy after %.0fs", name, timeout)
                try:  # what it delivered before: its successor must not send it again
                    worker.fold()
                except Exception:  # its journal has them for the next start
                    log.exception("%s: deliveries not recorded yet", name)
        worker.route.sender.close()
        return True

    def offer(self, notifications: Sequence[Notification]) -> None:
        """Hand the engine's just-committed notifications to their workers (``Worker.offer``)."""
        by_destination: dict[str, list[Notification]] = {}
        for notification in notifications:
            by_destination.setdefault(notification.destination, []).append(notification)
        for destination, batch in by_destination.items():
            worker = self._workers.get(destination)
            if worker is not None:
                worker.offer(batch)

    def wake(self, destination: str) -> None:
        worker = self._workers.get(destination)
        if worker is not None:
            worker.wake()

    def wait_drained(self, timeout: float) -> bool:
        """Wait until every worker has nothing due now; False on timeout.

        Rows waiting for a retry later do not count: "drained" means no delivery is about to
        happen, which is what a test needs before asserting that no duplicate arrives.
        """
        deadline = time.monotonic() + timeout
        for worker in list(self._workers.values()):
            if not worker.wait_idle(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def close_senders(self) -> None:
        """Close the senders of workers that never started (a daemon built but not run)."""
        for worker in self._workers.values():
            if worker.ident is None:
                worker.route.sender.close()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop all workers, letting in-flight sends finish; False if one did not stop in time.

        A sender is closed only once its worker has stopped: closing a session under an
        in-flight request would turn a delivery into a spurious error. A worker still
        sending after ``timeout`` is a daemon thread and dies with the process; its row is
        still pending and is sent again after restart (at-least-once).
        """
        for worker in self._workers.values():
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers.values():
            if worker.ident is not None:  # never started (start failed early): nothing to join
                worker.join(max(0.0, deadline - time.monotonic()))
        clean = True
        for name, worker in self._workers.items():
            if worker.is_alive():
                clean = False
                log.warning("delivery to %s still in flight at shutdown", name)
            else:
                worker.route.sender.close()
        return clean
