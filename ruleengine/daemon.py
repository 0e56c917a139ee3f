"""Assemble sources → engine → outbox → dispatcher from a Config, run until told to stop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType

from ruleengine.config import Config
from ruleengine.dispatch import Dispatcher, Route
from ruleengine.engine import Engine
from ruleengine.outbox import Store
from ruleengine.redact import Redactor
from ruleengine.rules.engine import compile_rules
from ruleengine.senders import SenderContext, make_sender
from ruleengine.sources import Source, SourceContext, make_source

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 15.0
DELIVERED_RETENTION = 7 * 86400.0  # delivered ids kept this long to recognise re-reads


class Daemon:
    def __init__(self, config: Config, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor
        self.store = Store(config.state_dir)
        model = config.model
        routes = {}
        for name, settings in model.destinations.items():
            sender = make_sender(settings, SenderContext(name=name, redactor=redactor))
            routes[name] = Route(
                name=name,
                sender=sender,
                policy=settings.retry,
                rate=settings.rate if settings.rate is not None else sender.default_rate,
                fallback=settings.fallback,
            )
        self.dispatcher = Dispatcher(routes, self.store, redactor)
        self.engine = Engine(
            compile_rules(model.rules, model.defaults), self.store, self.dispatcher.wake
        )
        self.sources: list[Source] = [
            make_source(settings, SourceContext(name, self.store, config.resolve))
            for name, settings in model.sources.items()
        ]
        self.stopping = threading.Event()

    def start(self) -> None:
        self.store.prune_delivered(time.time() - DELIVERED_RETENTION)
        self.dispatcher.start()
        self.engine.start()
        for source in self.sources:
            source.start(self.engine.emit)
        log.info(
            "ruleengine running: %d sources, %d rules, %d destinations",
            len(self.sources),
            len(self.engine.rules.rules),
            len(self.dispatcher.workers),
        )

    def shutdown(self) -> bool:
        """Stop sources, commit what they read, let in-flight sends finish; True if clean."""
        for source in self.sources:
            source.stop()
        self.engine.stop()
        self.engine.join(SHUTDOWN_TIMEOUT)
        clean = self.dispatcher.stop(SHUTDOWN_TIMEOUT) and not self.engine.is_alive()
        self.store.close()
        return clean

    def run(self) -> int:
        """Run in the foreground until SIGTERM/SIGINT; a second signal exits at once."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                os._exit(1)  # SQLite's journal keeps the database consistent
            log.info("%s received: stopping", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not self.stopping.wait(1.0):
            pass
        clean = self.shutdown()
        log.info("stopped%s", "" if clean else " (some deliveries were still in flight)")
        return 0
