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

from watchdog.events import FileSystemEvent

from ruleengine import __version__
from ruleengine.config import Config, load_config
from ruleengine.dispatch import Dispatcher, Route
from ruleengine.engine import Engine
from ruleengine.errors import ConfigError
from ruleengine.metrics import Metrics
from ruleengine.model import Batch
from ruleengine.pipeline.build import (
    file_hash,
    make_route,
    make_sources,
    pending_limits,
    source_specs,
)
from ruleengine.pipeline.reload import ReloadPlan, plan_reload
from ruleengine.pipeline.status import record, status_text
from ruleengine.redact import Redactor, destination_secrets
from ruleengine.rules.engine import compile_model
from ruleengine.sources.base import Source
from ruleengine.sources.watch.dirwatch import DirectoryWatch
from ruleengine.state import Store
from ruleengine.systemd import Notifier
from ruleengine.words import plural

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 15.0  # seconds in-flight sends get on SIGTERM (systemd's TimeoutStopSec: 30s)
DELIVERED_RETENTION = 7 * 86400.0  # delivered ids kept this long to recognise re-reads
HISTORY_PRUNE_EVERY = 3600.0  # seconds between prunes of the history table
RELOAD_DEBOUNCE = 1.0  # seconds of quiet after the last change in the rules file's directory
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
        self.config_hash = file_hash(config.path)
        self.redactor = redactor
        redactor.add(*destination_secrets(config.model.destinations))
        self.notifier = notifier or Notifier(None)
        self.stop_timeout = stop_timeout
        self.metrics = metrics
        self.on_wake = on_wake or (lambda: None)
        self.store = Store(config.state_dir)
        model = config.model
        self.store.limits = pending_limits(model.destinations)
        routes = {
            name: make_route(name, settings, redactor, metrics)
            for name, settings in model.destinations.items()
        }
        self.dispatcher = Dispatcher(routes, self.store, redactor)
        self.engine = Engine(compile_model(model), self.store, self.dispatcher.wake)
        self.engine.offer = self.dispatcher.offer
        self.engine.on_tick = self._tick
        self._emit: Callable[[Batch], None] = self.engine.emit
        if metrics is not None:
            self.engine.on_batch = metrics.on_batch
            self._emit = metrics.count_emit(self.engine.emit)
        self.sources: dict[str, Source] = make_sources(config, self.store)
        self._watch = DirectoryWatch(self._on_rules_dir_event, "rules")
        self._stopping = False
        self._changed_at: float | None = None  # monotonic time of the last event near the file
        self._last_failed_hash: str | None = None
        self._next_status = 0.0
        self._reloads = 0
        self._unhealthy_logged = False
        self._next_prune = 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        # First, before any thread: a state database that takes no writes stops the start.
        self._record(first=True, started=time.time(), pid=os.getpid(), version=__version__)
        if self.metrics is not None:
            self.metrics.serve()  # first: a port in use fails the start before anything runs
        self.store.prune_delivered(time.time() - DELIVERED_RETENTION)
        self._prune_history()
        self.dispatcher.start()
        self.engine.start()
        for source in self.sources.values():
            source.start(self._emit)
        if not self._watch.add(self.config.path.parent):
            log.warning("cannot watch %s; reload with SIGHUP", self.config.path.parent)
        self._watch.start()
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
        self._watch.stop()
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
        if self._changed_at is not None:
            due.append(self._changed_at + RELOAD_DEBOUNCE)
        if self.notifier.enabled:
            due.append(self._next_status)
        if not due:
            return None
        return max(0.0, min(due) - time.monotonic())

    def on_timer(self) -> None:
        """Reload once the rules file settled; refresh systemd's STATUS= when due."""
        if self._rules_file_settled():
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
        if time.monotonic() >= self._next_prune:
            self._prune_history()

    def _prune_history(self) -> None:
        """Keep ``ruleengine history`` within the rules file's ``history:`` bounds (hourly)."""
        keep, now = self.config.model.history, time.time()
        self.store.prune_history(now - keep.max_age, keep.max_rows)
        # An alert's message id is needed while the alert may be open (its `resolves.expire`).
        rules = self.config.model.rules
        self.store.prune_refs(
            now - max((r.resolves.expire for r in rules if r.resolves), default=0)
        )
        self._next_prune = time.monotonic() + HISTORY_PRUNE_EVERY

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

    def _on_rules_dir_event(self, event: FileSystemEvent) -> None:
        """Watchdog thread: note when the rules file was written, renamed or replaced."""
        if event.event_type in ("opened", "closed_no_write") or event.is_directory:
            return  # reading the file (or its neighbours) is not a change
        names = {os.path.basename(os.fsdecode(event.src_path))}
        names.add(os.path.basename(os.fsdecode(getattr(event, "dest_path", "") or "")))
        if self.config.path.name in names:
            self._changed_at = time.monotonic()  # only a timestamp; the caller's loop acts
            self.on_wake()

    def _rules_file_settled(self) -> bool:
        """True once the directory has been quiet for a while and the file's content changed."""
        changed = self._changed_at
        if changed is None or time.monotonic() - changed < RELOAD_DEBOUNCE:
            return False
        self._changed_at = None
        current = file_hash(self.config.path)
        return current is not None and current not in (self.config_hash, self._last_failed_hash)

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
            built = self._build(plan)
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

    def _build(self, plan: ReloadPlan) -> tuple[dict[str, Source], list[Route]]:
        """Everything new the plan needs, built before anything running is touched."""
        model = plan.config.model
        sources = make_sources(plan.config, self.store, plan.sources.start)
        routes = [
            make_route(name, model.destinations[name], self.redactor, self.metrics)
            for name in plan.destinations.start
        ]
        return sources, routes

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
