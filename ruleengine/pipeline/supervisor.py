"""The supervisor: builds sources → engine → dispatcher from a Config, starts, reloads, stops.

It never blocks on signals and never exits the process: whoever runs it (``commands/run.py``'s
signal loop, or ``ruleengine.api.running`` in-process) decides when to reload and stop. The rules
file's directory is watched; a change calls ``on_wake`` so the caller's loop can look at
``next_timer`` and call ``on_timer``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from ruleengine import __version__
from ruleengine.config import Config, load_config
from ruleengine.dispatch import Dispatcher, Route
from ruleengine.engine import Engine
from ruleengine.errors import ConfigError
from ruleengine.metrics import Metrics
from ruleengine.model import Batch
from ruleengine.pipeline.build import (
    build_changes,
    file_hash,
    make_route,
    make_sources,
    pending_limits,
    source_specs,
)
from ruleengine.pipeline.housekeeping import Housekeeping
from ruleengine.pipeline.reload import ReloadPlan, plan_reload
from ruleengine.pipeline.rulesfile import RELOAD_DEBOUNCE, RulesFileWatch
from ruleengine.pipeline.status import record, status_text
from ruleengine.redact import Redactor, destination_secrets
from ruleengine.rules.compiler import compile_model
from ruleengine.sources.base import Source
from ruleengine.state import Store
from ruleengine.systemd import Notifier
from ruleengine.words import plural

__all__ = ["RELOAD_DEBOUNCE", "SHUTDOWN_TIMEOUT", "Supervisor"]
log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 15.0  # seconds in-flight sends get on SIGTERM (systemd's TimeoutStopSec: 30s)
STATUS_EVERY = 5.0  # seconds between STATUS= updates to systemd


class Supervisor:
    def __init__(
        self,
        config: Config,
        redactor: Redactor,
        *,
        notifier: Notifier | None = None,
        stop_timeout: float = SHUTDOWN_TIMEOUT,
        metrics: Metrics | None = None,
        on_wake: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        # First: Hyperscan compiles the rules in a thread of its own (without the GIL) while
        # the state database opens and the senders are built.
        rules = compile_model(config.model)
        self.config_hash = file_hash(config.path)
        self.redactor = redactor
        redactor.add(*destination_secrets(config.model.destinations))
        self.notifier = notifier or Notifier(None)
        self.stop_timeout = stop_timeout
        self.metrics = metrics
        self.on_wake = on_wake or (lambda: None)
        self.store = Store(config.state_dir)
        self._housekeeping = Housekeeping(self.store)
        model = config.model
        self.store.limits = pending_limits(model.destinations)
        routes = {
            name: make_route(name, settings, redactor, metrics)
            for name, settings in model.destinations.items()
        }
        self.dispatcher = Dispatcher(routes, self.store, redactor)
        self.engine = Engine(rules, self.store, self.dispatcher.wake)
        self.engine.offer = self.dispatcher.offer
        self.engine.on_tick = self._tick
        self._emit: Callable[[Batch], None] = self.engine.emit
        if metrics is not None:
            self.engine.on_batch = metrics.on_batch
            self._emit = metrics.count_emit(self.engine.emit)
        self.sources: dict[str, Source] = make_sources(config, self.store)
        self._rules_file = RulesFileWatch(config.path, self.on_wake)
        self._stopping = False
        self._last_failed_hash: str | None = None
        self._next_status = 0.0
        self._reloads = 0
        self._unhealthy_logged = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        # First, before any thread: a state database that takes no writes stops the start.
        self._record(first=True, started=time.time(), pid=os.getpid(), version=__version__)
        if self.metrics is not None:
            self.metrics.serve()  # first: a port in use fails the start before anything runs
        self._housekeeping.at_start(self.config.model)
        self.dispatcher.start()
        self.engine.start()
        for source in self.sources.values():
            source.start(self._emit)
        self._rules_file.start()
        for warning in (*self.config.warnings, *self.engine.rules.warnings):
            log.warning("%s", warning)
        log.info(
            "ruleengine %s running (pid %d, config %s): %s, %s, %s",
            __version__,
            os.getpid(),
            self.config_hash,
            plural(len(self.sources), "source"),
            plural(len(self.engine.rules.rules), "rule"),
            plural(len(self.dispatcher.names()), "destination"),
        )
        self.notifier.ready(self.status_text())  # every source is watching now
        self._next_status = time.monotonic() + STATUS_EVERY

    def stop(self) -> bool:
        """Stop sources, commit what they read, let in-flight sends finish; True if clean."""
        self._stopping = True
        deadline = time.monotonic() + self.stop_timeout
        self.notifier.stopping("stopping: finishing in-flight deliveries")
        self._rules_file.stop()
        for source in self.sources.values():
            source.stop()
        if self.engine.ident is not None:  # a start that failed early never started it
            self.engine.stop()
            self.engine.join(max(deadline - time.monotonic(), 0.0))
        engine_done = not self.engine.is_alive()
        sent = self.dispatcher.stop(max(deadline - time.monotonic(), 0.0))
        clean = engine_done and sent
        if engine_done:
            self._record(stopped=time.time())
        if clean:  # a worker still inside a send keeps using its connection: leave them open
            self.store.close()
        self.notifier.close()
        if self.metrics is not None:
            self.metrics.close()
        return clean

    def close_unstarted(self) -> None:
        """Release what a supervisor that was built but never started holds."""
        self.dispatcher.close_senders()
        self.store.close()

    def wait_drained(self, timeout: float) -> bool:
        """Wait until everything the sources emitted so far is committed and every delivery
        that is due now has been attempted; False on timeout. (A source may still be reading:
        this does not wait for lines not yet emitted.)"""
        deadline = time.monotonic() + timeout
        # A fallback notice is queued by a worker, not the engine: go round until both are idle.
        while True:
            if not self.engine.wait_drained(max(0.0, deadline - time.monotonic())):
                return False
            if not self.dispatcher.wait_drained(max(0.0, deadline - time.monotonic())):
                return False
            if self.engine.wait_drained(0.0) and self.dispatcher.wait_drained(0.0):
                return True

    # -- the caller's loop ----------------------------------------------------------------

    def next_timer(self) -> float | None:
        """Seconds until ``on_timer`` has work (0: now), or None: nothing until woken."""
        due: list[float] = []
        settles = self._rules_file.due()
        if settles is not None:
            due.append(settles)
        if self.notifier.enabled:
            due.append(self._next_status)
        if not due:
            return None
        return max(0.0, min(due) - time.monotonic())

    def on_timer(self) -> None:
        """Reload once the rules file settled; refresh systemd's STATUS= when due."""
        if self._rules_file.settled(self.config_hash, self._last_failed_hash):
            self.reload("the rules file changed")
        if self.notifier.enabled and time.monotonic() >= self._next_status:
            self.notifier.status(self.status_text())
            self._next_status = time.monotonic() + STATUS_EVERY

    # -- health and status ----------------------------------------------------------------

    def _tick(self) -> None:
        """Runs in the engine thread on every turn: ping the watchdog while all is well."""
        dead = self.dispatcher.dead()
        if dead and not self._stopping:
            if not self._unhealthy_logged:
                log.error("delivery workers stopped unexpectedly: %s", ", ".join(dead))
                self._unhealthy_logged = True
            return
        self.notifier.watchdog()
        self._housekeeping.tick(self.config.model)

    def status_text(self) -> str:
        return status_text(
            self.store.path, len(self.sources), len(self.engine.rules.rules), self.config_hash
        )

    def _record(self, *, first: bool = False, **extra: Any) -> None:
        fields = {
            "config_path": str(self.config.path),
            "config_hash": self.config_hash or "",
            "config_loaded": time.time(),
            "reloads": self._reloads,
            "sources": source_specs(self.config),
            "destinations": list(self.config.model.destinations),
            **extra,
        }
        if "started" in extra:  # a new run has had no reload yet
            fields.update(reload_time=None, reload_ok=None, reload_errors=[])
        record(self.store, fields, first=first)

    # -- reload ---------------------------------------------------------------------------

    @property
    def reloads(self) -> int:
        """Successful reloads since start."""
        return self._reloads

    def reload(self, why: str, force: bool = False) -> bool:
        """Validate the rules file and switch to it; keep the running rules if it is invalid."""
        path = self.config.path
        new_hash = file_hash(path)
        if not force and new_hash == self.config_hash:
            return False
        self.notifier.reloading()
        log.info("reloading %s (%s)", path, why)
        try:
            config = load_config(path)
            # Before anything about the new file is logged:
            self.redactor.add(*config.secrets, *destination_secrets(config.model.destinations))
            plan = plan_reload(self.config, config)
            built = build_changes(plan, self.store, self.redactor, self.metrics)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload: %s", problem)
            found = plural(len(exc.problems), "problem")
            self._reject(new_hash, f"{found} in {path.name}", exc.problems)
            return False
        except Exception as exc:
            self._reject(new_hash, f"{type(exc).__name__}: {exc}", [f"{type(exc).__name__}: {exc}"])
            return False
        self._apply(plan, *built)
        for warning in (*config.warnings, *plan.rules.warnings):
            log.warning("%s", warning)
        self._reloads += 1
        self.config, self.config_hash, self._last_failed_hash = plan.config, new_hash, None
        self._record(reload_time=time.time(), reload_ok=True, reload_errors=[])
        summary = plan.summary
        log.info(
            "reloaded %s (config %s): %s%s",
            path,
            new_hash,
            plural(len(plan.rules.rules), "rule"),
            "; " + "; ".join(summary) if summary else "; sources and destinations unchanged",
        )
        self.notifier.ready(self.status_text())
        return True

    def _reject(self, new_hash: str | None, reason: str, problems: list[str]) -> None:
        self._last_failed_hash = new_hash
        # For `status`: what failed, when (redacted: a problem may quote a resolved value).
        errors = [self.redactor(problem) for problem in problems]
        record(
            self.store, {"reload_time": time.time(), "reload_ok": False, "reload_errors": errors}
        )
        log.error("reload failed (%s); still running config %s", reason, self.config_hash)
        self.notifier.ready(f"reload failed ({reason}); running config {self.config_hash}")

    def _apply(self, plan: ReloadPlan, sources: dict[str, Source], routes: list[Route]) -> None:
        """Order matters: nothing read is evaluated by rules that do not know its source,
        and no notification is routed to a destination without a worker."""
        for name in plan.sources.stop:
            self.sources.pop(name).stop()  # what they queued is still evaluated by the old rules
        for route in routes:
            self.dispatcher.put(route, self.stop_timeout)  # one worker per destination
        self.store.limits = pending_limits(plan.config.model.destinations)
        # Queued behind what the old sources read, ahead of anything the new ones will read.
        self.engine.swap_rules(plan.rules)
        for name, source in sources.items():
            try:
                source.start(self._emit)
            except Exception as exc:
                log.error("source %s could not start: %s", name, exc)
                continue
            self.sources[name] = source
        for name in plan.destinations.removed:
            self.dispatcher.remove(name, self.stop_timeout)
