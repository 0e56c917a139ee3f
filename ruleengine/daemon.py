"""Assemble sources → engine → outbox → dispatcher from a Config; run, reload and stop cleanly.

Signals: SIGTERM/SIGINT stop gracefully (a second one exits at once), SIGHUP reloads. The rules
file's directory is watched too, so saving the file reloads it. A reload is validated in full
before anything changes; the running rules stay when the new file is invalid.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from watchdog.events import FileSystemEvent

from ruleengine import __version__
from ruleengine.config import Config, load_config
from ruleengine.dispatch import Dispatcher, Route, Worker
from ruleengine.engine import Engine
from ruleengine.errors import ConfigError
from ruleengine.metrics import Metrics
from ruleengine.model import Batch
from ruleengine.redact import Redactor, destination_secrets
from ruleengine.rules.engine import RuleSet, compile_rules
from ruleengine.senders import SenderContext, make_sender
from ruleengine.sources.base import Source, SourceContext
from ruleengine.sources.registry import make_source
from ruleengine.sources.watch.dirwatch import DirectoryWatch
from ruleengine.state import Store
from ruleengine.state.report import (
    human_duration,
    open_readonly,
    queue_summary,
    record_daemon,
    source_specs,
)
from ruleengine.systemd import Notifier

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 15.0  # seconds in-flight sends get on SIGTERM (systemd's TimeoutStopSec: 30s)
DELIVERED_RETENTION = 7 * 86400.0  # delivered ids kept this long to recognise re-reads
RELOAD_DEBOUNCE = 1.0  # seconds of quiet after the last change in the rules file's directory
STATUS_EVERY = 5.0  # seconds between STATUS= updates to systemd
POLL = 0.2  # main loop period; signal handlers only set flags, the loop acts on them


def file_hash(path: Path) -> str | None:
    """Short content hash of the rules file: its 'config version' in status and logs."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def make_route(
    name: str, settings: Any, redactor: Redactor, metrics: Metrics | None = None
) -> Route:
    sender = make_sender(settings, SenderContext(name=name, redactor=redactor))
    if metrics is not None:
        sender = metrics.wrap_sender(name, sender)
    return Route(
        name=name,
        sender=sender,
        policy=settings.retry,
        rate=settings.rate if settings.rate is not None else sender.default_rate,
        fallback=settings.fallback,
    )


@dataclass
class _Plan:
    """Everything a reload will change, built (and validated) before anything is touched."""

    config: Config
    rules: RuleSet
    stop_sources: list[str] = field(default_factory=list)  # removed or changed
    start_sources: dict[str, Source] = field(default_factory=dict)  # added or changed
    start_routes: dict[str, Route] = field(default_factory=dict)  # added or changed
    stop_destinations: list[str] = field(default_factory=list)  # removed
    summary: list[str] = field(default_factory=list)


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    added = [n for n in new if n not in old]
    removed = [n for n in old if n not in new]
    changed = [n for n in new if n in old and new[n] != old[n]]
    return added, removed, changed


class Daemon:
    def __init__(
        self,
        config: Config,
        redactor: Redactor,
        notifier: Notifier | None = None,
        stop_timeout: float = SHUTDOWN_TIMEOUT,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.config_hash = file_hash(config.path)
        self.redactor = redactor
        redactor.add(*destination_secrets(config.model.destinations))
        self.notifier = notifier or Notifier(None)
        self.stop_timeout = stop_timeout
        self.metrics = metrics
        self.store = Store(config.state_dir)
        model = config.model
        routes = {
            name: make_route(name, settings, redactor, metrics)
            for name, settings in model.destinations.items()
        }
        self.dispatcher = Dispatcher(routes, self.store, redactor)
        self.engine = Engine(
            compile_rules(model.rules, model.defaults), self.store, self.dispatcher.wake
        )
        self.engine.on_tick = self._tick
        self._emit: Callable[[Batch], None] = self.engine.emit
        if metrics is not None:
            self.engine.on_batch = metrics.on_batch
            self._emit = metrics.count_emit(self.engine.emit)
        self.sources: dict[str, Source] = {
            name: make_source(
                settings, SourceContext(name, self.store.positions_of(name), config.resolve)
            )
            for name, settings in model.sources.items()
        }
        self._watch = DirectoryWatch(self._on_rules_dir_event, "rules")
        self._stop_requested = False
        self._reload_requested = False
        self._changed_at: float | None = None  # monotonic time of the last event near the file
        self._last_failed_hash: str | None = None
        self._reloads = 0
        self._unhealthy_logged = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.metrics is not None:
            self.metrics.serve()  # first: a port in use fails the start before anything runs
        self.store.prune_delivered(time.time() - DELIVERED_RETENTION)
        self.dispatcher.start()
        self.engine.start()
        for source in self.sources.values():
            source.start(self._emit)
        if not self._watch.add(self.config.path.parent):
            log.warning("cannot watch %s; reload with SIGHUP", self.config.path.parent)
        self._watch.start()
        self._record(started=time.time(), pid=os.getpid(), version=__version__)
        log.info(
            "ruleengine %s running (pid %d, config %s): %d sources, %d rules, %d destinations",
            __version__,
            os.getpid(),
            self.config_hash,
            len(self.sources),
            len(self.engine.rules.rules),
            len(self.dispatcher.workers),
        )
        self.notifier.ready(self._status_text())  # every source is watching now

    def shutdown(self) -> bool:
        """Stop sources, commit what they read, let in-flight sends finish; True if clean."""
        deadline = time.monotonic() + self.stop_timeout
        self.notifier.stopping("stopping: finishing in-flight deliveries")
        self._watch.stop()
        for source in self.sources.values():
            source.stop()
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

    def run(self) -> int:
        """Run in the foreground until SIGTERM/SIGINT; SIGHUP reloads; a second stop exits now."""

        def on_stop(signum: int, _frame: FrameType | None) -> None:
            if self._stop_requested:
                # Every write is a transaction, so the database stays consistent.
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                os._exit(1)
            self._stop_requested = True  # before logging: a second signal may land meanwhile
            log.info("%s received: stopping", signal.Signals(signum).name)

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload_requested = True

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, on_hup)
        self.start()
        next_status = time.monotonic() + STATUS_EVERY
        while not self._stop_requested:
            time.sleep(POLL)
            if self._reload_requested:
                self._reload_requested = False
                self.reload("SIGHUP", force=True)
            elif self._rules_file_settled():
                self.reload("the rules file changed")
            if self.notifier.enabled and time.monotonic() >= next_status:
                self.notifier.status(self._status_text())
                next_status = time.monotonic() + STATUS_EVERY
        clean = self.shutdown()
        if not clean:
            log.warning(
                "stopped after %gs with deliveries still in flight; they stay pending and "
                "are sent after the next start",
                self.stop_timeout,
            )
            logging.shutdown()
            os._exit(0)  # threads still in a send must not delay the exit
        log.info("stopped")
        return 0

    # -- health and status ----------------------------------------------------------------

    def _tick(self) -> None:
        """Runs in the engine thread on every turn: ping the watchdog while all is well."""
        dead = [name for name, w in list(self.dispatcher.workers.items()) if not w.is_alive()]
        if dead and not self._stop_requested:
            if not self._unhealthy_logged:
                log.error("delivery workers stopped unexpectedly: %s", ", ".join(dead))
                self._unhealthy_logged = True
            return
        self.notifier.watchdog()

    def _status_text(self) -> str:
        head = (
            f"{len(self.sources)} sources, {len(self.engine.rules.rules)} rules, "
            f"config {self.config_hash}"
        )
        try:
            conn = open_readonly(self.store.path)
            try:
                summary = queue_summary(conn)
            finally:
                conn.close()
        except Exception as exc:  # status is informative only: never fail the daemon for it
            return f"{head}; queue unknown ({exc})"
        now = time.time()
        parts = [f"{summary.pending} pending"]
        if summary.oldest_pending is not None:
            parts[0] += f" (oldest {human_duration(now - summary.oldest_pending)})"
        if summary.last_delivery is not None:
            parts.append(f"last delivery {human_duration(now - summary.last_delivery)} ago")
        if summary.dead:
            parts.append(f"{summary.dead} dead letters")
        return f"{head}; {', '.join(parts)}"

    def _record(self, **extra: Any) -> None:
        try:
            record_daemon(
                self.store,
                {
                    "config_path": str(self.config.path),
                    "config_hash": self.config_hash or "",
                    "config_loaded": time.time(),
                    "reloads": self._reloads,
                    "sources": source_specs(self.config),
                    "destinations": list(self.config.model.destinations),
                    **extra,
                },
            )
        except Exception as exc:  # bookkeeping for `status`; delivery matters more
            log.warning("cannot record daemon state for `status`: %s", exc)

    # -- reload ---------------------------------------------------------------------------

    def _on_rules_dir_event(self, event: FileSystemEvent) -> None:
        """Watchdog thread: note when the rules file was written, renamed or replaced."""
        if event.event_type in ("opened", "closed_no_write") or event.is_directory:
            return  # reading the file (or its neighbours) is not a change
        names = {os.path.basename(os.fsdecode(event.src_path))}
        names.add(os.path.basename(os.fsdecode(getattr(event, "dest_path", "") or "")))
        if self.config.path.name in names:
            self._changed_at = time.monotonic()  # only a timestamp; run() acts on it

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
            plan = self._plan(load_config(path))
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload: %s", problem)
            self._reject(new_hash, f"{len(exc.problems)} problem(s) in {path.name}")
            return False
        except Exception as exc:
            self._reject(new_hash, f"{type(exc).__name__}: {exc}")
            return False
        self._apply(plan)
        self._reloads += 1
        self.config, self.config_hash, self._last_failed_hash = plan.config, new_hash, None
        self._record()
        log.info(
            "reloaded %s (config %s): %d rules%s",
            path,
            new_hash,
            len(plan.rules.rules),
            "; " + "; ".join(plan.summary)
            if plan.summary
            else "; sources and destinations unchanged",
        )
        self.notifier.ready(self._status_text())
        return True

    def _reject(self, new_hash: str | None, reason: str) -> None:
        self._last_failed_hash = new_hash
        log.error("reload failed (%s); still running config %s", reason, self.config_hash)
        self.notifier.ready(f"reload failed ({reason}); running config {self.config_hash}")

    def _plan(self, config: Config) -> _Plan:
        if config.state_dir != self.config.state_dir:
            raise ConfigError(
                [f"{config.path}: state_dir changed to {config.state_dir}: restart to use it"]
            )
        # Before anything about the new file is logged:
        self.redactor.add(*config.secrets, *destination_secrets(config.model.destinations))
        model, old = config.model, self.config.model
        plan = _Plan(config, compile_rules(model.rules, model.defaults))
        added, removed, changed = _diff(old.sources, model.sources)
        plan.stop_sources = [*removed, *changed]
        for name in [*added, *changed]:
            context = SourceContext(name, self.store.positions_of(name), config.resolve)
            plan.start_sources[name] = make_source(model.sources[name], context)
        _describe(plan.summary, "sources", added, removed, changed)
        added, removed, changed = _diff(old.destinations, model.destinations)
        for name in [*added, *changed]:
            settings = model.destinations[name]
            plan.start_routes[name] = make_route(name, settings, self.redactor, self.metrics)
        plan.stop_destinations = removed
        _describe(plan.summary, "destinations", added, removed, changed)
        return plan

    def _apply(self, plan: _Plan) -> None:
        """Order matters: nothing read is evaluated by rules that do not know its source,
        and no notification is routed to a destination without a worker."""
        for name in plan.stop_sources:
            self.sources.pop(name).stop()  # what they queued is still evaluated by the old rules
        for name, route in plan.start_routes.items():
            old = self.dispatcher.workers.get(name)
            if old is not None:
                self._stop_worker(old)  # one worker per destination: FIFO, never a double send
            worker = Worker(route, self.store, self.redactor, self.dispatcher.wake)
            self.dispatcher.workers[name] = worker
            worker.start()
        # Queued behind what the old sources read, ahead of anything the new ones will read.
        self.engine.swap_rules(plan.rules)
        for name, source in plan.start_sources.items():
            try:
                source.start(self._emit)
            except Exception as exc:
                log.error("source %s could not start: %s", name, exc)
                continue
            self.sources[name] = source
        for name in plan.stop_destinations:
            self._stop_worker(self.dispatcher.workers.pop(name))

    def _stop_worker(self, worker: Worker) -> None:
        worker.stop()
        worker.join(self.stop_timeout)
        if worker.is_alive():
            log.warning(
                "delivery to %s still busy after %.0fs", worker.route.name, self.stop_timeout
            )
        worker.route.sender.close()


def _describe(
    out: list[str], what: str, added: list[str], removed: list[str], changed: list[str]
) -> None:
    parts = [f"+{n}" for n in added] + [f"-{n}" for n in removed] + [f"~{n}" for n in changed]
    if parts:
        out.append(f"{what} {' '.join(parts)}")
