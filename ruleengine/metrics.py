"""Optional Prometheus metrics, served on a loopback address (``pip install ruleengine[metrics]``).

Counters come from thin wrappers around the pipeline (what sources emit, what the engine commits,
what each sender answers); queue depths are read from the state database at scrape time, so
they are right even for rows queued before this process started.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ruleengine.errors import ConfigError, RuleEngineError
from ruleengine.model import Batch, Delivered, Notification, Original, Outcome, Permanent
from ruleengine.redact import Redactor
from ruleengine.senders import Batching, Resolving, Sender
from ruleengine.state.db import open_readonly
from ruleengine.state.queues import destination_status

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0)


def parse_address(value: str) -> tuple[str, int]:
    """``127.0.0.1:9464``, ``[::1]:9464`` or ``localhost:9464``; loopback only (no auth here)."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError([f"--metrics {value}: expected HOST:PORT, e.g. 127.0.0.1:9464"])
    try:
        resolved = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        loopback = all(ipaddress.ip_address(info[4][0]).is_loopback for info in resolved)
    except (OSError, ValueError):
        loopback = False
    if not loopback:
        raise ConfigError(
            [f"--metrics {value}: metrics are served on a loopback address only (127.0.0.1, ::1)"]
        )
    return host, int(port)


class Metrics:
    """The registry and its instruments; one per daemon."""

    def __init__(self, state_db: Path, address: tuple[str, int]) -> None:
        try:
            import prometheus_client as prom  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise RuleEngineError(
                "metrics need prometheus-client: pip install 'ruleengine[metrics]'"
            ) from None
        self._prom = prom
        self.address = address
        self.registry = prom.CollectorRegistry()
        self.events = prom.Counter(
            "ruleengine_events_read", "Events read by sources.", ["source"], registry=self.registry
        )
        self.matched = prom.Counter(
            "ruleengine_notifications_queued",
            "Notifications the rules produced and the outbox accepted.",
            ["destination"],
            registry=self.registry,
        )
        self.outcomes = prom.Counter(
            "ruleengine_delivery_attempts",
            "Delivery attempts by the outcome the service gave (delivered, retry, permanent).",
            ["destination", "outcome"],
            registry=self.registry,
        )
        self.latency = prom.Histogram(
            "ruleengine_delivery_latency_seconds",
            "From the event to its successful delivery.",
            ["destination"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(state_db))
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- wrappers the daemon puts around the pipeline ---------------------------------------

    def count_emit(self, emit: Callable[[Batch], None]) -> Callable[[Batch], None]:
        def counted(batch: Batch) -> None:
            emit(batch)
            if batch.lines is not None and len(batch.lines):
                self.events.labels(batch.lines.source).inc(len(batch.lines))
            for event in batch.events:
                self.events.labels(event.source).inc()

        return counted

    def on_batch(self, notifications: list[Notification]) -> None:
        for notification in notifications:
            self.matched.labels(notification.destination).inc()

    def wrap_sender(self, destination: str, sender: Sender) -> Sender:
        """``sender``, counted; it keeps what it can do beyond ``send`` (the worker asks)."""
        if isinstance(sender, Batching):
            return _MeteredBatchingSender(destination, sender, self)
        return _MeteredSender(destination, sender, self)

    # -- serving ----------------------------------------------------------------------------

    def serve(self) -> None:
        host, port = self.address
        try:
            self._server, self._thread = self._prom.start_http_server(
                port, addr=host, registry=self.registry
            )
        except OSError as exc:
            raise RuleEngineError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror}"
            ) from None
        if self._thread is not None:
            self._thread.name = "metrics"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5.0)


class _MeteredSender:
    """A sender that counts what its service answered; everything else passes through."""

    def __init__(self, destination: str, inner: Sender, metrics: Metrics) -> None:
        self.destination = destination
        self.inner = inner
        self.metrics = metrics
        self.default_rate = inner.default_rate

    def send(self, notification: Notification) -> Outcome:
        return self._count(notification, self.inner.send(notification))

    def send_resolved(self, notification: Notification, originals: Sequence[Original]) -> Outcome:
        if isinstance(self.inner, Resolving):
            outcome = self.inner.send_resolved(notification, originals)
        else:
            outcome = self.inner.send(notification)
        return self._count(notification, outcome)

    def _count(self, notification: Notification, outcome: Outcome) -> Outcome:
        if isinstance(outcome, Delivered):
            label = "delivered"
            if notification.created:
                latency = max(time.time() - notification.created, 0.0)
                self.metrics.latency.labels(self.destination).observe(latency)
        else:
            label = "permanent" if isinstance(outcome, Permanent) else "retry"
        self.metrics.outcomes.labels(self.destination, label).inc()
        return outcome

    def preview(self, notification: Notification) -> dict[str, Any]:
        return self.inner.preview(notification)

    def close(self) -> None:
        self.inner.close()


class _MeteredBatchingSender(_MeteredSender):
    """A counted sender that takes several notifications at once, as its inner one does."""

    def send_many(self, notifications: Sequence[Notification]) -> list[Outcome]:
        assert isinstance(self.inner, Batching)  # noqa: S101 - wrap_sender checked
        outcomes = self.inner.send_many(notifications)
        return [self._count(n, o) for n, o in zip(notifications, outcomes, strict=False)]


class _QueueCollector:
    """Pending, oldest pending age, dead letters and dropped notifications per destination,
    read when scraped."""

    def __init__(self, state_db: Path) -> None:
        self.state_db = state_db

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        pending = GaugeMetricFamily(
            "ruleengine_queue_pending", "Notifications waiting to be sent.", labels=["destination"]
        )
        oldest = GaugeMetricFamily(
            "ruleengine_queue_oldest_pending_seconds",
            "Age of the oldest waiting notification.",
            labels=["destination"],
        )
        dead = GaugeMetricFamily(
            "ruleengine_dead_letters", "Notifications given up on.", labels=["destination"]
        )
        dropped = GaugeMetricFamily(
            "ruleengine_queue_dropped",
            "Notifications counted, not stored, while the destination's queue is full.",
            labels=["destination"],
        )
        try:
            conn = open_readonly(self.state_db)
        except RuleEngineError:
            return
        try:
            for row in destination_status(conn, [], Redactor(), time.time()):
                pending.add_metric([row.name], row.pending)
                oldest.add_metric([row.name], row.oldest_pending_age or 0.0)
                dead.add_metric([row.name], row.dead)
                dropped.add_metric([row.name], row.dropped)
        finally:
            conn.close()
        yield from (pending, oldest, dead, dropped)
